"""`python -m bench` (`make bench`): measure Mnemo's own cost against a real
server, embedded PostgreSQL and Envoy, with a fake model that answers
instantly. BENCH_QUICK=1 runs a short version (about a minute; CI
smoke test).

Writes bench/results/latest.json and latest.md (quick: quick.json, quick.md;
BENCH_RESULTS_DIR overrides the folder) and prints a one-line summary. Exits
non-zero if any measurement failed (after writing what it has).

Environment: BENCH_QUICK=1 (short run), BENCH_PROFILE=0/1 (py-spy profile of
the server: on by default in the full run when py-spy is installed, off in the
quick run), BENCH_ARCHIVAL=0 (skip the archival search benchmark),
BENCH_KEEP=1 (keep the temporary work directory).
"""
from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import floor, growth, memory, profile, report, roundtrips, seed, step, streaming, throughput
from .harness import BenchEnv, log

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Plan:
    step_n: int
    step_warmup: int
    floor_n: int
    stream_tokens: int
    stream_paced_tokens: int
    stream_pace_ms: float
    stream_n: int
    throughput_levels: tuple[int, ...]
    throughput_s: float
    growth_messages: tuple[int, ...]
    growth_agents: tuple[int, ...]
    growth_context: tuple[int, ...]
    growth_n: int
    memory_agents: int
    roundtrip_steps: int
    archival_sizes: tuple[int, ...]
    archival_queries: int
    profile_s: float


QUICK = Plan(step_n=100, step_warmup=20, floor_n=300, stream_tokens=200, stream_paced_tokens=50, stream_pace_ms=2,
             stream_n=5, throughput_levels=(1, 10, 100), throughput_s=3, growth_messages=(10, 1_000, 100_000),
             growth_agents=(1, 100, 1_000), growth_context=(20, 100, 500), growth_n=30, memory_agents=300, roundtrip_steps=20,
             archival_sizes=(10_000,), archival_queries=30, profile_s=0)
FULL = Plan(step_n=500, step_warmup=50, floor_n=1_000, stream_tokens=1_000, stream_paced_tokens=100,
            stream_pace_ms=2, stream_n=20, throughput_levels=(1, 10, 100), throughput_s=15,
            growth_messages=(10, 1_000, 100_000), growth_agents=(1, 100, 10_000), growth_context=(20, 100, 500), growth_n=100,
            memory_agents=1_000, roundtrip_steps=50, archival_sizes=(10_000, 100_000), archival_queries=100,
            profile_s=15)


async def archival(env: BenchEnv, plan: Plan) -> dict:
    """6. Archival search latency and recall@10 against exact search, via
    bench/archival.py (`run(n_passages, ..., database_url=...)`), on the
    benchmark's database. The HNSW index is dropped before each size, so each
    size loads without it and times its build (as a fresh server would)."""
    try:
        from . import archival as module
    except ModuleNotFoundError as exc:
        if exc.name != "bench.archival":
            raise
        return {"skipped": "bench/archival.py is not present"}
    if os.environ.get("BENCH_ARCHIVAL") == "0":
        return {"skipped": "BENCH_ARCHIVAL=0"}
    accepted = inspect.signature(module.run).parameters
    out: dict = {"sizes": {}}
    for size in plan.archival_sizes:
        kwargs = {"dim": 384, "queries": plan.archival_queries, "top_k": 10, "database_url": env.dsn,
                  "verbose": False}
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
        index = getattr(getattr(module, "store", None), "index_name", lambda dim: f"passages_embedding_hnsw_{dim}")
        await env.pool.execute(f'DROP INDEX IF EXISTS "{index(384)}"')
        started = time.perf_counter()
        result = await asyncio.to_thread(module.run, size, **kwargs)
        result = {k: v for k, v in result.items() if k != "explain"}
        result["wall_s"] = round(time.perf_counter() - started, 1)
        out["sizes"][str(size)] = result
        log(f"archival: {size} passages: recall@10 {result.get('recall_at_k')}")
    if 1_000_000 not in plan.archival_sizes:
        out["note"] = ("1M passages not run: generating and indexing them takes far longer than the benchmark's "
                       "budget on this machine (run `python -m bench.archival --passages 1000000` by hand)")
    return out


def machine() -> dict:
    import platform

    info: dict = {"nproc": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                           if line.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or "unknown"
    try:
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
        info["memory_gb"] = round(kb / 2**20, 1)
    except (OSError, StopIteration):
        pass
    return info


def git_commit() -> str | None:
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=RESULTS.parent.parent, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=RESULTS.parent.parent, timeout=5).stdout.strip()
        return f"{commit}{'+dirty' if dirty else ''}" if commit else None
    except (OSError, subprocess.SubprocessError):
        return None


async def suite(env: BenchEnv, plan: Plan, results: dict, errors: list[str]) -> None:
    await env.open()

    async def measure(name: str, coro) -> None:
        log(f"{name} ...")
        started = time.perf_counter()
        try:
            results[name] = await coro
        except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
            traceback.print_exc()
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            errors.append(name)
        results.setdefault(name, {})["seconds"] = round(time.perf_counter() - started, 1)
        results.setdefault("rss_mb_after", {})[name] = round(env.server_rss_mb(), 1)

    first = env.cpu_snapshot()
    try:
        await asyncio.sleep(1.0)
        results["rss_startup_mb"] = round(env.server_rss_mb(), 1)
        # Growth first: its "1 agent in the database" level needs an empty database.
        await measure("growth", growth.run(env, message_levels=plan.growth_messages,
                                           agent_levels=plan.growth_agents, context_levels=plan.growth_context,
                                           n=plan.growth_n, warmup=5))
        results["database"] = {"agents": await seed.agent_count(env),
                               "messages": await env.pool.fetchval("SELECT count(*) FROM messages")}
        await measure("floor", floor.run(env, n=plan.floor_n, warmup=max(20, plan.floor_n // 10)))
        await measure("step", step.run(env, n=plan.step_n, warmup=plan.step_warmup))
        await measure("streaming", streaming.run(
            env, tokens=plan.stream_tokens, pace_ms=plan.stream_pace_ms, paced_tokens=plan.stream_paced_tokens,
            n=plan.stream_n, warmup=2))
        await measure("round_trips", roundtrips.run(env, steps=plan.roundtrip_steps))
        await measure("throughput", throughput.run(env, levels=plan.throughput_levels, duration_s=plan.throughput_s))
        clones = await env.pool.fetch("SELECT id FROM agents WHERE name LIKE 'bench-growth-%' ORDER BY id LIMIT $1",
                                      plan.memory_agents)
        await measure("memory", memory.run(env, agent_ids=[r["id"] for r in clones]))
        if "throughput" in results and "levels" in results["throughput"]:
            results["memory"]["rss_under_load_peak_mb"] = max(
                lvl["server_rss_peak_mb"] for lvl in results["throughput"]["levels"].values())
        await measure("archival", archival(env, plan))
        want_profile = os.environ.get("BENCH_PROFILE", "0" if plan.profile_s == 0 else "1") != "0"
        if want_profile:
            await measure("profile", profile.run(env, seconds=plan.profile_s or 10, out_dir=env.workdir))
    finally:
        try:
            results["noise"] = {
                "foreign_cpu_cores_avg": round(env.foreign_cpu_cores(first, env.cpu_snapshot()), 3),
                "loadavg_end": [round(x, 2) for x in os.getloadavg()],
                "note": "CPU used by processes outside the benchmark during the run (0 = quiet machine)"}
        finally:
            await env.close()


def main() -> int:
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    plan = QUICK if quick else FULL
    mode = "quick" if quick else "full"
    out_dir = Path(os.environ.get("BENCH_RESULTS_DIR") or RESULTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data: dict = {"meta": {"mode": mode, "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                           "commit": git_commit(), "machine": machine(), "plan": plan.__dict__,
                           "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
                  "results": {}}
    errors: list[str] = []
    env = BenchEnv(quick=quick)
    try:
        env.start()
        asyncio.run(suite(env, plan, data["results"], errors))
    except Exception as exc:  # noqa: BLE001 - a broken stack still writes what it has
        traceback.print_exc()
        errors.append(f"harness: {type(exc).__name__}: {exc}")
    finally:
        env.stop()
    data["meta"]["duration_s"] = round(time.perf_counter() - started, 1)
    data["meta"]["errors"] = errors
    data["headline"] = report.headline(data)
    name = "quick" if quick else "latest"
    (out_dir / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    (out_dir / f"{name}.md").write_text(report.markdown(data))
    print(report.one_line(data), flush=True)
    log(f"wrote {out_dir / (name + '.json')} and {name}.md in {data['meta']['duration_s']} s")
    if errors:
        print(f"bench: {len(errors)} measurement(s) failed: {', '.join(errors)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
