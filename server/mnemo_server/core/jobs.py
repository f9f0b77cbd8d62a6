"""Jobs: background work that outlives the request that started it, and
message batches, the first kind of job.

A batch is one job whose items are ordinary background runs, one per request,
each on its agent's queue (started through Messages.send_async, exactly like
`POST /v1/agents/{id}/messages/async`). The job ends when all of its runs have
ended: "cancelled" if it was cancelled, else "failed" if any run failed
(`progress`, `items` and `metadata.failed_items` say which), else "cancelled"
if any run was cancelled (by a cancel of its agent's runs, or a server
shutdown), else "completed".

Nothing about a job lives only in memory: its status is derived from its runs
in PostgreSQL (storage/jobs.py `refresh`) when it is read and by every
server's poller, so a batch whose runs ended while no server was up (or whose
server died: the run sweeper fails such runs) is finalised by the next read or
the next poll of any server.
"""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from google.protobuf import json_format
from mnemo.v1 import jobs_pb2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ..config import Settings
from ..errors import FailedPrecondition, InvalidArgument, MnemoError, NotFound
from ..ids import new_id
from ..storage import jobs as store
from ..storage import runs as run_store
from ..storage.messages import Message
from ..storage.paging import MAX_LIMIT, Page, page_from
from ..storage.schema import agents
from . import validate
from .db import transaction
from .messages import Messages

log = logging.getLogger(__name__)

MAX_BATCH_REQUESTS = 1000
JOB_TYPES = ("batch",)
CALLBACK_TIMEOUT_S = 10.0


def _callback_allow(items: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """MNEMO_CALLBACK_ALLOW: addresses or CIDR blocks a callback may reach even though they
    are loopback, private or link-local (an internal receiver)."""
    blocks = []
    for item in items:
        try:
            blocks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SystemExit(f"MNEMO_CALLBACK_ALLOW: {item!r} is not an address or CIDR block") from None
    return tuple(blocks)


def _prefixed(prefix: str, error: InvalidArgument) -> InvalidArgument:
    problem = error.message[len(error.field) + 2:] if error.message.startswith(error.field + ": ") else error.message
    return InvalidArgument(f"{prefix}.{error.field}", problem)


def _forbidden(address: str, allow: tuple) -> bool:
    """Whether a callback must not reach `address`: this host, a private or shared network,
    link-local (cloud metadata), multicast or reserved, unless MNEMO_CALLBACK_ALLOW lists it."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in block for block in allow):
        return False
    return not ip.is_global or ip.is_multicast


async def _check_callback_target(url: str, allow: tuple) -> None:
    """Refuses (ValueError) a callback whose host resolves to an address it must not reach."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    for *_, sockaddr in infos:
        if _forbidden(sockaddr[0], allow):
            raise ValueError(f"{parts.hostname} resolves to {sockaddr[0]}, which a callback may not reach "
                             "(loopback, private, link-local or reserved; MNEMO_CALLBACK_ALLOW lists exceptions)")


class Jobs:
    def __init__(self, engine: AsyncEngine, messages: Messages, settings: Settings):
        self.engine = engine
        self.messages = messages
        # Seconds between two polls that end the jobs whose work has ended.
        self.poll_s = settings.job_poll_s
        self._poller: asyncio.Task | None = None
        self._callbacks: set[asyncio.Task] = set()
        self._callback_allow = _callback_allow(settings.callback_allow)

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        self._poller = asyncio.create_task(self._poll_loop(), name="mnemo-jobs")

    async def stop(self) -> None:
        tasks = [t for t in (self._poller, *self._callbacks) if t is not None]
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _poll_loop(self) -> None:
        while True:
            try:
                await self._refresh(None)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep polling through transient errors
                log.exception("job refresh failed")
            await asyncio.sleep(self.poll_s)

    async def _refresh(self, job_ids: list[str] | None) -> None:
        async with transaction(self.engine) as conn:
            if job_ids is None and not await store.has_active(conn):
                return
            ended = await store.refresh(conn, job_ids)
        for job_id, status, callback_url, completed_at in ended:
            log.info("job %s ended: %s", job_id, status)
            if callback_url:
                task = asyncio.create_task(self._callback(job_id, status, callback_url, completed_at))
                self._callbacks.add(task)
                task.add_done_callback(self._callbacks.discard)

    async def _callback(self, job_id: str, status: str, url: str, completed_at: datetime) -> None:
        """POSTs the job's end to its callback URL, once, and records the outcome."""
        code: int | None = None
        error: str | None = None
        payload = {"job_id": job_id, "status": status, "completed_at": completed_at.isoformat()}
        try:
            await _check_callback_target(url, self._callback_allow)
            async with httpx.AsyncClient(timeout=CALLBACK_TIMEOUT_S, follow_redirects=False, trust_env=False) as client:
                response = await client.post(url, json=payload)
            code = response.status_code
            if code >= 400:
                error = f"the callback URL answered HTTP {code}"
        except ValueError as exc:
            error = f"refused: {exc}"
        except (httpx.HTTPError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        try:
            async with transaction(self.engine) as conn:
                await store.record_callback(conn, job_id, status_code=code, error=error)
        except Exception:  # noqa: BLE001 - the job itself has ended either way
            log.exception("could not record the callback of job %s", job_id)

    # -- jobs ----------------------------------------------------------------------

    async def get(self, job_id: str, *, field: str = "job_id", kind: str = "job") -> jobs_pb2.Job:
        validate.required(field, job_id)
        async with self.engine.connect() as conn:
            job = await store.get(conn, job_id)
        if job is None:
            raise NotFound(kind, job_id)
        if job.status in store.ACTIVE:
            await self._refresh([job_id])
            async with self.engine.connect() as conn:
                job = await store.get(conn, job_id)
            if job is None:
                raise NotFound(kind, job_id)
        return job

    async def list(self, request: jobs_pb2.ListJobsRequest, *, job_type: str | None = None) -> list[jobs_pb2.Job]:
        page = page_from(request)
        statuses = list(request.statuses)
        for i, s in enumerate(statuses):
            validate.one_of(f"statuses[{i}]", s, store.STATUSES)
        if request.active:
            statuses = [s for s in statuses if s in store.ACTIVE] or list(store.ACTIVE)
        if job_type is None and request.HasField("job_type"):
            job_type = validate.one_of("job_type", request.job_type, JOB_TYPES)
        await self._refresh(None)
        async with self.engine.connect() as conn:
            return await store.list_jobs(
                conn, page, job_type=job_type, statuses=statuses,
                source_id=request.source_id if request.HasField("source_id") else None,
            )

    async def delete(self, job_id: str) -> jobs_pb2.Job:
        job = await self.get(job_id)
        async with transaction(self.engine) as conn:
            if not await store.delete_ended(conn, job_id):
                if await store.row(conn, job_id) is None:
                    raise NotFound("job", job_id)
                raise FailedPrecondition(f"job '{job_id}' has not ended; cancel it first "
                                         f"(PATCH /v1/jobs/{job_id}/cancel)")
        return job

    async def cancel(self, job_id: str, *, field: str = "job_id", kind: str = "job") -> jobs_pb2.Job:
        """Cancels the job's unfinished runs: queued ones end at once, running
        ones at their next safe point; the job ends "cancelled" when all have."""
        validate.required(field, job_id)
        await self._refresh([job_id])  # a job whose work all ended is not cancelled after the fact
        async with transaction(self.engine) as conn:
            found = await store.row(conn, job_id, for_update=True)
            if found is None:
                raise NotFound(kind, job_id)
            if found.status in store.ACTIVE:
                await store.request_cancel(conn, job_id)
                for agent_id, run_ids in (await store.unfinished_runs(conn, job_id)).items():
                    await run_store.request_cancel(conn, agent_id, run_ids)
        return await self.get(job_id, field=field, kind=kind)

    # -- batches -------------------------------------------------------------------

    async def get_batch(self, batch_id: str) -> jobs_pb2.Job:
        job = await self.get(batch_id, field="batch_id", kind="batch")
        if job.job_type != "batch":
            raise NotFound("batch", batch_id)
        return job

    async def cancel_batch(self, batch_id: str) -> jobs_pb2.Job:
        await self.get_batch(batch_id)
        return await self.cancel(batch_id, field="batch_id", kind="batch")

    async def create_batch(self, request: jobs_pb2.CreateBatchRequest) -> jobs_pb2.Job:
        """Validates every request, starts one background run per request, and
        records the job with its items."""
        n = len(request.requests)
        if n == 0:
            raise InvalidArgument("requests", "must hold at least one request")
        if n > MAX_BATCH_REQUESTS:
            raise InvalidArgument("requests", f"at most {MAX_BATCH_REQUESTS} requests per batch, got {n}")
        callback_url = None
        if request.HasField("callback_url"):
            parts = urlsplit(request.callback_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InvalidArgument("callback_url", f"must be an http or https URL, got '{request.callback_url}'")
            try:
                literal_forbidden = _forbidden(parts.hostname, self._callback_allow)
            except ValueError:  # a name, not an address: checked when the callback is sent
                literal_forbidden = False
            if literal_forbidden:
                raise InvalidArgument("callback_url", f"{parts.hostname} is loopback, private, link-local or "
                                                      "reserved, which a callback may not reach "
                                                      "(MNEMO_CALLBACK_ALLOW lists exceptions)")
            callback_url = request.callback_url
        for i, item in enumerate(request.requests):
            try:
                validate.required("agent_id", item.agent_id)
                self.messages.turn_request(item)
                if item.HasField("if_busy"):
                    validate.one_of("if_busy", item.if_busy, ("queue", "reject"))
            except InvalidArgument as exc:
                raise _prefixed(f"requests[{i}]", exc) from None
        wanted = list(dict.fromkeys(item.agent_id for item in request.requests))
        async with self.engine.connect() as conn:
            known = set((await conn.execute(select(agents.c.id).where(agents.c.id.in_(wanted)))).scalars())
        for i, item in enumerate(request.requests):
            if item.agent_id not in known:
                raise NotFound(f"requests[{i}].agent_id: agent", item.agent_id)

        job_id = new_id("job")
        items: list[dict[str, Any]] = []
        for i, item in enumerate(request.requests):
            try:
                run = await self.messages.send_async(item)
            except MnemoError as exc:  # e.g. the agent was deleted meanwhile, or is busy with if_busy "reject"
                items.append({"idx": i, "agent_id": item.agent_id, "run_id": None, "status": "failed",
                              "error": exc.message})
                continue
            items.append({"idx": i, "agent_id": item.agent_id, "run_id": run.id, "status": run.status,
                          "error": None})
        async with transaction(self.engine) as conn:
            await store.insert_job(conn, job_id=job_id, job_type="batch", status="running",
                                   metadata={"job_type": "batch_messages"}, callback_url=callback_url, items=items)
            await store.tag_runs(conn, job_id, [it["run_id"] for it in items if it["run_id"]])
        return await self.get(job_id)

    async def list_batch_messages(self, request: jobs_pb2.ListBatchMessagesRequest) -> jobs_pb2.BatchMessages:
        await self.get_batch(request.batch_id)
        has = request.HasField
        limit = request.limit if has("limit") else 100
        if limit < 1 or limit > MAX_LIMIT:
            raise InvalidArgument("limit", f"must be between 1 and {MAX_LIMIT}, got {limit}")
        descending = True
        if has("order"):
            descending = validate.one_of("order", request.order, ("asc", "desc")) == "desc"
        elif has("sort_descending"):
            descending = request.sort_descending
        after = request.after if has("after") and request.after else None
        if after is None and has("cursor") and request.cursor:
            after = request.cursor
        page = Page(after=after, before=request.before if has("before") and request.before else None,
                    limit=limit, descending=descending)
        async with self.engine.connect() as conn:
            run_items = await store.run_items(conn, request.batch_id,
                                              request.agent_id if has("agent_id") else None)
            found = await store.page_of_runs(conn, list(run_items), page) if run_items else []
        out = jobs_pb2.BatchMessages()
        for m in found:
            index = run_items.get(m.run_id or "")
            out.messages.append(stored_message(m, f"{request.batch_id}:{index}" if index is not None else None))
        return out


def _approval(item: dict[str, Any]) -> dict[str, Any]:
    """A stored approval answer in Letta's shape: {type: "approval", tool_call_id,
    approve, reason} as is; a client tool's result as a tool return."""
    if item.get("type") != "tool":
        return {k: v for k, v in item.items() if v is not None}
    value = item.get("tool_return")
    out = {"tool_call_id": item.get("tool_call_id"), "status": item.get("status") or "success",
           "func_response": value if isinstance(value, str) or value is None else json.dumps(value, ensure_ascii=False)}
    for key in ("stdout", "stderr"):
        if item.get(key):
            out[key] = item[key]
    return out


def stored_message(m: Message, batch_item_id: str | None) -> jobs_pb2.StoredMessage:
    """A stored message in Letta's internal Message shape."""
    content: list[dict[str, Any]] = []
    approvals: list[dict[str, Any]] = []
    for part in m.content:
        kind = part.get("type")
        if kind == "approvals":
            approvals.extend(_approval(a) for a in part.get("approvals") or [])
        elif kind == "reasoning":
            content.append({"type": "reasoning", "reasoning": part.get("reasoning") or "", "is_native": True,
                            **({"signature": part["signature"]} if part.get("signature") else {})})
        else:
            content.append(part)
    data: dict[str, Any] = {
        "id": m.id, "role": "approval" if m.role == "approval_response" else m.role, "agent_id": m.agent_id,
        "content": content, "is_err": m.is_err,
    }
    if m.tool_calls:
        data["tool_calls"] = [{"id": c.get("id"), "type": "function",
                               "function": {"name": c.get("name"), "arguments": c.get("arguments") or ""}}
                              for c in m.tool_calls]
    if m.tool_returns:
        data["tool_returns"] = [{k: v for k, v in r.items() if v is not None} for r in m.tool_returns]
    if approvals:
        data["approvals"] = approvals
    for name in ("name", "tool_call_id", "step_id", "run_id", "otid", "sender_id", "model"):
        value = getattr(m, name)
        if value is not None:
            data[name] = value
    if batch_item_id is not None:
        data["batch_item_id"] = batch_item_id
    message = json_format.ParseDict(data, jobs_pb2.StoredMessage())
    if m.created_at is not None:
        message.created_at.FromDatetime(m.created_at)
    return message

