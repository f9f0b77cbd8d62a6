"""What one agent turn reads at its start and writes at the end of each step.

The hot path of a turn is two statements:
- `start`: insert the run and its input messages, take the agent if it is
  free (see storage/runs.py) and, when taken, read everything the turn needs
  (agent, blocks, tools, in-context messages) as JSON, in one round trip;
- `commit_step`: write the step's messages and step row, update the agent's
  in-context list, and on the last step end the run and release the agent,
  in one statement (one implicit transaction), fenced: only while the run
  still holds the agent.
A step with block edits commits in one explicit transaction instead, so block
changes go through core.blocks.apply_changes. A failed or interrupted step
writes nothing.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from .messages import Message
from .runs import free_condition


@dataclass
class ToolInfo:
    name: str
    tool_type: str
    description: str
    parameters: dict[str, Any]
    return_char_limit: int
    default_requires_approval: bool
    # A tool of type external_mcp: its server, and its metadata (the tool's name on the server).
    mcp_server_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class BlockRow:
    id: str
    label: str
    value: str
    limit: int
    read_only: bool
    description: str | None


@dataclass
class TurnState:
    agent: dict[str, Any]
    blocks: list[BlockRow]
    tools: list[ToolInfo]
    in_context: list[Message]
    extra: dict[str, Any] = field(default_factory=dict)


# Everything a turn reads about agent $1, as one row of JSON values.
_STATE_COLUMNS = """
    to_jsonb(ag) AS agent,
    (SELECT coalesce(jsonb_agg(jsonb_build_object(
            'id', b.id, 'label', b.label, 'value', b.value, 'limit', b."limit", 'read_only', b.read_only,
            'description', b.description) ORDER BY ab.attached_at, b.id), '[]'::jsonb)
       FROM agent_blocks ab JOIN blocks b ON b.id = ab.block_id WHERE ab.agent_id = ag.id) AS blocks,
    (SELECT coalesce(jsonb_agg(jsonb_build_object(
            'name', t.name, 'tool_type', t.tool_type, 'json_schema', t.json_schema,
            'return_char_limit', t.return_char_limit, 'default_requires_approval', t.default_requires_approval,
            'mcp_server_id', t.mcp_server_id, 'metadata', t.metadata)
            ORDER BY at.attached_at, t.id), '[]'::jsonb)
       FROM agent_tools at JOIN tools t ON t.id = at.tool_id WHERE at.agent_id = ag.id) AS tools,
    -- Rows, not JSON: building JSON for every in-context message was most of
    -- this statement's time; asyncpg decodes the row array in C.
    ARRAY(SELECT m FROM unnest(ag.message_ids) WITH ORDINALITY AS ids(id, ord)
          JOIN messages m ON m.id = ids.id ORDER BY ids.ord) AS messages
"""

_LOAD = f"SELECT {_STATE_COLUMNS} FROM agents ag WHERE ag.id = $1"

# The columns of a stored message, as a JSON recordset (the rows of $n).
_MESSAGE_RECORD = """
    id text, agent_id text, role text, content jsonb, text text, name text, tool_calls jsonb, tool_call_id text,
    tool_returns jsonb, step_id text, run_id text, otid text, sender_id text, model text, is_err boolean,
    created_at timestamptz"""
_MESSAGE_COLUMNS = """id, agent_id, role, content, text, name, tool_calls, tool_call_id, tool_returns, step_id,
    run_id, otid, sender_id, model, is_err, created_at"""

# Insert run $2 for agent $1 and its input messages ($8), and take the agent
# if it is free (see runs.free_condition; any live queued run goes first).
# When taken, also read the turn's state. The input is committed with the run,
# whatever happens next; it enters the agent's context with the run's first
# step commit. A request whose input carries an otid ($9) already stored for
# the agent starts nothing: it is a retry of that message's run
# (`duplicate_of`).
_START = f"""
WITH a AS (SELECT id, active_run_id, active_owner FROM agents WHERE id = $1 FOR UPDATE),
dup AS (SELECT m.run_id FROM messages m WHERE m.agent_id = $1 AND m.otid = ANY($9::text[]) LIMIT 1),
free AS (SELECT {free_condition(run="$2", stale="$5", queued_before="9223372036854775807")} AS ok,
                EXISTS (SELECT 1 FROM dup) AS dup
         FROM a),
r AS (
    INSERT INTO runs (id, agent_id, status, background, request, owner, started_at)
    SELECT $2, $1, CASE WHEN free.ok THEN 'running' ELSE 'created' END, $3, $4::jsonb, $6,
           CASE WHEN free.ok THEN now() END
    FROM free WHERE NOT free.dup AND (free.ok OR NOT $7)
    RETURNING status
),
i AS (
    INSERT INTO messages ({_MESSAGE_COLUMNS})
    SELECT {_MESSAGE_COLUMNS} FROM jsonb_to_recordset($8::jsonb) AS x({_MESSAGE_RECORD})
    WHERE EXISTS (SELECT 1 FROM r)
    RETURNING 1
),
u AS (UPDATE agents SET active_run_id = $2, active_owner = $6
      WHERE id = $1 AND (SELECT ok AND NOT dup FROM free) RETURNING 1)
SELECT (SELECT ok FROM free) AS free, (SELECT active_run_id FROM a) AS busy_with, (SELECT status FROM r) AS status,
       (SELECT run_id FROM dup) AS duplicate_of, (SELECT dup FROM free) AS duplicate, (SELECT count(*) FROM i) AS kept,
       state.*
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (SELECT {_STATE_COLUMNS} FROM agents ag
                   WHERE ag.id = $1 AND (SELECT ok AND NOT dup FROM free)) AS state ON true
"""

# One step's writes, and on the last step ($12) the end of the run and the
# release of the agent: a single statement, so a single implicit transaction.
# Fenced: `held`, the update of the agent, applies only while run $11 still
# holds agent $10, and every other write waits for it and depends on it; a run
# that lost the agent (its server stalled past the stale threshold and another
# took over) writes nothing, and `held` comes back 0. The input messages were
# stored with the run's start (with the id of its first step); those of a run
# that waited in the queue ($16) are written again, in order, with the step's
# messages (`d` then `m`, which waits for `d`), so they get a new `seq`:
# history shows them where they were processed, not where they waited.
_COMMIT = f"""
WITH held AS (
    UPDATE agents SET
        message_ids = $6::text[],
        message_count = message_count + $7,
        last_stop_reason = CASE WHEN $12 THEN $8 ELSE last_stop_reason END,
        last_run_completion = CASE WHEN $12 THEN now() ELSE last_run_completion END,
        last_run_duration_ms = CASE WHEN $12 THEN $9::integer ELSE last_run_duration_ms END,
        active_run_id = CASE WHEN $12 THEN NULL ELSE active_run_id END,
        active_owner = CASE WHEN $12 THEN NULL ELSE active_owner END
    WHERE id = $10 AND active_run_id = $11
    RETURNING 1
),
d AS (DELETE FROM messages WHERE id = ANY($16::text[]) AND EXISTS (SELECT 1 FROM held) RETURNING 1),
m AS (
    INSERT INTO messages ({_MESSAGE_COLUMNS})
    SELECT {_MESSAGE_COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS x({_MESSAGE_RECORD})
    WHERE EXISTS (SELECT 1 FROM held) AND (SELECT count(*) FROM d) >= 0
    RETURNING 1
),
s AS (
    INSERT INTO steps (id, agent_id, run_id, status, stop_reason, provider, model, model_handle,
                       context_window_limit, prompt_tokens, completion_tokens, total_tokens, cached_input_tokens,
                       reasoning_tokens, llm_ms, tool_ms, step_ms, error_type, error_data)
    SELECT id, agent_id, run_id, status, stop_reason, provider, model, model_handle, context_window_limit,
           prompt_tokens, completion_tokens, total_tokens, cached_input_tokens, reasoning_tokens, llm_ms, tool_ms,
           step_ms, error_type, error_data
    FROM jsonb_to_record($2::jsonb) AS x(
        id text, agent_id text, run_id text, status text, stop_reason text, provider text, model text,
        model_handle text, context_window_limit integer, prompt_tokens integer, completion_tokens integer,
        total_tokens integer, cached_input_tokens integer, reasoning_tokens integer, llm_ms double precision,
        tool_ms double precision, step_ms double precision, error_type text, error_data jsonb)
    WHERE $2::jsonb IS NOT NULL AND EXISTS (SELECT 1 FROM held)
    RETURNING 1
),
sys AS (
    UPDATE messages SET content = $3::jsonb, text = $4, created_at = now()
    WHERE $5::text IS NOT NULL AND id = $5::text AND EXISTS (SELECT 1 FROM held)
    RETURNING 1
),
r AS (
    UPDATE runs SET status = $13, stop_reason = $8, completed_at = now(),
        total_duration_ms = extract(epoch FROM now() - created_at) * 1000,
        prompt_tokens = ($14::jsonb->>'prompt_tokens')::integer,
        completion_tokens = ($14::jsonb->>'completion_tokens')::integer,
        total_tokens = ($14::jsonb->>'total_tokens')::integer,
        step_count = ($14::jsonb->>'step_count')::integer,
        ttft_ms = $15::double precision
    WHERE $12 AND $13::text IS NOT NULL AND id = $11 AND status NOT IN ('completed', 'failed', 'cancelled')
          AND EXISTS (SELECT 1 FROM held)
    RETURNING 1
),
n AS (SELECT pg_notify('mnemo_agent_free', $10) WHERE $12 AND $13::text IS NOT NULL AND EXISTS (SELECT 1 FROM held))
SELECT (SELECT count(*) FROM held) AS held, (SELECT count(*) FROM m), (SELECT count(*) FROM s),
       (SELECT count(*) FROM sys), (SELECT count(*) FROM r), (SELECT count(*) FROM n)
"""


class Fenced(Exception):
    """The run no longer holds its agent: its step was not written."""

    def __init__(self, agent_id: str, run_id: str):
        self.agent_id, self.run_id = agent_id, run_id
        super().__init__(f"run '{run_id}' lost agent '{agent_id}' (its server stalled past the stale threshold and "
                         "another server took the agent over); nothing of its step was saved")


async def driver_of(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under a SQLAlchemy connection (to run a commit
    inside a SQLAlchemy transaction; its codecs decode jsonb too)."""
    return (await conn.get_raw_connection()).driver_connection


def _ts(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _message(m) -> Message:
    """A stored message from a `messages` row (a Record or a dict)."""
    return Message(
        id=m["id"], agent_id=m["agent_id"], role=m["role"], content=m["content"] or [], name=m["name"],
        tool_calls=m["tool_calls"], tool_call_id=m["tool_call_id"], tool_returns=m["tool_returns"],
        step_id=m["step_id"], run_id=m["run_id"], otid=m["otid"], sender_id=m["sender_id"], model=m["model"],
        is_err=m["is_err"], created_at=_ts(m["created_at"]), seq=m["seq"],
    )


def _state(row) -> TurnState:
    agent = row["agent"]
    agent["created_at"] = _ts(agent.get("created_at"))
    blocks = [BlockRow(b["id"], b["label"], b["value"], b["limit"], b["read_only"], b["description"])
              for b in row["blocks"]]
    tools = []
    for t in row["tools"]:
        schema = t["json_schema"] or {}
        tools.append(ToolInfo(
            name=t["name"], tool_type=t["tool_type"], description=schema.get("description", ""),
            parameters=schema.get("parameters") or {"type": "object", "properties": {}},
            return_char_limit=t["return_char_limit"], default_requires_approval=t["default_requires_approval"],
            mcp_server_id=t.get("mcp_server_id"), metadata=t.get("metadata") or {},
        ))
    return TurnState(agent=agent, blocks=blocks, tools=tools, in_context=[_message(m) for m in row["messages"]])


async def load(conn: asyncpg.Connection, agent_id: str) -> TurnState | None:
    row = await conn.fetchrow(_LOAD, agent_id)
    return _state(row) if row is not None else None


@dataclass
class Started:
    free: bool | None  # None: no such agent
    busy_with: str | None
    status: str | None  # "running", "created", or None when refused (or a retry)
    state: TurnState | None
    duplicate: bool = False  # an input's otid is stored already: a retry of run `duplicate_of`
    duplicate_of: str | None = None


async def start(conn: asyncpg.Connection, *, agent_id: str, run_id: str, background: bool, request: dict[str, Any],
                owner: str, stale_s: float, reject_if_busy: bool, inputs: Sequence[Message] = ()) -> Started:
    """Starts run `run_id` with its input messages in one statement (see _START)."""
    row = await conn.fetchrow(
        _START, agent_id, run_id, background, json.dumps(request), stale_s, owner, reject_if_busy,
        json.dumps([_row_json(m) for m in inputs], ensure_ascii=False), [m.otid for m in inputs if m.otid])
    state = _state(row) if row["agent"] is not None else None
    return Started(row["free"], row["busy_with"], row["status"], state, bool(row["duplicate"]), row["duplicate_of"])


def _row_json(m: Message) -> dict[str, Any]:
    row = m.row()
    row["created_at"] = m.created_at.isoformat() if m.created_at else None
    return row


async def commit_step(
    conn: asyncpg.Connection,
    *,
    agent_id: str,
    run_id: str,
    new_messages: Sequence[Message],
    step: dict[str, Any] | None,
    message_ids: Sequence[str],
    system_update: Message | None = None,
    final: dict[str, Any] | None = None,
    adopted_ids: Sequence[str] = (),
    kept: int = 0,
) -> None:
    """Writes one step. `final` (stop_reason, run status, usage, ttft_ms,
    duration_ms) ends the run and releases the agent in the same statement.
    `adopted_ids`: those of `new_messages` stored with the run's start already
    (written again, with a new seq); `kept`: how many inputs stored with the
    run's start join the context where they are.
    Raises Fenced, having written nothing, if the run no longer holds the agent."""
    final = final or {}
    row = await conn.fetchrow(
        _COMMIT,
        json.dumps([_row_json(m) for m in new_messages], ensure_ascii=False),  # adopted ones included
        json.dumps(step) if step is not None else None,
        json.dumps(system_update.content, ensure_ascii=False) if system_update is not None else None,
        system_update.search_text() if system_update is not None else None,
        system_update.id if system_update is not None else None,
        list(message_ids),
        len(new_messages) + kept,
        final.get("stop_reason"),
        final.get("duration_ms"),
        agent_id,
        run_id,
        bool(final),
        final.get("status"),
        json.dumps(final.get("usage") or {}),
        final.get("ttft_ms"),
        list(adopted_ids),
    )
    if not row["held"]:
        raise Fenced(agent_id, run_id)
