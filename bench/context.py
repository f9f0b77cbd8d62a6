"""Keeping agents' context windows at a realistic size during a benchmark.

Every step adds its messages to the agent's in-context list, and a step reads
that whole list; with an instant fake model nothing ever compacts it, so a
loop of hundreds of steps on one agent would measure an ever longer prompt.
Between measured steps the benchmark trims the list back, directly in the
database, to the system message plus the last KEEP messages (what compaction
would leave); messages stay stored.
"""
from __future__ import annotations

from collections.abc import Sequence

from .harness import BenchEnv

KEEP = 20
TRIM_EVERY = 10  # steps between trims in sequential loops: 21 to 41 messages in context

_TRIM = """
UPDATE agents SET message_ids = message_ids[1:1] || message_ids[cardinality(message_ids) - $2 + 1:]
WHERE id = ANY($1::text[]) AND cardinality(message_ids) > $2 + 1
"""


async def trim(env: BenchEnv, agent_ids: Sequence[str], keep: int = KEEP) -> None:
    await env.pool.execute(_TRIM, list(agent_ids), keep)
