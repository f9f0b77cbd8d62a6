"""Settings: Letta's environment variables are honoured as aliases, Mnemo's own names win."""
from __future__ import annotations

import pytest
from mnemo_server.config import Settings

LETTA_AND_MNEMO = ("MNEMO_DATABASE_URL", "LETTA_PG_URI", "LETTA_PG_USER", "LETTA_PG_PASSWORD", "LETTA_PG_HOST",
                   "LETTA_PG_PORT", "LETTA_PG_DB", "MNEMO_SERVER_PASSWORD", "LETTA_SERVER_PASSWORD")


@pytest.fixture
def env(monkeypatch):
    for name in LETTA_AND_MNEMO:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_database_setting_means_embedded(env):
    assert Settings.from_env().database_url is None


def test_letta_pg_uri_is_the_database_url(env):
    env.setenv("LETTA_PG_URI", "postgresql://u:p@db.internal:5433/letta")
    assert Settings.from_env().database_url == "postgresql://u:p@db.internal:5433/letta"


def test_mnemo_database_url_wins_over_letta_pg_uri(env):
    env.setenv("LETTA_PG_URI", "postgresql://u:p@old/letta")
    env.setenv("MNEMO_DATABASE_URL", "postgresql://u:p@new/mnemo")
    assert Settings.from_env().database_url == "postgresql://u:p@new/mnemo"


def test_letta_pg_parts_compose_a_url_with_escaping(env):
    env.setenv("LETTA_PG_HOST", "db.internal")
    env.setenv("LETTA_PG_USER", "agent")
    env.setenv("LETTA_PG_PASSWORD", "p@ss/word")
    env.setenv("LETTA_PG_DB", "memory")
    assert Settings.from_env().database_url == "postgresql://agent:p%40ss%2Fword@db.internal:5432/memory"


def test_bad_letta_pg_port_refuses_to_start_naming_it(env):
    env.setenv("LETTA_PG_HOST", "db.internal")
    env.setenv("LETTA_PG_PORT", "five")
    with pytest.raises(SystemExit, match="LETTA_PG_PORT"):
        Settings.from_env()


def test_letta_server_password_alias(env):
    env.setenv("LETTA_SERVER_PASSWORD", "old")
    assert Settings.from_env().server_password == "old"
    env.setenv("MNEMO_SERVER_PASSWORD", "new")
    assert Settings.from_env().server_password == "new"
