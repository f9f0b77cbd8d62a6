"""The agent loop end to end: a real server, Postgres and Envoy; only the model
is the fake provider. Each test uses its own model name so scripted replies
never reach another test's agent."""
from __future__ import annotations

import json

import grpc
import pytest
from google.protobuf import json_format
from letta_client import Letta
from mnemo.v1 import agents_pb2, agents_pb2_grpc, messages_pb2, messages_pb2_grpc

from tests.fakes.fake_llm import Error, Reply, ToolCall
from tests.util import uid


@pytest.fixture(scope="module")
def agents(channel):
    return agents_pb2_grpc.AgentServiceStub(channel)


@pytest.fixture(scope="module")
def msgs(channel):
    return messages_pb2_grpc.MessageServiceStub(channel)


def make_agent(agents, model: str, *, human="The human's name is Bob.", **kwargs) -> agents_pb2.Agent:
    return agents.CreateAgent(agents_pb2.CreateAgentRequest(
        model=model, memory_blocks=[
            {"label": "human", "value": human}, {"label": "persona", "value": "I am Sam, a helpful agent."},
        ], **kwargs,
    ))


def send(msgs, agent_id, text, **kwargs) -> messages_pb2.SendMessageResponse:
    return msgs.SendMessage(messages_pb2.SendMessageRequest(
        agent_id=agent_id, messages=[{"role": "user", "content": {"string_value": text}}], **kwargs))


def types_of(messages) -> list[str]:
    return [m.message_type for m in messages]


def test_hello_world_agent_edits_its_own_memory_grpc_and_sdk(stack, fake_llm, agents, msgs):
    """The seeds' hello world: told a new name, the agent corrects its human block."""
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}")
    fake_llm.script(
        Reply(tool_calls=[ToolCall("memory_replace", {"label": "human", "old_string": "Bob",
                                                      "new_string": "Chad"})]),
        Reply(text="Nice to meet you, Chad!"),
        model=model,
    )
    response = send(msgs, agent.id, "My name isn't Bob, it's Chad.")
    assert types_of(response.messages) == ["tool_call_message", "tool_return_message", "assistant_message"]
    assert response.messages[0].tool_call.name == "memory_replace"
    assert response.messages[1].status == "success"
    assert response.messages[2].content.string_value == "Nice to meet you, Chad!"
    assert response.stop_reason.stop_reason == "end_turn"
    assert response.usage.step_count == 2 and response.usage.total_tokens > 0
    client = Letta(base_url=stack.http_base, max_retries=0)
    block = client.agents.blocks.retrieve("human", agent_id=agent.id)
    assert block.value == "The human's name is Chad."
    # The model saw the memory blocks in the system prompt, and the tools.
    first = [r for r in fake_llm.requests if r.model == model][0]
    system = first.body["messages"][0]
    assert system["role"] == "system" and "The human's name is Bob." in system["content"]
    assert {t["function"]["name"] for t in first.body["tools"]} >= {"memory_replace", "memory_insert"}
    # The second call saw the tool result.
    second = [r for r in fake_llm.requests if r.model == model][1]
    assert second.body["messages"][-1]["role"] == "tool"


def test_letta_client_messages_create_and_stream(stack, fake_llm, agents):
    model = f"m-{uid()}"
    client = Letta(base_url=stack.http_base, max_retries=0)
    agent = client.agents.create(model=f"openai/{model}", memory_blocks=[{"label": "human", "value": "Name: Ann"}])
    fake_llm.script(Reply(text="Hello Ann"), Reply(text="streamed hello"), Reply(text="token hello"), model=model)
    response = client.agents.messages.create(agent_id=agent.id, messages=[{"role": "user", "content": "hi"}])
    assert [m.message_type for m in response.messages] == ["assistant_message"]
    assert response.messages[0].content == "Hello Ann"
    assert response.stop_reason.stop_reason == "end_turn"
    chunks = list(client.agents.messages.stream(agent_id=agent.id, messages=[{"role": "user", "content": "again"}]))
    assert [c.message_type for c in chunks] == ["assistant_message", "stop_reason", "usage_statistics"]
    assert chunks[0].content == "streamed hello"
    # `streaming=True` on messages.create is served as SSE too (routed by the gateway).
    chunks = list(client.agents.messages.create(agent_id=agent.id, input="tokens please", streaming=True,
                                                stream_tokens=True))
    deltas = [c for c in chunks if c.message_type == "assistant_message"]
    assert len(deltas) > 1 and "".join(d.content for d in deltas) == "token hello"
    assert len({d.id for d in deltas}) == 1
    assert chunks[-1].message_type == "usage_statistics"


def test_sse_wire_format(stack, fake_llm, agents, http):
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}")
    fake_llm.script(Reply(text="over the wire"), model=model)
    with http.stream("POST", f"/v1/agents/{agent.id}/messages/stream",
                     json={"messages": [{"role": "user", "content": "hi"}]}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    events = [e for e in body.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert [p["message_type"] for p in payloads] == ["assistant_message", "stop_reason", "usage_statistics"]
    assert payloads[0]["content"] == "over the wire" and payloads[0]["run_id"].startswith("run-")


def test_tool_call_then_return_then_answer_with_conversation_search(fake_llm, agents, msgs):
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}")
    fake_llm.script(Reply(text="noted"), model=model)
    send(msgs, agent.id, "the secret word is pineapple-42")
    fake_llm.script(
        Reply(tool_calls=[ToolCall("conversation_search", {"query": "pineapple"})]),
        Reply(text="The word was pineapple-42."),
        model=model,
    )
    response = send(msgs, agent.id, "what was the secret word?")
    assert types_of(response.messages) == ["tool_call_message", "tool_return_message", "assistant_message"]
    result = json.loads(response.messages[1].tool_return)
    assert any("pineapple-42" in r["content"] for r in result["results"])


def test_grpc_step_streaming_and_token_streaming(fake_llm, agents, msgs):
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}")
    fake_llm.script(
        Reply(tool_calls=[ToolCall("memory_insert", {"label": "human", "new_string": "Likes tea."})]),
        Reply(text="I will remember."),
        model=model,
    )
    request = messages_pb2.SendMessageRequest(agent_id=agent.id, input={"string_value": "I like tea"})
    events = list(msgs.StreamMessages(request))
    assert types_of(events) == ["tool_call_message", "tool_return_message", "assistant_message", "stop_reason",
                                "usage_statistics"]
    assert events[0].step_id and events[0].step_id != events[2].step_id
    assert all(e.run_id == events[0].run_id for e in events[:-1])
    assert list(events[-1].run_ids) == [events[0].run_id]

    fake_llm.script(
        Reply(tool_calls=[ToolCall("memory_insert", {"label": "human", "new_string": "Has a cat."})],
              stream_chunks=5),
        Reply(text="Cats are great, I noted it.", stream_chunks=6),
        model=model,
    )
    request = messages_pb2.SendMessageRequest(agent_id=agent.id, input={"string_value": "I have a cat"},
                                              stream_tokens=True)
    events = list(msgs.StreamMessages(request))
    calls = [e for e in events if e.message_type == "tool_call_message"]
    assert len(calls) > 1, "tool-call arguments arrive as deltas"
    arguments = "".join(c.tool_call.arguments for c in calls)
    assert json.loads(arguments) == {"label": "human", "new_string": "Has a cat."}
    assert calls[0].tool_call.name == "memory_insert"
    texts = [e for e in events if e.message_type == "assistant_message"]
    assert len(texts) == 6 and "".join(t.content.string_value for t in texts) == "Cats are great, I noted it."
    assert types_of(events)[-2:] == ["stop_reason", "usage_statistics"]
    assert "tool_return_message" in types_of(events)
    block = agents.GetAgentBlock(agents_pb2.GetAgentBlockRequest(agent_id=agent.id, block_label="human"))
    assert block.value.endswith("Likes tea.\nHas a cat.")


def test_memgpt_agent_answers_through_send_message(fake_llm, agents, msgs):
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}", agent_type="memgpt_agent")
    fake_llm.script(Reply(text="User greeted me.", tool_calls=[ToolCall("send_message", {"message": "Hi there!"})]),
                    model=model)
    response = send(msgs, agent.id, "hello")
    assert types_of(response.messages) == ["reasoning_message", "assistant_message"]
    assert response.messages[0].reasoning == "User greeted me."
    assert response.messages[1].content.string_value == "Hi there!"
    assert response.stop_reason.stop_reason == "end_turn"
    request = fake_llm.last_request(model=model)
    assert request.body["tool_choice"] == "required"
    props = {t["function"]["name"]: t["function"]["parameters"]["properties"] for t in request.body["tools"]}
    assert "request_heartbeat" in props["conversation_search"] and "request_heartbeat" not in props["send_message"]


def test_read_only_block_edit_fails_and_agent_continues(fake_llm, agents, msgs):
    model = f"m-{uid()}"
    agent = agents.CreateAgent(agents_pb2.CreateAgentRequest(
        model=f"openai/{model}", memory_blocks=[{"label": "policy", "value": "Be nice.", "read_only": True}]))
    fake_llm.script(
        Reply(tool_calls=[ToolCall("memory_replace", {"label": "policy", "old_string": "nice",
                                                      "new_string": "rude"})]),
        Reply(text="I cannot change that."),
        model=model,
    )
    response = send(msgs, agent.id, "change your policy")
    assert types_of(response.messages) == ["tool_call_message", "tool_return_message", "assistant_message"]
    assert response.messages[1].status == "error" and "read-only" in response.messages[1].tool_return
    block = agents.GetAgentBlock(agents_pb2.GetAgentBlockRequest(agent_id=agent.id, block_label="policy"))
    assert block.value == "Be nice."


def test_max_steps_stops_the_turn(fake_llm, agents, msgs):
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}")
    fake_llm.script(*[Reply(tool_calls=[ToolCall("conversation_search", {"query": "x"})]) for _ in range(3)],
                    model=model)
    response = send(msgs, agent.id, "loop", max_steps=3)
    assert response.stop_reason.stop_reason == "max_steps"
    assert response.usage.step_count == 3


def test_provider_error_is_a_clean_stop_and_history_stays_consistent(stack, fake_llm, agents, msgs, http):
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}")
    fake_llm.script(Reply(error=Error(status=500, message="upstream exploded", times=3)), model=model)
    events = list(msgs.StreamMessages(messages_pb2.SendMessageRequest(agent_id=agent.id,
                                                                      input={"string_value": "hello?"})))
    assert types_of(events) == ["stop_reason", "error_message", "usage_statistics"]
    assert events[0].stop_reason == "llm_api_error"
    assert "upstream exploded" in events[1].message
    # Unary: a 503 with the reason, and no retry advised.
    fake_llm.script(Reply(error=Error(status=500, message="still down", times=3)), model=model)
    r = http.post(f"/v1/agents/{agent.id}/messages", json={"messages": [{"role": "user", "content": "again?"}]})
    assert r.status_code == 503 and "llm_api_error" in r.json()["detail"]
    assert r.headers.get("x-should-retry") == "false"
    # The inputs are kept, nothing else from the failed steps, and the agent still works.
    fake_llm.script(Reply(text="back online"), model=model)
    assert send(msgs, agent.id, "now?").messages[-1].content.string_value == "back online"
    listed = msgs.ListMessages(messages_pb2.ListMessagesRequest(agent_id=agent.id, order="asc")).messages
    assert [(m.message_type, m.content.string_value) for m in listed if m.message_type != "system_message"] == [
        ("user_message", "hello?"), ("user_message", "again?"), ("user_message", "now?"),
        ("assistant_message", "back online"),
    ]
    # SSE: the error arrives as `event: error` before [DONE]; the SDK raises.
    fake_llm.script(Reply(error=Error(status=500, message="down again", times=3)), model=model)
    with http.stream("POST", f"/v1/agents/{agent.id}/messages/stream", json={"input": "x"}) as r:
        body = "".join(r.iter_text())
    assert "event: error\ndata: {" in body and body.endswith("data: [DONE]\n\n")


def test_anthropic_path(fake_llm, agents, msgs):
    model = f"claude-{uid()}"
    agent = make_agent(agents, f"anthropic/{model}")
    fake_llm.script(
        Reply(tool_calls=[ToolCall("memory_insert", {"label": "human", "new_string": "Speaks French."})]),
        Reply(text="Noté !"),
        model=model,
    )
    response = send(msgs, agent.id, "Je parle français")
    assert types_of(response.messages) == ["tool_call_message", "tool_return_message", "assistant_message"]
    requests = [r for r in fake_llm.requests if r.model == model]
    assert requests[0].path.endswith("/v1/messages")
    assert "Bob" in json.dumps(requests[0].body["system"])  # memory blocks in the system prompt
    assert requests[1].body["messages"][-1]["content"][0]["type"] == "tool_result"
    # Anthropic agents see their memory with line numbers.
    assert "1→ The human's name is Bob." in json.dumps(requests[0].body["system"], ensure_ascii=False)


def test_messages_list_update_reset_and_context(fake_llm, agents, msgs, http):
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}")
    for i in range(3):
        fake_llm.script(Reply(text=f"answer {i}"), model=model)
        send(msgs, agent.id, f"question {i}")
    page = http.get(f"/v1/agents/{agent.id}/messages", params={"limit": 2}).json()  # newest first
    assert [m["message_type"] for m in page] == ["assistant_message", "user_message"]
    assert [m["content"] for m in page] == ["answer 2", "question 2"]
    older = http.get(f"/v1/agents/{agent.id}/messages", params={"limit": 2, "after": page[-1]["id"]}).json()
    assert [m.get("content") for m in older] == ["answer 1", "question 1"]
    oldest_first = http.get(f"/v1/agents/{agent.id}/messages", params={"order": "asc", "limit": 3}).json()
    assert [m["message_type"] for m in oldest_first] == ["system_message", "user_message", "assistant_message"]
    updated = http.patch(f"/v1/agents/{agent.id}/messages/{page[0]['id']}",
                         json={"message_type": "assistant_message", "content": "edited answer"}).json()
    assert updated["content"] == "edited answer"
    ctx = http.get(f"/v1/agents/{agent.id}/context").json()
    assert ctx["context_window_size_max"] == agent.llm_config.context_window
    assert ctx["num_tokens_core_memory"] > 0 and ctx["num_tokens_system"] > 0
    assert ctx["context_window_size_current"] >= ctx["num_tokens_core_memory"] + ctx["num_tokens_messages"]
    assert ctx["num_messages"] == 7  # system + 3 questions + 3 answers
    reset = http.patch(f"/v1/agents/{agent.id}/reset-messages", json={}).json()
    assert len(reset["message_ids"]) == 1
    assert http.get(f"/v1/agents/{agent.id}/context").json()["num_messages"] == 1
    # Reset keeps every message in recall.
    assert len(http.get(f"/v1/agents/{agent.id}/messages", params={"limit": 100}).json()) == 7


def test_compaction_keeps_the_agent_working_and_loses_nothing(fake_llm, agents, msgs, http):
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}", context_window_limit=2000, include_base_tools=False)
    not_summary = lambda body: "continuity" not in json.dumps(body["messages"][0])  # noqa: E731
    filler = "lorem ipsum dolor sit amet " * 20  # ~140 tokens per message
    events = []
    for i in range(12):
        fake_llm.script(Reply(text=f"ack {i}. " + filler), model=model, match=not_summary)
        out = list(msgs.StreamMessages(messages_pb2.SendMessageRequest(
            agent_id=agent.id, input={"string_value": f"fact {i}: the code is {1000 + i}. {filler}"})))
        events += out
        assert out[-2].stop_reason == "end_turn", out
    compactions = [e for e in events if e.message_type == "event_message"]
    assert compactions and compactions[0].event_type == "compaction"
    data = json_format.MessageToDict(compactions[0].event_data)
    assert data["context_tokens_after"] < data["context_tokens_before"]
    # The newest exchange is verbatim in context; the oldest is summarised.
    state = agents.GetAgent(agents_pb2.GetAgentRequest(agent_id=agent.id))
    assert len(state.message_ids) < 25
    last = fake_llm.last_request(model=model).body["messages"]
    assert "fact 11" in last[-1]["content"]
    assert any("earlier messages were moved out of your context" in (m.get("content") or "") for m in last)
    # Nothing is lost from recall.
    listed = http.get(f"/v1/agents/{agent.id}/messages", params={"limit": 1000, "order": "asc"}).json()
    texts = [m.get("content") for m in listed if m["message_type"] == "user_message"]
    assert any(isinstance(t, str) and t.startswith("fact 0:") for t in texts)
    assert sum(1 for t in texts if isinstance(t, str) and t.startswith("fact ")) == 12


def test_bad_input_is_rejected_and_nothing_is_stored(agents, msgs, http):
    agent = make_agent(agents, "openai/gpt-4o-mini")
    for body, field in (({}, "messages"), ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
                        ({"messages": [{"role": "user", "content": ""}]}, "messages[0].content"),
                        ({"input": "x", "max_steps": 0}, "max_steps")):
        r = http.post(f"/v1/agents/{agent.id}/messages", json=body)
        assert r.status_code == 400 and field in r.json()["detail"], (body, r.text)
    with pytest.raises(grpc.RpcError) as err:
        send(msgs, "agent-00000000-0000-0000-0000-000000000000", "hi")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    r = http.post("/v1/agents/agent-00000000-0000-0000-0000-000000000000/messages/stream", json={"input": "x"})
    assert r.status_code == 404
    assert http.get(f"/v1/agents/{agent.id}/messages").json() == []


def test_client_disconnect_mid_stream_leaves_the_agent_consistent(fake_llm, agents, msgs, http):
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}", include_base_tools=False)
    fake_llm.script(Reply(text=" ".join(["slow"] * 40), stream_chunks=40, chunk_delay_s=0.05), model=model)
    call = msgs.StreamMessages(messages_pb2.SendMessageRequest(
        agent_id=agent.id, input={"string_value": "tell me a long story"}, stream_tokens=True))
    first = next(call)
    assert first.message_type == "assistant_message"
    call.cancel()  # the client goes away mid-step
    run_id = first.run_id

    def run_state():
        return http.get(f"/v1/runs/{run_id}").json()

    import time
    deadline = time.monotonic() + 10
    while run_state()["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run_state()["status"] == "cancelled"
    # Nothing of the interrupted step was kept (no half-written assistant
    # message), but the input was: it is stored with the run's start.
    history = http.get(f"/v1/agents/{agent.id}/messages", params={"order": "asc"}).json()
    assert [(m["message_type"], m.get("content"), m.get("run_id")) for m in history
            if m["message_type"] != "system_message"] == [("user_message", "tell me a long story", run_id)]
    # The agent is free and works.
    fake_llm.script(Reply(text="still here"), model=model)
    assert send(msgs, agent.id, "hello again").messages[-1].content.string_value == "still here"


def test_message_buffer_autoclear(fake_llm, agents, msgs, http):
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}", message_buffer_autoclear=True)
    fake_llm.script(Reply(text="one"), Reply(text="two"), model=model)
    send(msgs, agent.id, "first")
    send(msgs, agent.id, "second")
    second = fake_llm.last_request(model=model).body["messages"]
    assert [m["role"] for m in second] == ["system", "user"] and second[-1]["content"] == "second"
    assert len(agents.GetAgent(agents_pb2.GetAgentRequest(agent_id=agent.id)).message_ids) == 1
    assert len(http.get(f"/v1/agents/{agent.id}/messages").json()) == 5  # all kept in recall


def test_anthropic_token_streaming_and_reasoning(fake_llm, agents, msgs):
    model = f"claude-{uid()}"
    agent = make_agent(agents, f"anthropic/{model}", include_base_tools=False)
    fake_llm.script(Reply(text="Bonjour tout le monde", reasoning="The user wants French.", stream_chunks=4),
                    model=model)
    events = list(msgs.StreamMessages(messages_pb2.SendMessageRequest(
        agent_id=agent.id, input={"string_value": "hello in French"}, stream_tokens=True)))
    reasoning = [e for e in events if e.message_type == "reasoning_message"]
    text = [e for e in events if e.message_type == "assistant_message"]
    assert "".join(r.reasoning for r in reasoning) == "The user wants French."
    assert "".join(t.content.string_value for t in text) == "Bonjour tout le monde" and len(text) > 1
    assert reasoning[0].otid != text[0].otid and len({t.otid for t in text}) == 1
    listed = msgs.ListMessages(messages_pb2.ListMessagesRequest(agent_id=agent.id, order="asc")).messages
    assert [m.message_type for m in listed][-2:] == ["reasoning_message", "assistant_message"]


def test_conversation_search_pages_through_history(fake_llm, agents, msgs):
    model = f"m-{uid()}"
    agent = make_agent(agents, f"openai/{model}")
    for i in range(4):
        fake_llm.script(Reply(text=f"noted {i}"), model=model)
        send(msgs, agent.id, f"banana fact number {i}")
    fake_llm.script(
        Reply(tool_calls=[ToolCall("conversation_search", {"query": "banana", "roles": ["user"], "limit": 2})]),
        Reply(tool_calls=[ToolCall("conversation_search", {"query": "banana", "roles": ["user"], "limit": 2,
                                                           "page": 1})]),
        Reply(text="done"),
        model=model,
    )
    response = send(msgs, agent.id, "list them all")
    pages = [json.loads(m.tool_return) for m in response.messages if m.message_type == "tool_return_message"]
    first = {r["content"] for r in pages[0]["results"]}
    second = {r["content"] for r in pages[1]["results"]}
    assert len(first) == 2 and len(second) == 2 and not first & second
    assert first | second == {f"banana fact number {i}" for i in range(4)}
