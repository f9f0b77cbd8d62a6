"""3. Token streaming: the time Mnemo adds before the first token and per
token, compared with the fake model's own stream.

Three clients read the same scripted reply: the model's own stream (the exact
request Mnemo sent, replayed from the benchmark process as a plain HTTP POST
with stream=True, its SSE read line by line), gRPC StreamMessages with
stream_tokens, and REST POST /v1/agents/{id}/messages/stream with
stream_tokens, read as SSE through Envoy. Times are from sending the request
to each text delta's arrival. As in the step measurement, the openai SDK
Mnemo runs (chunk parsing) counts as Mnemo's; the same stream read with the
openai SDK is reported for reference (`model_via_openai_sdk`).

* paced: the fake sends N deltas P ms apart, like a generating model. Added
  TTFT = Mnemo's time to first token minus the model's; added last-token time
  likewise (when Mnemo keeps up, the two are equal).
* burst: the fake writes all N deltas at once. The per-token overhead is the
  slope of total stream time against N (two sizes), Mnemo's minus the model's,
  so fixed costs cancel out.
"""
from __future__ import annotations

import http.client
import json
import time

import openai

from . import context
from .fake import stream_prompt
from .harness import TIMEOUT_S, BenchEnv, fake_get, user_message
from .stats import summary


def _timing(started: float, stamps: list[float], ended: float) -> dict[str, float]:
    if len(stamps) < 2:
        raise RuntimeError(f"expected a stream of deltas, got {len(stamps)}")
    return {"ttft_ms": (stamps[0] - started) * 1000, "last_ms": (stamps[-1] - started) * 1000,
            "per_token_ms": (stamps[-1] - stamps[0]) * 1000 / (len(stamps) - 1),
            "total_ms": (ended - started) * 1000, "deltas": len(stamps)}


async def grpc_stream(env: BenchEnv, agent_id: str, tokens: int, pace_ms: float) -> dict[str, float]:
    request = user_message(agent_id, stream_prompt(tokens, pace_ms), stream_tokens=True)
    stamps: list[float] = []
    started = time.perf_counter()
    async for event in env.messages().StreamMessages(request, timeout=TIMEOUT_S):
        if event.message_type == "assistant_message":
            stamps.append(time.perf_counter())
    return _timing(started, stamps, time.perf_counter())


def rest_stream(env: BenchEnv, agent_id: str, tokens: int, pace_ms: float) -> dict[str, float]:
    conn = http.client.HTTPConnection("127.0.0.1", env.http_port, timeout=60)
    body = json.dumps({"messages": [{"role": "user", "content": stream_prompt(tokens, pace_ms)}],
                       "stream_tokens": True})
    stamps: list[float] = []
    try:
        started = time.perf_counter()
        conn.request("POST", f"/v1/agents/{agent_id}/messages/stream", body=body,
                     headers={"Content-Type": "application/json", "Accept": "text/event-stream"})
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"REST stream failed: {response.status} {response.read()[:300]!r}")
        while True:
            line = response.readline()
            if not line:
                break
            if line.startswith(b"data: {") and b"assistant_message" in line:
                if json.loads(line[6:]).get("message_type") == "assistant_message":
                    stamps.append(time.perf_counter())
            elif line.startswith(b"data: [DONE]"):
                break
        ended = time.perf_counter()
    finally:
        conn.close()
    return _timing(started, stamps, ended)


def raw_stream(port: int, body: dict) -> dict[str, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    raw = json.dumps({**body, "stream": True, "stream_options": {"include_usage": True}})
    stamps: list[float] = []
    try:
        started = time.perf_counter()
        conn.request("POST", "/v1/chat/completions", body=raw,
                     headers={"Content-Type": "application/json", "Authorization": "Bearer bench"})
        response = conn.getresponse()
        while True:
            line = response.readline()
            if not line or line.startswith(b"data: [DONE]"):
                break
            if line.startswith(b"data: {") and b'"content":"' in line:
                chunk = json.loads(line[6:])
                if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                    stamps.append(time.perf_counter())
        response.read()
        ended = time.perf_counter()
    finally:
        conn.close()
    return _timing(started, stamps, ended)


async def sdk_stream(client: openai.AsyncOpenAI, body: dict) -> dict[str, float]:
    stamps: list[float] = []
    started = time.perf_counter()
    stream = await client.chat.completions.create(**body, stream=True, stream_options={"include_usage": True})
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            stamps.append(time.perf_counter())
    return _timing(started, stamps, time.perf_counter())


def _summaries(rows: list[dict[str, float]]) -> dict:
    return {key: summary([r[key] for r in rows]) for key in ("ttft_ms", "last_ms", "per_token_ms", "total_ms")}


async def _config(env: BenchEnv, agents: tuple[str, str], client: openai.AsyncOpenAI, tokens: int, pace_ms: float,
                  n: int, warmup: int) -> dict:
    grpc_agent, rest_agent = agents
    rows: dict[str, list[dict[str, float]]] = {"model": [], "model_via_openai_sdk": [], "grpc": [], "rest": []}
    for i in range(warmup + n):
        await context.trim(env, [grpc_agent, rest_agent])
        g = await grpc_stream(env, grpc_agent, tokens, pace_ms)
        r = rest_stream(env, rest_agent, tokens, pace_ms)
        if i >= warmup:
            rows["grpc"].append(g)
            rows["rest"].append(r)
    body = (await fake_get(env, "/bench/last"))["body"]
    for key in ("stream", "stream_options"):
        body.pop(key, None)
    assert env.fake is not None
    for i in range(warmup + n):
        d = raw_stream(env.fake.port, body)
        sdk = await sdk_stream(client, body)
        if i >= warmup:
            rows["model"].append(d)
            rows["model_via_openai_sdk"].append(sdk)
    return {name: _summaries(r) for name, r in rows.items()}


def _p50(out: dict, name: str, key: str) -> float:
    return out[name][key]["p50"]


async def run(env: BenchEnv, *, tokens: int, pace_ms: float, paced_tokens: int, n: int, warmup: int) -> dict:
    assert env.fake is not None
    agents = (await env.create_agent("bench-stream-grpc"), await env.create_agent("bench-stream-rest"))
    client = openai.AsyncOpenAI(api_key="bench", base_url=env.fake.base_url + "/v1", max_retries=0)
    small = max(2, tokens // 20)
    try:
        paced = await _config(env, agents, client, paced_tokens, pace_ms, n, warmup)
        burst_small = await _config(env, agents, client, small, 0, n, warmup)
        burst = await _config(env, agents, client, tokens, 0, n, warmup)
    finally:
        await client.close()
    out: dict = {
        "method": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "paced": {"tokens": paced_tokens, "pace_ms": pace_ms, **paced},
        "burst": {"tokens": [small, tokens], "small": burst_small, "large": burst},
    }
    slope = {name: (_p50(burst, name, "total_ms") - _p50(burst_small, name, "total_ms")) / (tokens - small)
             for name in ("model", "model_via_openai_sdk", "grpc", "rest")}
    for name in ("grpc", "rest"):
        out[f"added_{name}"] = {
            "ttft_ms_p50": round(_p50(paced, name, "ttft_ms") - _p50(paced, "model", "ttft_ms"), 3),
            "last_token_ms_p50": round(_p50(paced, name, "last_ms") - _p50(paced, "model", "last_ms"), 3),
            "per_token_ms": round(slope[name] - slope["model"], 4),
            "burst_ttft_ms_p50": round(_p50(burst, name, "ttft_ms") - _p50(burst, "model", "ttft_ms"), 3),
        }
    out["per_token_cost_ms"] = {name: round(v, 4) for name, v in slope.items()}
    return out
