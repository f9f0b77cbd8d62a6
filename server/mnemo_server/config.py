"""Server configuration, read once from the environment.

Every setting has an environment variable; see the table in README.md.
"""
from __future__ import annotations

import os
import re
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


def _positive_int(name: str, default: int) -> int:
    value = _int(name, default)
    if value < 1:
        raise SystemExit(f"{name} must be a positive integer, got {value}")
    return value


def _positive_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value > 0 or value == float("inf"):
        raise SystemExit(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def _list(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    return tuple(item.strip() for item in raw.split(",") if item.strip())


_HOST_NAME = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)$")
_ORIGIN = re.compile(r"^https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(:[0-9]{1,5})?$")


def _allowed_hosts() -> tuple[str, ...]:
    """Extra names the REST gateway answers to (MNEMO_ALLOWED_HOSTS), lower-cased, no port."""
    hosts = []
    for host in _list("MNEMO_ALLOWED_HOSTS"):
        if host != "*" and not _HOST_NAME.match(host):
            raise SystemExit(f"MNEMO_ALLOWED_HOSTS: {host!r} is not a host name (give names without "
                             "scheme or port, '[::1]' for IPv6, or '*' for any)")
        hosts.append(host.lower())
    return tuple(hosts)


def _cors_origins() -> tuple[str, ...]:
    """Browser origins allowed to call the REST API (MNEMO_CORS_ORIGINS)."""
    origins = []
    for origin in _list("MNEMO_CORS_ORIGINS"):
        if not _ORIGIN.match(origin):
            raise SystemExit(f"MNEMO_CORS_ORIGINS: {origin!r} is not an origin: write scheme://host[:port], "
                             "e.g. https://app.example.com, with no path and no wildcard")
        origins.append(origin.lower())
    return tuple(origins)


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


MCP_STDIO_NETWORKS = ("none", "host")


@dataclass(frozen=True)
class McpSettings:
    """MCP: the tool servers agents reach (core/mcp_servers.py, sandbox/mcp_connections.py)
    and Mnemo's own MCP endpoint (api/mcp_endpoint.py)."""

    # Addresses or CIDR blocks a remote MCP server may be reached at although they are loopback,
    # private or link-local (refused by default).
    allow: tuple[str, ...] = ()
    # A Claude-Desktop-style mcp_config.json whose servers are added at start-up.
    config_file: str | None = None
    connect_timeout_s: float = 20.0
    call_timeout_s: float = 60.0
    # A connection (a running stdio server) unused this long is closed.
    idle_s: float = 300.0
    # Network of stdio servers' sandboxes: none (default) or host.
    stdio_network: str = "none"
    # Host folders stdio servers see read-only (their code, their packages).
    stdio_binds: tuple[str, ...] = ()
    stdio_memory_mb: int = 1024
    # Largest tool result passed on, in characters (the tool's return_char_limit cuts further).
    max_result_chars: int = 1_000_000
    # Port of the MCP endpoint's HTTP listener on 127.0.0.1 (the gateway routes /mcp to it);
    # 0 picks a free one, -1 turns the endpoint off.
    endpoint_port: int = 0

    @classmethod
    def from_env(cls) -> McpSettings:
        network = (_str("MNEMO_MCP_STDIO_NETWORK") or "none").lower()
        if network not in MCP_STDIO_NETWORKS:
            raise SystemExit(f"MNEMO_MCP_STDIO_NETWORK: {network!r} is not one of {', '.join(MCP_STDIO_NETWORKS)}")
        return cls(
            allow=_list("MNEMO_MCP_ALLOW"),
            config_file=_str("MNEMO_MCP_CONFIG"),
            connect_timeout_s=_positive_float("MNEMO_MCP_CONNECT_TIMEOUT_S", 20.0),
            call_timeout_s=_positive_float("MNEMO_MCP_TIMEOUT_S", 60.0),
            idle_s=_positive_float("MNEMO_MCP_IDLE_S", 300.0),
            stdio_network=network,
            stdio_binds=_list("MNEMO_MCP_STDIO_BINDS"),
            stdio_memory_mb=_positive_int("MNEMO_MCP_STDIO_MEMORY_MB", 1024),
            max_result_chars=_positive_int("MNEMO_MCP_MAX_RESULT_CHARS", 1_000_000),
            endpoint_port=_int("MNEMO_MCP_PORT", 0),
        )


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
    # The API surface (REST gateway): names the gateway answers to besides localhost, 127.0.0.1,
    # [::1] and the bind address ("*" for any), and browser origins allowed to call it.
    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    # Request body caps: every JSON route, and the routes that send messages to an agent.
    max_body_bytes: int = 1024 * 1024
    max_message_body_bytes: int = 8 * 1024 * 1024
    # Global limits: concurrent RPCs (all kinds, gRPC and REST), concurrent streaming RPCs, the
    # deadline of a unary RPC that has none (and the gateway's timeout for unary routes), and how
    # long a stream may stay silent before the gateway closes it.
    max_concurrent_rpcs: int = 1000
    max_concurrent_streams: int = 200
    rpc_timeout_s: float = 600.0
    stream_idle_timeout_s: float = 900.0
    # Time limits of the agent loop: one model call (each attempt; the connect phase is capped at
    # 10 s), and a whole turn, every step, retry and tool included (counted from when the run
    # takes the agent; a turn out of time stops with stop reason `error`).
    provider_timeout_s: float = 600.0
    turn_timeout_s: float = 1800.0
    # Message batches (core/jobs.py): how often each server ends the jobs whose runs have all
    # ended, and the addresses a batch's callback may reach although they are not public.
    job_poll_s: float = 1.0
    callback_allow: tuple[str, ...] = ()
    mcp: McpSettings = field(default_factory=lambda: McpSettings())
    # Custom tools' packages (sandbox/packages.py, docs/sandbox.md): where pip_requirements and
    # npm_requirements sets are installed (None: next to the data directory, see
    # `tool_packages_root`), the time limit of one install, the size limit of one installed set,
    # and the Node binary TypeScript tools run with (None: `node` on PATH).
    tool_packages_dir: Path | None = None
    tool_install_timeout_s: float = 300.0
    tool_packages_max_mb: int = 512
    sandbox_node: str | None = None

    @property
    def tool_packages_root(self) -> Path:
        """MNEMO_TOOL_PACKAGES_DIR, else ``<data dir>-tool-packages`` beside the
        data directory (not in it: the data directory is closed to the sandbox
        user, who must reach the packages it mounts)."""
        if self.tool_packages_dir is not None:
            return self.tool_packages_dir
        return self.data_dir.parent / f"{self.data_dir.name}-tool-packages"

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
            allowed_hosts=_allowed_hosts(),
            cors_origins=_cors_origins(),
            max_body_bytes=_positive_int("MNEMO_MAX_BODY_BYTES", 1024 * 1024),
            max_message_body_bytes=_positive_int("MNEMO_MAX_MESSAGE_BODY_BYTES", 8 * 1024 * 1024),
            max_concurrent_rpcs=_positive_int("MNEMO_MAX_CONCURRENT_RPCS", 1000),
            max_concurrent_streams=_positive_int("MNEMO_MAX_CONCURRENT_STREAMS", 200),
            rpc_timeout_s=_positive_float("MNEMO_RPC_TIMEOUT_S", 600.0),
            stream_idle_timeout_s=_positive_float("MNEMO_STREAM_IDLE_TIMEOUT_S", 900.0),
            provider_timeout_s=_positive_float("MNEMO_PROVIDER_TIMEOUT_S", 600.0),
            turn_timeout_s=_positive_float("MNEMO_TURN_TIMEOUT_S", 1800.0),
            job_poll_s=_positive_float("MNEMO_JOB_POLL_S", 1.0),
            callback_allow=_list("MNEMO_CALLBACK_ALLOW"),
            mcp=McpSettings.from_env(),
            tool_packages_dir=Path(_str("MNEMO_TOOL_PACKAGES_DIR")).expanduser()
            if _str("MNEMO_TOOL_PACKAGES_DIR") else None,
            tool_install_timeout_s=_positive_float("MNEMO_TOOL_INSTALL_TIMEOUT_S", 300.0),
            tool_packages_max_mb=_positive_int("MNEMO_TOOL_PACKAGES_MAX_MB", 512),
            sandbox_node=_str("MNEMO_SANDBOX_NODE"),
        )

