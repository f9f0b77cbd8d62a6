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
        while self._pending:
            batch, self._pending = self._pending, []
            async with transaction(self.engine) as conn:
                await store.append_events(conn, self.run_id, batch)

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
        await self._flush()
