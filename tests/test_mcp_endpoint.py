"""Mnemo as an MCP server: the /mcp endpoint behind the gateway, driven by the
official SDK's own client in both protocol eras (2026-07-28 through
server/discover, 2025-11-25 through the initialize handshake), with the server
password required."""
from __future__ import annotations

import asyncio
import json
import shutil

import httpx
import pytest

from tests.fakes.fake_llm import Reply
from tests.harness import make_stack
from tests.util import uid

PASSWORD = "mcp-endpoint-pw"


@pytest.fixture(scope="module")
def locked(fake_llm):
    running = make_stack(llm_base_url=fake_llm.base_url, extra_env={"MNEMO_SERVER_PASSWORD": PASSWORD}).start()
    yield running
    running.stop()
    shutil.rmtree(running.data_dir, ignore_errors=True)


def _client(url: str, mode: str, password: str | None):
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    headers = {"Authorization": f"Bearer {password}"} if password else {}
    http = create_mcp_http_client(headers=headers)
    return Client(streamable_http_client(url, http_client=http), mode=mode), http


async def _session(url: str, mode: str, agent: dict, model: str) -> dict:
    client, http = _client(url, mode, PASSWORD)
    async with http, client:
        out: dict = {"protocol": client.protocol_version}
        tools = {t.name: t for t in (await client.list_tools()).tools}
        prefix = next(p for p in (a["tool_prefix"] for a in json.loads(
            (await client.call_tool("list_agents", {})).content[0].text)) if p.startswith(agent["name"][:10]))
        out["tools"] = sorted(n for n in tools if n.startswith(prefix + "__"))
        out["read"] = (await client.call_tool(f"{prefix}__read_memory_block", {"label": "human"})).content[0].text
        edit = await client.call_tool(f"{prefix}__edit_memory_block", {"label": "human", "value": f"Bo ({mode})"})
        out["edit_error"] = edit.is_error
        out["after"] = (await client.call_tool(f"{prefix}__read_memory_block", {"label": "human"})).content[0].text
        reply = await client.call_tool(f"{prefix}__send_message", {"message": "hello"})
        out["reply"] = reply.content[0].text
        missing = await client.call_tool(f"{prefix}__read_memory_block", {"label": "nope"})
        out["missing"] = (missing.is_error, missing.content[0].text)
        search = await client.call_tool(f"{prefix}__search_archival", {"query": "anything"})
        out["search"] = (search.is_error, search.content[0].text)
        return out


@pytest.mark.parametrize("mode, revision", [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
def test_agents_are_tools_for_the_sdk_client(locked, fake_llm, mode, revision):
    headers = {"Authorization": f"Bearer {PASSWORD}"}
    model = f"m-{uid()}"
    with httpx.Client(base_url=locked.http_base, headers=headers, timeout=30) as http:
        agent = http.post("/v1/agents", json={"name": f"helper-{uid()}", "model": f"openai/{model}",
                                              "memory_blocks": [{"label": "human", "value": "Ann"}]}).json()
    fake_llm.script(Reply(text="Hi from Mnemo"), model=model)
    out = asyncio.run(_session(f"{locked.http_base}/mcp", mode, agent, model))
    assert out["protocol"] == revision
    assert [t.rsplit("__", 1)[1] for t in out["tools"]] == [
        "edit_memory_block", "read_memory_block", "search_archival", "send_message"]
    assert out["read"] == "Ann" and out["edit_error"] is False and out["after"] == f"Bo ({mode})"
    assert out["reply"] == "Hi from Mnemo"
    assert out["missing"][0] is True and "nope" in out["missing"][1]
    assert out["search"][0] is False


def test_the_endpoint_needs_the_password(locked):
    async def attempt(password):
        client, http = _client(f"{locked.http_base}/mcp", "auto", password)
        async with http, client:
            return client.protocol_version

    for password in (None, "wrong"):
        with pytest.raises(BaseException):  # noqa: B017 - the SDK's error for an HTTP 401 (an exception group)
            asyncio.run(attempt(password))
    assert asyncio.run(attempt(PASSWORD)) == "2026-07-28"
    r = httpx.post(f"{locked.http_base}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert r.status_code == 401 and "password" in r.text
