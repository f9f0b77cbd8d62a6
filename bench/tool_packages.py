"""`python -m bench.tool_packages`: what tools' packages and TypeScript tools cost.

In this process (no server: the sandbox's own cost), with a fresh package
cache in a temporary folder (downloads from PyPI and npm):

- a pip requirement set (inflection==0.5.1): the first call, which installs it
  (cold), then calls with the set cached (warm; a sandbox with packages mounted
  is started per call, not pooled);
- an npm requirement set (ms@2.1.3): the install;
- TypeScript: the first compile (installs the pinned compiler, then compiles),
  a compile with the compiler cached, then N calls of a trivial TypeScript tool
  next to N calls of the same Python tool (both pooled, a pause between calls as
  between an agent's tool calls).

Prints JSON (milliseconds); docs/sandbox.md's Cost section quotes it.
Environment: BENCH_SANDBOX_N (default 30).
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

PY_SOURCE = "def double(n: int) -> int:\n    return n * 2\n"
TS_SOURCE = "export function double(n: number): number {\n  return n * 2;\n}\n"
SCHEMA = {"name": "double", "parameters": {"type": "object", "properties": {"n": {"type": "number"}},
                                           "required": ["n"]}}
PIP_SOURCE = "def camel(s: str) -> str:\n    import inflection\n    return inflection.camelize(s)\n"


def _stats(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"median_ms": round(statistics.median(ordered), 1),
            "p90_ms": round(ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))], 1)}


async def _timed(coro) -> tuple[float, object]:
    started = time.perf_counter()
    result = await coro
    return (time.perf_counter() - started) * 1000, result


async def _measure(n: int, root: Path) -> dict[str, object]:
    from mnemo_server.sandbox import run_tool
    from mnemo_server.sandbox.packages import ToolPackages, npm_specs, pip_specs
    from mnemo_server.sandbox.typescript import compile_typescript, run_typescript_tool

    packages = ToolPackages(root)
    out: dict[str, object] = {}
    pip = pip_specs([("inflection", "0.5.1")])
    ms, first = await _timed(run_tool(PIP_SOURCE, "camel", {"s": "a_b"}, env={}, agent_state=None,
                                      pip_requirements=pip, packages=packages))
    assert first.status == "success", first
    out["pip_first_call_cold_ms"] = round(ms, 1)
    out["pip_install_ms"] = round(packages.stats.install_seconds * 1000, 1)
    warm = []
    for i in range(max(n // 3, 5)):
        ms, result = await _timed(run_tool(PIP_SOURCE, "camel", {"s": f"a_{i}"}, env={}, agent_state=None,
                                           pip_requirements=pip, packages=packages))
        assert result.status == "success", result
        warm.append(ms)
    out["pip_call_warm"] = _stats(warm)

    before = packages.stats.install_seconds
    ms, _ = await _timed(packages.node_modules(npm_specs([("ms", "2.1.3")])))
    out["npm_install_cold_ms"] = round(ms, 1)
    ms, _ = await _timed(packages.node_modules(npm_specs([("ms", "2.1.3")])))
    out["npm_set_cached_ms"] = round(ms, 2)

    before = packages.stats.install_seconds
    ms, _ = await _timed(compile_typescript(packages, TS_SOURCE, "double"))
    out["ts_first_compile_ms"] = round(ms, 1)
    out["ts_compiler_install_ms"] = round((packages.stats.install_seconds - before) * 1000, 1)
    ms, _ = await _timed(compile_typescript(packages, TS_SOURCE.replace("n * 2", "n + n"), "double"))
    out["ts_compile_ms"] = round(ms, 1)

    for kind in ("python", "typescript"):
        async def call(i: int, kind: str = kind):
            if kind == "python":
                return await run_tool(PY_SOURCE, "double", {"n": i}, env={}, agent_state=None)
            return await run_typescript_tool(packages, TS_SOURCE, "double", {"n": i}, json_schema=SCHEMA, env={},
                                             npm_requirements=[])
        await call(0)  # pool fill
        await asyncio.sleep(1.0)
        times = []
        for i in range(n):
            ms, result = await _timed(call(i))
            assert result.status == "success" and result.func_return == 2 * i, result
            times.append(ms)
            await asyncio.sleep(0.3)
        out[f"{kind}_call_pooled"] = _stats(times)
    return out


def main() -> None:
    n = int(os.environ.get("BENCH_SANDBOX_N", "30"))
    root = Path(tempfile.mkdtemp(prefix="mnemo-bench-packages-"))
    try:
        print(json.dumps({"n": n, **asyncio.run(_measure(n, root))}))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
