"""Mnemo as an MCP server: every agent exposed as MCP tools, so that MCP clients
(Claude Desktop, IDEs, other agents) can use Mnemo's agents.

The endpoint is the official SDK's Streamable HTTP server (both protocol eras:
2026-07-28 clients use ``server/discover`` and stateless requests, older ones
the ``initialize`` handshake and a session). It listens on 127.0.0.1 only
(``MNEMO_MCP_PORT``, a free port by default); the REST gateway routes
``/mcp`` to it, behind the same host/origin guard as the REST API. With a
server password set, every request needs ``Authorization: Bearer <password>``.

For each agent, four tools (``<agent>`` is the agent's name made safe for a
tool name, with the end of its id when two agents' names collide):

- ``<agent>__send_message(message)``: a turn of the agent; returns its reply;
- ``<agent>__read_memory_block(label)``: the value of a core memory block;
- ``<agent>__edit_memory_block(label, value)``: replaces a block's value;
- ``<agent>__search_archival(query, top_k)``: searches its archival memory.

One more, ``list_agents``, lists the agents with their ids and tool prefixes.
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import socket
from typing import Any

from google.protobuf import json_format, struct_pb2
from mnemo.v1 import agents_pb2, messages_pb2, passages_pb2

from .. import __version__
from ..errors import MnemoError

log = logging.getLogger("mnemo.mcp")

ENDPOINT_PATH = "/mcp"
ACTIONS = {
    "send_message": ("Sends a message to the agent '{name}' ({id}) and returns its reply.",
                     {"type": "object", "properties": {"message": {"type": "string", "description": "What to say."}},
                      "required": ["message"]}),
    "read_memory_block": ("Reads a core memory block of the agent '{name}' ({id}); its labels: {labels}.",
                          {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}),
    "edit_memory_block": ("Replaces the value of a core memory block of the agent '{name}' ({id}); "
                          "its labels: {labels}.",
                          {"type": "object", "properties": {"label": {"type": "string"}, "value": {"type": "string"}},
                           "required": ["label", "value"]}),
    "search_archival": ("Searches the archival memory of the agent '{name}' ({id}).",
                        {"type": "object", "properties": {
                            "query": {"type": "string"},
                            "top_k": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5}},
                         "required": ["query"]}),
}
LIST_AGENTS = "list_agents"


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:40]
    return slug or "agent"


def tool_prefixes(agents: list[agents_pb2.Agent]) -> dict[str, agents_pb2.Agent]:
    """Tool-name prefix -> agent; a name shared by several agents gets the end of each id."""
    counts: dict[str, int] = {}
    for agent in agents:
        counts[_slug(agent.name)] = counts.get(_slug(agent.name), 0) + 1
    out = {}
    for agent in agents:
        slug = _slug(agent.name)
        prefix = slug if counts[slug] == 1 else f"{slug[:30]}_{agent.id[-8:]}"
        out[prefix] = agent
    return out


class McpEndpoint:
    """The SDK server exposing the agents, and its HTTP listener."""

    def __init__(self, services: Any, password: str | None, port: int = 0) -> None:
        self.s = services
        self.password = password
        self.port = port
        self._uvicorn: Any = None
        self._task: asyncio.Task | None = None
        self.app = self._build()

    # -- the MCP server ---------------------------------------------------------

    async def _agents(self) -> dict[str, agents_pb2.Agent]:
        agents: list[agents_pb2.Agent] = []
        after: str | None = None
        while True:  # every agent, a page at a time, oldest first
            request = agents_pb2.ListAgentsRequest(limit=1000, order="asc")
            if after:
                request.after = after
            page = list(await self.s.agents.list(request))
            agents.extend(page)
            if len(page) < 1000:
                return tool_prefixes(agents)
            after = page[-1].id

    async def _tools(self) -> list[Any]:
        import mcp_types as types

        tools = [types.Tool(name=LIST_AGENTS, description="Lists the agents of this Mnemo server.",
                            input_schema={"type": "object", "properties": {}})]
        for prefix, agent in (await self._agents()).items():
            labels = ", ".join(b.label for b in agent.memory.blocks) or "none"
            for action, (description, schema) in ACTIONS.items():
                tools.append(types.Tool(name=f"{prefix}__{action}", input_schema=schema,
                                        description=description.format(name=agent.name, id=agent.id, labels=labels)))
        return tools

    async def _call(self, name: str, args: dict[str, Any]) -> str:
        if name == LIST_AGENTS:
            return json.dumps([{"id": a.id, "name": a.name, "tool_prefix": p, "description": a.description}
                               for p, a in (await self._agents()).items()], ensure_ascii=False)
        prefix, sep, action = name.rpartition("__")
        agents = await self._agents()
        if not sep or action not in ACTIONS or prefix not in agents:
            raise LookupError(f"Unknown tool '{name}' (list_agents lists the agents)")
        agent = agents[prefix]
        if action == "send_message":
            return await self._send(agent.id, str(args.get("message", "")))
        if action == "read_memory_block":
            return (await self.s.agents.get_block(agent.id, str(args.get("label", "")))).value
        if action == "edit_memory_block":
            block = await self.s.agents.update_block(agents_pb2.UpdateAgentBlockRequest(
                agent_id=agent.id, block_label=str(args.get("label", "")), value=str(args.get("value", ""))))
            return f"Block '{block.label}' now holds {len(block.value)} characters."
        top_k = args.get("top_k", 5)
        response = await self.s.passages.search_agent(passages_pb2.SearchAgentPassagesRequest(
            agent_id=agent.id, query=str(args.get("query", "")), top_k=int(top_k) if isinstance(top_k, int) else 5))
        return json.dumps([{"content": r.content, "timestamp": r.timestamp, "tags": list(r.tags)}
                           for r in response.results], ensure_ascii=False)

    async def _send(self, agent_id: str, message: str) -> str:
        request = messages_pb2.SendMessageRequest(agent_id=agent_id, input=struct_pb2.Value(string_value=message))
        response = await self.s.messages.send(request)
        replies, calls = [], []
        for m in response.messages:
            data = json_format.MessageToDict(m, preserving_proto_field_name=True)
            if m.message_type == "assistant_message":
                content = data.get("content")
                replies.append(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False))
            elif m.message_type == "tool_call_message":
                calls.append((data.get("tool_call") or {}).get("name", "?"))
        text = "\n".join(replies) or "(the agent did not reply)"
        stop = response.stop_reason.stop_reason if response.HasField("stop_reason") else ""
        if stop and stop != "end_turn":
            text += f"\n[stop reason: {stop}]"
        return text

    def _build(self) -> Any:
        import mcp_types as types
        from mcp.server.lowlevel import Server
        from mcp.server.transport_security import TransportSecuritySettings

        endpoint = self

        async def list_tools(ctx, params) -> Any:
            return types.ListToolsResult(tools=await endpoint._tools())

        async def call_tool(ctx, params) -> Any:
            try:
                text = await endpoint._call(params.name, dict(params.arguments or {}))
                return types.CallToolResult(content=[types.TextContent(type="text", text=text)])
            except (MnemoError, LookupError, ValueError) as exc:
                return types.CallToolResult(content=[types.TextContent(type="text", text=str(exc))], is_error=True)

        server = Server("mnemo", version=__version__,
                        instructions="Each Mnemo agent is a set of tools named <agent>__<action>; "
                                     "list_agents lists them.",
                        on_list_tools=list_tools, on_call_tool=call_tool)
        # Host and origin are checked by the gateway's guard (the names it answers to).
        app = server.streamable_http_app(
            streamable_http_path=ENDPOINT_PATH,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        return self._guarded(app)

    def _guarded(self, app: Any) -> Any:
        """The password check in front of the SDK's app."""
        if not self.password:
            return app
        expected = f"Bearer {self.password}".encode()

        async def guarded(scope, receive, send):
            if scope["type"] == "http":
                given = dict(scope.get("headers") or []).get(b"authorization", b"")
                if not hmac.compare_digest(given, expected):
                    body = json.dumps({"detail": "missing or wrong password: send 'authorization: Bearer "
                                                 "<MNEMO_SERVER_PASSWORD>'"}).encode()
                    await send({"type": "http.response.start", "status": 401, "headers": [
                        (b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
                    await send({"type": "http.response.body", "body": body})
                    return
            await app(scope, receive, send)

        return guarded

    # -- the listener -------------------------------------------------------------

    async def start(self) -> int:
        """Starts listening on 127.0.0.1; returns the port."""
        import uvicorn

        class _Server(uvicorn.Server):
            # The server process owns SIGINT/SIGTERM (app.serve); uvicorn must not take them.
            def capture_signals(self):  # type: ignore[override]
                return contextlib.nullcontext()

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", access_log=False)
        self._uvicorn = _Server(config)
        self._task = asyncio.create_task(self._uvicorn.serve(sockets=[sock]), name="mcp-endpoint")
        for _ in range(200):
            if self._uvicorn.started or self._task.done():
                break
            await asyncio.sleep(0.05)
        if self._task.done():
            self._task.result()
        return self.port

    async def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 10)
            except (TimeoutError, Exception):  # noqa: BLE001
                self._task.cancel()
