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


# OpenAI-compatible providers configured through the environment, as Letta
# configured them: type -> (variable with the base URL, variable with the key).
# The hosted ones get a base URL variable of their own too (for a proxy or a
# test server); local servers (Ollama, vLLM, LM Studio) need only their URL.
COMPATIBLE_ENV: dict[str, tuple[str, str | None]] = {
    "ollama": ("OLLAMA_BASE_URL", None),
    "vllm": ("VLLM_API_BASE", None),
    "lmstudio": ("LMSTUDIO_BASE_URL", None),
    "groq": ("GROQ_BASE_URL", "GROQ_API_KEY"),
    "together": ("TOGETHER_BASE_URL", "TOGETHER_API_KEY"),
    "deepseek": ("DEEPSEEK_BASE_URL", "DEEPSEEK_API_KEY"),
    "xai": ("XAI_BASE_URL", "XAI_API_KEY"),
    "openrouter": ("OPENROUTER_BASE_URL", "OPENROUTER_API_KEY"),
}
# Azure's API version when AZURE_API_VERSION is unset (Letta's default).
AZURE_DEFAULT_API_VERSION = "2024-09-01-preview"
# The anthropic_version Bedrock accepts, unless BEDROCK_ANTHROPIC_VERSION says otherwise.
BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"


@dataclass(frozen=True)
class CompatibleEnv:
    """One OpenAI-compatible provider configured through the environment."""

    provider_type: str
    base_url: str | None
    api_key: str | None


def _compatible_from_env() -> tuple[CompatibleEnv, ...]:
    out = []
    for ptype, (url_var, key_var) in COMPATIBLE_ENV.items():
        base_url = _str(url_var)
        api_key = _str(key_var) if key_var else None
        # A hosted provider is configured by its key, a local server by its URL.
        if api_key if key_var else base_url:
            out.append(CompatibleEnv(ptype, base_url, api_key))
    return tuple(out)


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
    # Google Gemini (GEMINI_API_KEY, or GOOGLE_API_KEY as the google-genai SDK reads it).
    gemini_api_key: str | None = None
    gemini_base_url: str | None = None
    # Azure OpenAI: the resource's endpoint, its key, and the API version.
    azure_api_key: str | None = None
    azure_base_url: str | None = None
    azure_api_version: str = AZURE_DEFAULT_API_VERSION
    # AWS Bedrock (Anthropic models): credentials, region, and an endpoint override.
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    aws_region: str | None = None
    bedrock_base_url: str | None = None
    bedrock_anthropic_version: str = BEDROCK_ANTHROPIC_VERSION
    # OpenAI-compatible providers (Ollama, vLLM, LM Studio, Groq, ...).
    compatible: tuple[CompatibleEnv, ...] = ()
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
            # OPENAI_API_BASE is Letta's name for it.
            openai_base_url=_str("OPENAI_BASE_URL") or _str("OPENAI_API_BASE"),
            anthropic_api_key=_str("ANTHROPIC_API_KEY"),
            anthropic_base_url=_str("ANTHROPIC_BASE_URL"),
            gemini_api_key=_str("GEMINI_API_KEY") or _str("GOOGLE_API_KEY"),
            gemini_base_url=_str("GEMINI_BASE_URL"),
            azure_api_key=_str("AZURE_API_KEY"),
            azure_base_url=_str("AZURE_BASE_URL"),
            azure_api_version=_str("AZURE_API_VERSION") or AZURE_DEFAULT_API_VERSION,
            # AWS's standard names first, then the ones Letta's docs used.
            aws_access_key_id=_str("AWS_ACCESS_KEY_ID") or _str("AWS_ACCESS_KEY"),
            aws_secret_access_key=_str("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=_str("AWS_SESSION_TOKEN"),
            aws_region=_str("AWS_REGION") or _str("AWS_DEFAULT_REGION"),
            # botocore's own name for a Bedrock runtime endpoint override.
            bedrock_base_url=_str("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"),
            bedrock_anthropic_version=_str("BEDROCK_ANTHROPIC_VERSION") or BEDROCK_ANTHROPIC_VERSION,
            compatible=_compatible_from_env(),
            log_level=(_str("MNEMO_LOG_LEVEL") or "INFO").upper(),
        )
