"""Archival memory: passages, their vectors and the queries hybrid search is
made of.

Vectors are stored at their real dimension (`embedding vector`, no typmod,
with `embedding_dim`). Each dimension gets its own HNSW index, a partial
expression index created the first time a vector of that size is stored:

    CREATE INDEX CONCURRENTLY passages_embedding_hnsw_<N> ON passages
        USING hnsw ((embedding::vector(N)) vector_cosine_ops) WHERE embedding_dim = N

(`halfvec(N)` from 2,001 to 4,000 dimensions, pgvector's limits; larger vectors
get no index and are searched exactly). A query uses that index only when it
is written with the same expression and predicate, which `vector_candidates`
does: `embedding_dim = N ... ORDER BY (embedding::vector(N)) <=> $q`.

Filters (agent, tags, dates) are applied while the index is scanned, with
pgvector's iterative scans (`hnsw.iterative_scan = relaxed_order`): the scan
goes on until enough rows pass the filters, instead of returning the few of
its first `ef_search` candidates that do. If it still ends short (it stops
after hnsw.max_scan_tuples), the same query runs exactly, without the index,
so a filter never silently shrinks the results.
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .paging import Page, apply_page
from .schema import passages
from .search import TS_CONFIG, or_query_text

log = logging.getLogger(__name__)

INDEX_PREFIX = "passages_embedding_hnsw_"
MAX_VECTOR_INDEX_DIM = 2000  # pgvector: HNSW on `vector` up to 2,000 dimensions
MAX_HALFVEC_INDEX_DIM = 4000  # and on `halfvec` up to 4,000
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
# ef_search 300 keeps recall@10 ≥ 0.98 at 100k passages (bench/archival.py: 0.985, 9 ms p50,
# against 0.92 at 100 and 40 ms for an exact scan).
MIN_EF_SEARCH = 300
MAX_EF_SEARCH = 1000

COLUMNS = [passages.c[n] for n in (
    "id", "agent_id", "text", "tags", "metadata", "embedding_dim", "embedding_handle", "created_at", "updated_at",
)]


@dataclass
class PassageRow:
    id: str
    agent_id: str
    text: str
    tags: list[str]
    metadata: dict[str, Any]
    embedding_dim: int | None
    embedding_handle: str | None
    created_at: datetime
    updated_at: datetime


def _row(r) -> PassageRow:
    m = r._mapping
    return PassageRow(**{c.name: m[c.name] for c in COLUMNS})


def vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text form, '[0.1,0.2,...]'."""
    return "[" + ",".join(repr(float(v)) for v in vector) + "]"


# --------------------------------------------------------------------------- rows


async def insert_many(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[PassageRow]:
    """Inserts passages; `embedding` values are lists of floats (or None)."""
    if not rows:
        return []
    values = [{**r, "embedding": list(r["embedding"]) if r.get("embedding") is not None else None} for r in rows]
    result = await conn.execute(insert(passages).returning(*COLUMNS), values)
    return [_row(r) for r in result.all()]


async def get(conn: AsyncConnection, agent_id: str, passage_id: str, *, for_update: bool = False) -> PassageRow | None:
    stmt = select(*COLUMNS).where(passages.c.id == passage_id, passages.c.agent_id == agent_id)
    if for_update:
        stmt = stmt.with_for_update()
    found = (await conn.execute(stmt)).first()
    return _row(found) if found else None


async def by_ids(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, PassageRow]:
    if not ids:
        return {}
    rows = (await conn.execute(select(*COLUMNS).where(passages.c.id.in_(list(ids))))).all()
    return {r.id: _row(r) for r in rows}


async def page(conn: AsyncConnection, agent_id: str, p: Page, *, contains: str | None = None) -> list[PassageRow]:
    stmt = select(*COLUMNS).where(passages.c.agent_id == agent_id)
    if contains:
        stmt = stmt.where(passages.c.text.icontains(contains, autoescape=True))
    stmt, flipped = await apply_page(conn, stmt, p, passages.c.created_at, passages.c.id,
                                     cursor_scope=passages.c.agent_id == agent_id)
    result = [_row(r) for r in (await conn.execute(stmt)).all()]
    return result[::-1] if flipped else result


async def update_one(conn: AsyncConnection, agent_id: str, passage_id: str, values: dict[str, Any]) -> PassageRow:
    if values.get("embedding") is not None:
        values = {**values, "embedding": list(values["embedding"])}
    result = await conn.execute(
        update(passages).where(passages.c.id == passage_id, passages.c.agent_id == agent_id)
        .values(**values, updated_at=func.now()).returning(*COLUMNS)
    )
    return _row(result.one())


async def delete_one(conn: AsyncConnection, agent_id: str, passage_id: str) -> bool:
    result = await conn.execute(
        delete(passages).where(passages.c.id == passage_id, passages.c.agent_id == agent_id))
    return result.rowcount > 0


async def has_any(conn: AsyncConnection, agent_id: str) -> bool:
    found = await conn.execute(select(passages.c.id).where(passages.c.agent_id == agent_id).limit(1))
    return found.first() is not None


async def has_vectors(conn: AsyncConnection, agent_id: str) -> bool:
    """Whether any passage of the agent has an embedding."""
    found = await conn.execute(select(passages.c.id).where(
        passages.c.agent_id == agent_id, passages.c.embedding_dim.is_not(None)).limit(1))
    return found.first() is not None


async def stats(conn: AsyncConnection, agent_id: str, *, max_tags: int = 50) -> tuple[int, list[str]]:
    """(number of passages, their distinct tags, alphabetically) for an agent:
    what the memory metadata of the system prompt shows."""
    count = (await conn.execute(
        select(func.count()).select_from(passages).where(passages.c.agent_id == agent_id))).scalar_one()
    tag = func.unnest(passages.c.tags).label("tag")
    inner = select(tag).where(passages.c.agent_id == agent_id).subquery()
    tags = (await conn.execute(select(inner.c.tag).distinct().order_by(inner.c.tag).limit(max_tags))).scalars().all()
    return count, list(tags)


# --------------------------------------------------------------------------- search


@dataclass(frozen=True)
class Filters:
    """What a search is restricted to: one agent, tags, a time range."""

    agent_id: str
    tags: tuple[str, ...] = ()
    match_all_tags: bool = False
    start: datetime | None = None
    end: datetime | None = None

    def sql(self) -> tuple[str, dict[str, Any]]:
        conds = ["agent_id = :agent_id"]
        params: dict[str, Any] = {"agent_id": self.agent_id}
        if self.tags:
            conds.append("tags @> CAST(:tags AS text[])" if self.match_all_tags else "tags && CAST(:tags AS text[])")
            params["tags"] = list(self.tags)
        if self.start is not None:
            conds.append("created_at >= :start")
            params["start"] = self.start
        if self.end is not None:
            conds.append("created_at <= :end")
            params["end"] = self.end
        return " AND ".join(conds), params


def vector_type(dim: int) -> str | None:
    """The type the HNSW index of this dimension uses (None: no index)."""
    if dim <= MAX_VECTOR_INDEX_DIM:
        return "vector"
    if dim <= MAX_HALFVEC_INDEX_DIM:
        return "halfvec"
    return None


def index_name(dim: int) -> str:
    return f"{INDEX_PREFIX}{dim}"


def _distance_sql(dim: int, *, indexed: bool) -> str:
    """The cosine distance to :query. `indexed` writes it exactly as the index
    of this dimension is built, so the planner can use the index; otherwise it
    is written so that no index matches (an exact scan)."""
    kind = vector_type(dim)
    if indexed and kind is not None:
        return f"(embedding::{kind}({dim})) <=> CAST(:query AS {kind}({dim}))"
    return "embedding <=> CAST(:query AS vector)"


_iterative: dict[str, bool] = {}  # database URL -> pgvector has iterative scans


async def _iterative_scans(conn: AsyncConnection) -> bool:
    """Whether this database's pgvector has iterative index scans (0.8.0+).
    Older versions still give full results, through the exact fallback."""
    key = conn.engine.url.render_as_string(hide_password=True)
    if key not in _iterative:
        version = (await conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))).scalar()
        try:
            _iterative[key] = tuple(int(p) for p in (version or "0").split(".")[:2]) >= (0, 8)
        except ValueError:
            _iterative[key] = False
    return _iterative[key]


async def _scan_settings(conn: AsyncConnection, limit: int, prefer_index: bool) -> dict[str, str]:
    settings = {"hnsw.ef_search": str(max(MIN_EF_SEARCH, min(MAX_EF_SEARCH, 2 * limit)))}
    if await _iterative_scans(conn):
        settings["hnsw.iterative_scan"] = "relaxed_order"
    if prefer_index:
        settings["enable_sort"] = "off"
    return settings


async def _set_local(conn: AsyncConnection, settings: dict[str, str]) -> None:
    """SET LOCAL for each setting, in one round trip."""
    calls = ", ".join(f"set_config(:k{i}, :v{i}, true)" for i in range(len(settings)))
    params = {}
    for i, (key, value) in enumerate(settings.items()):
        params[f"k{i}"], params[f"v{i}"] = key, value
    await conn.execute(text(f"SELECT {calls}"), params)


async def vector_candidates(conn: AsyncConnection, filters: Filters, query: Sequence[float], *, limit: int,
                            prefer_index: bool = False, exact: bool = False) -> list[tuple[str, float]]:
    """(passage id, cosine distance) of the `limit` nearest passages that pass
    `filters`, nearest first. Must run inside a transaction (SET LOCAL).

    `exact` skips the index; `prefer_index` makes the planner take the index
    even where a filtered exact scan looks cheaper (tests, benchmarks).
    """
    dim = len(query)
    where, params = filters.sql()
    params.update(query=vector_literal(query), limit=limit)
    indexed = not exact and vector_type(dim) is not None
    if indexed:
        await _set_local(conn, await _scan_settings(conn, limit, prefer_index))
    distance = _distance_sql(dim, indexed=indexed)
    # relaxed_order may return neighbours slightly out of order: sort the
    # materialised candidates again (pgvector's recommended form).
    sql = f"""
        WITH candidates AS MATERIALIZED (
            SELECT id, {distance} AS distance FROM passages
            WHERE embedding_dim = {int(dim)} AND {where}
            ORDER BY {distance} LIMIT :limit
        )
        SELECT id, distance FROM candidates ORDER BY distance, id
    """
    rows = [(r.id, float(r.distance)) for r in (await conn.execute(text(sql), params)).all()]
    if indexed and prefer_index:
        await _set_local(conn, {"enable_sort": "on"})
    if indexed and len(rows) < limit:
        # Fewer than asked: either fewer passages pass the filters (the exact
        # scan is then cheap) or the index scan gave up; either way the exact
        # answer is the right one.
        return await vector_candidates(conn, filters, query, limit=limit, exact=True)
    return rows


async def text_candidates(conn: AsyncConnection, filters: Filters, query: str, *,
                          limit: int) -> list[tuple[str, float]]:
    """(passage id, ts_rank_cd) of the best full-text matches (any word of the
    query), best first."""
    q = or_query_text(query)
    if not q:
        return []
    where, params = filters.sql()
    params.update(q=q, limit=limit)
    sql = f"""
        SELECT id, ts_rank_cd(tsv, query) AS rank
        FROM passages, websearch_to_tsquery('{TS_CONFIG}'::regconfig, :q) AS query
        WHERE tsv @@ query AND {where}
        ORDER BY rank DESC, created_at DESC, id LIMIT :limit
    """
    return [(r.id, float(r.rank)) for r in (await conn.execute(text(sql), params)).all()]


async def recent(conn: AsyncConnection, filters: Filters, *, limit: int) -> list[str]:
    """Ids of the newest passages that pass `filters`."""
    where, params = filters.sql()
    params["limit"] = limit
    sql = f"SELECT id FROM passages WHERE {where} ORDER BY created_at DESC, id DESC LIMIT :limit"
    return [r.id for r in (await conn.execute(text(sql), params)).all()]


async def explain_vector_search(conn: AsyncConnection, filters: Filters, query: Sequence[float], *,
                                limit: int, prefer_index: bool = False) -> str:
    """EXPLAIN ANALYZE of the indexed vector query (for benchmarks and tests).
    Must run inside a transaction."""
    dim = len(query)
    where, params = filters.sql()
    params.update(query=vector_literal(query), limit=limit)
    await _set_local(conn, await _scan_settings(conn, limit, prefer_index))
    distance = _distance_sql(dim, indexed=True)
    sql = f"""EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON)
        SELECT id, {distance} AS distance FROM passages WHERE embedding_dim = {int(dim)} AND {where}
        ORDER BY {distance} LIMIT :limit"""
    plan = "\n".join(r[0] for r in (await conn.execute(text(sql), params)).all())
    return re.sub(r"'\[[^\]]{60,}\]'", f"'[{dim} values]'", plan)


# --------------------------------------------------------------------------- indexes

_known_indexes: set[tuple[int, int]] = set()  # (id(engine), dim) already checked by this process
_index_locks: dict[tuple[int, int], asyncio.Lock] = {}
_INDEX_LOCK_KEY = 0x70617373  # advisory lock namespace ("pass"); the dimension is the second key


async def ensure_vector_index(engine: AsyncEngine, dim: int) -> bool:
    """Creates the HNSW index for `dim` if it is missing. Idempotent and safe
    when several servers race: creation is serialised by an advisory lock, and
    an index left invalid by an interrupted build is dropped and rebuilt.
    Returns whether an index exists for `dim` afterwards.
    """
    kind = vector_type(dim)
    if kind is None:
        return False
    key = (id(engine), dim)
    if key in _known_indexes:
        return True
    lock = _index_locks.setdefault(key, asyncio.Lock())
    async with lock:
        if key in _known_indexes:
            return True
        name = index_name(dim)
        # CREATE INDEX CONCURRENTLY cannot run in a transaction: autocommit.
        async with engine.connect() as raw:
            conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("SELECT pg_advisory_lock(:a, :b)"), {"a": _INDEX_LOCK_KEY, "b": dim})
            try:
                valid = (await conn.execute(text(
                    "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
                    "WHERE c.relname = :name AND c.relkind = 'i'"), {"name": name})).scalar()
                if valid is False:
                    log.warning("index %s is invalid (an interrupted build); rebuilding it", name)
                    await conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
                if valid is not True:
                    log.info("creating HNSW index %s for %d-dimensional embeddings", name, dim)
                    await conn.execute(text(
                        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON passages "
                        f"USING hnsw ((embedding::{kind}({dim})) {kind}_cosine_ops) "
                        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
                        f"WHERE embedding_dim = {dim}"))
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), {"a": _INDEX_LOCK_KEY, "b": dim})
        _known_indexes.add(key)
        return True
