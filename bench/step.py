"""1. Server overhead of a one-step message, gRPC direct and REST through Envoy.

Overhead = end-to-end latency seen by the client minus the model's own time.
The model's own time is measured in the same run, on the exact request Mnemo
sent to the fake (fetched back from the fake), replayed from the benchmark
process as a plain HTTP POST on a keep-alive connection: the fake's work plus
one loopback HTTP round trip, i.e. what a model endpoint costs on the wire.
Everything else is Mnemo's, including the provider SDK (openai) that Mnemo
runs in its process to build the request and parse the answer.

For reference, the same request replayed with the openai SDK from the
benchmark process (what a client of the model pays with the SDK's standard
`chat.completions.create`, including its parameter transform) and the fake's
in-process time per request are reported too.

The floor (floor.py) is sampled interleaved with the steps, one floor sample
after each message, so both see the same machine: that is the floor the
headline ratio uses.

Percentiles of the overhead are the end-to-end percentiles minus the
baseline's median.
"""
from __future__ import annotations

import http.client
import json
import time

import openai

from . import context
from .floor import Floor
from .harness import BenchEnv, fake_get, send
from .stats import shifted, summary


async def grpc_latencies(env: BenchEnv, agent_id: str, n: int, keep: int = context.KEEP,
                         floor: Floor | None = None) -> list[float]:
    samples = []
    for i in range(n):
        if i % context.TRIM_EVERY == 0:
            await context.trim(env, [agent_id], keep)
        started = time.perf_counter()
        await send(env, agent_id)
        samples.append((time.perf_counter() - started) * 1000)
        if floor is not None:
            await floor.sample()
    return samples


class Rest:
    """One keep-alive HTTP/1.1 connection to the gateway (http.client: the
    lightest client in the standard library)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, path: str, body: dict) -> tuple[int, bytes]:
        self.conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.conn.close()


async def rest_latencies(env: BenchEnv, agent_id: str, n: int, floor: Floor | None = None) -> list[float]:
    rest = Rest(env.http_port)
    body = {"messages": [{"role": "user", "content": "hello there"}]}
    samples = []
    try:
        for i in range(n):
            if i % context.TRIM_EVERY == 0:
                await context.trim(env, [agent_id])
            started = time.perf_counter()
            status, raw = rest.post(f"/v1/agents/{agent_id}/messages", body)
            samples.append((time.perf_counter() - started) * 1000)
            if status != 200 or b'"end_turn"' not in raw:
                raise RuntimeError(f"REST send failed: {status} {raw[:300]!r}")
            if floor is not None:
                await floor.sample()
    finally:
        rest.close()
    return samples


async def model_baseline(env: BenchEnv, n: int, *, sdk: bool = True) -> tuple[list[float], list[float], dict]:
    """Replays the last request Mnemo sent to the fake: as a plain HTTP POST and
    with the openai SDK. Returns both latency lists (ms) and the request body."""
    assert env.fake is not None
    body = (await fake_get(env, "/bench/last"))["body"]
    raw = json.dumps(body)
    conn = http.client.HTTPConnection("127.0.0.1", env.fake.port, timeout=60)
    client = openai.AsyncOpenAI(api_key="bench", base_url=env.fake.base_url + "/v1", max_retries=0)
    http_ms, sdk_ms = [], []
    try:
        for _ in range(n):
            started = time.perf_counter()
            conn.request("POST", "/v1/chat/completions", body=raw,
                         headers={"Content-Type": "application/json", "Authorization": "Bearer bench"})
            response = conn.getresponse()
            answer = response.read()
            http_ms.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise RuntimeError(f"fake answered {response.status}: {answer[:200]!r}")
        for _ in range(n if sdk else 0):
            started = time.perf_counter()
            await client.chat.completions.create(**body)
            sdk_ms.append((time.perf_counter() - started) * 1000)
    finally:
        conn.close()
        await client.close()
    return http_ms, sdk_ms, body


async def fake_times(env: BenchEnv) -> list[float]:
    return (await fake_get(env, "/bench/stats"))["times_ms"]


async def run(env: BenchEnv, *, n: int, warmup: int) -> dict:
    grpc_agent = await env.create_agent("bench-step-grpc")
    rest_agent = await env.create_agent("bench-step-rest")
    await grpc_latencies(env, grpc_agent, warmup)
    await rest_latencies(env, rest_agent, warmup)

    async with Floor(env) as floor:
        for _ in range(warmup):
            await floor.sample(record=False)
        await fake_get(env, "/bench/reset")
        grpc_samples = await grpc_latencies(env, grpc_agent, n, floor=floor)
        fake_grpc = await fake_times(env)
        await fake_get(env, "/bench/reset")
        rest_samples = await rest_latencies(env, rest_agent, n, floor=floor)
        fake_rest = await fake_times(env)

    await context.trim(env, [grpc_agent])
    await send(env, grpc_agent)  # so /bench/last is a typical request (21 messages in context)
    await model_baseline(env, warmup)
    http_ms, sdk_ms, body = await model_baseline(env, n)
    base, sdk = summary(http_ms), summary(sdk_ms)
    grpc_e2e, rest_e2e = summary(grpc_samples), summary(rest_samples)
    return {
        "method": "overhead = end-to-end percentile minus the p50 of the same model request replayed as a plain "
                  "HTTP POST to the fake (fake + loopback HTTP); the openai SDK's cost counts as Mnemo's",
        "context_messages": f"{context.KEEP + 1}-{context.KEEP + context.TRIM_EVERY * 2 + 1}",
        "prompt_bytes": len(json.dumps(body)),
        "prompt_messages": len(body.get("messages", [])),
        "prompt_tools": len(body.get("tools", [])),
        "e2e_ms_grpc": grpc_e2e,
        "e2e_ms_rest": rest_e2e,
        "model_ms": base,
        "model_via_openai_sdk_ms": sdk,
        "fake_inprocess_ms": summary(fake_grpc + fake_rest),
        "overhead_ms_grpc": shifted(grpc_e2e, base["p50"]),
        "overhead_ms_rest": shifted(rest_e2e, base["p50"]),
        "floor_interleaved": floor.result(),
        "openai_sdk_client_cost_ms_p50": round(sdk["p50"] - base["p50"], 3),
        "rest_minus_grpc_ms_p50": round(rest_e2e["p50"] - grpc_e2e["p50"], 3),
    }
