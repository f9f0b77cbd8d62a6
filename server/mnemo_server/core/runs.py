"""Runs: every message request is one. This module starts them (queueing
behind the agent's active run, or refusing), executes them so that they always
end with a status, runs them in the background with an event log, resumes
their streams, cancels them, and lists them."""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from mnemo.v1 import messages_pb2, runs_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import AlreadyExists, FailedPrecondition, MnemoError, NotFound
from ..ids import new_id
from ..loop.agent_loop import AgentLoop, TurnRequest, TurnResult
from ..providers.base import Usage
from ..runs.coordinator import RunCoordinator
from ..runs.events import EventLogWriter
from ..storage import agents as agent_store
from ..storage import runs as store
from ..storage import turns
from ..storage.paging import page_from
from ..storage.turns import Fenced
from . import validate
from .db import get_or_not_found, transaction

log = logging.getLogger(__name__)

# Seconds of silence after which a stream that asked for pings gets one.
PING_INTERVAL_S = float(os.environ.get("MNEMO_PING_INTERVAL_S") or 15.0)
BUSY_POLICIES = ("queue", "reject")
OTID_INDEX = "messages_agent_otid"
Sink = Callable[[messages_pb2.LettaMessage], Awaitable[None]]


class Busy(MnemoError):
    code = "ABORTED"


def stop_reason_event(result: TurnResult) -> messages_pb2.LettaMessage:
    return messages_pb2.LettaMessage(message_type="stop_reason", stop_reason=result.stop_reason,
                                     run_id=result.run_id)


def usage_event(result: TurnResult) -> messages_pb2.LettaMessage:
    u = result.usage
    return messages_pb2.LettaMessage(
        message_type="usage_statistics", completion_tokens=u.completion_tokens, prompt_tokens=u.prompt_tokens,
        total_tokens=u.total_tokens, step_count=result.step_count, run_ids=[result.run_id],
        context_tokens=result.context_tokens,
    )


def closing_events(result: TurnResult) -> list[messages_pb2.LettaMessage]:
    """What ends every stream: stop reason, the error if any, usage."""
    events = [stop_reason_event(result)]
    if result.error is not None:
        events.append(result.error)
    events.append(usage_event(result))
    return events


def failure_events(run_id: str, error_type: str, message: str) -> list[messages_pb2.LettaMessage]:
    return [
        messages_pb2.LettaMessage(message_type="stop_reason", stop_reason="error", run_id=run_id),
        messages_pb2.LettaMessage(message_type="error_message", run_id=run_id, error_type=error_type,
                                  message=message),
        messages_pb2.LettaMessage(message_type="usage_statistics", run_ids=[run_id], step_count=0,
                                  completion_tokens=0, prompt_tokens=0, total_tokens=0),
    ]


def ping(run_id: str, seq: int | None = None) -> messages_pb2.LettaMessage:
    view = messages_pb2.LettaMessage(message_type="ping", id=new_id("ping"), run_id=run_id)
    if seq is not None:
        view.seq_id = seq
    view.date.FromDatetime(datetime.now(UTC))
    return view


@dataclass
class Started:
    run_id: str
    queued: bool
    # A retry: an input's otid was stored already, by run `run_id`; nothing new started.
    duplicate: bool = False


class Runs:
    def __init__(self, engine: AsyncEngine, loop: AgentLoop, coordinator: RunCoordinator):
        self.engine = engine
        self.loop = loop
        self.coordinator = coordinator

    # -- starting and executing --------------------------------------------------

    async def start(self, turn: TurnRequest, *, background: bool, if_busy: str, config: dict) -> Started:
        """Records the run with its input messages and takes the agent, or
        queues, or refuses. The input is committed here, before anything else
        happens (see docs/architecture.md, "Durability"). A request whose input
        carries an otid the agent has stored already is a retry: it starts
        nothing and names the original run."""
        validate.one_of("if_busy", if_busy, BUSY_POLICIES)
        for message in turn.inputs:
            message.run_id = turn.run_id  # kept with the run that took it, whatever becomes of the run
            message.step_id = turn.first_step_id
        self.coordinator.local_runs.add(turn.run_id)  # before it can hold the agent (orphan recovery)
        try:
            for attempt in (1, 2):
                try:
                    async with self.loop.driver.acquire() as conn:  # one statement: its own transaction
                        row = await turns.start(
                            conn, agent_id=turn.agent_id, run_id=turn.run_id, background=background,
                            request=config, owner=self.coordinator.server_id, stale_s=self.coordinator.stale_s,
                            reject_if_busy=if_busy == "reject", inputs=turn.inputs,
                        )
                    break
                except asyncpg.UniqueViolationError as exc:
                    # The same otid sent twice at once: the other request stored it first.
                    if attempt == 2 or exc.constraint_name != OTID_INDEX:
                        raise
        except BaseException:
            self.coordinator.local_runs.discard(turn.run_id)
            raise
        if row.free is None:
            self.coordinator.local_runs.discard(turn.run_id)
            raise NotFound("agent", turn.agent_id)
        if row.duplicate:
            self.coordinator.local_runs.discard(turn.run_id)
            if row.duplicate_of is None:
                raise AlreadyExists("messages[].otid: a message with this otid is stored already (with no run)")
            return Started(row.duplicate_of, queued=False, duplicate=True)
        if row.status is None:
            self.coordinator.local_runs.discard(turn.run_id)
            raise Busy(f"agent '{turn.agent_id}' is busy with run '{row.busy_with}'; retry later, or send with "
                       "if_busy='queue' to wait for it")
        turn.inputs_stored = True
        turn.inputs_queued = row.status == "created"
        turn.state = row.state  # read with the claim; None when queued
        return Started(turn.run_id, queued=row.status == "created")

    async def execute(self, turn: TurnRequest, started: Started, sink: Sink | None = None) -> TurnResult:
        """Waits for the agent if queued, runs the turn, and makes sure the run
        ends with a status and releases the agent, whatever happens."""
        try:
            if started.queued and not await self.coordinator.wait_turn(turn.run_id, turn.agent_id):
                return TurnResult(turn.run_id, [], "cancelled", Usage(), 0)
            async with self.coordinator.cancellation(turn.run_id) as cancel:
                turn.cancel = cancel
                return await self.loop.run(turn, sink)
        except asyncio.CancelledError:
            await asyncio.shield(self._end(turn, "cancelled", "cancelled",
                                           turn.cancel_reason or "the server is shutting down"))
            raise
        except Fenced as exc:
            log.warning("%s", exc)
            await asyncio.shield(self._end(turn, "failed", "error", str(exc)))
            raise
        except Exception as exc:
            await asyncio.shield(self._end(turn, "failed", "error", str(exc) or type(exc).__name__))
            raise
        finally:
            self.coordinator.local_runs.discard(turn.run_id)

    async def foreground(self, turn: TurnRequest, started: Started, sink: Sink | None = None) -> TurnResult:
        """Runs a foreground turn for a caller that waits for it. If the caller
        goes away (its RPC is cancelled: the client disconnected), the run is
        cancelled like a cancel request would: the model call in flight is
        cancelled at once, the run ends `cancelled`, its input stays."""
        task = asyncio.create_task(self.execute(turn, started, sink))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                self.abandon(turn, task)
            raise

    def abandon(self, turn: TurnRequest, task: asyncio.Task) -> None:
        """The client of a foreground run left: cancel the run (see `foreground`)."""
        turn.cancel_reason = "the client went away"
        if turn.cancel is not None:
            turn.cancel.set()  # the loop cancels the provider request and commits the cancel
            self.coordinator.adopt(task)
        else:
            task.cancel()  # still queued: nothing to stop but the wait

    async def _end(self, turn: TurnRequest, status: str, stop_reason: str, error: str) -> None:
        try:
            async with transaction(self.engine) as conn:
                await store.finish(conn, run_id=turn.run_id, agent_id=turn.agent_id, status=status,
                                   stop_reason=stop_reason, error=error)
        except Exception:  # noqa: BLE001 - the sweeper ends it if this fails
            log.exception("could not end run %s", turn.run_id)

    # -- background runs -----------------------------------------------------------

    def spawn(self, turn: TurnRequest, started: Started) -> None:
        """Runs the turn detached from any request, logging every event."""
        writer = EventLogWriter(self.engine, turn.run_id)
        seq = 0

        async def sink(event: messages_pb2.LettaMessage) -> None:
            nonlocal seq
            seq += 1
            event.seq_id = seq
            writer.append(seq, event)

        async def body() -> None:
            try:
                result = await self.execute(turn, started, sink)
                for event in closing_events(result):
                    await sink(event)
            except asyncio.CancelledError:
                for event in failure_events(turn.run_id, "stream_task_cancelled", "the server is shutting down"):
                    await sink(event)
                raise
            except Fenced as exc:  # another server took the agent over
                for event in failure_events(turn.run_id, "run_fenced", str(exc)):
                    await sink(event)
            except Exception as exc:  # noqa: BLE001 - recorded for readers
                log.exception("background run %s failed", turn.run_id)
                for event in failure_events(turn.run_id, "internal_error", str(exc) or type(exc).__name__):
                    await sink(event)
            finally:
                await asyncio.shield(writer.close())

        self.coordinator.spawn(body())

    async def replay(self, run_id: str, *, after: int = 0, include_pings: bool = False,
                     ) -> AsyncIterator[messages_pb2.LettaMessage]:
        """A background run's events after `after`, then its live tail."""
        validate.required("run_id", run_id)
        async with self.engine.connect() as conn:
            run = await store.get(conn, run_id)
        if run is None:
            raise NotFound("run", run_id)
        if not run.background:
            raise FailedPrecondition(f"run '{run_id}' was not started in the background; only background runs "
                                     "(background: true, or messages/async) keep their events for resuming")
        idle_since = asyncio.get_running_loop().time()
        with self.coordinator.watch_events(run_id) as wake:
            while True:
                wake.clear()
                async with self.engine.connect() as conn:
                    events = await store.read_events(conn, run_id, after)
                    state = await store.status(conn, run_id) if not events else None
                for seq, raw in events:
                    event = messages_pb2.LettaMessage.FromString(raw)
                    event.seq_id = seq
                    after = seq
                    yield event
                    if event.message_type == "usage_statistics":
                        return  # always the last event of a run
                if events:
                    idle_since = asyncio.get_running_loop().time()
                    continue
                if state is None:  # deleted meanwhile, with its agent
                    for event in failure_events(run_id, "stream_incomplete", f"run '{run_id}' was deleted (with "
                                                "its agent) before finishing its stream"):
                        yield event
                    return
                now = asyncio.get_running_loop().time()
                if state is not None and state[0] in store.TERMINAL and now - idle_since > 2.0:
                    # Ended without its closing events (its server died): say so, and why.
                    async with self.engine.connect() as conn:
                        ended = await store.get(conn, run_id)
                    why = ""
                    if ended is not None and "error" in ended.metadata:
                        why = f": {ended.metadata['error']['message']}"
                    for event in failure_events(run_id, "stream_incomplete", f"run '{run_id}' ended ({state[0]}) "
                                                f"without finishing its stream{why}"):
                        yield event
                    return
                # A NOTIFY (events logged, or the run ended) wakes this reader at
                # once; the timeout is a slow safety net (MNEMO_STREAM_POLL_S),
                # or the next ping, or, once the run has ended, the short wait
                # for its last events.
                timeout = self.coordinator.stream_poll_s
                if include_pings:
                    timeout = min(timeout, max(0.0, idle_since + PING_INTERVAL_S - now))
                if state is not None and state[0] in store.TERMINAL:
                    timeout = 0.25
                try:
                    await asyncio.wait_for(wake.wait(), timeout=timeout)
                except TimeoutError:
                    now = asyncio.get_running_loop().time()
                    if (include_pings and now - idle_since >= PING_INTERVAL_S
                            and (state is None or state[0] not in store.TERMINAL)):
                        idle_since = now
                        yield ping(run_id, after)

    # -- cancelling, reading -------------------------------------------------------------

    async def cancel(self, agent_id: str, run_ids: list[str]) -> dict[str, str]:
        validate.required("agent_id", agent_id)
        async with transaction(self.engine) as conn:
            if not await agent_store.exists(conn, agent_id):
                raise NotFound("agent", agent_id)
            outcome = await store.request_cancel(conn, agent_id, run_ids)
        for run_id in run_ids:
            if run_id not in outcome:
                raise NotFound("run", run_id, by=f"id (of agent '{agent_id}')")
        return outcome

    async def get(self, run_id: str) -> runs_pb2.Run:
        return await get_or_not_found(self.engine, "run", "run_id", run_id, store.get)

    async def delete(self, run_id: str) -> runs_pb2.Run:
        """Deletes an ended run and its event log; its messages and steps stay."""
        validate.required("run_id", run_id)
        async with transaction(self.engine) as conn:
            run = await store.get(conn, run_id)
            if run is None:
                raise NotFound("run", run_id)
            if not await store.delete_ended(conn, run_id):
                raise FailedPrecondition(f"run '{run_id}' has not ended; cancel it first "
                                         f"(POST /v1/agents/{run.agent_id}/messages/cancel)")
        return run

    async def list(self, request: runs_pb2.ListRunsRequest) -> list[runs_pb2.Run]:
        page = page_from(request)
        statuses = list(request.statuses)
        for i, s in enumerate(statuses):
            validate.one_of(f"statuses[{i}]", s, ("created", "running", "completed", "failed", "cancelled"))
        if request.active:
            statuses = [s for s in statuses if s in ("created", "running")] or ["created", "running"]
        agent_ids = [*request.agent_ids, *([request.agent_id] if request.HasField("agent_id") else [])]
        async with self.engine.connect() as conn:
            return await store.list_runs(
                conn, page, agent_ids=agent_ids, statuses=statuses,
                background=request.background if request.HasField("background") else None,
                stop_reason=request.stop_reason if request.HasField("stop_reason") else None,
            )

    async def run_steps(self, request: runs_pb2.ListRunStepsRequest) -> list[runs_pb2.Step]:
        await self.get(request.run_id)
        page = page_from(request, default_descending=False, limit_default=100)
        async with self.engine.connect() as conn:
            return await store.list_steps(conn, page, run_id=request.run_id)

    async def list_steps(self, request: runs_pb2.ListStepsRequest) -> list[runs_pb2.Step]:
        page = page_from(request)
        opt = lambda name: getattr(request, name) if request.HasField(name) else None  # noqa: E731
        async with self.engine.connect() as conn:
            return await store.list_steps(conn, page, agent_id=opt("agent_id"), run_id=opt("run_id"),
                                          status_=opt("status"))

    async def get_step(self, step_id: str) -> runs_pb2.Step:
        return await get_or_not_found(self.engine, "step", "step_id", step_id, store.get_step)
