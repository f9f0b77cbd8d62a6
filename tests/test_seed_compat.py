"""Letta seed examples that must work verbatim through the gateway: older
spellings the docs still show, and routes the docs' reference names."""
from __future__ import annotations

import json
import time

import grpc
import pytest
from letta_client.types.agent_state import Memory
from mnemo.v1 import agents_pb2, agents_pb2_grpc

from tests.fakes.fake_llm import Reply
from tests.util import Rest, uid


@pytest.fixture(scope="module")
def agents(channel):
    return agents_pb2_grpc.AgentServiceStub(channel)


@pytest.fixture(scope="module")
def rest(http):
    return Rest(http)


def make_agent(agents, model: str) -> agents_pb2.Agent:
    return agents.CreateAgent(agents_pb2.CreateAgentRequest(
        model=model, memory_blocks=[
            {"label": "human", "value": "The human's name is Bob."},
            {"label": "persona", "value": "I am Sam, a helpful agent.", "limit": 4000},
        ],
    ))


def test_seed_streaming_curl_with_text_spelling(fake_llm, agents, http, rest):
    """The seeds' streaming curl sends `{"role": "user", "text": "..."}`."""
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}")
    fake_llm.script(Reply(text="going well"), model=model)
    with http.stream("POST", f"/v1/agents/{agent.id}/messages/stream",
                     json={"messages": [{"role": "user", "text": "hows it going????"}]}) as r:
        assert r.status_code == 200, r.read()
        body = "".join(r.iter_text())
    payloads = [json.loads(e.removeprefix("data: ")) for e in body.split("\n\n") if e and e != "data: [DONE]"]
    assert [p["message_type"] for p in payloads] == ["assistant_message", "stop_reason", "usage_statistics"]
    assert payloads[0]["content"] == "going well"
    # The model saw the text, and history keeps it as the user's message.
    request = fake_llm.last_request(model=model)
    assert request is not None and "hows it going????" in json.dumps(request.body)
    history = rest.get(f"/v1/agents/{agent.id}/messages", params={"limit": 50})
    users = [m for m in history if m["message_type"] == "user_message"]
    assert users and users[-1]["content"] == "hows it going????"


def test_text_and_content_together_are_refused(agents, rest):
    agent = make_agent(agents, f"openai/m-{uid()}")
    rest.post(f"/v1/agents/{agent.id}/messages",
              {"messages": [{"role": "user", "text": "a", "content": "b"}]},
              expect=400, contains="messages[0].text")
    rest.post(f"/v1/agents/{agent.id}/messages",
              {"messages": [{"role": "user", "text": "   "}]}, expect=400, contains="messages[0].text")


def test_core_memory_route_rest_and_grpc(agents, rest):
    """`GET /v1/agents/{agent_id}/core-memory` ("Retrieve Agent Memory")."""
    agent = make_agent(agents, f"openai/m-{uid()}")
    body = rest.get(f"/v1/agents/{agent.id}/core-memory")
    memory = Memory.model_validate(body)  # the official SDK's own type
    assert [b.label for b in memory.blocks] == ["human", "persona"]
    assert memory.blocks[1].limit == 4000 and memory.blocks[0].value == "The human's name is Bob."
    assert memory.agent_type == agent.agent_type
    via_grpc = agents.GetAgentMemory(agents_pb2.GetAgentMemoryRequest(agent_id=agent.id))
    assert [b.label for b in via_grpc.blocks] == ["human", "persona"]
    rest.get("/v1/agents/agent-00000000-0000-0000-0000-000000000000/core-memory", expect=404, contains="agent")
    with pytest.raises(grpc.RpcError) as err:
        agents.GetAgentMemory(agents_pb2.GetAgentMemoryRequest(agent_id=""))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def wait_for(predicate, timeout_s: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_active_runs_and_delete_run(fake_llm, agents, rest):
    """`GET /v1/runs/active` lists what has not ended; `DELETE /v1/runs/{id}`
    removes an ended run (refusing a running one) and keeps its messages."""
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}")
    other = make_agent(agents, f"openai/m-{uid()}")
    fake_llm.script(Reply(text="slow answer", delay_s=3.0), model=model)
    run = rest.post(f"/v1/agents/{agent.id}/messages/async",
                    {"messages": [{"role": "user", "content": "take your time"}]})
    active = rest.get("/v1/runs/active", params={"agent_ids": [agent.id, other.id]})
    assert [r["id"] for r in active] == [run["id"]] and active[0]["status"] in ("created", "running")
    rest("DELETE", f"/v1/runs/{run['id']}", expect=400, contains="cancel it first")

    wait_for(lambda: rest.get(f"/v1/runs/{run['id']}")["status"] == "completed", what="the run to end")
    assert rest.get("/v1/runs/active", params={"agent_ids": [agent.id]}) == []
    deleted = rest("DELETE", f"/v1/runs/{run['id']}")
    assert deleted["id"] == run["id"] and deleted["status"] == "completed"
    rest.get(f"/v1/runs/{run['id']}", expect=404, contains=run["id"])
    rest("DELETE", f"/v1/runs/{run['id']}", expect=404)
    history = rest.get(f"/v1/agents/{agent.id}/messages", params={"limit": 50, "order": "asc"})
    assert [m["content"] for m in history if m["message_type"] in ("user_message", "assistant_message")] == [
        "take your time", "slow answer"]


def test_create_agent_with_the_llm_spelling(rest):
    """The seeds' tool-variables curl creates its agent with `"llm"`."""
    agent = rest.post("/v1/agents/", {
        "memory_blocks": [], "llm": "openai/gpt-4o-mini", "embedding": "openai/text-embedding-3-small",
        "tool_exec_environment_variables": {"COMPOSIO_ENTITY": "banana"},
    })
    assert agent["llm_config"]["model"] == "gpt-4o-mini" and agent["model"] == "openai/gpt-4o-mini"
    both = rest.post("/v1/agents/", {"llm": "openai/gpt-4o-mini", "model": "openai/gpt-4o-mini"})
    assert both["llm_config"]["model"] == "gpt-4o-mini"
    rest.post("/v1/agents/", {"llm": "openai/gpt-4o-mini", "model": "openai/gpt-4o"}, expect=400, contains="llm")


def test_upsert_base_tools_returns_every_builtin_idempotently(rest):
    """`POST /v1/tools/add-base-tools` ("Upsert Base Tools")."""
    from mnemo_server.tools.builtin import BUILTIN_TOOLS

    count = rest.get("/v1/tools/count")
    first = rest.post("/v1/tools/add-base-tools")
    assert [t["name"] for t in first] == list(BUILTIN_TOOLS)
    for tool in first:
        assert tool["json_schema"] == BUILTIN_TOOLS[tool["name"]].json_schema
        assert tool["tool_type"].startswith("letta_")
    again = rest.post("/v1/tools/add-base-tools", {})
    assert [t["id"] for t in again] == [t["id"] for t in first]  # restored in place, not duplicated
    assert rest.get("/v1/tools/count") == count
