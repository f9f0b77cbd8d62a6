"""Every tool rule type, end to end: what the loop offers the model, when it
forces a call, and when it stops. The fake model records each request."""
from __future__ import annotations

import pytest
from mnemo.v1 import agents_pb2, agents_pb2_grpc, messages_pb2, messages_pb2_grpc

from tests.fakes.fake_llm import Reply, ToolCall
from tests.util import uid


@pytest.fixture(scope="module")
def agents(channel):
    return agents_pb2_grpc.AgentServiceStub(channel)


@pytest.fixture(scope="module")
def msgs(channel):
    return messages_pb2_grpc.MessageServiceStub(channel)


SEARCH = ToolCall("conversation_search", {"query": "anything"})
INSERT = ToolCall("memory_insert", {"label": "human", "new_string": "noted"})


def run(fake_llm, agents, msgs, rules, replies, *, agent_type="letta_v1_agent"):
    model = f"m-{uid()}"
    agent = agents.CreateAgent(agents_pb2.CreateAgentRequest(
        model=f"openai/{model}", agent_type=agent_type, tool_rules=rules,
        memory_blocks=[{"label": "human", "value": "Name: Ann"}],
    ))
    fake_llm.script(*replies, model=model)
    response = msgs.SendMessage(messages_pb2.SendMessageRequest(agent_id=agent.id, input={"string_value": "go"}))
    requests = [r.body for r in fake_llm.requests if r.model == model]
    return response, requests


def offered(body) -> list[str]:
    return sorted(t["function"]["name"] for t in body.get("tools", []))


def test_run_first_forces_the_first_call(fake_llm, agents, msgs):
    response, requests = run(fake_llm, agents, msgs, [{"type": "run_first", "tool_name": "conversation_search"}],
                             [Reply(tool_calls=[SEARCH]), Reply(text="done")])
    assert offered(requests[0]) == ["conversation_search"]
    assert requests[0]["tool_choice"] == {"type": "function", "function": {"name": "conversation_search"}}
    assert offered(requests[1]) == ["conversation_search", "memory_insert", "memory_replace"]
    assert requests[1]["tool_choice"] == "auto"
    assert response.stop_reason.stop_reason == "end_turn"


def test_exit_loop_ends_the_turn_after_the_tool(fake_llm, agents, msgs):
    response, requests = run(fake_llm, agents, msgs, [{"type": "exit_loop", "tool_name": "memory_insert"}],
                             [Reply(tool_calls=[INSERT]), Reply(text="never asked")])
    assert len(requests) == 1
    assert response.stop_reason.stop_reason == "tool_rule"
    assert [m.message_type for m in response.messages] == ["tool_call_message", "tool_return_message"]


def test_continue_loop_keeps_a_memgpt_agent_going_without_heartbeat(fake_llm, agents, msgs):
    search = ToolCall("conversation_search", {"query": "x", "request_heartbeat": False})
    reply = ToolCall("send_message", {"message": "found nothing"})
    response, requests = run(fake_llm, agents, msgs, [{"type": "continue_loop", "tool_name": "conversation_search"}],
                             [Reply(tool_calls=[search]), Reply(tool_calls=[reply])], agent_type="memgpt_agent")
    assert len(requests) == 2
    assert response.messages[-1].message_type == "assistant_message"
    assert response.stop_reason.stop_reason == "end_turn"


def test_without_continue_loop_a_memgpt_agent_stops_without_heartbeat(fake_llm, agents, msgs):
    search = ToolCall("conversation_search", {"query": "x", "request_heartbeat": False})
    response, requests = run(fake_llm, agents, msgs, [], [Reply(tool_calls=[search])], agent_type="memgpt_agent")
    assert len(requests) == 1 and response.stop_reason.stop_reason == "end_turn"


def test_constrain_child_tools_limits_the_next_step(fake_llm, agents, msgs):
    rule = {"type": "constrain_child_tools", "tool_name": "conversation_search", "children": ["memory_insert"]}
    response, requests = run(fake_llm, agents, msgs, [rule],
                             [Reply(tool_calls=[SEARCH]), Reply(tool_calls=[INSERT]), Reply(text="ok")])
    assert offered(requests[1]) == ["memory_insert"]
    assert requests[1]["tool_choice"] == {"type": "function", "function": {"name": "memory_insert"}}
    assert len(offered(requests[2])) == 3
    assert response.stop_reason.stop_reason == "end_turn"


def test_conditional_picks_the_default_child(fake_llm, agents, msgs):
    rule = {"type": "conditional", "tool_name": "conversation_search",
            "child_output_mapping": {"no such output": "memory_replace"}, "default_child": "memory_insert"}
    _, requests = run(fake_llm, agents, msgs, [rule],
                      [Reply(tool_calls=[SEARCH]), Reply(tool_calls=[INSERT]), Reply(text="ok")])
    assert offered(requests[1]) == ["memory_insert"]


def test_max_count_per_step(fake_llm, agents, msgs):
    rule = {"type": "max_count_per_step", "tool_name": "conversation_search", "max_count_limit": 1}
    response, requests = run(fake_llm, agents, msgs, [rule],
                             [Reply(tool_calls=[SEARCH]), Reply(tool_calls=[SEARCH]), Reply(text="ok")])
    assert "conversation_search" in offered(requests[0])
    assert "conversation_search" not in offered(requests[1])
    # The model called it again anyway: the violation is reported to it, not raised.
    returns = [m for m in response.messages if m.message_type == "tool_return_message"]
    assert returns[0].status == "success" and returns[1].status == "error"
    assert "conversation_search" in returns[1].tool_return
    assert response.stop_reason.stop_reason == "end_turn"


def test_parent_last_tool(fake_llm, agents, msgs):
    rule = {"type": "parent_last_tool", "tool_name": "conversation_search", "children": ["memory_insert"]}
    _, requests = run(fake_llm, agents, msgs, [rule],
                      [Reply(tool_calls=[SEARCH]), Reply(tool_calls=[INSERT]), Reply(text="ok")])
    assert "memory_insert" not in offered(requests[0])
    assert offered(requests[1]) == ["memory_insert"]


def test_required_before_exit(fake_llm, agents, msgs):
    rule = {"type": "required_before_exit", "tool_name": "memory_insert"}
    response, requests = run(fake_llm, agents, msgs, [rule],
                             [Reply(text="bye"), Reply(tool_calls=[INSERT]), Reply(text="bye for real")])
    assert len(requests) == 3
    note = requests[1]["messages"][-1]
    assert note["role"] == "user" and "memory_insert" in note["content"]
    assert response.stop_reason.stop_reason == "end_turn"
    assert response.messages[-1].content.string_value == "bye for real"


def test_rules_are_editable(agents, http):
    from google.protobuf import struct_pb2

    agent = agents.CreateAgent(agents_pb2.CreateAgentRequest(
        model="openai/gpt-4o-mini", tool_rules=[{"type": "exit_loop", "tool_name": "memory_insert"}]))
    rules = struct_pb2.ListValue()
    rules.append({"type": "run_first", "tool_name": "conversation_search"})
    updated = agents.UpdateAgent(agents_pb2.UpdateAgentRequest(agent_id=agent.id, tool_rules=rules))
    assert [(r.type, r.tool_name) for r in updated.tool_rules] == [("run_first", "conversation_search")]
    rest = http.patch(f"/v1/agents/{agent.id}", json={"tool_rules": [
        {"type": "max_count_per_step", "tool_name": "conversation_search", "max_count_limit": 2}]}).json()
    assert rest["tool_rules"] == [{"type": "max_count_per_step", "tool_name": "conversation_search",
                                   "children": [], "child_output_mapping": {}, "max_count_limit": 2}]
