"""A plain asyncpg pool for the agent loop's hot statements.

A one-step turn is two statements (storage/turns.py). Through SQLAlchemy's
async engine each also pays for pool checkout via greenlets and connection
events, a large share of a turn's CPU; these two statements are plain SQL with
no use for SQLAlchemy, so they run on this pool. Everything else (CRUD,
migrations, the rare multi-statement step commit) uses the engine.
"""
from __future__ import annotations

import json

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine


async def _keep(conn: asyncpg.Connection) -> None:
    """Connections go back to the pool as they are: the hot statements leave
    no session state (no SET, LISTEN, advisory lock or open cursor) behind,
    so asyncpg's reset query would be a wasted round trip per statement."""


async def _init(conn: asyncpg.Connection) -> None:
    # json/jsonb arrive decoded; parameters are passed as JSON text. Binary
    # format (jsonb's is a version byte + text), because rows that contain
    # jsonb columns (the in-context messages) can only be decoded in binary.
    await conn.set_type_codec("jsonb", schema="pg_catalog", format="binary",
                              encoder=lambda text: b"\x01" + text.encode(), decoder=lambda data: json.loads(data[1:]))
    await conn.set_type_codec("json", schema="pg_catalog", format="binary",
                              encoder=lambda text: text.encode(), decoder=json.loads)


class DriverPool:
    def __init__(self, engine: AsyncEngine, *, size: int = 10):
        self.dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.size = size
        self.pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.size, init=_init, reset=_keep)

    def acquire(self):
        assert self.pool is not None, "DriverPool.start() was not awaited"
        return self.pool.acquire()

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
