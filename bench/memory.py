"""7. Memory: the server process's RSS idle, after messaging many distinct
agents (per 1 000 agents), and under load (the peak sampled during the
throughput levels, reported there and summarised here).

Mnemo keeps no per-agent state in memory by design, so RSS should not grow
with the number of agents served; a growth here would show a cache or a leak.
"""
from __future__ import annotations

import asyncio
import gc

from .harness import BenchEnv, send
from .stats import summary


async def run(env: BenchEnv, *, agent_ids: list[str], concurrency: int = 10) -> dict:
    gc.collect()
    await asyncio.sleep(1.0)
    idle_before = env.server_rss_mb()
    queue = list(agent_ids)
    latencies: list[float] = []

    async def worker() -> None:
        loop = asyncio.get_running_loop()
        while queue:
            agent_id = queue.pop()
            started = loop.time()
            await send(env, agent_id)
            latencies.append((loop.time() - started) * 1000)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await asyncio.sleep(1.0)
    idle_after = env.server_rss_mb()
    per_1000 = (idle_after - idle_before) * 1000 / max(len(agent_ids), 1)
    return {
        "method": f"RSS of the server process before and after one message to each of {len(agent_ids)} "
                  f"distinct agents ({concurrency} at a time), idle 1 s before each reading",
        "rss_idle_mb": round(idle_before, 1),
        "rss_after_agents_mb": round(idle_after, 1),
        "agents_messaged": len(agent_ids),
        "rss_growth_mb_per_1000_agents": round(per_1000, 2),
        "first_message_latency_ms": summary(latencies),
    }
