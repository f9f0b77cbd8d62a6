"""4. Throughput: messages per second with 1, 10 and 100 agents messaged
concurrently over gRPC (one closed-loop client per agent: send, wait for the
answer, send again), and CPU per message. Each client trims its agent's
context every 10 messages, outside its timing (bench/context.py), so contexts
stay at 21-41 messages as in the sequential measurements.

CPU is read from /proc (psutil) before and after each level: the server
process, PostgreSQL (postmaster and backends, including backends that exited),
the fake model and the benchmark client itself, divided by the messages
completed; `machine_cpu_busy` is the share of all cores busy during the level
(1.0 = saturated). The server's peak RSS during the level is sampled too.
"""
from __future__ import annotations

import asyncio
import time

from . import context
from .harness import BenchEnv, send
from .stats import summary


async def level(env: BenchEnv, agent_ids: list[str], duration_s: float) -> dict:
    await context.trim(env, agent_ids, 0)
    latencies: list[float] = []
    errors = 0
    stop_at = 0.0

    async def worker(agent_id: str) -> None:
        nonlocal errors
        sent = 0
        while time.perf_counter() < stop_at:
            if sent % context.TRIM_EVERY == 0:  # outside the timing, like the sequential loops
                await context.trim(env, [agent_id])
            sent += 1
            started = time.perf_counter()
            try:
                await send(env, agent_id)
            except Exception:  # noqa: BLE001 - counted, reported
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    rss_peak = env.server_rss_mb()

    async def sample_rss() -> None:
        nonlocal rss_peak
        while True:
            await asyncio.sleep(0.2)
            rss_peak = max(rss_peak, env.server_rss_mb())

    # A short unmeasured ramp so every agent is mid-loop when measuring starts.
    stop_at = time.perf_counter() + min(1.0, duration_s / 4)
    await asyncio.gather(*(worker(a) for a in agent_ids))
    latencies.clear()
    errors = 0
    db_before = await _db_counters(env)
    before = env.cpu_snapshot()
    sampler = asyncio.create_task(sample_rss())
    started = time.perf_counter()
    stop_at = started + duration_s
    await asyncio.gather(*(worker(a) for a in agent_ids))
    wall = time.perf_counter() - started
    sampler.cancel()
    after = env.cpu_snapshot()
    db_after = await _db_counters(env)
    done = len(latencies)
    cpu_ms = {k: round((after[k] - before[k]) * 1000 / max(done, 1), 3)
              for k in ("server", "envoy", "postgres", "fake_model", "bench_client")}
    machine = (after["machine_busy"] - before["machine_busy"]) / (after["machine_total"] - before["machine_total"])
    return {
        "agents": len(agent_ids), "messages": done, "errors": errors, "wall_s": round(wall, 3),
        "messages_per_s": round(done / wall, 1),
        "latency_ms": summary(latencies),
        "cpu_ms_per_message": cpu_ms,
        "server_cpu_cores": round((after["server"] - before["server"]) / wall, 3),
        "machine_cpu_busy": round(machine, 3),
        "foreign_cpu_cores": round(env.foreign_cpu_cores(before, after), 3),
        "server_rss_peak_mb": round(rss_peak, 1),
        # New PostgreSQL sessions (backends started) and commits, per message.
        "db_sessions_opened": db_after["sessions"] - db_before["sessions"],
        "db_commits_per_message": round((db_after["xact_commit"] - db_before["xact_commit"]) / max(done, 1), 2),
    }


async def _db_counters(env: BenchEnv) -> dict[str, int]:
    row = await env.pool.fetchrow(
        "SELECT sessions, xact_commit FROM pg_stat_database WHERE datname = current_database()")
    return dict(row)


async def run(env: BenchEnv, *, levels: tuple[int, ...], duration_s: float) -> dict:
    agent_ids = [await env.create_agent(f"bench-tp-{i}") for i in range(max(levels))]
    for a in agent_ids:  # first turn (system message) out of the way
        await send(env, a)
    out = {"method": "closed loop over gRPC, one client per agent, all agents in parallel; "
                     f"{duration_s:g} s per level after a ramp", "levels": {}}
    for n in levels:
        out["levels"][str(n)] = await level(env, agent_ids[:n], duration_s)
    return out
