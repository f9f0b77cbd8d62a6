"""Human-in-the-loop: tools that need approval, client-side tools, and the
approval round trip over gRPC and REST."""
from __future__ import annotations

import json

import grpc
import pytest
from letta_client import Letta
from mnemo.v1 import agents_pb2, agents_pb2_grpc, messages_pb2, messages_pb2_grpc

from tests.fakes.fake_llm import Reply, ToolCall
from tests.util import uid


@pytest.fixture(scope="module")
def agents(channel):
    return agents_pb2_grpc.AgentServiceStub(channel)


@pytest.fixture(scope="module")
def msgs(channel):
    return messages_pb2_grpc.MessageServiceStub(channel)


def approval_agent(agents, model):
    return agents.CreateAgent(agents_pb2.CreateAgentRequest(
        model=f"openai/{model}", memory_blocks=[{"label": "human", "value": "Name: Ann"}],
        tool_rules=[{"type": "requires_approval", "tool_name": "memory_insert"}],
    ))


def test_approval_round_trip_grpc(fake_llm, agents, msgs):
    model = f"m-{uid()}"
    agent = approval_agent(agents, model)
    fake_llm.script(
        Reply(tool_calls=[ToolCall("memory_insert", {"label": "human", "new_string": "Likes jazz."})]),
        Reply(text="Saved."),
        model=model,
    )
    response = msgs.SendMessage(messages_pb2.SendMessageRequest(agent_id=agent.id, input={"string_value": "I like jazz"}))
    assert response.stop_reason.stop_reason == "requires_approval"
    assert [m.message_type for m in response.messages] == ["approval_request_message"]
    request = response.messages[0]
    call_id = request.tool_call.tool_call_id
    assert request.tool_call.name == "memory_insert"
    # Nothing ran yet, and a new message is refused while the call waits.
    block = agents.GetAgentBlock(agents_pb2.GetAgentBlockRequest(agent_id=agent.id, block_label="human"))
    assert "jazz" not in block.value
    with pytest.raises(grpc.RpcError) as err:
        msgs.SendMessage(messages_pb2.SendMessageRequest(agent_id=agent.id, input={"string_value": "hello?"}))
    assert err.value.code() == grpc.StatusCode.ABORTED and "approval" in err.value.details()
    # A wrong call id is rejected and changes nothing.
    with pytest.raises(grpc.RpcError) as err:
        msgs.SendMessage(messages_pb2.SendMessageRequest(agent_id=agent.id, messages=[
            {"type": "approval", "approvals": [{"tool_call_id": "call_nope", "approve": True}]}]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and call_id in err.value.details()
    # Approve: the call runs and the agent continues.
    response = msgs.SendMessage(messages_pb2.SendMessageRequest(agent_id=agent.id, messages=[
        {"type": "approval", "approvals": [{"type": "approval", "tool_call_id": call_id, "approve": True}]}]))
    assert [m.message_type for m in response.messages] == [
        "approval_response_message", "tool_return_message", "assistant_message"]
    assert response.messages[0].approvals[0].approve is True
    assert response.messages[1].status == "success"
    assert response.stop_reason.stop_reason == "end_turn"
    block = agents.GetAgentBlock(agents_pb2.GetAgentBlockRequest(agent_id=agent.id, block_label="human"))
    assert block.value.endswith("Likes jazz.")
    tool_result = fake_llm.last_request(model=model).body["messages"][-1]
    assert tool_result["role"] == "tool" and tool_result["tool_call_id"] == call_id


def test_denial_over_rest_and_letta_client(stack, fake_llm, agents, http):
    model = f"m-{uid()}"
    agent = approval_agent(agents, model)
    fake_llm.script(
        Reply(tool_calls=[ToolCall("memory_insert", {"label": "human", "new_string": "Is a spy."})]),
        Reply(text="Understood, I will not save that."),
        model=model,
    )
    r = http.post(f"/v1/agents/{agent.id}/messages", json={"input": "remember I'm a spy"}).json()
    assert r["stop_reason"]["stop_reason"] == "requires_approval"
    req = r["messages"][0]
    assert req["message_type"] == "approval_request_message"
    r = http.post(f"/v1/agents/{agent.id}/messages", json={"input": "hi"})
    assert r.status_code == 409 and "approval" in r.json()["detail"]
    client = Letta(base_url=stack.http_base, max_retries=0)
    answer = client.agents.messages.create(agent_id=agent.id, messages=[{
        "type": "approval", "approvals": [{"type": "approval", "tool_call_id": req["tool_call"]["tool_call_id"],
                                           "approve": False, "reason": "privacy"}]}])
    kinds = [m.message_type for m in answer.messages]
    assert kinds == ["approval_response_message", "tool_return_message", "assistant_message"]
    assert answer.messages[1].status == "error" and "privacy" in answer.messages[1].tool_return
    assert "spy" not in client.agents.blocks.retrieve("human", agent_id=agent.id).value
    # Without a pending request an approval is refused.
    r = http.post(f"/v1/agents/{agent.id}/messages", json={"messages": [
        {"type": "approval", "approve": True, "approval_request_id": req["id"]}]})
    assert r.status_code == 400 and "waiting for approval" in r.json()["detail"]


def test_client_side_tool_result(fake_llm, agents, msgs, http):
    model = f"m-{uid()}"
    agent = agents.CreateAgent(agents_pb2.CreateAgentRequest(model=f"openai/{model}", include_base_tools=False))
    fake_llm.script(
        Reply(tool_calls=[ToolCall("read_local_file", {"path": "notes.txt"})]),
        Reply(text="Your notes say: buy milk."),
        model=model,
    )
    client_tools = [{"name": "read_local_file", "description": "Reads a file on the user's machine.",
                     "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                                    "required": ["path"]}}]
    r = http.post(f"/v1/agents/{agent.id}/messages", json={"input": "what do my notes say?",
                                                             "client_tools": client_tools}).json()
    assert r["stop_reason"]["stop_reason"] == "requires_approval"
    call = r["messages"][0]["tool_call"]
    assert call["name"] == "read_local_file" and json.loads(call["arguments"]) == {"path": "notes.txt"}
    offered = fake_llm.last_request(model=model).body["tools"]
    assert [t["function"]["name"] for t in offered] == ["read_local_file"]
    r = http.post(f"/v1/agents/{agent.id}/messages", json={"messages": [{"type": "tool_return", "tool_returns": [
        {"tool_call_id": call["tool_call_id"], "status": "success", "tool_return": "buy milk"}]}]}).json()
    assert [m["message_type"] for m in r["messages"]] == [
        "approval_response_message", "tool_return_message", "assistant_message"]
    assert r["messages"][1]["tool_return"] == "buy milk"
    assert r["messages"][-1]["content"] == "Your notes say: buy milk."
    # Streaming works the same way.
    fake_llm.script(Reply(tool_calls=[ToolCall("read_local_file", {"path": "todo.txt"})]), model=model)
    events = list(msgs.StreamMessages(messages_pb2.SendMessageRequest(
        agent_id=agent.id, input={"string_value": "and my todo list?"}, client_tools=client_tools)))
    assert [e.message_type for e in events] == ["approval_request_message", "stop_reason", "usage_statistics"]
    assert events[1].stop_reason == "requires_approval"
