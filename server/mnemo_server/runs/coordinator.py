"""One per server process: its identity and heartbeat, the sweeper that fails
runs of dead servers, and a LISTEN connection that wakes local waiters when an
agent is released, a run is cancelled or a background run logs events.

Waking: a NOTIFY names what changed (the agent released, the run that logged
events or ended), and wakes only the waiters of that agent or run; nobody
else queries. Polling is only a slow safety net for a lost notification:
queued runs look again every `MNEMO_QUEUE_POLL_S` (default 30 s), readers of
background runs every `MNEMO_STREAM_POLL_S` (default 30 s). The LISTEN
connection is checked every heartbeat; when it had to be reopened, every
waiter looks once (notifications may have been missed meanwhile).

Timing: a server heartbeats every `stale_s / 5` seconds; one silent for
`stale_s` (default 15 s) is dead, its runs are failed by the next sweep of any
server, and its agents accept new runs at once. The heartbeat commits on its
own, before the sweep. Each beat also ends this server's orphans: runs it
holds an agent for but no longer runs (their last commit and their end both
failed). A server that was only slow (paused past `stale_s`) finds its runs'
step commits fenced (storage/turns.py) once another server took the agent.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections import defaultdict
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from ..core.db import transaction
from ..ids import new_id
from ..storage import runs as store

log = logging.getLogger(__name__)


def _float_env(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


class RunCoordinator:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.server_id = new_id("server")
        self.stale_s = _float_env("MNEMO_SERVER_STALE_AFTER_S", 15.0)
        self.retention_hours = _float_env("MNEMO_RUN_EVENTS_RETENTION_HOURS", 24.0)
        # Safety nets only: NOTIFY wakes queued runs and stream readers.
        self.queue_poll_s = max(0.1, _float_env("MNEMO_QUEUE_POLL_S", 30.0))
        self.stream_poll_s = max(0.1, _float_env("MNEMO_STREAM_POLL_S", 30.0))
        self._listener: asyncpg.Connection | None = None
        self._tasks: list[asyncio.Task] = []
        self._agent_waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._event_waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self.cancel_events: dict[str, asyncio.Event] = {}
        self.background: set[asyncio.Task] = set()
        # Runs this process is starting or running; an agent this server holds
        # for a run not in here is an orphan (see recover_orphans).
        self.local_runs: set[str] = set()

    # -- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        async with transaction(self.engine) as conn:
            await store.heartbeat(conn, self.server_id, {"host": socket.gethostname(), "pid": os.getpid()})
        await self._listen()
        self._tasks.append(asyncio.create_task(self._heartbeat_loop(), name="mnemo-heartbeat"))

    async def _listen(self) -> None:
        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._listener = await asyncpg.connect(url)
        await self._listener.add_listener(store.AGENT_FREE_CHANNEL, self._on_agent_free)
        await self._listener.add_listener(store.RUN_CANCEL_CHANNEL, self._on_cancel)
        await self._listener.add_listener(store.RUN_EVENTS_CHANNEL, self._on_events)

    async def stop(self) -> None:
        for task in list(self.background):
            task.cancel()
        if self.background:
            await asyncio.wait(self.background, timeout=10)
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        with contextlib.suppress(Exception):
            async with transaction(self.engine) as conn:
                await store.forget_server(conn, self.server_id)

    async def _heartbeat_loop(self) -> None:
        interval = max(0.2, self.stale_s / 5)
        while True:
            await asyncio.sleep(interval)
            try:
                # The heartbeat commits on its own: a slow or failing sweep must
                # not make this server look dead to the others.
                async with transaction(self.engine) as conn:
                    await store.heartbeat(conn, self.server_id, {})
                async with transaction(self.engine) as conn:
                    dead = await store.sweep(conn, stale_s=self.stale_s, retention_hours=self.retention_hours)
                for run_id, agent_id in dead:
                    log.warning("run %s of agent %s failed: its server stopped", run_id, agent_id)
                await self.recover_orphans()
                await self._check_cancels()
                if self._listener is None or self._listener.is_closed():
                    await self._listen()
                    self._wake_all()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep beating through transient errors
                log.exception("heartbeat failed")

    async def recover_orphans(self) -> None:
        """Ends the runs this server holds an agent for but no longer runs
        (their last commit and their end both failed, e.g. while the database
        restarted): without this, the agent would wait for them forever."""
        async with transaction(self.engine) as conn:
            held = await store.held_by(conn, self.server_id)
            # Checked after the rows are locked: a run is in local_runs before
            # it can take an agent and leaves it only after its end.
            orphans = [(run_id, agent_id) for run_id, agent_id in held if run_id not in self.local_runs]
            for run_id, agent_id in orphans:
                await store.finish(conn, run_id=run_id, agent_id=agent_id, status="failed", stop_reason="error",
                                   error="the run's server lost track of it (its last commit failed)")
        for run_id, agent_id in orphans:
            log.warning("run %s of agent %s failed: no task of this server runs it", run_id, agent_id)

    async def _check_cancels(self) -> None:
        """Backs up NOTIFY: a missed cancel is still seen within one beat."""
        if not self.cancel_events:
            return
        async with self.engine.connect() as conn:
            for run_id, event in list(self.cancel_events.items()):
                found = await store.status(conn, run_id)
                if found is None or found[1]:
                    event.set()

    # -- notifications ----------------------------------------------------------

    def _on_agent_free(self, _conn, _pid, _channel, agent_id: str) -> None:
        for event in self._agent_waiters.get(agent_id, ()):
            event.set()

    def _on_cancel(self, _conn, _pid, _channel, run_id: str) -> None:
        event = self.cancel_events.get(run_id)
        if event is not None:
            event.set()

    def _on_events(self, _conn, _pid, _channel, run_id: str) -> None:
        for event in self._event_waiters.get(run_id, ()):
            event.set()

    def _wake_all(self) -> None:
        for waiters in (*self._agent_waiters.values(), *self._event_waiters.values()):
            for event in waiters:
                event.set()

    @contextlib.contextmanager
    def watch_events(self, run_id: str):
        event = asyncio.Event()
        self._event_waiters[run_id].add(event)
        try:
            yield event
        finally:
            self._event_waiters[run_id].discard(event)
            if not self._event_waiters[run_id]:
                del self._event_waiters[run_id]

    # -- the per-agent queue ----------------------------------------------------

    async def wait_turn(self, run_id: str, agent_id: str) -> bool:
        """Waits until the run holds the agent. False if it was cancelled (or
        failed) while queued. It looks (queries) when it arrives, when the
        agent's release is announced, and every `queue_poll_s` otherwise; each
        look is logged at DEBUG with its cause."""
        event = asyncio.Event()
        self._agent_waiters[agent_id].add(event)
        cause = "arrival"
        try:
            while True:
                log.debug("queued run %s looks at agent %s (%s)", run_id, agent_id, cause)
                async with transaction(self.engine) as conn:
                    if await store.try_claim(conn, run_id=run_id, agent_id=agent_id, owner=self.server_id,
                                             stale_s=self.stale_s):
                        return True
                    current = await store.status(conn, run_id)
                if current is None or current[0] != "created":
                    return False
                event.clear()
                # A NOTIFY about this agent wakes us at once (a release, a
                # cancel of a run queued before us, or the sweep ending the
                # run of a dead server); the timeout is only a safety net.
                try:
                    await asyncio.wait_for(event.wait(), timeout=self.queue_poll_s)
                    cause = "notify"
                except TimeoutError:
                    cause = "poll"
        finally:
            self._agent_waiters[agent_id].discard(event)
            if not self._agent_waiters[agent_id]:
                del self._agent_waiters[agent_id]

    @contextlib.asynccontextmanager
    async def cancellation(self, run_id: str) -> AsyncIterator[asyncio.Event]:
        event = asyncio.Event()
        self.cancel_events[run_id] = event
        try:
            yield event
        finally:
            self.cancel_events.pop(run_id, None)

    def spawn(self, coro) -> asyncio.Task:
        """Runs a background run; it outlives the request that started it."""
        return self.adopt(asyncio.create_task(coro))

    def adopt(self, task: asyncio.Task) -> asyncio.Task:
        """Keeps a task that outlives its request (a background run, or a
        foreground run winding down after its client left) until it ends;
        shutdown cancels it."""
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task
