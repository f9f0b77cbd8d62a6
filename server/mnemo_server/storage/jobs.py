"""Jobs and the items of batch jobs.

A batch job's items are carried by background runs. An item copies its run's
status when the job is refreshed (`refresh`: on every read of an active job
and by each server's job poller), and the job ends in the same refresh once
none of its items is left active. The copy keeps an item's outcome after its
run (or agent) is deleted. Refreshes serialise on one advisory lock, so two
servers never finalise a job twice nor deadlock over the same items.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mnemo.v1 import jobs_pb2
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import convert
from . import messages as message_store
from .messages import Message
from .paging import Page, apply_page
from .schema import job_items, jobs, messages, runs

ACTIVE = ("created", "running")
TERMINAL = ("completed", "failed", "cancelled")
STATUSES = (*ACTIVE, *TERMINAL)
# pg_advisory_xact_lock key of job refreshes ("mnemojob" in ASCII, as an int64).
REFRESH_LOCK = 0x6D6E656D6F6A6F62


async def insert_job(conn: AsyncConnection, *, job_id: str, job_type: str, status: str, metadata: dict[str, Any],
                     callback_url: str | None, items: Sequence[dict[str, Any]]) -> None:
    await conn.execute(insert(jobs).values(id=job_id, job_type=job_type, status=status, metadata=metadata,
                                           callback_url=callback_url))
    if items:
        await conn.execute(insert(job_items), [{"job_id": job_id, **item} for item in items])


async def tag_runs(conn: AsyncConnection, job_id: str, run_ids: Sequence[str]) -> None:
    """Records the job on its runs' metadata (`job_id`), so a run names its batch."""
    if run_ids:
        await conn.execute(
            update(runs).where(runs.c.id.in_(list(run_ids)))
            .values(metadata=runs.c.metadata.op("||")(func.jsonb_build_object("job_id", job_id)))
        )


_SYNC_ITEMS = """
UPDATE job_items i SET status = r.status, stop_reason = r.stop_reason,
       error = CASE WHEN r.status = 'failed' THEN coalesce(r.error ->> 'message', r.stop_reason, 'failed') END
FROM runs r
WHERE i.run_id = r.id AND i.status IN ('created', 'running') AND r.status <> i.status {scope}
"""
_LOST_ITEMS = """
UPDATE job_items i SET status = 'failed',
       error = 'its run was deleted (with its agent, or after it ended) before the job saw it end'
WHERE i.status IN ('created', 'running') AND i.run_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = i.run_id) {scope}
"""
_FINISH_JOBS = """
UPDATE jobs j SET
    status = CASE
        WHEN j.cancel_requested THEN 'cancelled'
        WHEN EXISTS (SELECT 1 FROM job_items f WHERE f.job_id = j.id AND f.status = 'failed') THEN 'failed'
        WHEN EXISTS (SELECT 1 FROM job_items c WHERE c.job_id = j.id AND c.status = 'cancelled') THEN 'cancelled'
        ELSE 'completed' END,
    completed_at = now(), updated_at = now(),
    metadata = j.metadata || jsonb_build_object('failed_items', (
        SELECT coalesce(jsonb_agg(f.idx ORDER BY f.idx), '[]'::jsonb) FROM job_items f
        WHERE f.job_id = j.id AND f.status = 'failed'))
WHERE j.status IN ('created', 'running') {scope}
  AND NOT EXISTS (SELECT 1 FROM job_items a WHERE a.job_id = j.id AND a.status IN ('created', 'running'))
RETURNING j.id, j.status, j.callback_url, j.completed_at
"""


async def refresh(conn: AsyncConnection, job_ids: Sequence[str] | None = None) -> list[tuple[str, str, str | None,
                                                                                             datetime]]:
    """Copies run statuses onto the active items of the given jobs (all active
    jobs when None) and ends the jobs with no active item left. Returns the
    jobs that ended now: (id, status, callback_url, completed_at)."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": REFRESH_LOCK})
    params: dict[str, Any] = {}
    item_scope = job_scope = ""
    if job_ids is not None:
        params["jobs"] = list(job_ids)
        item_scope, job_scope = "AND i.job_id = ANY(:jobs)", "AND j.id = ANY(:jobs)"
    await conn.execute(text(_SYNC_ITEMS.format(scope=item_scope)), params)
    await conn.execute(text(_LOST_ITEMS.format(scope=item_scope)), params)
    ended = (await conn.execute(text(_FINISH_JOBS.format(scope=job_scope)), params)).all()
    return [(r.id, r.status, r.callback_url, r.completed_at) for r in ended]


async def has_active(conn: AsyncConnection) -> bool:
    return (await conn.execute(select(jobs.c.id).where(jobs.c.status.in_(ACTIVE)).limit(1))).first() is not None


async def row(conn: AsyncConnection, job_id: str, *, for_update: bool = False):
    stmt = select(*jobs.c).where(jobs.c.id == job_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first()


async def items_of(conn: AsyncConnection, job_ids: Sequence[str]) -> dict[str, list]:
    found: dict[str, list] = {j: [] for j in job_ids}
    if job_ids:
        rows = await conn.execute(select(*job_items.c).where(job_items.c.job_id.in_(list(job_ids)))
                                  .order_by(job_items.c.job_id, job_items.c.idx))
        for r in rows:
            found[r.job_id].append(r)
    return found


def to_proto(r, items: Sequence) -> jobs_pb2.Job:
    m = r._mapping
    job = jobs_pb2.Job(
        id=m["id"], status=m["status"], job_type=m["job_type"], created_at=convert.timestamp(m["created_at"]),
        updated_at=convert.timestamp(m["updated_at"]), metadata=convert.struct(m["metadata"] or {}),
        cancel_requested=m["cancel_requested"],
    )
    convert.set_optional(job, callback_url=m["callback_url"], callback_status_code=m["callback_status_code"],
                         callback_error=m["callback_error"])
    for name in ("completed_at", "callback_sent_at"):
        if m[name] is not None:
            getattr(job, name).CopyFrom(convert.timestamp(m[name]))
    if m["completed_at"] is not None:
        # Whole nanoseconds: Letta clients expect an integer.
        job.total_duration_ns = round((m["completed_at"] - m["created_at"]).total_seconds() * 1e6) * 1000
    counts = {s: 0 for s in STATUSES}
    for it in items:
        counts[it.status] = counts.get(it.status, 0) + 1
        item = job.items.add(index=it.idx, agent_id=it.agent_id, status=it.status)
        convert.set_optional(item, run_id=it.run_id, stop_reason=it.stop_reason, error=it.error)
    job.progress.CopyFrom(jobs_pb2.JobProgress(total=len(items), **counts))
    return job


async def get(conn: AsyncConnection, job_id: str) -> jobs_pb2.Job | None:
    r = await row(conn, job_id)
    if r is None:
        return None
    return to_proto(r, (await items_of(conn, [job_id]))[job_id])


async def list_jobs(conn: AsyncConnection, page: Page, *, job_type: str | None = None, statuses: Sequence[str] = (),
                    source_id: str | None = None) -> list[jobs_pb2.Job]:
    stmt = select(*jobs.c)
    if job_type is not None:
        stmt = stmt.where(jobs.c.job_type == job_type)
    if statuses:
        stmt = stmt.where(jobs.c.status.in_(list(statuses)))
    if source_id is not None:
        stmt = stmt.where(jobs.c.metadata["source_id"].astext == source_id)
    stmt, flipped = await apply_page(conn, stmt, page, jobs.c.seq, jobs.c.id)
    rows = (await conn.execute(stmt)).all()
    if flipped:
        rows = rows[::-1]
    items = await items_of(conn, [r.id for r in rows])
    return [to_proto(r, items[r.id]) for r in rows]


async def delete_ended(conn: AsyncConnection, job_id: str) -> bool:
    result = await conn.execute(delete(jobs).where(jobs.c.id == job_id, jobs.c.status.in_(TERMINAL)))
    return result.rowcount == 1


async def unfinished_runs(conn: AsyncConnection, job_id: str) -> dict[str, list[str]]:
    """agent id -> the run ids of the job's active items on that agent."""
    rows = await conn.execute(
        select(job_items.c.agent_id, job_items.c.run_id)
        .where(job_items.c.job_id == job_id, job_items.c.status.in_(ACTIVE), job_items.c.run_id.is_not(None))
        .order_by(job_items.c.idx)
    )
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r.agent_id, []).append(r.run_id)
    return out


async def request_cancel(conn: AsyncConnection, job_id: str) -> None:
    await conn.execute(update(jobs).where(jobs.c.id == job_id).values(cancel_requested=True, updated_at=func.now()))


async def record_callback(conn: AsyncConnection, job_id: str, *, status_code: int | None, error: str | None) -> None:
    await conn.execute(update(jobs).where(jobs.c.id == job_id).values(
        callback_sent_at=func.now(), callback_status_code=status_code, callback_error=error))


async def run_items(conn: AsyncConnection, job_id: str, agent_id: str | None = None) -> dict[str, int]:
    """run id -> item index, for the job's items that have a run."""
    stmt = select(job_items.c.run_id, job_items.c.idx).where(job_items.c.job_id == job_id,
                                                               job_items.c.run_id.is_not(None))
    if agent_id is not None:
        stmt = stmt.where(job_items.c.agent_id == agent_id)
    return {r.run_id: r.idx for r in await conn.execute(stmt)}


async def page_of_runs(conn: AsyncConnection, run_ids: Sequence[str], p: Page) -> list[Message]:
    """One page of the messages stored by any of `run_ids`, ordered by storage order."""
    scope = messages.c.run_id.in_(list(run_ids))
    stmt = select(*message_store.COLUMNS).where(scope)
    stmt, flipped = await apply_page(conn, stmt, p, messages.c.seq, messages.c.id, cursor_scope=scope)
    result = [message_store.from_row(r) for r in (await conn.execute(stmt)).all()]
    return result[::-1] if flipped else result
