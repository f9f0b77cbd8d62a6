"""MCP servers: the registry (McpServerService), discovery of their tools, the
Mnemo tools of type external_mcp made from them, and calling those tools.

A server's secrets (environment values, auth token, header values) are sealed
together with the server's encryption key (core/secrets.py) and never returned:
responses carry their names with the value ``<redacted>``, and an update that
sends ``<redacted>`` back keeps the stored value.

Connections are kept by sandbox/mcp_connections.py.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
from mnemo.v1 import mcp_pb2, tools_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from ..config import McpSettings
from ..errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from ..ids import new_id
from ..sandbox.mcp_connections import (
    SERVER_TYPES,
    McpConnections,
    McpFailure,
    ServerSpec,
    check_url_syntax,
    forbidden_address,
    parse_allow,
    resolve_command,
)
from ..storage import convert
from ..storage import mcp_servers as store
from .db import transaction

log = logging.getLogger("mnemo.mcp")

REDACTED = "<redacted>"
TOOL_TYPE = "external_mcp"
DEFAULT_RETURN_CHAR_LIMIT = 50_000
# Names a model accepts for a function (OpenAI's rule, the strictest).
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SERVER_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
TYPE_ALIASES = {"stdio": "stdio", "local": "stdio", "command": "stdio", "sse": "sse",
                "streamable_http": "streamable_http", "streamable-http": "streamable_http", "http": "streamable_http",
                "streamablehttp": "streamable_http"}


# ---------------------------------------------------------------------------
# Configurations
# ---------------------------------------------------------------------------


def _strings(field: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument(field, "must be a list of strings")
    return list(value)


def _string_map(field: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(field, "must be an object of strings")
    out = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise InvalidArgument(f"{field}.{key}", "must be a string")
        if not key or "=" in key or "\0" in key or "\0" in item:
            raise InvalidArgument(f"{field}.{key}", "is not a valid name")
        out[key] = item
    return out


def config_dict(message: Any) -> dict[str, Any]:
    """The fields set in a McpServerConfig-like message, as plain values."""
    out: dict[str, Any] = {}
    for name in ("server_name", "mcp_server_type", "type", "command", "server_url", "auth_header", "auth_token",
                 "oauth_client_id", "oauth_client_secret", "oauth_scope", "oauth_issuer"):
        if name in message.DESCRIPTOR.fields_by_name and message.HasField(name):
            out[name] = getattr(message, name)
    for name in ("args",):
        if name in message.DESCRIPTOR.fields_by_name and message.HasField(name):
            out[name] = convert.list_value_to_list(getattr(message, name))
    for name in ("env", "custom_headers"):
        if name in message.DESCRIPTOR.fields_by_name and message.HasField(name):
            out[name] = convert.struct_to_dict(getattr(message, name))
    return out


def server_type_of(config: dict[str, Any], field: str, current: str | None = None) -> str:
    raw = config.get("mcp_server_type") or config.get("type")
    if raw:
        kind = TYPE_ALIASES.get(str(raw).lower())
        if kind is None:
            raise InvalidArgument(f"{field}.mcp_server_type", f"must be one of {', '.join(SERVER_TYPES)}, got {raw!r}")
        return kind
    if current:
        return current
    if config.get("command"):
        return "stdio"
    url = config.get("server_url") or config.get("url")
    if url:
        # Claude-Desktop-style files name only a URL; an SSE endpoint conventionally ends in /sse.
        return "sse" if str(url).rstrip("/").endswith("/sse") else "streamable_http"
    raise InvalidArgument(f"{field}.mcp_server_type", "is required (or give a command, or a server_url)")


def check_name(field: str, name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidArgument(field, "is required")
    if not _SERVER_NAME.match(name):
        raise InvalidArgument(field, "may hold only letters, digits, '_', '-' and '.', at most 64 characters")
    return name


def _secrets_of(config: dict[str, Any], field: str, old: dict[str, Any]) -> dict[str, Any]:
    """The secret part of a config merged over the stored one; `<redacted>`
    values keep the stored value."""
    out = {"env": dict(old.get("env") or {}), "custom_headers": dict(old.get("custom_headers") or {}),
           "auth_token": old.get("auth_token"), "oauth_client_secret": old.get("oauth_client_secret")}
    for name in ("env", "custom_headers"):
        if name in config:
            given = _string_map(f"{field}.{name}", config[name])
            out[name] = {k: (out[name].get(k, "") if v == REDACTED else v) for k, v in given.items()}
    for name in ("auth_token", "oauth_client_secret"):
        if name in config:
            token = config[name]
            if token is not None and not isinstance(token, str):
                raise InvalidArgument(f"{field}.{name}", "must be a string")
            out[name] = old.get(name) if token == REDACTED else (token or None)
    return out


def _literal_problem(url: str, allow: tuple) -> str | None:
    """What is wrong with a URL whose host is a literal address MCP servers may not be reached at
    (names are checked when connecting)."""
    host = urlsplit(url).hostname or ""
    try:
        if forbidden_address(host, allow):
            return (f"{host} is loopback, private, link-local or reserved, which MCP servers may not be "
                    "reached at (MNEMO_MCP_ALLOW lists exceptions)")
    except ValueError:
        pass
    return None


def server_values(config: dict[str, Any], field: str, *, server_type: str,
                  old_secrets: dict[str, Any] | None = None, current: dict[str, Any] | None = None,
                  allow: tuple = ()) -> tuple[dict[str, Any], dict[str, Any]]:
    """(column values, secrets) of a checked configuration; `current` is the
    stored row of an update (fields not given keep their value)."""
    current = current or {}
    values: dict[str, Any] = {"server_type": server_type}
    if server_type == "stdio":
        command = config.get("command", current.get("command"))
        if not isinstance(command, str) or not command.strip():
            raise InvalidArgument(f"{field}.command", "is required for a stdio server")
        if resolve_command(command) is None:
            raise InvalidArgument(f"{field}.command", f"'{command}' is not an executable file on this server "
                                  "(stdio servers run in the tool sandbox, whose PATH is /usr/local/bin:/usr/bin:/bin)")
        values.update(command=command, server_url=None, auth_header=None,
                      args=_strings(f"{field}.args", config["args"]) if "args" in config else current.get("args", []))
    else:
        url = config.get("server_url", config.get("url", current.get("server_url")))
        if not isinstance(url, str) or not url.strip():
            raise InvalidArgument(f"{field}.server_url", f"is required for a {server_type} server")
        problem = check_url_syntax(url)
        if problem:
            raise InvalidArgument(f"{field}.server_url", problem)
        problem = _literal_problem(url, allow)
        if problem:
            raise InvalidArgument(f"{field}.server_url", problem)
        header = config.get("auth_header", current.get("auth_header"))
        if header is not None and (not isinstance(header, str) or not re.match(r"^[A-Za-z0-9-]{1,64}$", header)):
            raise InvalidArgument(f"{field}.auth_header", "must be an HTTP header name")
        values.update(server_url=url, command=None, args=[], auth_header=header or None)
        oauth = dict(current.get("oauth") or {})
        for name in ("client_id", "scope", "issuer"):
            if f"oauth_{name}" in config:
                given = config[f"oauth_{name}"]
                if given is not None and not isinstance(given, str):
                    raise InvalidArgument(f"{field}.oauth_{name}", "must be a string")
                oauth[name] = given or None
        if oauth.get("client_id"):
            # The credentials go only to this authorization server, which the address policy covers
            # too: a server's metadata cannot send them anywhere else.
            issuer = oauth.get("issuer")
            if not issuer:
                raise InvalidArgument(f"{field}.oauth_issuer", "is required with oauth_client_id (the authorization "
                                      "server's issuer URL; the credentials are sent only there)")
            problem = check_url_syntax(issuer) or _literal_problem(issuer, allow)
            if problem:
                raise InvalidArgument(f"{field}.oauth_issuer", problem)
        values["oauth"] = {k: v for k, v in oauth.items() if v} or None
    secrets = _secrets_of(config, field, old_secrets or {})
    if server_type == "stdio":
        secrets.update(auth_token=None, custom_headers={}, oauth_client_secret=None)
        values["oauth"] = None
    else:
        secrets["env"] = {}
        has_id = bool((values["oauth"] or {}).get("client_id"))
        if has_id != bool(secrets.get("oauth_client_secret")):
            missing = "oauth_client_secret" if has_id else "oauth_client_id"
            raise InvalidArgument(f"{field}.{missing}", "OAuth client credentials need both a client id and a secret")
    values.update(env_names=sorted(secrets["env"]), header_names=sorted(secrets["custom_headers"]),
                  has_auth_token=bool(secrets["auth_token"]))
    return values, secrets


def spec_of(row: dict[str, Any], secrets: dict[str, Any]) -> ServerSpec:
    headers = dict(secrets.get("custom_headers") or {})
    token = secrets.get("auth_token")
    if token:
        header = row.get("auth_header") or "Authorization"
        headers[header] = (f"Bearer {token}" if header.lower() == "authorization"
                           and not token.lower().startswith(("bearer ", "basic ")) else token)
    oauth = row.get("oauth") or {}
    credentials = None
    if oauth.get("client_id") and secrets.get("oauth_client_secret"):
        credentials = (oauth["client_id"], secrets["oauth_client_secret"], oauth.get("scope"), oauth.get("issuer"))
    return ServerSpec(id=row["id"], name=row["name"], server_type=row["server_type"], command=row.get("command"),
                      args=tuple(row.get("args") or ()), env=tuple(sorted((secrets.get("env") or {}).items())),
                      url=row.get("server_url"), headers=tuple(sorted(headers.items())), oauth=credentials)


def to_proto(row: dict[str, Any]) -> mcp_pb2.McpServer:
    server = mcp_pb2.McpServer(
        id=row["id"], server_name=row["name"], mcp_server_type=row["server_type"], args=row["args"] or [],
        env={k: REDACTED for k in row["env_names"] or []},
        custom_headers={k: REDACTED for k in row["header_names"] or []},
        has_auth_token=row["has_auth_token"],
        created_at=convert.timestamp(row["created_at"]), updated_at=convert.timestamp(row["updated_at"]),
    )
    oauth = row.get("oauth") or {}
    convert.set_optional(server, command=row["command"], server_url=row["server_url"],
                         auth_header=row["auth_header"], protocol_version=row["protocol_version"],
                         last_error=row["last_error"], oauth_client_id=oauth.get("client_id"),
                         oauth_scope=oauth.get("scope"), oauth_issuer=oauth.get("issuer"))
    server.has_oauth_client_secret = bool(oauth.get("client_id"))
    return server


def mcp_tool_proto(tool: Any) -> mcp_pb2.McpTool:
    out = mcp_pb2.McpTool(name=tool.name, inputSchema=convert.struct(tool.input_schema or {}))
    convert.set_optional(out, description=tool.description, title=getattr(tool, "title", None))
    if getattr(tool, "output_schema", None):
        out.outputSchema.CopyFrom(convert.struct(tool.output_schema))
    annotations = getattr(tool, "annotations", None)
    if annotations is not None:
        out.annotations.CopyFrom(convert.struct(annotations.model_dump(by_alias=True, exclude_none=True)))
    return out


def schema_problem(schema: Any) -> str | None:
    """None when `schema` is a JSON schema of an object's arguments, else what is wrong."""
    if not isinstance(schema, dict):
        return "its inputSchema is not an object"
    if schema.get("type", "object") != "object":
        return f"its inputSchema has type {schema.get('type')!r}, not 'object'"
    try:
        jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"its inputSchema is not a valid JSON schema ({exc.message})"
    return None


def argument_problem(schema: dict[str, Any], args: dict[str, Any]) -> str | None:
    """None when `args` match the tool's schema, else the first mismatch."""
    try:
        validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(args))
    except (jsonschema.SchemaError, TypeError, ValueError) as exc:
        return f"its schema cannot be checked ({exc})"
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message}" + (f" (at '{where}')" if where else "")


def _model_name(server: str, tool: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", tool)[:64]
    return name or "tool"


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------


class McpServers:
    def __init__(self, engine: AsyncEngine, secret_box: Any, connections: McpConnections, settings: McpSettings):
        self.engine = engine
        self.box = secret_box
        self.connections = connections
        self.settings = settings
        self.allow = parse_allow(settings.allow)
        self._syncs: set[asyncio.Task] = set()
        connections.on_tools_changed = self._tools_changed

    def _tools_changed(self, server_id: str) -> None:
        """A server said its tools changed: its Mnemo tools are brought in line in the background."""
        task = asyncio.get_running_loop().create_task(self._sync_quietly(server_id, delete_vanished=True))
        self._syncs.add(task)
        task.add_done_callback(self._syncs.discard)

    # -- secrets ---------------------------------------------------------------

    def _seal(self, secrets: dict[str, Any]) -> bytes | None:
        if not any(secrets.values()):
            return None
        return self.box.seal(json.dumps(secrets))

    def _open(self, row: dict[str, Any]) -> dict[str, Any]:
        token = row.get("secrets_encrypted")
        return json.loads(self.box.open(bytes(token))) if token else {}

    def spec(self, row: dict[str, Any]) -> ServerSpec:
        return spec_of(row, self._open(row))

    # -- lookups ----------------------------------------------------------------

    async def _row(self, server_id: str, field: str = "mcp_server_id") -> dict[str, Any]:
        if not server_id or not server_id.strip():
            raise InvalidArgument(field, "is required")
        async with self.engine.connect() as conn:
            row = await store.get(conn, server_id)
        if row is None:
            raise NotFound("mcp_server", server_id)
        return row

    async def _row_by_name(self, name: str, field: str = "mcp_server_name") -> dict[str, Any]:
        if not name or not name.strip():
            raise InvalidArgument(field, "is required")
        async with self.engine.connect() as conn:
            row = await store.get_by_name(conn, name)
        if row is None:
            raise NotFound("mcp_server", name, by="name")
        return row

    async def get(self, server_id: str) -> mcp_pb2.McpServer:
        return to_proto(await self._row(server_id))

    async def list(self) -> list[mcp_pb2.McpServer]:
        async with self.engine.connect() as conn:
            return [to_proto(r) for r in await store.list_all(conn)]

    # -- create, update, delete ----------------------------------------------------

    async def create(self, name: str, config: dict[str, Any], *, field: str = "config",
                     name_field: str = "server_name", sync_tools: bool = True) -> mcp_pb2.McpServer:
        name = check_name(name_field, name)
        kind = server_type_of(config, field)
        values, secrets = server_values(config, field, server_type=kind, allow=self.allow)
        values.update(id=new_id("mcp_server"), name=name, secrets_encrypted=self._seal(secrets))
        async with transaction(self.engine) as conn:
            if await store.get_by_name(conn, name) is not None:
                raise AlreadyExists(f"an MCP server named '{name}' already exists")
            row = await store.insert_server(conn, values)
        if sync_tools:
            try:
                await self.sync_tools(row)
            except McpFailure as exc:
                log.warning("%s; its tools are added at the next refresh", exc)
            row = await self._row(row["id"])
        return to_proto(row)

    async def update(self, server_id: str, name: str | None, config: dict[str, Any], *,
                     row: dict[str, Any] | None = None, field: str = "config") -> mcp_pb2.McpServer:
        row = row or await self._row(server_id)
        kind = server_type_of(config, field, current=row["server_type"])
        if kind != row["server_type"]:
            raise InvalidArgument(f"{field}.mcp_server_type",
                                  f"cannot change from {row['server_type']} to {kind}: delete the server and add it again")
        values, secrets = server_values(config, field, server_type=kind, old_secrets=self._open(row), current=row,
                                        allow=self.allow)
        values["secrets_encrypted"] = self._seal(secrets)
        if name is not None and name != row["name"]:
            values["name"] = check_name("server_name", name)
        async with transaction(self.engine) as conn:
            if "name" in values and await store.get_by_name(conn, values["name"]) is not None:
                raise AlreadyExists(f"an MCP server named '{values['name']}' already exists")
            updated = await store.update_fields(conn, row["id"], values)
            if "name" in values:
                for tool in await store.server_tools(conn, row["id"]):
                    meta = convert.struct_to_dict(tool.metadata_)
                    meta.setdefault("mcp", {})["server_name"] = values["name"]
                    await store.update_tool(conn, tool.id, {"metadata": meta})
        await self.connections.drop(row["id"])
        return to_proto(updated)

    async def delete(self, server_id: str) -> None:
        row = await self._row(server_id)
        async with transaction(self.engine) as conn:
            await store.delete_server(conn, row["id"])
        await self.connections.drop(row["id"])

    async def delete_by_name(self, name: str) -> list[mcp_pb2.McpServer]:
        row = await self._row_by_name(name)
        await self.delete(row["id"])
        return await self.list()

    # -- discovery ----------------------------------------------------------------

    async def _listing(self, row: dict[str, Any], *, refresh: bool = False):
        spec = self.spec(row)
        try:
            listing = await self.connections.list_tools(spec, refresh=refresh)
        except McpFailure as exc:
            async with transaction(self.engine) as conn:
                await store.set_status(conn, row["id"], protocol_version=None, last_error=str(exc))
            raise
        async with transaction(self.engine) as conn:
            await store.set_status(conn, row["id"], protocol_version=listing.protocol_version, last_error=None)
        return listing

    async def live_tools(self, name: str) -> list[mcp_pb2.McpTool]:
        row = await self._row_by_name(name)
        try:
            listing = await self._listing(row)
        except McpFailure as exc:
            raise FailedPrecondition(str(exc)) from None
        return [mcp_tool_proto(t) for t in listing.tools]

    def _tool_values(self, row: dict[str, Any], tool: Any, model_name: str) -> dict[str, Any]:
        description = tool.description or getattr(tool, "title", None)
        return {
            "name": model_name, "description": description, "tool_type": TOOL_TYPE,
            "json_schema": {"name": model_name, "description": description or "", "parameters": tool.input_schema},
            "metadata": {"mcp": {"server_name": row["name"], "server_id": row["id"], "tool_name": tool.name}},
            "tags": [f"mcp:{row['name']}"],
        }

    async def _name_for(self, conn, row: dict[str, Any], tool_name: str, taken: set[str]) -> str:
        """The tool's name for models: its own name when free (or already this
        server's), else "<server>__<tool>"."""
        base = _model_name(row["name"], tool_name)
        for candidate in (base, _model_name(row["name"], f"{row['name']}__{tool_name}")):
            owner = await store.tool_owner(conn, candidate)
            if candidate not in taken and owner in (None, row["id"]):
                return candidate
        raise AlreadyExists(f"MCP server '{row['name']}': tool '{tool_name}' cannot be named '{base}' or "
                            f"'{row['name']}__{tool_name}': tools of those names exist")

    async def _save_tool(self, conn, row: dict[str, Any], tool: Any, existing: dict[str, tools_pb2.Tool],
                         taken: set[str]) -> tuple[tools_pb2.Tool, str]:
        """Creates or updates the Mnemo tool of one MCP tool; ("added" | "updated" | "same")."""
        problem = schema_problem(tool.input_schema)
        if problem:
            raise InvalidArgument("inputSchema", f"MCP server '{row['name']}', tool '{tool.name}': {problem}")
        current = existing.get(tool.name)
        if current is not None:
            values = self._tool_values(row, tool, current.name)
            same = (convert.struct_to_dict(current.json_schema) == values["json_schema"]
                    and (current.description if current.HasField("description") else None) == values["description"])
            if same:
                return current, "same"
            values.pop("tags")
            return await store.update_tool(conn, current.id, values), "updated"
        name = await self._name_for(conn, row, tool.name, taken)
        taken.add(name)
        values = self._tool_values(row, tool, name)
        values.update(id=new_id("tool"), return_char_limit=DEFAULT_RETURN_CHAR_LIMIT, mcp_server_id=row["id"])
        return await store.insert_tool(conn, values), "added"

    @staticmethod
    def _by_mcp_name(saved: list[tools_pb2.Tool]) -> dict[str, tools_pb2.Tool]:
        out = {}
        for tool in saved:
            mcp = convert.struct_to_dict(tool.metadata_).get("mcp") or {}
            out[mcp.get("tool_name") or tool.name] = tool
        return out

    async def sync_tools(self, row: dict[str, Any], *, delete_vanished: bool = False,
                         refresh: bool = False) -> mcp_pb2.RefreshMcpServerResponse:
        """Brings the server's Mnemo tools in line with what it offers. Tools
        with a malformed schema are left out (and logged)."""
        listing = await self._listing(row, refresh=refresh)
        out = mcp_pb2.RefreshMcpServerResponse(protocol_version=listing.protocol_version)
        async with transaction(self.engine) as conn:
            saved = self._by_mcp_name(await store.server_tools(conn, row["id"]))
            taken: set[str] = set()
            offered = set()
            for tool in listing.tools:
                offered.add(tool.name)
                try:
                    saved_tool, change = await self._save_tool(conn, row, tool, saved, taken)
                except (InvalidArgument, AlreadyExists) as exc:
                    log.warning("%s; left out", exc.message if hasattr(exc, "message") else exc)
                    continue
                if change == "added":
                    out.added.append(saved_tool.name)
                elif change == "updated":
                    out.updated.append(saved_tool.name)
            if delete_vanished:
                gone = [t for name, t in saved.items() if name not in offered]
                await store.delete_tools(conn, [t.id for t in gone])
                out.deleted.extend(t.name for t in gone)
        return out

    async def refresh(self, server_id: str) -> mcp_pb2.RefreshMcpServerResponse:
        row = await self._row(server_id)
        try:
            return await self.sync_tools(row, delete_vanished=True, refresh=True)
        except McpFailure as exc:
            raise FailedPrecondition(str(exc)) from None

    async def add_tool(self, server_name: str, tool_name: str) -> tools_pb2.Tool:
        row = await self._row_by_name(server_name)
        if not tool_name:
            raise InvalidArgument("mcp_tool_name", "is required")
        try:
            listing = await self._listing(row)
        except McpFailure as exc:
            raise FailedPrecondition(str(exc)) from None
        tool = next((t for t in listing.tools if t.name == tool_name), None)
        if tool is None:
            raise NotFound("tool", f"{tool_name}' on MCP server '{server_name}", by="name")
        async with transaction(self.engine) as conn:
            saved = self._by_mcp_name(await store.server_tools(conn, row["id"]))
            try:
                result, _ = await self._save_tool(conn, row, tool, saved, set())
            except InvalidArgument as exc:
                raise FailedPrecondition(exc.message) from None
            return result

    async def server_tools(self, server_id: str) -> list[tools_pb2.Tool]:
        row = await self._row(server_id)
        async with self.engine.connect() as conn:
            return await store.server_tools(conn, row["id"])

    async def server_tool(self, server_id: str, tool_id: str) -> tools_pb2.Tool:
        row = await self._row(server_id)
        async with self.engine.connect() as conn:
            tool = await store.server_tool(conn, row["id"], tool_id)
        if tool is None:
            raise NotFound("tool", tool_id)
        return tool

    # -- calls ----------------------------------------------------------------------

    async def call(self, server_id: str, tool: tools_pb2.Tool | dict[str, Any], args: dict[str, Any],
                   timeout_s: float | None = None) -> tuple[str, str]:
        """(status, text) of one call of a saved MCP tool: the arguments checked
        against its schema first; a result marked as an error, a timeout or an
        unreachable server are ("error", why), naming the server and the tool."""
        if isinstance(tool, tools_pb2.Tool):
            name, schema = tool.name, convert.struct_to_dict(tool.json_schema)
            meta = convert.struct_to_dict(tool.metadata_)
        else:
            name, schema, meta = tool["name"], tool.get("json_schema") or {}, tool.get("metadata") or {}
        mcp_name = (meta.get("mcp") or {}).get("tool_name") or name
        async with self.engine.connect() as conn:
            row = await store.get(conn, server_id)
        if row is None:
            return "error", f"Tool '{name}' belongs to an MCP server that was deleted."
        problem = argument_problem(schema.get("parameters") or {"type": "object"}, args)
        if problem:
            return "error", f"Your arguments for {name} do not match its schema: {problem}. Call it again."
        try:
            outcome = await self.connections.call_tool(self.spec(row), mcp_name, args, timeout_s)
        except McpFailure as exc:
            return "error", str(exc)
        if outcome.is_error:
            return "error", (f"MCP server '{row['name']}', tool '{mcp_name}' reported an error: "
                             f"{outcome.text or '(no message)'}")
        return "success", outcome.text

    async def run_tool(self, server_id: str, tool_id: str, args: dict[str, Any]) -> tools_pb2.ToolExecutionResult:
        tool = await self.server_tool(server_id, tool_id)
        status, text = await self.call(server_id, tool, args)
        result = tools_pb2.ToolExecutionResult(status=status)
        result.func_return.string_value = text
        return result

    # -- test ---------------------------------------------------------------------

    async def test(self, config: dict[str, Any], *, row: dict[str, Any] | None = None) -> mcp_pb2.TestMcpServerResponse:
        if row is not None:
            spec = self.spec(row)
        else:
            name = config.get("server_name") or "test"
            kind = server_type_of(config, "config")
            values, secrets = server_values(config, "config", server_type=kind, allow=self.allow)
            spec = spec_of({**values, "id": new_id("mcp_test"), "name": name}, secrets)
        try:
            async with self.connections.fresh(spec) as conn:
                listing = await self.connections.list_tools(spec, refresh=True, conn=conn)
        except McpFailure as exc:
            return mcp_pb2.TestMcpServerResponse(status="error", error=str(exc))
        out = mcp_pb2.TestMcpServerResponse(status="success", protocol_version=listing.protocol_version,
                                            tools=[mcp_tool_proto(t) for t in listing.tools])
        if listing.server_info:
            out.server_info = listing.server_info
        return out

    async def test_saved(self, server_id: str) -> mcp_pb2.TestMcpServerResponse:
        return await self.test({}, row=await self._row(server_id))

    # -- mcp_config.json ----------------------------------------------------------------

    async def import_config(self, servers: Any, *, field: str = "mcpServers",
                            sync_tools: bool = True) -> mcp_pb2.ImportMcpConfigResponse:
        """Adds the servers of a Claude-Desktop-style `mcpServers` object;
        names that exist already are skipped."""
        if not isinstance(servers, dict):
            raise InvalidArgument(field, "must be an object of server name to configuration")
        out = mcp_pb2.ImportMcpConfigResponse()
        for name, entry in servers.items():
            where = f"{field}.{name}"
            if not isinstance(entry, dict):
                raise InvalidArgument(where, "must be an object")
            config = dict(entry)
            if "url" in config and "server_url" not in config:
                config["server_url"] = config.pop("url")
            if "headers" in config and "custom_headers" not in config:
                config["custom_headers"] = config.pop("headers")
            config.pop("disabled", None)
            async with self.engine.connect() as conn:
                exists = await store.get_by_name(conn, check_name(where, name)) is not None
            if exists:
                out.skipped.append(name)
                continue
            out.added.append(await self.create(name, config, field=where, name_field=where, sync_tools=sync_tools))
        return out

    async def import_file(self, path: str) -> None:
        """At start-up: the servers of MNEMO_MCP_CONFIG (a file like
        ~/.letta/mcp_config.json) that are not configured yet. Problems are
        logged; the server starts anyway."""
        file = Path(path).expanduser()
        try:
            data = json.loads(await asyncio.to_thread(file.read_text))
        except (OSError, ValueError) as exc:
            log.error("MNEMO_MCP_CONFIG: cannot read %s: %s", file, exc)
            return
        servers = data.get("mcpServers") if isinstance(data, dict) else None
        if not isinstance(servers, dict):
            log.error("MNEMO_MCP_CONFIG: %s has no \"mcpServers\" object", file)
            return
        for name, entry in servers.items():
            try:
                # Tools are listed in the background: a slow server does not hold up the start.
                result = await self.import_config({name: entry}, sync_tools=False)
            except (InvalidArgument, AlreadyExists) as exc:
                log.error("MNEMO_MCP_CONFIG: %s: server '%s' left out: %s", file, name, exc)
                continue
            for server in result.added:
                log.info("MCP server '%s' added from %s", server.server_name, file)
                task = asyncio.get_running_loop().create_task(self._sync_quietly(server.id))
                self._syncs.add(task)
                task.add_done_callback(self._syncs.discard)

    async def _sync_quietly(self, server_id: str, *, delete_vanished: bool = False) -> None:
        try:
            await self.sync_tools(await self._row(server_id), delete_vanished=delete_vanished, refresh=True)
        except (McpFailure, NotFound) as exc:
            log.warning("%s", exc)
