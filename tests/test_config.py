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


@pytest.fixture
def provider_env(monkeypatch):
    import os

    from tests.harness import PROVIDER_ENV_PREFIXES

    for name in list(os.environ):
        if name.startswith(PROVIDER_ENV_PREFIXES):
            monkeypatch.delenv(name)
    return monkeypatch


def test_provider_aliases_letta_used(provider_env):
    provider_env.setenv("OPENAI_API_BASE", "http://old/v1")
    provider_env.setenv("GOOGLE_API_KEY", "google-key")
    provider_env.setenv("AWS_ACCESS_KEY", "AKIALETTA")
    provider_env.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    settings = Settings.from_env()
    assert (settings.openai_base_url, settings.gemini_api_key) == ("http://old/v1", "google-key")
    assert (settings.aws_access_key_id, settings.aws_region) == ("AKIALETTA", "ap-south-1")
    assert settings.azure_api_version == "2024-09-01-preview"  # Letta's default
    # The standard names win over the aliases.
    provider_env.setenv("OPENAI_BASE_URL", "http://new/v1")
    provider_env.setenv("GEMINI_API_KEY", "gemini-key")
    provider_env.setenv("AWS_ACCESS_KEY_ID", "AKIASTANDARD")
    provider_env.setenv("AWS_REGION", "eu-north-1")
    settings = Settings.from_env()
    assert (settings.openai_base_url, settings.gemini_api_key) == ("http://new/v1", "gemini-key")
    assert (settings.aws_access_key_id, settings.aws_region) == ("AKIASTANDARD", "eu-north-1")


def test_openai_compatible_providers_from_the_environment(provider_env):
    from mnemo_server.core.catalog import Catalog

    provider_env.setenv("OLLAMA_BASE_URL", "http://host.docker.internal:11434")
    provider_env.setenv("VLLM_API_BASE", "http://gpu:8000/v1/")
    provider_env.setenv("LMSTUDIO_BASE_URL", "http://localhost:1234")
    provider_env.setenv("GROQ_API_KEY", "gsk")
    provider_env.setenv("OPENROUTER_API_KEY", "or-key")
    provider_env.setenv("OPENROUTER_BASE_URL", "http://proxy/api/v1")
    provider_env.setenv("TOGETHER_BASE_URL", "http://ignored/v1")  # a URL without its key configures nothing
    providers = Catalog(Settings.from_env()).providers
    got = {name: (p.provider_type, p.base_url, p.api_key) for name, p in providers.items() if name != "mnemo"}
    assert got == {
        "ollama": ("ollama", "http://host.docker.internal:11434/v1", None),
        "vllm": ("vllm", "http://gpu:8000/v1", None),
        "lmstudio": ("lmstudio", "http://localhost:1234/v1", None),
        "groq": ("groq", "https://api.groq.com/openai/v1", "gsk"),
        "openrouter": ("openrouter", "http://proxy/api/v1", "or-key"),
    }
