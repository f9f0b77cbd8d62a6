"""`python -m bench.sandbox`: the cost of one custom tool call in the sandbox.

Calls `run_tool` in this process (no server: the sandbox's own cost) for a
trivial function, N times one after the other, with the pool of ready sandboxes
(the default, ``MNEMO_SANDBOX_POOL=2``, a pause between calls so the pool is
refilled, as between an agent's tool calls) and without it
(``MNEMO_SANDBOX_POOL=0``: the start-up on the call path), and prints the median
and p90 in milliseconds as JSON. docs/sandbox.md's Cost section quotes it.

Environment: BENCH_SANDBOX_N (default 60).
"""
from __future__ import annotations

import asyncio
import json
import os
import statistics
import time

SOURCE = "def f(n: int) -> int:\n    return n * 2\n"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _measure(n: int, pause_s: float) -> dict[str, float]:
    from mnemo_server.sandbox import run_tool

    await run_tool(SOURCE, "f", {"n": 1}, env={}, agent_state=None)  # interpreter probe, pool fill
    await asyncio.sleep(0.5)
    times = []
    for i in range(n):
        started = time.perf_counter()
        result = await run_tool(SOURCE, "f", {"n": i}, env={}, agent_state=None)
        times.append((time.perf_counter() - started) * 1000)
        if result.status != "success":
            raise RuntimeError(f"the call failed: {result}")
        if pause_s:
            await asyncio.sleep(pause_s)
    return {"median_ms": round(statistics.median(times), 1), "p90_ms": round(_percentile(times, 0.9), 1)}


def main() -> None:
    n = int(os.environ.get("BENCH_SANDBOX_N", "60"))
    mode = os.environ.get("MNEMO_SANDBOX_POOL", "2")
    result = asyncio.run(_measure(n, 0.15 if mode != "0" else 0.0))
    print(json.dumps({"pool": mode, "n": n, **result}))


if __name__ == "__main__":
    main()
