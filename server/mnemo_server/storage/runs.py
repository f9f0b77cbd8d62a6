"""Runs, the per-agent queue, server liveness and the run event log.

An agent is acted on by one run at a time: `agents.active_run_id`. A request
inserts its run and, in the same statement, takes the agent if it is free
(no active run, or the active run's server stopped heartbeating) and no live
run queued before it (storage/turns.py, `start`); otherwise the run waits,
status "created", in arrival order (`runs.seq`), and `try_claim`s the agent
when woken. The agent is released in the run's last commit, with a NOTIFY
that wakes the next waiter on any server.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mnemo.v1 import messages_pb2, runs_pb2
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from . import convert
from .paging import Page, apply_page
from .schema import agents, run_events, runs, servers, steps

TERMINAL = ("completed", "failed", "cancelled")
AGENT_FREE_CHANNEL = "mnemo_agent_free"
RUN_CANCEL_CHANNEL = "mnemo_run_cancel"
RUN_EVENTS_CHANNEL = "mnemo_run_events"

def free_condition(*, run: str, stale: str, queued_before: str) -> str:
    """SQL: is agent row `a` free for run `run`? Free: no active run (or it is
    `run`, or its server stopped heartbeating `stale` seconds ago); and no live
    run of the agent queued before seq `queued_before`. The active run's owner
    is read from the locked agent row (not from `runs`), so two claimers
    serialised on that lock always see each other's claim. The arguments are
    SQL expressions (parameters or columns)."""
    return f"""
    (a.active_run_id IS NULL OR a.active_run_id = {run} OR NOT EXISTS (
        SELECT 1 FROM servers s
        WHERE s.id = a.active_owner AND s.heartbeat_at > now() - make_interval(secs => {stale})))
    AND NOT EXISTS (
        SELECT 1 FROM runs q JOIN servers s ON s.id = q.owner
        WHERE q.agent_id = a.id AND q.status = 'created' AND q.seq < {queued_before} AND q.id <> {run}
          AND s.heartbeat_at > now() - make_interval(secs => {stale}))
"""


_CLAIM = text(f"""
WITH target AS (SELECT seq FROM runs WHERE id = :run AND status = 'created'),
ok AS (
    SELECT a.id FROM agents a, target
    WHERE a.id = :agent AND {free_condition(run=":run", stale=":stale", queued_before="target.seq")}
    FOR UPDATE OF a
),
u AS (UPDATE agents SET active_run_id = :run, active_owner = :owner WHERE id IN (SELECT id FROM ok) RETURNING 1)
UPDATE runs SET status = 'running', started_at = now()
WHERE id = :run AND status = 'created' AND EXISTS (SELECT 1 FROM ok)
RETURNING status
""")


async def try_claim(conn: AsyncConnection, *, run_id: str, agent_id: str, owner: str, stale_s: float) -> bool:
    params = {"run": run_id, "agent": agent_id, "owner": owner, "stale": stale_s}
    return (await conn.execute(_CLAIM, params)).first() is not None


async def status(conn: AsyncConnection, run_id: str) -> tuple[str, bool] | None:
    row = (await conn.execute(select(runs.c.status, runs.c.cancel_requested).where(runs.c.id == run_id))).first()
    return (row.status, row.cancel_requested) if row else None


async def finish(
    conn: AsyncConnection, *, run_id: str, agent_id: str, status: str, stop_reason: str | None,
    usage: dict[str, int] | None = None, ttft_ms: float | None = None, error: str | None = None,
) -> None:
    """Ends the run and releases the agent (if the run held it), waking the
    agent's queued runs and the run's stream readers."""
    values: dict[str, Any] = {
        "status": status, "stop_reason": stop_reason, "completed_at": func.now(),
        "total_duration_ms": func.extract("epoch", func.now() - runs.c.created_at) * 1000,
    }
    if usage:
        values.update(usage)
    if ttft_ms is not None:
        values["ttft_ms"] = ttft_ms
    if error:
        values["error"] = {"message": error}
    await conn.execute(update(runs).where(runs.c.id == run_id, runs.c.status.not_in(TERMINAL)).values(**values))
    await release(conn, run_id=run_id, agent_id=agent_id)
    await notify_events(conn, run_id)


async def release(conn: AsyncConnection, *, run_id: str, agent_id: str) -> None:
    await conn.execute(
        update(agents).where(agents.c.id == agent_id, agents.c.active_run_id == run_id)
        .values(active_run_id=None, active_owner=None)
    )
    await conn.execute(text("SELECT pg_notify(:channel, :agent)"), {"channel": AGENT_FREE_CHANNEL, "agent": agent_id})


async def request_cancel(conn: AsyncConnection, agent_id: str, run_ids: Sequence[str]) -> dict[str, str]:
    """Marks runs for cancellation. Queued runs end at once; running ones stop
    at their next safe point. Returns run id -> outcome."""
    stmt = select(runs.c.id, runs.c.status).where(runs.c.agent_id == agent_id)
    if run_ids:
        stmt = stmt.where(runs.c.id.in_(list(run_ids)))
    else:
        stmt = stmt.where(runs.c.status.in_(("created", "running")))
    outcome: dict[str, str] = {}
    for row in (await conn.execute(stmt.with_for_update())).all():
        if row.status in TERMINAL:
            outcome[row.id] = f"already {row.status}"
            continue
        if row.status == "created":
            await conn.execute(update(runs).where(runs.c.id == row.id).values(
                status="cancelled", stop_reason="cancelled", cancel_requested=True, completed_at=func.now()))
            # Runs queued behind it may now go first.
            await conn.execute(text("SELECT pg_notify(:c, :a)"), {"c": AGENT_FREE_CHANNEL, "a": agent_id})
        else:
            await conn.execute(update(runs).where(runs.c.id == row.id).values(cancel_requested=True))
        await conn.execute(text("SELECT pg_notify(:c, :r)"), {"c": RUN_CANCEL_CHANNEL, "r": row.id})
        outcome[row.id] = "cancelled"
    return outcome


# -- liveness -------------------------------------------------------------------

async def heartbeat(conn: AsyncConnection, server_id: str, info: dict[str, Any]) -> None:
    await conn.execute(text("""
        INSERT INTO servers (id, info) VALUES (:id, CAST(:info AS jsonb))
        ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
    """), {"id": server_id, "info": json.dumps(info)})


async def sweep(conn: AsyncConnection, *, stale_s: float, retention_hours: float) -> list[tuple[str, str]]:
    """Fails the runs of servers that stopped heartbeating, frees their agents,
    forgets long-dead servers and old run events. Returns (run, agent) pairs
    that were failed."""
    dead = (await conn.execute(FAIL_DEAD_RUNS, {"stale": stale_s})).all()
    for run_id, agent_id in dead:
        await release(conn, run_id=run_id, agent_id=agent_id)
        await notify_events(conn, run_id)  # its stream readers report the failure now
    await conn.execute(FORGET_DEAD_SERVERS)
    await conn.execute(EXPIRE_RUN_EVENTS, {"hours": retention_hours})
    return [(r.id, r.agent_id) for r in dead]


# The sweep's periodic statements, each behind an index (migration 0010; the
# test tests/test_wakeups.py checks their plans). Live runs: index runs_active.
# Servers: index servers_heartbeat_at.
# Run events: index run_events_created_at finds the events older than the
# retention (all that is left of the older ones are those of runs still
# running or ended recently), the run's end is checked through its primary key;
# so the work does not grow with the number of runs ever made.
FAIL_DEAD_RUNS = text("""
    UPDATE runs SET status = 'failed', stop_reason = 'error', completed_at = now(),
           error = '{"message": "the server running this run stopped"}'::jsonb
    WHERE status IN ('created', 'running') AND owner IN (
        SELECT id FROM servers WHERE heartbeat_at < now() - make_interval(secs => :stale))
    RETURNING id, agent_id
""")
FORGET_DEAD_SERVERS = text("DELETE FROM servers WHERE heartbeat_at < now() - interval '1 day'")
EXPIRE_RUN_EVENTS = text("""
    DELETE FROM run_events e USING runs r
    WHERE e.created_at < now() - make_interval(hours => :hours)
      AND r.id = e.run_id AND r.completed_at < now() - make_interval(hours => :hours)
""")


async def held_by(conn: AsyncConnection, server_id: str) -> list[tuple[str, str]]:
    """(run, agent) pairs of the agents this server holds, locked until the
    transaction ends (so none of these runs can end or start meanwhile). Found
    through the live runs (index runs_active): an index on agents.active_owner
    would make every claim and release of an agent a non-HOT update."""
    rows = (await conn.execute(text("""
        SELECT a.active_run_id, a.id FROM runs r JOIN agents a ON a.id = r.agent_id AND a.active_run_id = r.id
        WHERE r.status IN ('created', 'running') AND r.owner = :owner AND a.active_owner = :owner
        FOR UPDATE OF a
    """), {"owner": server_id})).all()
    return [(r[0], r[1]) for r in rows]


async def forget_server(conn: AsyncConnection, server_id: str) -> None:
    await conn.execute(text("DELETE FROM servers WHERE id = :id"), {"id": server_id})


# -- event log ------------------------------------------------------------------

async def notify_events(conn: AsyncConnection, run_id: str) -> None:
    """Wakes the readers of the run's event log (on every server)."""
    await conn.execute(text("SELECT pg_notify(:c, :r)"), {"c": RUN_EVENTS_CHANNEL, "r": run_id})


async def append_events(conn: AsyncConnection, run_id: str, events: Sequence[tuple[int, bytes]]) -> None:
    if events:
        await conn.execute(pg_insert(run_events).on_conflict_do_nothing(),
                           [{"run_id": run_id, "seq": s, "event": e} for s, e in events])
        await notify_events(conn, run_id)


async def read_events(conn: AsyncConnection, run_id: str, after: int, limit: int = 500) -> list[tuple[int, bytes]]:
    rows = await conn.execute(
        select(run_events.c.seq, run_events.c.event)
        .where(run_events.c.run_id == run_id, run_events.c.seq > after).order_by(run_events.c.seq).limit(limit)
    )
    return [(r.seq, r.event) for r in rows]


# -- reading runs and steps -------------------------------------------------------

def run_to_proto(r) -> runs_pb2.Run:
    m = r._mapping
    run = runs_pb2.Run(
        id=m["id"], agent_id=m["agent_id"], status=m["status"], background=m["background"],
        created_at=convert.timestamp(m["created_at"]), request_config=convert.struct(m["request"] or {}),
        metadata=convert.struct({**(m["metadata"] or {}), **({"error": m["error"]} if m["error"] else {})}),
        usage=messages_pb2.UsageStatistics(
            message_type="usage_statistics", prompt_tokens=m["prompt_tokens"],
            completion_tokens=m["completion_tokens"], total_tokens=m["total_tokens"], step_count=m["step_count"],
            run_ids=[m["id"]],
        ),
    )
    convert.set_optional(run, stop_reason=m["stop_reason"])
    for name in ("started_at", "completed_at"):
        if m[name] is not None:
            getattr(run, name).CopyFrom(convert.timestamp(m[name]))
    if m["total_duration_ms"] is not None:
        run.total_duration_ns = round(m["total_duration_ms"] * 1e6)
    if m["ttft_ms"] is not None:
        run.ttft_ns = round(m["ttft_ms"] * 1e6)  # whole nanoseconds: Letta clients expect an integer
    return run


async def get(conn: AsyncConnection, run_id: str) -> runs_pb2.Run | None:
    row = (await conn.execute(select(*runs.c).where(runs.c.id == run_id))).first()
    return run_to_proto(row) if row else None


async def delete_ended(conn: AsyncConnection, run_id: str) -> bool:
    """Deletes run `run_id` (its events cascade) if it has ended; False if it has not."""
    result = await conn.execute(delete(runs).where(runs.c.id == run_id, runs.c.status.in_(TERMINAL)))
    return result.rowcount == 1


async def list_runs(conn: AsyncConnection, page: Page, *, agent_ids: Sequence[str] = (), statuses: Sequence[str] = (),
                    background: bool | None = None, stop_reason: str | None = None) -> list[runs_pb2.Run]:
    stmt = select(*runs.c)
    if agent_ids:
        stmt = stmt.where(runs.c.agent_id.in_(list(agent_ids)))
    if statuses:
        stmt = stmt.where(runs.c.status.in_(list(statuses)))
    if background is not None:
        stmt = stmt.where(runs.c.background.is_(background))
    if stop_reason is not None:
        stmt = stmt.where(runs.c.stop_reason == stop_reason)
    stmt, flipped = await apply_page(conn, stmt, page, runs.c.seq, runs.c.id)
    result = [run_to_proto(r) for r in (await conn.execute(stmt)).all()]
    return result[::-1] if flipped else result


def step_to_proto(r) -> runs_pb2.Step:
    m = r._mapping
    step = runs_pb2.Step(
        id=m["id"], run_id=m["run_id"] or "", agent_id=m["agent_id"], status=m["status"],
        prompt_tokens=m["prompt_tokens"], completion_tokens=m["completion_tokens"], total_tokens=m["total_tokens"],
        cached_input_tokens=m["cached_input_tokens"], reasoning_tokens=m["reasoning_tokens"],
        created_at=convert.timestamp(m["created_at"]),
    )
    convert.set_optional(step, stop_reason=m["stop_reason"], provider_name=m["provider"], model=m["model"],
                         model_handle=m["model_handle"], context_window_limit=m["context_window_limit"],
                         llm_ms=m["llm_ms"], tool_ms=m["tool_ms"], error_type=m["error_type"])
    if m["error_data"]:
        step.error_data.CopyFrom(convert.struct(m["error_data"]))
    return step


async def get_step(conn: AsyncConnection, step_id: str) -> runs_pb2.Step | None:
    row = (await conn.execute(select(*steps.c).where(steps.c.id == step_id))).first()
    return step_to_proto(row) if row else None


async def list_steps(conn: AsyncConnection, page: Page, *, agent_id: str | None = None, run_id: str | None = None,
                     status_: str | None = None) -> list[runs_pb2.Step]:
    stmt = select(*steps.c)
    if agent_id is not None:
        stmt = stmt.where(steps.c.agent_id == agent_id)
    if run_id is not None:
        stmt = stmt.where(steps.c.run_id == run_id)
    if status_ is not None:
        stmt = stmt.where(steps.c.status == status_)
    stmt, flipped = await apply_page(conn, stmt, page, steps.c.created_at, steps.c.id)
    result = [step_to_proto(r) for r in (await conn.execute(stmt)).all()]
    return result[::-1] if flipped else result


async def servers_alive(conn: AsyncConnection, stale_s: float) -> int:
    return (await conn.execute(select(func.count()).select_from(servers).where(
        servers.c.heartbeat_at > func.now() - func.make_interval(0, 0, 0, 0, 0, 0, stale_s)))).scalar_one()


