"""Server configuration, read once from the environment.

Every setting has an environment variable; see the table in README.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


def _str(name: str) -> str | None:
    raw = os.environ.get(name, "").strip()
    return raw or None


def _letta_database_url() -> str | None:
    """Letta's database settings, honoured so migrating users keep their
    environment: LETTA_PG_URI, or LETTA_PG_USER/PASSWORD/HOST/PORT/DB."""
    uri = _str("LETTA_PG_URI")
    if uri:
        return uri
    if not (_str("LETTA_PG_HOST") or _str("LETTA_PG_DB")):
        return None
    user = quote(_str("LETTA_PG_USER") or "letta", safe="")
    password = _str("LETTA_PG_PASSWORD")
    auth = f"{user}:{quote(password, safe='')}" if password else user
    host = _str("LETTA_PG_HOST") or "localhost"
    port = _int("LETTA_PG_PORT", 5432)
    return f"postgresql://{auth}@{host}:{port}/{quote(_str('LETTA_PG_DB') or 'letta', safe='')}"


@dataclass(frozen=True)
class Settings:
    """What the server, its database and its gateway need to start."""

    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    http_host: str = "127.0.0.1"
    http_port: int = 8283
    data_dir: Path = field(default_factory=lambda: Path.home() / ".mnemo")
    database_url: str | None = None
    server_password: str | None = None
    encryption_key: str | None = None
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    # Grace period for in-flight calls on shutdown.
    shutdown_grace_s: float = 5.0
    log_level: str = "INFO"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            grpc_host=_str("MNEMO_GRPC_HOST") or "127.0.0.1",
            grpc_port=_int("MNEMO_GRPC_PORT", 50051),
            http_host=_str("MNEMO_HTTP_HOST") or "127.0.0.1",
            http_port=_int("MNEMO_HTTP_PORT", 8283),
            data_dir=Path(_str("MNEMO_DATA_DIR") or Path.home() / ".mnemo").expanduser(),
            database_url=_str("MNEMO_DATABASE_URL") or _letta_database_url(),
            # LETTA_SERVER_PASSWORD is accepted so Letta users keep their setting; Mnemo's wins.
            server_password=_str("MNEMO_SERVER_PASSWORD") or _str("LETTA_SERVER_PASSWORD"),
            encryption_key=_str("MNEMO_ENCRYPTION_KEY"),
            openai_api_key=_str("OPENAI_API_KEY"),
            openai_base_url=_str("OPENAI_BASE_URL"),
            anthropic_api_key=_str("ANTHROPIC_API_KEY"),
            anthropic_base_url=_str("ANTHROPIC_BASE_URL"),
            log_level=(_str("MNEMO_LOG_LEVEL") or "INFO").upper(),
        )
