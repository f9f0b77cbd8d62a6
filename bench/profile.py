"""Where the server's time goes during one-step messages: py-spy samples the
running server process (no change to it) while the benchmark sends messages
sequentially over gRPC, and the samples of its main thread (the event loop)
are attributed to a layer by their innermost frame that belongs to one.

Optional: runs only when `py-spy` is on PATH (`pip install py-spy`; it is not
a dependency of Mnemo) and BENCH_PROFILE is not 0. Attaching needs ptrace
permission (root, or kernel.yama.ptrace_scope=0).
"""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

from . import context, seed
from .harness import BenchEnv, log, send

# Innermost matching frame wins; stdlib frames (json, typing, asyncio...) are
# skipped so their time is charged to the library that called them.
LAYERS = [
    ("bpe_openai", "token counting"),  # before "openai/", which its path contains
    ("openai/_utils/_transform.py", "openai SDK: request params transform"),
    ("openai/", "openai SDK: other (request building, response parsing)"),
    ("pydantic", "openai SDK: other (request building, response parsing)"),
    ("httpx", "HTTP client (httpx/httpcore)"),
    ("httpcore", "HTTP client (httpx/httpcore)"),
    ("h11/", "HTTP client (httpx/httpcore)"),
    ("anyio/", "HTTP client (httpx/httpcore)"),
    ("sqlalchemy/", "SQLAlchemy"),
    ("asyncpg/", "asyncpg"),
    ("google/protobuf", "protobuf"),
    ("grpc/", "grpc"),
    ("mnemo_server/loop/tokens.py", "token counting"),
    ("mnemo_server/storage/", "mnemo_server: storage (row decoding)"),
    ("mnemo_server/loop/views.py", "mnemo_server: views (protobuf out)"),
    ("mnemo_server/", "mnemo_server: other"),
]


def _main_thread(collapsed: str):
    """(frames, count) of the server's main thread (the event loop)."""
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if any("mnemo_server/cli.py" in f or "mnemo_server/__main__.py" in f for f in frames[:8]):
            yield frames, int(count)


def _idle(frames: list[str]) -> bool:
    return "select (selectors.py" in frames[-1]


def attribute(collapsed: str) -> dict:
    """GIL-holding samples of the main thread: share per layer (innermost
    frame of a known layer) and inclusive shares of the main phases."""
    layers: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    busy = 0
    phases = {
        "model call (openai SDK + httpx, in the agent loop)": "OpenAIChatClient.generate",
        "turn start (run + claim + load: storage/turns.start)": "Runs.start",
        "step commit (storage/turns.commit_step)": "_Turn._write",
        "agent loop (excluding the model call, which runs in its own task)": "AgentLoop.run",
        "gRPC handler (SendMessage, excluding the model call task)": "MessageServicer.SendMessage",
    }
    for frames, n in _main_thread(collapsed):
        if _idle(frames):
            continue
        busy += n
        leaves[frames[-1]] += n
        layer = "event loop / asyncio / other stdlib"
        if frames[-1].startswith("Handle._run (asyncio/events.py"):
            layer = "C code run by the event loop (asyncio tasks, grpc.aio callbacks)"
        elif any(j in frames[-1] for j in ("(json/decoder.py", "(json/encoder.py", "(json/__init__.py")):
            layer = "JSON encode/decode (stdlib json, whoever calls it)"
        else:
            for frame in reversed(frames):
                found = next((name for key, name in LAYERS if key in frame), None)
                if found:
                    layer = found
                    break
        layers[layer] += n
        for phase, marker in phases.items():
            if any(f.startswith(marker + " ") for f in frames):
                inclusive[phase] += n
    if not busy:
        return {"samples": 0}
    return {
        "samples": busy,
        "layers": {k: round(v / busy, 3) for k, v in layers.most_common()},
        "phases_inclusive": {k: round(inclusive[k] / busy, 3) for k in phases},
        "top_leaf_frames": {k: round(v / busy, 3) for k, v in leaves.most_common(12)},
    }


def wall(collapsed: str) -> dict:
    """All samples of the main thread (idle included): where its wall time goes."""
    kinds: Counter[str] = Counter()
    total = 0
    for frames, n in _main_thread(collapsed):
        total += n
        if _idle(frames):
            kinds["waiting for I/O (epoll: PostgreSQL, model, client)"] += n
        elif frames[-1].startswith("_SelectorSocketTransport.write"):
            caller = next((f for f in reversed(frames[:-1]) if "asyncio/" not in f), "")
            target = ("PostgreSQL (asyncpg)" if "asyncpg/" in caller else
                      "model (httpx)" if "anyio/" in caller or "httpcore" in caller else "other")
            kinds[f"socket send() syscall to {target}"] += n
        else:
            kinds["running Python (incl. waiting for the GIL)"] += n
    return {"samples": total, "shares": {k: round(v / total, 3) for k, v in kinds.most_common()}} if total else {}


async def _record(env: BenchEnv, agent_id: str, keep: int, spy: str, seconds: float, out: Path,
                  *flags: str) -> tuple[int, float]:
    proc = subprocess.Popen(
        [spy, "record", "--pid", str(env.server_process().pid), "--duration", str(int(seconds)), "--rate", "250",
         "--format", "raw", "--output", str(out), "--nonblocking", *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    await asyncio.sleep(0.5)
    steps, started = 0, time.perf_counter()
    while proc.poll() is None and time.perf_counter() - started < seconds + 10:
        if steps % context.TRIM_EVERY == 0:
            await context.trim(env, [agent_id], keep)
        await send(env, agent_id)
        steps += 1
    elapsed = time.perf_counter() - started
    _, err = await asyncio.to_thread(proc.communicate)
    if not out.exists():
        raise RuntimeError(f"py-spy failed: {err.strip()[-300:]}")
    return steps, elapsed * 1000 / max(steps, 1)


async def _profile(env: BenchEnv, agent_id: str, keep: int, spy: str, seconds: float, out_dir: Path) -> dict:
    await seed.messages(env, agent_id, keep + 1, keep_in_context=keep)
    for _ in range(5):
        await send(env, agent_id)
    half = max(3.0, seconds / 2)
    wall_file, gil_file = out_dir / f"profile-{keep}-wall.txt", out_dir / f"profile-{keep}-gil.txt"
    steps_wall, ms_wall = await _record(env, agent_id, keep, spy, half, wall_file, "--idle")
    steps_gil, ms_gil = await _record(env, agent_id, keep, spy, half, gil_file, "--gil")
    gil = attribute(gil_file.read_text())
    return {
        "in_context": f"{keep + 1}-{keep + 21}",
        "ms_per_step_while_sampling": round((ms_wall + ms_gil) / 2, 3),
        "gil_ms_per_step": round(gil.get("samples", 0) * 4 / max(steps_gil, 1), 3),  # 250 Hz: 4 ms a sample
        "wall": wall(wall_file.read_text()),
        "gil": gil,
        "steps": steps_wall + steps_gil,
    }


async def run(env: BenchEnv, *, seconds: float, out_dir: Path, keeps: tuple[int, ...] = (20, 500)) -> dict:
    spy = shutil.which("py-spy")
    if not spy or os.environ.get("BENCH_PROFILE") == "0":
        return {"skipped": "py-spy not installed (pip install py-spy) or BENCH_PROFILE=0"}
    agent_id = await env.create_agent("bench-profile")
    await send(env, agent_id)
    out: dict = {
        "method": ("py-spy (--nonblocking, 250 Hz) on the server during sequential one-step gRPC messages: a wall "
                   "pass (--idle: where the event loop's time goes) and a GIL pass (--gil: which code runs); "
                   "main thread only; stdlib frames are charged to the library that called them"),
        "by_context": {},
    }
    try:
        for keep in keeps:
            out["by_context"][str(keep)] = await _profile(env, agent_id, keep, spy, seconds, out_dir)
    except RuntimeError as exc:
        log(str(exc))
        return {"skipped": str(exc)}
    return out
