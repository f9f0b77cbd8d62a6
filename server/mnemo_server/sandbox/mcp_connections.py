"""Connections to MCP servers, through the official MCP SDK (``mcp``).

One :class:`McpConnections` per server process keeps at most one open
connection per configured MCP server:

- a ``stdio`` server is a command started on first use **inside the tool
  sandbox** (bubblewrap: its own user, PID, mount, IPC, UTS and network
  namespaces, a cgroup capping its memory and processes when the server can
  make one, a clean environment holding only the variables it was configured
  with); it stays running while it is used and is stopped after
  ``MNEMO_MCP_IDLE_S`` without a call; a server that crashed is started
  again on the next use;
- a ``streamable_http`` server is reached with one HTTP client (connection
  reuse), a legacy ``sse`` server with its event stream; their addresses are
  checked first: loopback, private, link-local and reserved ranges are refused
  unless ``MNEMO_MCP_ALLOW`` lists them (the policy of batch callbacks).

The SDK negotiates the protocol: ``server/discover`` (2026-07-28, stateless)
first, the ``initialize`` handshake (2025-11-25 and older) when the server
does not know it. Every step has a deadline (connect, list, call): an agent's
turn never waits on an MCP server longer than ``MNEMO_MCP_TIMEOUT_S``.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..config import McpSettings
from . import isolation
from .process import SAFE_PATH, sandbox_identity

log = logging.getLogger("mnemo.mcp")

SERVER_TYPES = ("stdio", "streamable_http", "sse")
# Variables a stdio server's environment always has (the configured ones come on top).
BASE_ENV = {"PATH": SAFE_PATH, "LANG": "C.UTF-8", "HOME": isolation.WORKDIR, "TMPDIR": isolation.WORKDIR}
# Variables the SDK copies from the server's own environment, removed inside the sandbox.
UNSET_ENV = ("LOGNAME", "SHELL", "TERM", "USER")
STDERR_TAIL = 600
CONNECTION_CLOSED = -32000  # JSON-RPC error codes the SDK uses for a dead transport, a timeout
REQUEST_TIMEOUT = -32001


class McpFailure(Exception):
    """A failure to reach or use an MCP server; the message names the server
    (and the tool) and is fit to show to a user or a model."""


@dataclass(frozen=True)
class ServerSpec:
    """What is needed to connect to one server (secrets included: never logged)."""

    id: str
    name: str
    server_type: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    # OAuth client credentials: (client id, client secret, scope, issuer).
    oauth: tuple[str, str, str | None, str | None] | None = None

    def fingerprint(self) -> str:
        data = json.dumps([self.server_type, self.command, self.args, self.env, self.url, self.headers, self.oauth])
        return hashlib.sha256(data.encode()).hexdigest()


@dataclass
class ToolListing:
    tools: list[Any]  # mcp_types.Tool
    protocol_version: str
    server_info: str | None


@dataclass
class CallOutcome:
    is_error: bool
    text: str
    structured: Any = None
    images: list[dict[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Address policy for remote servers
# ---------------------------------------------------------------------------


def parse_allow(items: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    blocks = []
    for item in items:
        try:
            blocks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SystemExit(f"MNEMO_MCP_ALLOW: {item!r} is not an address or CIDR block") from None
    return tuple(blocks)


def forbidden_address(address: str, allow: tuple) -> bool:
    """Whether an MCP server must not be reached at `address`: this host, a
    private or shared network, link-local (cloud metadata), multicast or
    reserved, unless MNEMO_MCP_ALLOW lists it."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in block for block in allow):
        return False
    return not ip.is_global or ip.is_multicast


def check_url_syntax(url: str) -> str | None:
    """None when `url` is an http(s) URL with a host, else what is wrong."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    return None


async def check_target(name: str, url: str, allow: tuple) -> None:
    """McpFailure when the server's host resolves to an address it may not reach."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise McpFailure(f"MCP server '{name}': cannot resolve {parts.hostname} ({exc})") from None
    for *_, sockaddr in infos:
        if forbidden_address(sockaddr[0], allow):
            raise McpFailure(
                f"MCP server '{name}': {parts.hostname} resolves to {sockaddr[0]}, which MCP servers may not be "
                "reached at (loopback, private, link-local or reserved; MNEMO_MCP_ALLOW lists exceptions)")


# ---------------------------------------------------------------------------
# stdio servers in the sandbox
# ---------------------------------------------------------------------------


def resolve_command(command: str) -> str | None:
    """The executable a stdio server's command names, as the sandbox will find
    it (its PATH is /usr/local/bin:/usr/bin:/bin), or None."""
    if os.sep in command:
        path = command
    else:
        path = shutil.which(command, path=SAFE_PATH) or ""
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def sandbox_argv(spec: ServerSpec, settings: McpSettings,
                 cgroup: isolation.CallCgroup | None) -> list[str]:
    """The command line starting a stdio server in the sandbox."""
    executable = resolve_command(spec.command or "")
    if executable is None:
        raise McpFailure(f"MCP server '{spec.name}': command '{spec.command}' is not an executable file "
                         f"(stdio servers run in the tool sandbox, whose PATH is {SAFE_PATH})")
    argv = isolation.bwrap_argv(executable, sandbox_identity(), network=settings.stdio_network)
    extra: list[str] = []
    for path in settings.stdio_binds:
        if os.path.exists(path):
            extra += ["--ro-bind", path, path]
    for name in UNSET_ENV:
        extra += ["--unsetenv", name]
    limits = []
    if shutil.which("prlimit"):
        # What a cgroup does not cap: open files, core dumps, the size of files it writes.
        limits = [shutil.which("prlimit") or "prlimit", "--nofile=1024", "--core=0", f"--fsize={16 * 1024 * 1024}",
                  "--"]
    # Folders are bound before the sandbox's root is made read-only (bwrap makes their mount points).
    cut = argv.index("--remount-ro")
    return isolation.join_cgroup_argv(cgroup) + argv[:cut] + extra + argv[cut:] + limits + [executable, *spec.args]


# ---------------------------------------------------------------------------
# One connection
# ---------------------------------------------------------------------------


class _MemoryTokens:
    """OAuth tokens of one connection, in memory (the SDK's TokenStorage protocol)."""

    def __init__(self) -> None:
        self.tokens: Any = None
        self.client_info: Any = None

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client_info

    async def set_client_info(self, client_info: Any) -> None:
        self.client_info = client_info


class _Connection:
    """An open SDK client for one server, owned by one task (the SDK's
    transports must be entered and left in the same task)."""

    def __init__(self, spec: ServerSpec, settings: McpSettings, allow: tuple,
                 on_tools_changed: Any = None) -> None:
        self.spec = spec
        self.settings = settings
        self.allow = allow
        self.fingerprint = spec.fingerprint()
        self.client: Any = None
        self.error: BaseException | None = None
        self.ready = asyncio.Event()
        self.stop = asyncio.Event()
        self.closed = asyncio.Event()
        self.broken = False
        self.last_used = time.monotonic()
        self.busy = 0
        self.task: asyncio.Task | None = None
        self.stderr: Any = None
        self.cgroup: isolation.CallCgroup | None = None
        self.on_tools_changed = on_tools_changed

    def stderr_tail(self) -> str:
        if self.stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self.stderr.flush()
            size = self.stderr.seek(0, os.SEEK_END)
            self.stderr.seek(max(0, size - STDERR_TAIL))
            return self.stderr.read().decode(errors="replace").strip()
        return ""

    @contextlib.asynccontextmanager
    async def _http_transport(self) -> AsyncIterator[Any]:
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        http = create_mcp_http_client(headers=dict(self.spec.headers), auth=self._oauth())
        async with http, streamable_http_client(self.spec.url or "", http_client=http) as streams:
            yield streams

    def _oauth(self) -> Any:
        """The SDK's OAuth client-credentials flow, when the server has credentials: on a 401 it
        finds the authorization server (protected resource metadata), asks it for a token and
        retries. Tokens live as long as the connection."""
        if self.spec.oauth is None:
            return None
        from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider

        client_id, client_secret, scope, issuer = self.spec.oauth
        return ClientCredentialsOAuthProvider(server_url=self.spec.url or "", storage=_MemoryTokens(),
                                              client_id=client_id, client_secret=client_secret, scope=scope,
                                              issuer=issuer)

    def _transport(self) -> tuple[Any, str]:
        """(SDK transport or server parameters, connect mode)."""
        from mcp.client.sse import sse_client
        from mcp.client.stdio import StdioServerParameters

        spec = self.spec
        if spec.server_type == "stdio":
            self.cgroup = isolation.new_cgroup(self.settings.stdio_memory_mb * 1024 * 1024, 256)
            argv = sandbox_argv(spec, self.settings, self.cgroup)
            self.stderr = tempfile.TemporaryFile()
            env = {**BASE_ENV, **dict(spec.env)}
            return StdioServerParameters(command=argv[0], args=argv[1:], env=env, cwd="/"), "auto"
        if spec.server_type == "sse":
            return sse_client(spec.url or "", headers=dict(spec.headers), auth=self._oauth(),
                              timeout=self.settings.connect_timeout_s), "legacy"
        return self._http_transport(), "auto"

    async def _message_handler(self, message: Any) -> None:
        import mcp_types as types

        if isinstance(message, types.ToolListChangedNotification) and self.on_tools_changed is not None:
            self.on_tools_changed(self.spec.id)

    @staticmethod
    def _can_listen(client: Any) -> bool:
        """Whether the server can tell this connection that its tools changed through
        `subscriptions/listen` (2026-07-28; older servers send notifications unasked)."""
        from mcp_types.version import MODERN_PROTOCOL_VERSIONS

        tools = getattr(client.server_capabilities, "tools", None)
        return client.protocol_version in MODERN_PROTOCOL_VERSIONS and bool(getattr(tools, "list_changed", False))

    async def _listen(self, client: Any) -> None:
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _event in subscription:
                    if self.on_tools_changed is not None:
                        self.on_tools_changed(self.spec.id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the connection works without it
            log.info("MCP server '%s': no list-changed subscription (%s)", self.spec.name, exc)

    async def run(self) -> None:
        from mcp import Client
        from mcp.client.stdio import stdio_client

        try:
            if self.spec.server_type != "stdio":
                await check_target(self.spec.name, self.spec.url or "", self.allow)
                if self.spec.oauth is not None and self.spec.oauth[3]:
                    await check_target(self.spec.name, self.spec.oauth[3], self.allow)
            transport, mode = self._transport()
            if self.spec.server_type == "stdio":
                transport = stdio_client(transport, errlog=self.stderr)
            client = Client(transport, mode=mode, message_handler=self._message_handler)
            async with client:
                self.client = client
                self.ready.set()
                listener = asyncio.create_task(self._listen(client)) if self._can_listen(client) else None
                try:
                    await self.stop.wait()
                finally:
                    if listener is not None:
                        listener.cancel()
                        with contextlib.suppress(BaseException):
                            await listener
        except BaseException as exc:  # noqa: BLE001 - reported to the waiting callers
            self.error = exc
            if isinstance(exc, asyncio.CancelledError) and not self.ready.is_set():
                pass
            elif not isinstance(exc, Exception | asyncio.CancelledError):
                raise
        finally:
            self.client = None
            self.broken = True
            self.ready.set()
            self.closed.set()
            if self.cgroup is not None:
                await asyncio.to_thread(self.cgroup.remove)
            if self.stderr is not None:
                with contextlib.suppress(OSError):
                    self.stderr.close()

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.closed.wait()), 10)
            except TimeoutError:
                self.task.cancel()
                with contextlib.suppress(BaseException):
                    await self.task


def describe_error(name: str, exc: BaseException, stderr: str = "") -> str:
    """A readable reason for a failed connection."""
    from mcp.shared.exceptions import MCPError

    if isinstance(exc, McpFailure):
        return str(exc)
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, McpFailure):
        return str(exc)
    if isinstance(exc, MCPError) and exc.code == CONNECTION_CLOSED:
        text = f"MCP server '{name}' closed the connection (it is started again on next use)"
    elif isinstance(exc, MCPError) and exc.code == REQUEST_TIMEOUT:
        text = f"MCP server '{name}' did not answer in time"
    elif isinstance(exc, MCPError):
        text = f"MCP server '{name}' answered with an error: {exc.message} (code {exc.code})"
    elif isinstance(exc, TimeoutError):
        text = f"MCP server '{name}' did not answer in time"
    elif isinstance(exc, OSError | ConnectionError):
        text = f"MCP server '{name}' cannot be reached: {exc}"
    else:
        text = f"MCP server '{name}' failed: {type(exc).__name__}: {exc}".rstrip(": ")
    if stderr:
        text += f". Its stderr ends with: {stderr[-STDERR_TAIL:]}"
    return text


# ---------------------------------------------------------------------------
# The manager
# ---------------------------------------------------------------------------


class McpConnections:
    """At most one warm connection per server; see the module docstring."""

    def __init__(self, settings: McpSettings) -> None:
        self.settings = settings
        self.allow = parse_allow(settings.allow)
        self._connections: dict[str, _Connection] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._reaper: asyncio.Task | None = None
        # Server ids whose tool list changed (a notification arrived) since last listed.
        self.tools_changed: set[str] = set()
        # Told the id of a server that sent notifications/tools/list_changed.
        self.on_tools_changed: Any = None

    async def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_idle())

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(BaseException):
                await self._reaper
        connections = list(self._connections.values())
        self._connections.clear()
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)

    async def _reap_idle(self) -> None:
        while True:
            await asyncio.sleep(min(10.0, self.settings.idle_s / 2))
            now = time.monotonic()
            for server_id, conn in list(self._connections.items()):
                if conn.busy == 0 and (now - conn.last_used > self.settings.idle_s or conn.broken):
                    self._connections.pop(server_id, None)
                    log.info("closing the idle connection to MCP server '%s'", conn.spec.name)
                    await conn.close()

    async def drop(self, server_id: str) -> None:
        """Closes the connection to a server (deleted or changed)."""
        conn = self._connections.pop(server_id, None)
        if conn is not None:
            await conn.close()

    def _tools_changed(self, server_id: str) -> None:
        self.tools_changed.add(server_id)
        if self.on_tools_changed is not None:
            self.on_tools_changed(server_id)

    async def _open(self, spec: ServerSpec) -> _Connection:
        conn = _Connection(spec, self.settings, self.allow, self._tools_changed)
        conn.task = asyncio.create_task(conn.run(), name=f"mcp-{spec.name}")
        try:
            await asyncio.wait_for(asyncio.shield(conn.ready.wait()), self.settings.connect_timeout_s)
        except (TimeoutError, asyncio.CancelledError) as exc:
            # Out of time, or the caller went away (its own deadline): the half-open connection
            # (a starting stdio server) is stopped, never left behind.
            stderr = conn.stderr_tail()
            conn.task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.shield(conn.task)
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise McpFailure(
                f"MCP server '{spec.name}' did not complete the connection in {self.settings.connect_timeout_s:g} s"
                + (f". Its stderr ends with: {stderr}" if stderr else "")) from None
        if conn.client is None:
            raise McpFailure(describe_error(spec.name, conn.error or RuntimeError("closed"), conn.stderr_tail()))
        return conn

    @contextlib.asynccontextmanager
    async def connection(self, spec: ServerSpec) -> AsyncIterator[_Connection]:
        """The warm connection to `spec`'s server, opened (or re-opened after a
        crash or a change of configuration) when needed."""
        lock = self._locks.setdefault(spec.id, asyncio.Lock())
        async with lock:
            conn = self._connections.get(spec.id)
            if conn is not None and (conn.broken or conn.fingerprint != spec.fingerprint()):
                self._connections.pop(spec.id, None)
                await conn.close()
                conn = None
            if conn is None:
                conn = await self._open(spec)
                self._connections[spec.id] = conn
            conn.busy += 1
        try:
            yield conn
        finally:
            conn.busy -= 1
            conn.last_used = time.monotonic()

    @contextlib.asynccontextmanager
    async def fresh(self, spec: ServerSpec) -> AsyncIterator[_Connection]:
        """A connection of its own (for a test of a configuration), closed after."""
        conn = await self._open(spec)
        try:
            yield conn
        finally:
            await conn.close()

    async def _failed(self, conn: _Connection, exc: BaseException) -> McpFailure:
        """Marks a connection unusable after a transport failure; the next use reconnects."""
        from mcp.shared.exceptions import MCPError

        if not isinstance(exc, MCPError) or exc.code == CONNECTION_CLOSED:
            conn.broken = True
        await asyncio.sleep(0)
        return McpFailure(describe_error(conn.spec.name, exc, conn.stderr_tail()))

    async def list_tools(self, spec: ServerSpec, *, refresh: bool = False,
                         conn: _Connection | None = None) -> ToolListing:
        """Every tool the server offers (all pages). Cached by the SDK for the
        time-to-live a 2026-07-28 server gives; `refresh` asks the server again."""
        if conn is None:
            async with self.connection(spec) as opened:
                return await self.list_tools(spec, refresh=refresh, conn=opened)
        client = conn.client
        if client is None:
            raise McpFailure(f"MCP server '{spec.name}' closed the connection")
        refresh = refresh or spec.id in self.tools_changed
        self.tools_changed.discard(spec.id)
        tools: list[Any] = []
        cursor: str | None = None
        try:
            async with asyncio.timeout(self.settings.connect_timeout_s):
                for _ in range(100):
                    page = await client.list_tools(cursor=cursor, cache_mode="refresh" if refresh else "use")
                    tools.extend(page.tools)
                    cursor = page.next_cursor
                    if not cursor:
                        break
        except TimeoutError:
            conn.broken = True
            raise McpFailure(f"MCP server '{spec.name}' did not list its tools in "
                             f"{self.settings.connect_timeout_s:g} s") from None
        except Exception as exc:  # noqa: BLE001 - transport and protocol errors alike
            raise await self._failed(conn, exc) from None
        info = client.server_info
        return ToolListing(tools=tools, protocol_version=client.protocol_version,
                           server_info=f"{info.name} {info.version}".strip() if info else None)

    async def call_tool(self, spec: ServerSpec, tool: str, args: dict[str, Any],
                        timeout_s: float | None = None) -> CallOutcome:
        """Calls a tool; McpFailure (naming the server and the tool) when the
        server cannot be reached, breaks the connection or runs out of time.
        A result the server marks as an error is an outcome with is_error.

        Two deadlines: getting a connection (a stdio server's start included)
        has MNEMO_MCP_CONNECT_TIMEOUT_S, the call itself `timeout_s`
        (MNEMO_MCP_TIMEOUT_S by default)."""
        timeout_s = timeout_s or self.settings.call_timeout_s
        phase = "connect"
        try:
            # A few seconds over the connection's own deadline: waiting for another caller's attempt.
            async with asyncio.timeout(self.settings.connect_timeout_s + 5) as scope:
                async with self.connection(spec) as conn:
                    phase = "call"
                    scope.reschedule(asyncio.get_running_loop().time() + timeout_s)
                    client = conn.client
                    if client is None:
                        raise McpFailure(f"MCP server '{spec.name}' closed the connection")
                    try:
                        result = await client.call_tool(tool, args, read_timeout_seconds=timeout_s)
                    except (McpFailure, TimeoutError):
                        raise
                    except Exception as exc:  # noqa: BLE001
                        failure = await self._failed(conn, exc)
                        raise McpFailure(f"{failure} (calling tool '{tool}')") from None
        except TimeoutError:
            if phase == "connect":
                raise McpFailure(f"MCP server '{spec.name}' could not be connected to in time "
                                 f"(calling tool '{tool}')") from None
            raise McpFailure(f"MCP server '{spec.name}' did not answer the call of tool '{tool}' within "
                             f"{timeout_s:g} s") from None
        return outcome_of(result, self.settings.max_result_chars)


def outcome_of(result: Any, max_chars: int) -> CallOutcome:
    """A CallToolResult as the text the model reads: text parts joined, the
    structured content as JSON when there is no text, other parts described."""
    texts: list[str] = []
    images: list[dict[str, str]] = []
    for block in result.content or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            texts.append(block.text)
        elif kind in ("image", "audio"):
            images.append({"type": kind, "mime_type": block.mime_type, "data": block.data})
            texts.append(f"[{kind}: {block.mime_type}, {len(block.data) * 3 // 4} bytes]")
        elif kind == "resource":
            res = block.resource
            texts.append(getattr(res, "text", None) or f"[resource {res.uri}: {res.mime_type or 'binary'}]")
        elif kind == "resource_link":
            texts.append(f"[resource link: {block.uri}{' (' + block.name + ')' if block.name else ''}]")
    structured = result.structured_content
    if structured is not None and not texts:
        texts.append(json.dumps(structured, ensure_ascii=False))
    text = "\n".join(texts)
    if len(text) > max_chars:
        text = text[:max_chars] + f"... [the result had {len(text)} characters; cut at {max_chars}]"
    return CallOutcome(is_error=bool(result.is_error), text=text, structured=structured, images=images)
