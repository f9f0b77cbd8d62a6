"""Archival memory benchmark: load N passages, search them, measure recall.

Entry point for the benchmark harness (and for a quick look by hand):

    python -m bench.archival --passages 100000 --dim 384
    python -m bench.archival --passages 20000 --database-url postgresql://user:pw@host/db

    from bench.archival import run
    report = run(20_000, dim=384)      # a dict; also printed unless verbose=False

What `run(n_passages)` does, with the server's own storage code
(mnemo_server.storage.passages), on a fresh embedded PostgreSQL unless a
database URL is given (its schema is migrated first; the benchmark's rows are
deleted at the end):

1. creates `agents` agents and loads N passages with vectors of a fixed
   dimension (clustered random vectors, so neighbours are meaningful) and
   random text, with COPY;
2. builds the HNSW index for that dimension (ensure_vector_index, as the
   server does on first use) and times it;
3. runs `queries` searches restricted to one agent (as every archival search
   is) three ways: through the HNSW index with iterative scans (forced, so the
   index path is what is measured), as the planner chooses, and exactly; plus
   the full-text candidates query;
4. reports recall@k of the index path against exact search, latency
   percentiles, and the EXPLAIN ANALYZE of one indexed query, which shows the
   partial HNSW index (passages_embedding_hnsw_<dim>) in use.

Nothing here needs a model provider: vectors are synthetic.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from mnemo_server.storage import passages as store
from mnemo_server.storage.database import EmbeddedPostgres, make_engine, migrate, normalise_url
from sqlalchemy import text

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu invoice meeting project budget "
         "holiday birthday doctor car house garden coffee music book travel city river mountain").split()


def _vectors(n: int, dim: int, rng: random.Random, clusters: int = 64) -> list[list[float]]:
    centres = [[rng.gauss(0, 1) for _ in range(dim)] for _ in range(clusters)]
    out = []
    for _ in range(n):
        centre = centres[rng.randrange(clusters)]
        out.append([c + rng.gauss(0, 0.6) for c in centre])
    return out


def _csv_rows(agent_ids: list[str], vectors: list[list[float]], rng: random.Random, run_tag: str) -> bytes:
    buf = io.StringIO()
    for i, vector in enumerate(vectors):
        words = " ".join(rng.choice(WORDS) for _ in range(12))
        tags = "{" + rng.choice(["work", "home", "misc"]) + "}"
        buf.write(f'{run_tag}-{i},{agent_ids[i % len(agent_ids)]},"{words} number {i}",{tags},'
                  f'"{store.vector_literal(vector)}",{len(vector)}\n')
    return buf.getvalue().encode()


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(statistics.median(ordered), 3), "p95_ms": round(pick(0.95), 3),
            "p99_ms": round(pick(0.99), 3), "mean_ms": round(statistics.fmean(ordered), 3)}


async def _run(n_passages: int, *, dim: int, agents: int, queries: int, top_k: int, database_url: str | None,
               seed: int, verbose: bool) -> dict[str, Any]:
    rng = random.Random(seed)
    embedded = None
    data_dir = None
    if database_url:
        url = normalise_url(database_url)
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="mnemo-bench-archival-"))
        embedded = EmbeddedPostgres(data_dir)
        url = await asyncio.to_thread(embedded.start)
    engine = make_engine(url, pool_size=4)
    run_tag = f"bench-{uuid.uuid4().hex[:8]}"
    agent_ids = [f"agent-{run_tag}-{i}" for i in range(agents)]
    report: dict[str, Any] = {"passages": n_passages, "dim": dim, "agents": agents, "queries": queries,
                              "top_k": top_k, "index": store.index_name(dim)}
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO agents (id, name, agent_type, system, llm_config) "
                "SELECT unnest(CAST(:ids AS text[])), 'bench', 'letta_v1_agent', '', '{}'::jsonb"), {"ids": agent_ids})

        started = time.perf_counter()
        vectors = _vectors(n_passages, dim, rng)
        payload = _csv_rows(agent_ids, vectors, rng, run_tag)
        report["generate_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            await raw.copy_to_table("passages", source=io.BytesIO(payload), format="csv",
                                    columns=["id", "agent_id", "text", "tags", "embedding", "embedding_dim"])
            await conn.execute(text("ANALYZE passages"))
            await conn.commit()
        report["load_s"] = round(time.perf_counter() - started, 2)
        report["load_rows_per_s"] = round(n_passages / max(report["load_s"], 1e-9))

        started = time.perf_counter()
        await store.ensure_vector_index(engine, dim)
        report["index_build_s"] = round(time.perf_counter() - started, 2)

        recalls, indexed_ms, planner_ms, exact_ms, text_ms = [], [], [], [], []
        for _ in range(queries):
            base = vectors[rng.randrange(n_passages)]
            query = [v + rng.gauss(0, 0.3) for v in base]
            filters = store.Filters(agent_id=rng.choice(agent_ids))
            async with engine.begin() as conn:
                t0 = time.perf_counter()
                approx = await store.vector_candidates(conn, filters, query, limit=top_k, prefer_index=True)
                indexed_ms.append((time.perf_counter() - t0) * 1000)
            async with engine.begin() as conn:
                t0 = time.perf_counter()
                await store.vector_candidates(conn, filters, query, limit=top_k)
                planner_ms.append((time.perf_counter() - t0) * 1000)
            async with engine.begin() as conn:
                t0 = time.perf_counter()
                exact = await store.vector_candidates(conn, filters, query, limit=top_k, exact=True)
                exact_ms.append((time.perf_counter() - t0) * 1000)
            async with engine.begin() as conn:
                t0 = time.perf_counter()
                await store.text_candidates(conn, filters, " ".join(rng.choice(WORDS) for _ in range(3)),
                                            limit=top_k)
                text_ms.append((time.perf_counter() - t0) * 1000)
            truth = {i for i, _ in exact}
            recalls.append(len(truth & {i for i, _ in approx}) / max(1, len(truth)))
        report["recall_at_k"] = round(statistics.fmean(recalls), 4)
        report["vector_indexed"] = _percentiles(indexed_ms)
        report["vector_planner"] = _percentiles(planner_ms)
        report["vector_exact"] = _percentiles(exact_ms)
        report["full_text"] = _percentiles(text_ms)
        async with engine.begin() as conn:
            report["explain"] = await store.explain_vector_search(
                conn, store.Filters(agent_id=agent_ids[0]), vectors[0], limit=top_k, prefer_index=True)
        report["index_used"] = store.index_name(dim) in report["explain"]
    finally:
        try:
            if database_url:  # leave a shared database as it was (the index stays: it is the server's)
                async with engine.begin() as conn:
                    await conn.execute(text("DELETE FROM agents WHERE id = ANY(CAST(:ids AS text[]))"),
                                       {"ids": agent_ids})
        finally:
            await engine.dispose()
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)
            if data_dir is not None:
                shutil.rmtree(data_dir, ignore_errors=True)
    if verbose:
        printable = {k: v for k, v in report.items() if k != "explain"}
        print(json.dumps(printable, indent=2))
        print(report["explain"])
    return report


def run(n_passages: int, *, dim: int = 384, agents: int = 10, queries: int = 100, top_k: int = 10,
        database_url: str | None = None, seed: int = 0, verbose: bool = True) -> dict[str, Any]:
    """Loads `n_passages` passages of dimension `dim` and measures search.

    Returns a dict: passages, dim, agents, queries, top_k, index (its name),
    generate_s, load_s, load_rows_per_s, index_build_s, recall_at_k (index
    path against exact search, averaged over queries), vector_indexed /
    vector_planner / vector_exact / full_text latencies (p50/p95/p99/mean in
    ms), explain (EXPLAIN ANALYZE text of an indexed query) and index_used.
    Call it from synchronous code (it runs its own event loop).
    """
    return asyncio.run(_run(n_passages, dim=dim, agents=agents, queries=queries, top_k=top_k,
                            database_url=database_url, seed=seed, verbose=verbose))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run(args.passages, dim=args.dim, agents=args.agents, queries=args.queries, top_k=args.top_k,
        database_url=args.database_url, seed=args.seed)


if __name__ == "__main__":
    main()
