"""Real MCP servers for the tests, written with the official SDK (`mcp`).

- :data:`STDIO_SOURCE`: a stdio server, run by Mnemo in its tool sandbox as
  ``/usr/bin/python3 -c STDIO_SOURCE`` (the SDK's packages come from this
  environment's site-packages, shown read-only to the sandbox);
- :class:`HttpServer`: the same tools served over HTTP in a thread of the test
  process: Streamable HTTP stateless (2026-07-28 clients use
  ``server/discover``), Streamable HTTP in session mode answering only the
  2025-11-25 ``initialize`` handshake, or legacy SSE;
- :class:`HangingServer`: accepts connections and never answers.
"""
from __future__ import annotations

import asyncio
import base64
import socket
import sysconfig
import threading
import time
from typing import Any

SITE_PACKAGES = sysconfig.get_paths()["purelib"]

# One tiny PNG (1x1), for the image part.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

TOOLS_SOURCE = r'''
import asyncio, os
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ImageContent, TextContent


def build(name: str) -> MCPServer:
    server = MCPServer(name)

    @server.tool()
    def add(a: int, b: int) -> int:
        """Adds two integers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """Returns the text it is given."""
        return text

    @server.tool()
    def weather(city: str) -> dict:
        """Structured weather of a city."""
        return {"city": city, "temperature_c": 21}

    @server.tool()
    def fail(reason: str) -> str:
        """Always fails."""
        from mcp.server.mcpserver.exceptions import ToolError
        raise ToolError(f"refused: {reason}")

    @server.tool()
    async def slow(seconds: float) -> str:
        """Sleeps, then answers."""
        await asyncio.sleep(seconds)
        return "woke up"

    @server.tool()
    def big(n: int) -> str:
        """Returns n characters."""
        return "x" * n

    @server.tool()
    def env(name: str) -> str:
        """The value of an environment variable of the server, or <unset>."""
        return os.environ.get(name, "<unset>")

    @server.tool()
    def whoami() -> str:
        """The server's process id and user id, and what it can see of the host."""
        import json
        return json.dumps({"pid": os.getpid(), "uid": os.getuid(), "cwd": os.getcwd(),
                           "root_visible": os.path.exists("/root/.pyenv"),
                           "home": os.environ.get("HOME")})

    @server.tool()
    def crash() -> str:
        """Ends the server's process."""
        os._exit(3)

    @server.tool()
    def picture() -> list:
        """A picture and a caption."""
        return [TextContent(type="text", text="a red dot"),
                ImageContent(type="image", data=PNG_B64, mime_type="image/png")]

    @server.tool()
    async def drop_tool(name: str, ctx: Context) -> str:
        """Removes one of this server's tools."""
        server.remove_tool(name)
        await ctx.notify_tools_changed()
        return f"removed {name}"

    return server
'''

STDIO_SOURCE = (
    "PNG_B64 = " + repr(base64.b64encode(PNG).decode()) + "\n" + TOOLS_SOURCE
    + "\nbuild('stdio-test').run('stdio')\n"
)


def _namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {"PNG_B64": base64.b64encode(PNG).decode()}
    exec(TOOLS_SOURCE, ns)  # noqa: S102 - the test's own source
    return ns


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpServer:
    """The test tools over HTTP, in a thread: mode "stateless" (Streamable HTTP,
    no sessions), "session" (Streamable HTTP with sessions, initialize
    handshake only) or "sse" (legacy SSE transport)."""

    def __init__(self, mode: str, *, malformed: bool = False, token: str | None = None,
                 header: str = "authorization", oauth: tuple[str, str] | None = None) -> None:
        self.mode = mode
        # When set, every request needs this header: "Bearer <token>" for Authorization, else the token.
        self.token = token
        self.header = header.lower()
        self.seen_headers: list[dict[str, str]] = []
        # OAuth: (client id, client secret) this server's own authorization server accepts
        # (client_credentials grant); the MCP path then needs a token it issued.
        self.oauth = oauth
        self.issued: list[str] = []
        self.port = free_port()
        self.server: Any = None
        self.thread: threading.Thread | None = None
        self.mcp = _namespace()["build"](f"{mode}-test")
        if malformed:
            self.mcp._tool_manager.get_tool("echo").parameters = {
                "type": "object", "properties": {"text": {"type": 12}}}
        if mode == "session":
            self._refuse_discover()

    def _refuse_discover(self) -> None:
        """A server of the 2025-11-25 era: no server/discover (clients fall back to initialize)."""
        import mcp_types as types
        from mcp.shared.exceptions import MCPError

        async def refuse(ctx, params):
            raise MCPError(types.METHOD_NOT_FOUND, "Method not found: server/discover")

        self.mcp._lowlevel_server.add_request_handler("server/discover", types.RequestParams, refuse)

    @property
    def url(self) -> str:
        path = "/sse" if self.mode == "sse" else "/mcp"
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> HttpServer:
        import uvicorn

        if self.mode == "sse":
            app = self.mcp.sse_app(host="127.0.0.1")
        else:
            app = self.mcp.streamable_http_app(host="127.0.0.1", stateless_http=self.mode == "stateless")
        config = uvicorn.Config(self._checked(app), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {self.mode} MCP test server did not start")
            time.sleep(0.05)
        return self

    async def _oauth_routes(self, scope, receive, send, headers) -> bool:
        """The protected resource metadata, the authorization server's metadata and its token
        endpoint; True when the request was one of them."""
        import json as _json

        base = f"http://127.0.0.1:{self.port}"
        path = scope["path"]

        async def reply(status, body, extra=()):
            data = _json.dumps(body).encode()
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"), *extra]})
            await send({"type": "http.response.body", "body": data})

        if path.startswith("/.well-known/oauth-protected-resource"):
            await reply(200, {"resource": base + ("/sse" if self.mode == "sse" else "/mcp"),
                              "authorization_servers": [base + "/"]})
            return True
        if path.startswith("/.well-known/oauth-authorization-server") or path.startswith(
                "/.well-known/openid-configuration"):
            await reply(200, {"issuer": base + "/", "token_endpoint": base + "/token",
                              "authorization_endpoint": base + "/authorize",
                              "response_types_supported": ["code"],
                              "grant_types_supported": ["client_credentials"],
                              "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]})
            return True
        if path == "/token":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            from urllib.parse import parse_qs
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            client_id, secret = form.get("client_id"), form.get("client_secret")
            basic = headers.get("authorization", "")
            if basic.lower().startswith("basic "):
                from urllib.parse import unquote
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
                client_id, secret = unquote(client_id), unquote(secret)
            if form.get("grant_type") != "client_credentials" or (client_id, secret) != self.oauth:
                await reply(401, {"error": "invalid_client"})
                return True
            token = f"at-{len(self.issued) + 1}"
            self.issued.append(token)
            await reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
            return True
        return False

    def _checked(self, app):
        expected = (f"Bearer {self.token}" if self.header == "authorization" else self.token or "").encode()

        async def checked(scope, receive, send):
            if scope["type"] == "http":
                headers = {k.decode(): v.decode() for k, v in scope.get("headers") or []}
                self.seen_headers.append(headers)
                if self.oauth is not None:
                    if await self._oauth_routes(scope, receive, send, headers):
                        return
                    given = headers.get("authorization", "")
                    if not any(given == f"Bearer {t}" for t in self.issued):
                        meta = f'Bearer resource_metadata="http://127.0.0.1:{self.port}/.well-known/' \
                               f'oauth-protected-resource{scope["path"]}"'
                        await send({"type": "http.response.start", "status": 401,
                                    "headers": [(b"www-authenticate", meta.encode())]})
                        await send({"type": "http.response.body", "body": b"token needed"})
                        return
                if self.token is not None and headers.get(self.header, "").encode() != expected:
                    await send({"type": "http.response.start", "status": 401, "headers": []})
                    await send({"type": "http.response.body", "body": b"unauthorized"})
                    return
            await app(scope, receive, send)

        return checked

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(10)


class HangingServer:
    """Accepts TCP connections, reads, and never answers."""

    def __init__(self) -> None:
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> HangingServer:
        async def handle(reader, writer):
            while await reader.read(65536):
                pass

        async def serve():
            return await asyncio.start_server(handle, "127.0.0.1", self.port)

        self._thread.start()
        asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
