"""`python -m bench.mcp`: what an MCP tool call costs, next to a custom tool call.

In this process (no Mnemo server: the cost of the call paths themselves), one
trivial tool (`add`) called N times one after the other:

- ``custom``: a custom tool in the sandbox (``run_tool``, with the pool of ready
  sandboxes, a pause between calls so it refills, as between an agent's calls);
- ``stdio_warm`` / ``stdio_cold``: the stdio MCP server of the tests
  (tests/mcp_servers.py) run in the sandbox, through ``McpConnections``: warm is
  the kept connection, cold starts the server (sandbox, interpreter, SDK,
  negotiation) for every call;
- ``http_warm`` / ``http_cold``: the same tools over Streamable HTTP (stateless,
  2026-07-28) on loopback: warm reuses the connection, cold connects
  (``server/discover``) for every call.

Prints the median and p90 in milliseconds as JSON. docs/mcp.md quotes it.
Environment: BENCH_MCP_N (default 40; cold runs use a quarter).
"""
from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SOURCE = "def add(a: int, b: int) -> int:\n    return a + b\n"


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"n": len(times), "median_ms": round(statistics.median(times), 1),
            "p90_ms": round(ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))], 1)}


async def _custom(n: int) -> dict[str, float]:
    from mnemo_server.sandbox import run_tool

    await run_tool(SOURCE, "add", {"a": 1, "b": 2}, env={}, agent_state=None)
    await asyncio.sleep(0.5)
    times = []
    for i in range(n):
        started = time.perf_counter()
        result = await run_tool(SOURCE, "add", {"a": i, "b": 1}, env={}, agent_state=None)
        times.append((time.perf_counter() - started) * 1000)
        if result.status != "success":
            raise RuntimeError(f"the custom tool failed: {result}")
        await asyncio.sleep(0.15)
    return _summary(times)


async def _mcp(spec, settings, n: int, cold: bool) -> dict[str, float]:
    from mnemo_server.sandbox.mcp_connections import McpConnections

    connections = McpConnections(settings)
    times = []
    try:
        if not cold:
            await connections.call_tool(spec, "add", {"a": 1, "b": 2})
        for i in range(n):
            if cold:
                await connections.drop(spec.id)
            started = time.perf_counter()
            outcome = await connections.call_tool(spec, "add", {"a": i, "b": 1})
            times.append((time.perf_counter() - started) * 1000)
            if outcome.is_error or outcome.text != str(i + 1):
                raise RuntimeError(f"the MCP call failed: {outcome}")
    finally:
        await connections.close()
    return _summary(times)


async def _run(n: int) -> dict:
    from mnemo_server.config import McpSettings
    from mnemo_server.sandbox.mcp_connections import ServerSpec

    from tests.mcp_servers import SITE_PACKAGES, STDIO_SOURCE, HttpServer

    settings = McpSettings(allow=("127.0.0.1/32",), stdio_binds=(SITE_PACKAGES,), connect_timeout_s=30)
    stdio = ServerSpec(id="bench-stdio", name="bench-stdio", server_type="stdio", command="/usr/bin/python3",
                       args=("-c", STDIO_SOURCE), env=(("PYTHONPATH", SITE_PACKAGES),))
    http_server = HttpServer("stateless").start()
    http = ServerSpec(id="bench-http", name="bench-http", server_type="streamable_http", url=http_server.url)
    cold_n = max(3, n // 4)
    try:
        return {
            "custom": await _custom(n),
            "stdio_warm": await _mcp(stdio, settings, n, cold=False),
            "stdio_cold": await _mcp(stdio, settings, cold_n, cold=True),
            "http_warm": await _mcp(http, settings, n, cold=False),
            "http_cold": await _mcp(http, settings, cold_n, cold=True),
        }
    finally:
        http_server.stop()


def main() -> None:
    import logging

    logging.disable(logging.INFO)
    n = int(os.environ.get("BENCH_MCP_N", "40"))
    print(json.dumps(asyncio.run(_run(n)), indent=1))


if __name__ == "__main__":
    main()
