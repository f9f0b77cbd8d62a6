"""OpenAI chat completions answered by an agent: the official `openai` SDK
talks to a Mnemo agent through the gateway (`/v1/chat/completions` with the
agent's id as model, and Letta's `/v1/voice-beta/{agent_id}/chat/completions`),
and the same RPCs over gRPC."""
from __future__ import annotations

import json

import grpc
import openai
import pytest
from mnemo.v1 import agents_pb2, agents_pb2_grpc, chat_pb2, chat_pb2_grpc

from tests.fakes.fake_llm import Error, Reply
from tests.util import Rest, uid


@pytest.fixture(scope="module")
def agents(channel):
    return agents_pb2_grpc.AgentServiceStub(channel)


@pytest.fixture(scope="module")
def chat(channel):
    return chat_pb2_grpc.ChatCompletionServiceStub(channel)


@pytest.fixture(scope="module")
def oai(stack):
    with openai.OpenAI(base_url=f"{stack.http_base}/v1", api_key="unused", max_retries=0, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def rest(http):
    return Rest(http)


def make_agent(agents, fake_llm, *replies: Reply) -> tuple[agents_pb2.Agent, str]:
    model = f"m-{uid()}"
    agent = agents.CreateAgent(agents_pb2.CreateAgentRequest(
        model=f"openai/{model}", include_base_tools=False,
        memory_blocks=[{"label": "human", "value": "The human's name is Bob."}],
    ))
    if replies:
        fake_llm.script(*replies, model=model)
    return agent, model


def sse_events(body: str) -> list[str]:
    return [e.removeprefix("data: ") for e in body.split("\n\n") if e.strip()]


def test_openai_sdk_talks_to_an_agent(fake_llm, agents, oai, rest):
    agent, model = make_agent(agents, fake_llm, Reply(text="Hello Bob, nice to see you."))
    completion = oai.chat.completions.create(
        model=agent.id, user="end-user-7",
        messages=[{"role": "system", "content": "ignored: the agent has its own system prompt"},
                  {"role": "user", "content": "hi, it's me"}],
    )
    assert completion.object == "chat.completion" and completion.model == agent.id
    assert completion.id.startswith("chatcmpl-run-")
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.index == 0 and choice.finish_reason == "stop"
    assert choice.message.role == "assistant" and choice.message.content == "Hello Bob, nice to see you."
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens > 0
    assert completion.created > 1_700_000_000
    # Only the last message reached the model, as the agent's own user message.
    sent = json.dumps(fake_llm.last_request(model=model).body)
    assert "hi, it's me" in sent and "ignored: the agent" not in sent
    history = rest.get(f"/v1/agents/{agent.id}/messages", params={"limit": 50})
    users = [m for m in history if m["message_type"] == "user_message"]
    assert users[-1]["content"] == "hi, it's me" and users[-1]["sender_id"] == "end-user-7"
    assert users[-1]["run_id"] == completion.id.removeprefix("chatcmpl-")


def test_streaming_through_the_sdk_with_usage(fake_llm, agents, oai):
    agent, _ = make_agent(agents, fake_llm, Reply(text="one two three four five", stream_chunks=5))
    stream = oai.chat.completions.create(
        model=agent.id, messages=[{"role": "user", "content": [{"type": "text", "text": "count"}]}],
        stream=True, stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" and c.model == agent.id for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-run-")
    assert chunks[0].choices[0].delta.role == "assistant"
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(texts) >= 3 and "".join(texts) == "one two three four five"
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finish] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_sse_wire_format_ends_with_done(fake_llm, agents, http):
    agent, _ = make_agent(agents, fake_llm, Reply(text="plain stream", stream_chunks=2))
    with http.stream("POST", "/v1/chat/completions",
                     json={"model": agent.id, "stream": True,
                           "messages": [{"role": "user", "content": "go"}]}) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events("".join(r.iter_text()))
    assert events[-1] == "[DONE]" and events.count("[DONE]") == 1
    payloads = [json.loads(e) for e in events[:-1]]
    assert payloads[-1]["choices"][0]["finish_reason"] == "stop"
    assert "usage" not in payloads[-1]  # not asked for


def test_letta_voice_route(fake_llm, agents, http):
    agent, _ = make_agent(agents, fake_llm, Reply(text="voice answer"), Reply(text="voice stream"))
    r = http.post(f"/v1/voice-beta/{agent.id}/chat/completions",
                  json={"messages": [{"role": "user", "content": "speak"}]})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "voice answer"
    with http.stream("POST", f"/v1/voice-beta/{agent.id}/chat/completions",
                     json={"model": agent.id, "stream": True,
                           "messages": [{"role": "user", "content": "speak again"}]}) as r:
        assert r.status_code == 200, r.read()
        events = sse_events("".join(r.iter_text()))
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1]
                   if json.loads(e).get("choices"))
    assert text == "voice stream"


@pytest.mark.parametrize(("body", "field"), [
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"model": "AGENT", "messages": []}, "messages"),
    ({"model": "AGENT", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]},
     "messages[1].role"),
    ({"model": "AGENT", "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
    ({"model": "AGENT", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}, "messages[0].content[0].type"),
    ({"model": "AGENT", "messages": [{"role": "user", "content": "  "}]}, "messages[0].content"),
    ({"model": "AGENT", "temperature": 0.2, "messages": [{"role": "user", "content": "x"}]}, "temperature"),
    ({"model": "AGENT", "n": 2, "messages": [{"role": "user", "content": "x"}]}, "n"),
    ({"model": "AGENT", "tools": [{"type": "function", "function": {"name": "f"}}],
      "messages": [{"role": "user", "content": "x"}]}, "tools"),
    ({"model": "AGENT", "response_format": {"type": "json_object"},
      "messages": [{"role": "user", "content": "x"}]}, "response_format"),
])
def test_bad_requests_name_the_field(fake_llm, agents, http, body, field):
    agent, model = make_agent(agents, fake_llm)
    body = json.loads(json.dumps(body).replace("AGENT", agent.id))
    for stream in (False, True):
        r = http.post("/v1/chat/completions", json={**body, "stream": stream})
        assert r.status_code == 400, (stream, r.text)
        assert field in r.json()["detail"], r.text
    assert fake_llm.last_request(model=model) is None  # nothing reached the model


def test_unknown_agent_and_mismatched_path(agents, fake_llm, http, oai):
    with pytest.raises(openai.NotFoundError):
        oai.chat.completions.create(model="agent-00000000-0000-0000-0000-000000000000",
                                    messages=[{"role": "user", "content": "x"}])
    agent, _ = make_agent(agents, fake_llm)
    r = http.post(f"/v1/voice-beta/{agent.id}/chat/completions",
                  json={"model": "agent-00000000-0000-0000-0000-000000000000",
                        "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 400 and "model" in r.json()["detail"]


def test_provider_failure_unary_and_mid_stream(fake_llm, agents, oai):
    agent, _ = make_agent(agents, fake_llm, Reply(error=Error(400, "the model refused")),
                          Reply(error=Error(400, "the model refused again")))
    with pytest.raises(openai.APIStatusError) as failed:
        oai.chat.completions.create(model=agent.id, messages=[{"role": "user", "content": "x"}])
    assert failed.value.status_code == 503 and "refused" in str(failed.value)
    stream = oai.chat.completions.create(model=agent.id, messages=[{"role": "user", "content": "y"}], stream=True)
    with pytest.raises(openai.APIError) as in_stream:
        list(stream)
    assert "refused again" in str(in_stream.value)


def test_grpc(fake_llm, agents, chat):
    agent, _ = make_agent(agents, fake_llm, Reply(text="over grpc"), Reply(text="streamed grpc", stream_chunks=3))
    request = chat_pb2.CreateChatCompletionRequest(model=agent.id, messages=[
        chat_pb2.ChatCompletionMessage(role="user", content={"string_value": "hello"})])
    completion = chat.CreateChatCompletion(request)
    assert completion.choices[0].message.content == "over grpc"
    request.stream_options.include_usage = True
    chunks = list(chat.StreamChatCompletion(request))
    assert "".join(c.choices[0].delta.content for c in chunks if c.choices) == "streamed grpc"
    assert chunks[-1].usage.total_tokens > 0
    with pytest.raises(grpc.RpcError) as bad:
        chat.CreateChatCompletion(chat_pb2.CreateChatCompletionRequest(model=agent.id))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "messages" in bad.value.details()
