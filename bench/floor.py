"""2. The floor: what any server that stores a step durably and answers over
gRPC must pay at least, measured in the same run on the same machine.

One sample = one no-op grpc.aio call (the standard health Check, served by
the Mnemo process itself) + one PostgreSQL transaction, through asyncpg
directly, with the writes a step needs: insert 2 message rows, insert 1 step
row, update the agent row (its in-context list and message count).
"""
from __future__ import annotations

import json
import time
import uuid

from grpc_health.v1 import health_pb2, health_pb2_grpc

from .harness import BenchEnv
from .stats import summary

_INSERT_MESSAGES = """
INSERT INTO messages (id, agent_id, role, content, text, step_id, run_id, created_at)
VALUES ($1, $3, 'user', $4::jsonb, $5, $6, $7, now()), ($2, $3, 'assistant', $8::jsonb, $9, $6, $7, now())
"""
_INSERT_STEP = """
INSERT INTO steps (id, agent_id, run_id, status, stop_reason, provider, model, context_window_limit,
                   prompt_tokens, completion_tokens, total_tokens, llm_ms, tool_ms, step_ms)
VALUES ($1, $2, $3, 'success', 'end_turn', 'openai', 'gpt-4o-mini', 128000, 900, 10, 910, 1.0, 0.0, 2.0)
"""
_UPDATE_AGENT = """
UPDATE agents SET message_ids = $2, message_count = message_count + 2, last_stop_reason = 'end_turn',
       last_run_completion = now(), last_run_duration_ms = 2
WHERE id = $1
"""


def _content(text: str) -> str:
    return json.dumps([{"type": "text", "text": text}])


class Floor:
    """Takes floor samples on its own connection; `sample()` is one sample."""

    def __init__(self, env: BenchEnv) -> None:
        self.env = env
        self.grpc_ms: list[float] = []
        self.pg_ms: list[float] = []
        self.floor_ms: list[float] = []

    async def __aenter__(self) -> Floor:
        env = self.env
        self.agent_id = await env.create_agent("bench-floor")
        self.health = health_pb2_grpc.HealthStub(env.channel)
        self.check = health_pb2.HealthCheckRequest()
        self.in_context = [f"message-{uuid.uuid4()}" for _ in range(20)]
        self.conn = await env.pool.acquire()
        # Prepared once, so each statement is one round trip.
        self.insert_messages = await self.conn.prepare(_INSERT_MESSAGES)
        self.insert_step = await self.conn.prepare(_INSERT_STEP)
        self.update_agent = await self.conn.prepare(_UPDATE_AGENT)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.env.pool.release(self.conn)

    async def sample(self, record: bool = True) -> float:
        user_id, assistant_id = f"message-{uuid.uuid4()}", f"message-{uuid.uuid4()}"
        step_id, run_id = f"step-{uuid.uuid4()}", f"run-{uuid.uuid4()}"
        self.in_context = [*self.in_context[2:], user_id, assistant_id]
        t0 = time.perf_counter()
        await self.health.Check(self.check)
        t1 = time.perf_counter()
        async with self.conn.transaction():
            await self.insert_messages.fetch(user_id, assistant_id, self.agent_id, _content("hello there"),
                                             "hello there", step_id, run_id, _content("echo: hello there"),
                                             "echo: hello there")
            await self.insert_step.fetch(step_id, self.agent_id, run_id)
            await self.update_agent.fetch(self.agent_id, self.in_context)
        t2 = time.perf_counter()
        if record:
            self.grpc_ms.append((t1 - t0) * 1000)
            self.pg_ms.append((t2 - t1) * 1000)
            self.floor_ms.append((t2 - t0) * 1000)
        return (t2 - t0) * 1000

    def result(self) -> dict:
        return {
            "method": "grpc.aio health Check + one asyncpg transaction (BEGIN; insert 2 messages; insert 1 step; "
                      "update the agent; COMMIT), sequentially",
            "floor_ms": summary(self.floor_ms),
            "grpc_noop_ms": summary(self.grpc_ms),
            "pg_step_tx_ms": summary(self.pg_ms),
        }


async def run(env: BenchEnv, *, n: int, warmup: int) -> dict:
    """n floor samples in a row (the headline uses the samples taken
    interleaved with the step measurement instead; see step.py)."""
    async with Floor(env) as floor:
        for i in range(warmup + n):
            await floor.sample(record=i >= warmup)
        return floor.result()
