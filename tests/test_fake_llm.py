"""Tests for the fake LLM provider, driven through the real openai / anthropic SDKs."""

from __future__ import annotations

import asyncio
import http.client
import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from tests.fakes.fake_llm import Error, FakeLLM, Reply, ToolCall, embed

OPENAI_MODEL = "gpt-4o-mini"
CLAUDE_MODEL = "claude-haiku-4-5"  # not on the SDK's deprecation list


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLM]:
    fake = FakeLLM().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _fresh(server: FakeLLM) -> Iterator[None]:
    server.clear()
    server.default = None
    yield
    server.clear()


@pytest.fixture
def oai(server: FakeLLM) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="sk-test", max_retries=0)
    yield client
    client.close()


@pytest.fixture
def claude(server: FakeLLM) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(base_url=server.base_url, api_key="sk-ant-test", max_retries=0)
    yield client
    client.close()


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


# --------------------------------------------------------------------------- OpenAI chat completions


def test_openai_text(server: FakeLLM, oai: openai.OpenAI) -> None:
    server.script(Reply(text="hello there"))
    resp = oai.chat.completions.create(model=OPENAI_MODEL, messages=user("hi"))
    choice = resp.choices[0]
    assert choice.message.content == "hello there"
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert resp.id.startswith("chatcmpl-") and resp.model == OPENAI_MODEL
    assert resp.usage is not None and resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    assert server.pending == 0


def test_openai_stream_text_with_usage(server: FakeLLM, oai: openai.OpenAI) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    server.script(Reply(text=text, stream_chunks=5))
    stream = oai.chat.completions.create(
        model=OPENAI_MODEL, messages=user("tell me"), stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == text
    assert len(pieces) == 5
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    # The last chunk carries usage and no choices, as with the real API.
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(text) // 4


def test_openai_tool_calls(server: FakeLLM, oai: openai.OpenAI) -> None:
    args = {"label": "human", "old_content": "Bob", "new_content": "Robert \"Bob\" Smith"}
    server.script(Reply(tool_calls=[ToolCall("memory_replace", args), ToolCall("send_message", {"m": "ok"})]))
    resp = oai.chat.completions.create(model=OPENAI_MODEL, messages=user("update memory"))
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls
    assert calls is not None and [c.function.name for c in calls] == ["memory_replace", "send_message"]
    assert all(c.id.startswith("call_") for c in calls) and calls[0].id != calls[1].id
    assert json.loads(calls[0].function.arguments) == args


def test_openai_stream_text_and_tool_calls(server: FakeLLM, oai: openai.OpenAI) -> None:
    args = {"query": "favourite colour", "page": 0, "tags": ["a", "b"]}
    server.script(Reply(text="Let me look.", tool_calls=[
        ToolCall("archival_memory_search", args, id="call_fixed"),
        ToolCall("send_message", {"message": "done"})], stream_chunks=3))
    text, calls, finish = "", {}, None
    for chunk in oai.chat.completions.create(model=OPENAI_MODEL, messages=user("q"), stream=True):
        delta = chunk.choices[0].delta
        text += delta.content or ""
        for tc in delta.tool_calls or []:
            slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
            slot["id"] = tc.id or slot["id"]
            if tc.function:
                slot["name"] += tc.function.name or ""
                slot["arguments"] += tc.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert text == "Let me look."
    assert finish == "tool_calls"
    assert calls[0]["id"] == "call_fixed" and calls[0]["name"] == "archival_memory_search"
    assert json.loads(calls[0]["arguments"]) == args
    assert calls[1]["id"].startswith("call_") and json.loads(calls[1]["arguments"]) == {"message": "done"}


def test_openai_reasoning_content(server: FakeLLM, oai: openai.OpenAI) -> None:
    server.script(Reply(text="42", reasoning="think hard"), Reply(text="42", reasoning="think hard"))
    resp = oai.chat.completions.create(model=OPENAI_MODEL, messages=user("q"))
    assert resp.choices[0].message.model_extra == {"reasoning_content": "think hard"}
    stream = oai.chat.completions.create(model=OPENAI_MODEL, messages=user("q"), stream=True)
    reasoning = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content", "") for c in stream)
    assert reasoning == "think hard"


# --------------------------------------------------------------------------- Anthropic messages


def test_anthropic_text(server: FakeLLM, claude: anthropic.Anthropic) -> None:
    server.script(Reply(text="Bonjour"))
    msg = claude.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=user("hi"))
    assert msg.id.startswith("msg_") and msg.model == CLAUDE_MODEL
    assert [b.type for b in msg.content] == ["text"] and msg.content[0].text == "Bonjour"
    assert msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens == 1


def test_anthropic_stream_event_sequence(server: FakeLLM, claude: anthropic.Anthropic) -> None:
    server.script(Reply(text="streamed answer", tool_calls=[ToolCall("f", {"x": 1})], stream_chunks=2))
    events = list(claude.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=user("hi"), stream=True))
    kinds = [(e.type, getattr(getattr(e, "delta", None), "type", None)) for e in events]
    assert kinds == [
        ("message_start", None),
        ("content_block_start", None),
        ("content_block_delta", "text_delta"), ("content_block_delta", "text_delta"),
        ("content_block_stop", None),
        ("content_block_start", None),
        ("content_block_delta", "input_json_delta"), ("content_block_delta", "input_json_delta"),
        ("content_block_stop", None),
        ("message_delta", None),
        ("message_stop", None),
    ]
    assert events[-2].delta.stop_reason == "tool_use"
    assert events[-2].usage.output_tokens > 0


def test_anthropic_stream_text_helper(server: FakeLLM, claude: anthropic.Anthropic) -> None:
    text = "A longer streamed reply, split into several deltas."
    server.script(Reply(text=text, stream_chunks=7))
    with claude.messages.stream(model=CLAUDE_MODEL, max_tokens=64, messages=user("hi")) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) == 7 and "".join(pieces) == text
    assert final.content[0].text == text and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == len(text) // 4


def test_anthropic_tool_use(server: FakeLLM, claude: anthropic.Anthropic) -> None:
    args = {"label": "persona", "content": "I am {helpful}, \"quoted\" and ünïcode"}
    server.script(Reply(text="Updating.", tool_calls=[ToolCall("core_memory_append", args)]),
                  Reply(text="Updating.", tool_calls=[ToolCall("core_memory_append", args)], stream_chunks=9))
    msg = claude.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=user("x"))
    assert msg.stop_reason == "tool_use"
    assert [b.type for b in msg.content] == ["text", "tool_use"]
    assert msg.content[1].id.startswith("toolu_") and msg.content[1].input == args
    with claude.messages.stream(model=CLAUDE_MODEL, max_tokens=64, messages=user("x")) as stream:
        final = stream.get_final_message()
    tool = final.content[1]
    assert tool.type == "tool_use" and tool.name == "core_memory_append" and tool.input == args
    assert final.stop_reason == "tool_use"


def test_anthropic_thinking(server: FakeLLM, claude: anthropic.Anthropic) -> None:
    server.script(Reply(text="42", reasoning="Let me think."), Reply(text="42", reasoning="Let me think."))
    msg = claude.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=user("q"))
    assert [b.type for b in msg.content] == ["thinking", "text"] and msg.content[0].thinking == "Let me think."
    with claude.messages.stream(model=CLAUDE_MODEL, max_tokens=64, messages=user("q")) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "thinking" and final.content[0].thinking == "Let me think."
    assert final.content[0].signature and final.content[1].text == "42"


def test_finish_reason_override_is_mapped(server: FakeLLM, oai: openai.OpenAI,
                                          claude: anthropic.Anthropic) -> None:
    server.script(Reply(text="trunc", finish_reason="length"), Reply(text="trunc", finish_reason="length"))
    assert oai.chat.completions.create(model=OPENAI_MODEL, messages=user("q")).choices[0].finish_reason == "length"
    assert claude.messages.create(model=CLAUDE_MODEL, max_tokens=5, messages=user("q")).stop_reason == "max_tokens"


# --------------------------------------------------------------------------- errors


def test_openai_errors(server: FakeLLM, oai: openai.OpenAI) -> None:
    server.script(Reply(error=Error(429, "slow down")), Reply(error=Error(500)), Reply(error=Error(400, "bad")))
    with pytest.raises(openai.RateLimitError) as rate:
        oai.chat.completions.create(model=OPENAI_MODEL, messages=user("q"))
    assert rate.value.status_code == 429 and "slow down" in str(rate.value)
    assert rate.value.code == "rate_limit_exceeded" and rate.value.type == "requests"
    with pytest.raises(openai.InternalServerError):
        oai.chat.completions.create(model=OPENAI_MODEL, messages=user("q"), stream=True)
    with pytest.raises(openai.BadRequestError):
        oai.chat.completions.create(model=OPENAI_MODEL, messages=user("q"))


def test_anthropic_errors(server: FakeLLM, claude: anthropic.Anthropic) -> None:
    server.script(Reply(error=Error(500, "boom")), Reply(error=Error(429)), Reply(error=Error(529)))
    with pytest.raises(anthropic.InternalServerError) as boom:
        claude.messages.create(model=CLAUDE_MODEL, max_tokens=8, messages=user("q"))
    assert boom.value.body == {"type": "error", "error": {"type": "api_error", "message": "boom"}}
    with pytest.raises(anthropic.RateLimitError), claude.messages.stream(
            model=CLAUDE_MODEL, max_tokens=8, messages=user("q")) as stream:
        stream.get_final_message()
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        claude.messages.create(model=CLAUDE_MODEL, max_tokens=8, messages=user("q"))
    assert overloaded.value.status_code == 529
    assert overloaded.value.body["error"]["type"] == "overloaded_error"


def test_error_times_then_recovery_with_sdk_retries(server: FakeLLM) -> None:
    server.script(Reply(error=Error(429, times=2, retry_after=0.001)), Reply(text="finally"))
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="k", max_retries=2)
    try:
        resp = client.chat.completions.create(model=OPENAI_MODEL, messages=user("q"))
    finally:
        client.close()
    assert resp.choices[0].message.content == "finally"
    assert len(server.requests) == 3


def test_request_validation(server: FakeLLM, claude: anthropic.Anthropic, oai: openai.OpenAI) -> None:
    # Missing max_tokens is a 400 on the real Anthropic API too; scripts are not consumed.
    server.script(Reply(text="kept"))
    with pytest.raises(anthropic.BadRequestError):
        claude.post("/v1/messages", body={"model": CLAUDE_MODEL, "messages": user("q")}, cast_to=object)
    assert server.pending == 1
    with pytest.raises(openai.NotFoundError):
        oai.post("/nope", body={}, cast_to=object)


# --------------------------------------------------------------------------- embeddings & models


def test_embeddings(oai: openai.OpenAI) -> None:
    texts = ["the cat sat on the mat", "the cat sat on a mat", "quarterly revenue grew sharply"]
    resp = oai.embeddings.create(model="text-embedding-3-small", input=texts, dimensions=256)  # base64
    vecs = [d.embedding for d in resp.data]
    assert [len(v) for v in vecs] == [256] * 3 and [d.index for d in resp.data] == [0, 1, 2]
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0, rel_tol=1e-5) for v in vecs)

    def cos(a: list[float], b: list[float]) -> float:
        return math.fsum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vecs[0], vecs[1]) > 0.7 > cos(vecs[0], vecs[2])
    floats = oai.embeddings.create(model="text-embedding-3-small", input=texts[0], dimensions=256,
                                   encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(vecs[0], abs=1e-6)
    assert floats.data[0].embedding == pytest.approx(embed(texts[0], 256))
    default_dim = oai.embeddings.create(model="text-embedding-3-small", input="x")
    assert len(default_dim.data[0].embedding) == 1536 and default_dim.usage.prompt_tokens >= 1


def test_embeddings_do_not_consume_script(server: FakeLLM, oai: openai.OpenAI) -> None:
    server.script(Reply(text="for chat"))
    oai.embeddings.create(model="text-embedding-3-small", input="hello")
    assert server.pending == 1


def test_models_in_both_shapes(server: FakeLLM, oai: openai.OpenAI, claude: anthropic.Anthropic) -> None:
    assert [m.id for m in oai.models.list()] == server.models
    assert [m.id for m in claude.models.list()] == server.models
    assert oai.models.retrieve(OPENAI_MODEL).owned_by == "fake-llm"
    assert claude.models.retrieve(CLAUDE_MODEL).type == "model"
    with pytest.raises(openai.NotFoundError):
        oai.models.retrieve("no-such-model")


# --------------------------------------------------------------------------- recording, scoping, defaults


def test_recording(server: FakeLLM, oai: openai.OpenAI, claude: anthropic.Anthropic) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    oai.chat.completions.create(model=OPENAI_MODEL, tools=tools, messages=[
        {"role": "system", "content": "You are Mnemo."}, {"role": "user", "content": "hi"}])
    claude.messages.create(model=CLAUDE_MODEL, max_tokens=16, system="core memory", messages=user("yo"))

    first, second = server.requests
    assert (first.method, first.path, first.endpoint, first.api) == (
        "POST", "/v1/chat/completions", "chat.completions", "openai")
    assert first.headers["authorization"] == "Bearer sk-test"
    assert first.messages[0] == {"role": "system", "content": "You are Mnemo."}
    assert first.body["tools"] == tools
    assert (second.path, second.api, second.body["system"]) == ("/v1/messages", "anthropic", "core memory")
    assert "sk-ant-test" in (second.headers.get("x-api-key"), second.headers.get("authorization", "")[7:])
    assert "anthropic-version" in second.headers

    assert server.last_request() is second
    assert server.last_request(model=OPENAI_MODEL) is first
    assert server.last_request(endpoint="embeddings") is None
    server.clear()
    assert server.requests == [] and server.last_request() is None


def test_default_echo(oai: openai.OpenAI, claude: anthropic.Anthropic) -> None:
    resp = oai.chat.completions.create(model=OPENAI_MODEL, messages=[
        {"role": "user", "content": "first"}, {"role": "assistant", "content": "x"},
        {"role": "user", "content": [{"type": "text", "text": "second"}]}])
    assert resp.choices[0].message.content == "echo: second"
    msg = claude.messages.create(model=CLAUDE_MODEL, max_tokens=8, messages=user("bonjour"))
    assert msg.content[0].text == "echo: bonjour"
    with claude.messages.stream(model=CLAUDE_MODEL, max_tokens=8, messages=user("salut")) as stream:
        assert "".join(stream.text_stream) == "echo: salut"


def test_custom_default(server: FakeLLM, oai: openai.OpenAI) -> None:
    server.default = lambda body: Reply(text=f"{len(body['messages'])} messages")
    resp = oai.chat.completions.create(model=OPENAI_MODEL, messages=user("a") + user("b"))
    assert resp.choices[0].message.content == "2 messages"


def test_scoped_queues(server: FakeLLM, oai: openai.OpenAI) -> None:
    server.script(Reply(text="for A 1"), Reply(text="for A 2"), model="model-a")
    server.script(Reply(text="for B"), model="model-b")
    server.script(Reply(text="matched"), match=lambda body: body["messages"][-1]["content"] == "special")

    def ask(model: str, text: str = "q") -> str | None:
        return oai.chat.completions.create(model=model, messages=user(text)).choices[0].message.content

    assert ask("model-b") == "for B"
    assert ask("model-a") == "for A 1"
    assert ask("model-c") == "echo: q"  # nothing scoped to model-c, and "matched" doesn't match
    assert ask("model-c", "special") == "matched"
    assert ask("model-a") == "for A 2"
    assert ask("model-b") == "echo: q"
    assert server.pending == 0


def test_concurrent_delayed_requests(server: FakeLLM) -> None:
    n, delay = 20, 0.3
    server.script(*[Reply(text="slow", delay_s=delay) for _ in range(n)], model="slow-model")
    results: list[str | None] = []

    def worker() -> None:
        with openai.OpenAI(base_url=server.base_url + "/v1", api_key="k", max_retries=0) as client:
            resp = client.chat.completions.create(model="slow-model", messages=user("q"))
            results.append(resp.choices[0].message.content)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    assert results == ["slow"] * n
    # Served concurrently: well under the n * delay a one-at-a-time server would take.
    assert delay <= elapsed < n * delay / 2


async def test_async_clients_stream_concurrently(server: FakeLLM) -> None:
    server.script(*[Reply(text="chunked slowly", stream_chunks=4, chunk_delay_s=0.1) for _ in range(10)])
    client = anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k", max_retries=0)

    async def one() -> str:
        async with client.messages.stream(model=CLAUDE_MODEL, max_tokens=8, messages=user("q")) as stream:
            return "".join([t async for t in stream.text_stream])

    started = time.perf_counter()
    texts = await asyncio.gather(*[one() for _ in range(10)])
    assert texts == ["chunked slowly"] * 10
    # Concurrently: well under the 10 x 4 x 0.1 s = 4 s that one stream at a time would take.
    assert time.perf_counter() - started < 2.5
    await client.close()


def test_raw_http_keep_alive(server: FakeLLM) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for text in ("one", "two", "three"):  # three requests on one TCP connection
            conn.request("POST", "/v1/chat/completions", body=json.dumps(
                {"model": "m", "messages": user(text)}), headers={"content-type": "application/json"})
            resp = conn.getresponse()
            assert resp.status == 200 and resp.getheader("connection") == "keep-alive"
            assert json.loads(resp.read())["choices"][0]["message"]["content"] == f"echo: {text}"
        conn.request("POST", "/v1/chat/completions", body=b"{not json")
        resp = conn.getresponse()
        assert resp.status == 400 and json.loads(resp.read())["error"]["type"] == "invalid_request_error"
    finally:
        conn.close()


def test_start_stop_restart_and_context_manager() -> None:
    with FakeLLM() as fake:
        port = fake.port
        assert port > 0 and fake.base_url == f"http://127.0.0.1:{port}"
        with openai.OpenAI(base_url=fake.base_url + "/v1", api_key="k", max_retries=0) as client:
            assert client.chat.completions.create(model="m", messages=user("x")).choices[0].message.content
    busy = socket.socket()  # a port that is already taken surfaces as OSError from start()
    try:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError):
            FakeLLM(port=busy.getsockname()[1]).start()
    finally:
        busy.close()
