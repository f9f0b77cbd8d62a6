"""5. Growth: one-step latency (gRPC) as the database grows. It should stay flat.

* agents in the database: 1, 100 and 10 000 agents (clones seeded by SQL,
  each with its blocks, tools and 10 messages), messaging the first one
  (measured first, on the empty database);
* stored messages of the agent: one agent with 10, 1 000 and 100 000 stored
  messages (seeded by COPY), its in-context list kept at the system message
  plus the last 20 (21 to 41 while measuring);
* messages in context (not flat by nature: the prompt grows): the same agent
  with its context trimmed to 20, 100 and 500 messages, with the model's own
  time measured at each size, so the overhead per in-context message shows;
* a mature agent: ~16k tokens in context (half of the default 32k window,
  where compaction leaves an agent), in long messages.
"""
from __future__ import annotations

import json
import time

from . import seed
from .harness import BenchEnv, log, send
from .stats import summary
from .step import grpc_latencies, model_baseline


async def _measure(env: BenchEnv, agent_id: str, n: int, warmup: int) -> dict:
    await grpc_latencies(env, agent_id, warmup)
    return summary(await grpc_latencies(env, agent_id, n))


async def run(env: BenchEnv, *, message_levels: tuple[int, ...], agent_levels: tuple[int, ...],
              context_levels: tuple[int, ...], n: int, warmup: int) -> dict:
    out: dict = {"messages": {}, "agents": {}, "context": {}}
    template = await env.create_agent("bench-growth-agents")
    await grpc_latencies(env, template, 1)
    for level in agent_levels:
        have = await seed.agent_count(env)
        started = time.perf_counter()
        await seed.clone_agents(env, template, level - have, prefix="bench-growth")
        seeded_s = time.perf_counter() - started
        total = await seed.agent_count(env)
        out["agents"][str(level)] = {"agents": total, "seed_s": round(seeded_s, 2),
                                     "latency_ms": await _measure(env, template, n, warmup)}
        log(f"growth: {total} agents: p50 {out['agents'][str(level)]['latency_ms']['p50']} ms")
    agent_id = await env.create_agent("bench-growth-messages")
    await grpc_latencies(env, agent_id, 1)
    for level in message_levels:
        started = time.perf_counter()
        stored = await seed.messages(env, agent_id, level)
        seeded_s = time.perf_counter() - started
        out["messages"][str(level)] = {"stored": stored, "seed_s": round(seeded_s, 2),
                                       "latency_ms": await _measure(env, agent_id, n, warmup)}
        log(f"growth: {stored} messages: p50 {out['messages'][str(level)]['latency_ms']['p50']} ms")

    # In-context size: the one thing a step's cost should grow with (it reads,
    # sends and stores the prompt). Same agent, trimmed to `keep` every 10 steps.
    for keep in context_levels:
        await seed.messages(env, agent_id, keep + 1, keep_in_context=keep)
        await grpc_latencies(env, agent_id, warmup, keep)
        latency = summary(await grpc_latencies(env, agent_id, n, keep))
        http_ms, _, body = await model_baseline(env, n, sdk=False)
        model = summary(http_ms)
        out["context"][str(keep)] = {
            "in_context": f"{keep + 1}-{keep + 21}", "prompt_bytes": len(json.dumps(body)),
            "latency_ms": latency, "model_ms": model,
            "overhead_ms_p50": round(latency["p50"] - model["p50"], 3)}
        log(f"growth: {keep + 1}+ messages in context: p50 {latency['p50']} ms (model {model['p50']} ms)")
    # A mature agent: after its first compaction an agent's prompt stays between
    # 50% and 80% of its window (32k tokens by default). Here: 40 messages of
    # ~500 tokens (~16k tokens in context), restored every 5 steps.
    mature = await env.create_agent("bench-growth-mature")
    await grpc_latencies(env, mature, 1)
    await seed.long_messages(env, mature, 60)
    samples: list[float] = []
    for i in range(warmup + n):
        if i % 5 == 0:
            await seed.keep_long_in_context(env, mature, 40)
        started = time.perf_counter()
        await send(env, mature)
        if i >= warmup:
            samples.append((time.perf_counter() - started) * 1000)
    http_ms, _, body = await model_baseline(env, n, sdk=False)
    latency, model = summary(samples), summary(http_ms)
    out["mature_agent"] = {
        "in_context": "40-50 messages of ~500 tokens (+ short ones)",
        "prompt_bytes": len(json.dumps(body)), "prompt_tokens_rough": len(json.dumps(body)) // 4,
        "latency_ms": latency, "model_ms": model, "overhead_ms_p50": round(latency["p50"] - model["p50"], 3)}
    log(f"growth: mature agent ({out['mature_agent']['prompt_bytes']} bytes): p50 {latency['p50']} ms")

    levels = list(out["context"].values())
    if len(levels) >= 2:
        first, last = context_levels[0], context_levels[-1]
        out["context_overhead_ms_per_message"] = round(
            (levels[-1]["overhead_ms_p50"] - levels[0]["overhead_ms_p50"]) / (last - first), 4)

    flat = [v["latency_ms"]["p50"] for v in out["messages"].values()]
    out["messages_p50_ratio_last_to_first"] = round(flat[-1] / flat[0], 2) if flat else None
    flat = [v["latency_ms"]["p50"] for v in out["agents"].values()]
    out["agents_p50_ratio_last_to_first"] = round(flat[-1] / flat[0], 2) if flat else None
    return out
