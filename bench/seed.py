"""Seeding the database directly (COPY / INSERT ... SELECT), fast, with rows
the server reads as its own:

* messages: user/assistant alternating, content a JSON list of
  {type: text, text}, the plain `text` column filled, created_at in the past;
  the agent's in-context list (`message_ids`) is set to its system message
  plus the last 20, and `message_count` to the stored count;
* agents: clones of a template agent made through the API (same
  configuration and tools, their own copies of its blocks), each with a system
  message and 9 conversation messages in context.
"""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from .harness import BenchEnv

BATCH = 20_000


def _content(text: str) -> str:
    return json.dumps([{"type": "text", "text": text}])


async def messages(env: BenchEnv, agent_id: str, total: int, keep_in_context: int = 20) -> int:
    """Adds messages until the agent has at least `total` stored; returns the count."""
    async with env.pool.acquire() as conn:
        have = await conn.fetchval("SELECT count(*) FROM messages WHERE agent_id = $1", agent_id)
        missing = total - have
        start = datetime.now(UTC) - timedelta(days=30)
        i = 0
        while i < missing:
            rows = []
            for j in range(i, min(missing, i + BATCH)):
                role = "user" if j % 2 == 0 else "assistant"
                text = (f"message {j} from the user: what do you think about topic {j % 97}?" if role == "user"
                        else f"echo: message {j - 1}, an answer about topic {(j - 1) % 97} and more words")
                rows.append((f"message-{uuid.uuid4()}", agent_id, role, _content(text), text,
                             start + timedelta(seconds=j)))
            await conn.copy_records_to_table(
                "messages", records=rows, columns=["id", "agent_id", "role", "content", "text", "created_at"])
            i += len(rows)
        await conn.execute("""
            UPDATE agents a SET
                message_ids = a.message_ids[1:1] || ARRAY(
                    SELECT id FROM (SELECT id, seq FROM messages WHERE agent_id = a.id AND role <> 'system'
                                    ORDER BY seq DESC LIMIT $2) last ORDER BY seq),
                message_count = (SELECT count(*) FROM messages WHERE agent_id = a.id)
            WHERE a.id = $1
        """, agent_id, keep_in_context)
        await conn.execute("ANALYZE messages")
        return await conn.fetchval("SELECT count(*) FROM messages WHERE agent_id = $1", agent_id)


WORDS = ("the agent remembers what the user said about the project budget meeting on monday and the travel "
         "plans for the conference in the city by the river with the mountain view").split()


async def long_messages(env: BenchEnv, agent_id: str, count: int, words: int = 400) -> None:
    """Adds `count` long messages (about 2 KB, 500 tokens each), user/assistant alternating."""
    start = datetime.now(UTC) - timedelta(days=1)
    rows = []
    for j in range(count):
        text = " ".join(WORDS[(j + i) % len(WORDS)] for i in range(words))
        rows.append((f"message-{uuid.uuid4()}", agent_id, "user" if j % 2 == 0 else "assistant", _content(text),
                     text, start + timedelta(seconds=j)))
    async with env.pool.acquire() as conn:
        await conn.copy_records_to_table(
            "messages", records=rows, columns=["id", "agent_id", "role", "content", "text", "created_at"])


async def keep_long_in_context(env: BenchEnv, agent_id: str, keep: int) -> None:
    """In-context list = system message + the last `keep` long messages."""
    await env.pool.execute("""
        UPDATE agents a SET message_ids = a.message_ids[1:1] || ARRAY(
            SELECT id FROM (SELECT id, seq FROM messages WHERE agent_id = a.id AND role <> 'system'
                            AND length(text) > 1000 ORDER BY seq DESC LIMIT $2) last ORDER BY seq)
        WHERE a.id = $1
    """, agent_id, keep)


_SKIP = {"id", "name", "message_ids", "message_count", "active_run_id", "active_owner", "created_at",
         "updated_at", "last_stop_reason", "last_run_completion", "last_run_duration_ms"}


async def clone_agents(env: BenchEnv, template_id: str, count: int, prefix: str = "bench-clone") -> list[str]:
    """Creates `count` clones of the template agent; returns their ids."""
    if count <= 0:
        return []
    async with env.pool.acquire() as conn, conn.transaction():
        columns = [r["column_name"] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'agents' "
            "ORDER BY ordinal_position")]
        copied = [c for c in columns if c not in _SKIP]
        block_columns = [r["column_name"] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'blocks' "
            "ORDER BY ordinal_position") if r["column_name"] not in ("id", "created_at", "updated_at")]
        system = await conn.fetchval(
            "SELECT content FROM messages WHERE id = (SELECT message_ids[1] FROM agents WHERE id = $1)", template_id)
        tag = uuid.uuid4().hex[:8]
        await conn.execute("""
            CREATE TEMP TABLE bench_new ON COMMIT DROP AS
            SELECT 'agent-' || gen_random_uuid() AS id, $2 || '-' || $3 || '-' || g AS name
            FROM generate_series(1, $1) g
        """, count, prefix, tag)
        cols = ", ".join(f'"{c}"' for c in copied)
        await conn.execute(f"""
            INSERT INTO agents (id, name, {cols})
            SELECT n.id, n.name, {", ".join(f't."{c}"' for c in copied)}
            FROM bench_new n, agents t WHERE t.id = $1
        """, template_id)
        await conn.execute("""
            CREATE TEMP TABLE bench_blocks ON COMMIT DROP AS
            SELECT n.id AS agent_id, ab.block_id AS src, 'block-' || gen_random_uuid() AS id, ab.block_label
            FROM bench_new n, agent_blocks ab WHERE ab.agent_id = $1
        """, template_id)
        bcols = ", ".join(f'"{c}"' for c in block_columns)
        await conn.execute(f"""
            INSERT INTO blocks (id, {bcols})
            SELECT nb.id, {", ".join(f'b."{c}"' for c in block_columns)}
            FROM bench_blocks nb JOIN blocks b ON b.id = nb.src
        """)
        await conn.execute("""
            INSERT INTO agent_blocks (agent_id, block_id, block_label)
            SELECT agent_id, id, block_label FROM bench_blocks
        """)
        await conn.execute("""
            INSERT INTO agent_tools (agent_id, tool_id)
            SELECT n.id, t.tool_id FROM bench_new n, agent_tools t WHERE t.agent_id = $1
        """, template_id)
        await conn.execute("""
            INSERT INTO messages (id, agent_id, role, content, text, created_at)
            SELECT 'message-' || gen_random_uuid(), n.id,
                   CASE WHEN k = 0 THEN 'system' WHEN k % 2 = 1 THEN 'user' ELSE 'assistant' END,
                   CASE WHEN k = 0 THEN $1::jsonb
                        ELSE jsonb_build_array(jsonb_build_object('type', 'text', 'text', 'message ' || k)) END,
                   CASE WHEN k = 0 THEN '' ELSE 'message ' || k END,
                   now() - interval '1 day' + k * interval '1 second'
            FROM bench_new n, generate_series(0, 9) k
            ORDER BY n.id, k
        """, system or _content("You are a helpful agent."))
        await conn.execute("""
            UPDATE agents a SET message_ids = m.ids, message_count = 10
            FROM (SELECT agent_id, array_agg(id ORDER BY seq) AS ids FROM messages
                  WHERE agent_id IN (SELECT id FROM bench_new) GROUP BY agent_id) m
            WHERE a.id = m.agent_id
        """)
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM bench_new ORDER BY id")]
    async with env.pool.acquire() as conn:
        await conn.execute("ANALYZE")
    return ids


async def agent_count(env: BenchEnv) -> int:
    return await env.pool.fetchval("SELECT count(*) FROM agents")
