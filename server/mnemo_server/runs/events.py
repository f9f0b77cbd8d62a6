"""The event log of background runs: every event a run streams, numbered, kept
in Postgres (table run_events) so that a client can resume from any seq_id on
any server. Writes are batched (a few ms) and announced with NOTIFY.
Events are kept for MNEMO_RUN_EVENTS_RETENTION_HOURS (default 24) after the
run ends."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from mnemo.v1 import messages_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from ..core.db import transaction
from ..storage import runs as store

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.01
CLOSE_ATTEMPTS = 6  # about 10 s of retries for the last events of a run


class EventLogWriter:
    def __init__(self, engine: AsyncEngine, run_id: str):
        self.engine = engine
        self.run_id = run_id
        self._pending: list[tuple[int, bytes]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._flusher())

    def append(self, seq: int, event: messages_pb2.LettaMessage) -> None:
        self._pending.append((seq, event.SerializeToString()))
        self._wake.set()

    async def _flush(self) -> None:
        """Writes what is pending. A batch leaves `_pending` only once written:
        a failed write is retried by the next flush (and writing twice is
        harmless: events are keyed by (run, seq))."""
        while self._pending:
            batch = self._pending[:]
            async with transaction(self.engine) as conn:
                await store.append_events(conn, self.run_id, batch)
            del self._pending[:len(batch)]

    async def _flusher(self) -> None:
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(FLUSH_INTERVAL_S)  # gather a few events per write
            try:
                await self._flush()
            except Exception:  # noqa: BLE001 - the run goes on; readers see a gap only if this persists
                log.exception("writing events of run %s failed", self.run_id)

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        with contextlib.suppress(Exception):
            await self._task
        for attempt in range(CLOSE_ATTEMPTS):
            try:
                await self._flush()
                return
            except Exception:  # noqa: BLE001 - e.g. the database is restarting: try again
                if attempt == CLOSE_ATTEMPTS - 1:
                    log.exception("the last %d events of run %s could not be written; a resumed stream "
                                  "reports the run's end without them", len(self._pending), self.run_id)
                    return
                await asyncio.sleep(min(5.0, 0.25 * 2 ** attempt))
