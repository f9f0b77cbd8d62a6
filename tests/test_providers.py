"""The model clients, driven with the real openai / anthropic SDKs against FakeLLM.

Every test scripts its replies under a model name of its own, so tests never
consume each other's replies and `last_request(model=...)` finds their request.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import anthropic
import pytest
from mnemo_server.config import Settings
from mnemo_server.core.catalog import Catalog
from mnemo_server.providers.anthropic_messages import AnthropicMessagesClient, map_anthropic_error
from mnemo_server.providers.base import (
    ChatMessage,
    Delta,
    LLMError,
    LLMRequest,
    LLMResponse,
    OnDelta,
    ToolCallOut,
    ToolSpec,
)
from mnemo_server.providers.offline import MEMORY_UPDATED, OfflineDevClient
from mnemo_server.providers.openai_chat import OpenAIChatClient, _usage
from mnemo_server.providers.registry import NO_KEY, ProviderRegistry, RetryingClient, RetryPolicy
from mnemo_server.tools.builtin import BUILTIN_TOOLS
from openai.types import CompletionUsage

from tests.fakes.fake_llm import Error, FakeLLM, Reply, ToolCall

WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CLOCK = ToolSpec(
    "get_time",
    "Current time in a zone.",
    {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
)


@pytest.fixture(scope="module")
def fake():
    server = FakeLLM().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def oai(fake):
    client = OpenAIChatClient(api_key="test-key", base_url=fake.base_url + "/v1")
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
async def ant(fake):
    client = AnthropicMessagesClient(api_key="test-key", base_url=fake.base_url)
    yield client
    await client.aclose()


class Sleeps:
    """A stand-in for asyncio.sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def model_name(base: str) -> str:
    return f"{base}-{uuid.uuid4().hex[:8]}"


def ask(model: str, text: str = "Hello?", **kw) -> LLMRequest:
    return LLMRequest(
        model=model, messages=[ChatMessage("system", "You are terse."), ChatMessage("user", text)], **kw
    )


def collector() -> tuple[list[Delta], OnDelta]:
    deltas: list[Delta] = []

    async def on_delta(delta: Delta) -> None:
        deltas.append(delta)

    return deltas, on_delta


def joined(deltas: list[Delta], kind: str) -> str:
    return "".join(d.text for d in deltas if d.kind == kind)


def body_of(fake: FakeLLM, model: str) -> dict:
    request = fake.last_request(model=model)
    assert request is not None, f"no request for {model}"
    return request.body


def requests_for(fake: FakeLLM, model: str) -> int:
    return sum(1 for r in fake.requests if r.model == model)


# --------------------------------------------------------------------------- OpenAI


async def test_openai_text_and_wire(fake, oai):
    model = model_name("gpt-4o-mini")
    fake.script(Reply(text="Hi there.", prompt_tokens=12, completion_tokens=3), model=model)
    response = await oai.generate(ask(model, max_tokens=64, temperature=0.2))
    assert response.text == "Hi there."
    assert response.finish_reason == "stop" and response.tool_calls == []
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (
        12,
        3,
        15,
    )

    body = body_of(fake, model)
    assert body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hello?"},
    ]
    assert body["max_completion_tokens"] == 64 and "max_tokens" not in body
    assert body["temperature"] == 0.2
    # Without tools there is no tool_choice and no parallel_tool_calls.
    assert not {"tools", "tool_choice", "parallel_tool_calls", "stream"} & body.keys()
    assert fake.last_request(model=model).headers["authorization"] == "Bearer test-key"


async def test_openai_compatible_types_send_max_tokens(fake):
    model = model_name("llama3")
    client = OpenAIChatClient(api_key=NO_KEY, base_url=fake.base_url + "/v1", endpoint_type="vllm")
    try:
        await client.generate(ask(model, max_tokens=32))
    finally:
        await client.aclose()
    body = body_of(fake, model)
    assert body["max_tokens"] == 32 and "max_completion_tokens" not in body


async def test_openai_stream_text_and_reasoning(fake, oai):
    model = model_name("gpt-4o-mini")
    fake.script(
        Reply(
            text="The answer is 42.",
            reasoning="Six times seven.",
            stream_chunks=3,
            prompt_tokens=20,
            completion_tokens=9,
        ),
        model=model,
    )
    deltas, on_delta = collector()
    response = await oai.generate(ask(model), on_delta)

    assert response.text == "The answer is 42." == joined(deltas, "text")
    assert response.reasoning == "Six times seven." == joined(deltas, "reasoning")
    assert len([d for d in deltas if d.kind == "text"]) == 3
    assert response.usage.total_tokens == 29
    body = body_of(fake, model)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_openai_tool_calls_and_tool_choice(fake, oai):
    model = model_name("gpt-4o")
    fake.script(
        Reply(
            tool_calls=[
                ToolCall("get_weather", {"city": "Paris"}, id="call_a"),
                ToolCall("get_time", {"zone": "CET"}, id="call_b"),
            ]
        ),
        model=model,
    )
    response = await oai.generate(
        ask(model, tools=[WEATHER, CLOCK], tool_choice="required", parallel_tool_calls=True)
    )
    assert response.finish_reason == "tool_calls"
    assert [(c.id, c.name, json.loads(c.arguments)) for c in response.tool_calls] == [
        ("call_a", "get_weather", {"city": "Paris"}),
        ("call_b", "get_time", {"zone": "CET"}),
    ]

    body = body_of(fake, model)
    assert body["tools"][0] == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": WEATHER.parameters,
        },
    }
    assert body["tool_choice"] == "required" and body["parallel_tool_calls"] is True

    fake.script(Reply(tool_calls=[ToolCall("get_time", {"zone": "UTC"})]), model=model)
    await oai.generate(ask(model, tools=[WEATHER, CLOCK], tool_choice="get_time"))
    body = body_of(fake, model)
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
    assert body["parallel_tool_calls"] is False


async def test_openai_stream_tool_calls(fake, oai):
    model = model_name("gpt-4o")
    fake.script(
        Reply(
            text="Checking.",
            tool_calls=[
                ToolCall("get_weather", {"city": "Oslo"}, id="call_x"),
                ToolCall("get_time", {"zone": "CET"}, id="call_y"),
            ],
            stream_chunks=4,
        ),
        model=model,
    )
    deltas, on_delta = collector()
    response = await oai.generate(ask(model, tools=[WEATHER, CLOCK]), on_delta)

    assert response.text == "Checking."
    assert [(c.id, c.name, json.loads(c.arguments)) for c in response.tool_calls] == [
        ("call_x", "get_weather", {"city": "Oslo"}),
        ("call_y", "get_time", {"zone": "CET"}),
    ]
    calls = [d for d in deltas if d.kind == "tool_call"]
    firsts = [d for d in calls if d.tool_call_id]
    assert [(d.index, d.tool_call_id, d.name) for d in firsts] == [
        (0, "call_x", "get_weather"),
        (1, "call_y", "get_time"),
    ]
    for index, call in enumerate(response.tool_calls):
        assert "".join(d.arguments for d in calls if d.index == index) == call.arguments
    assert response.finish_reason == "tool_calls"


async def test_openai_history_on_the_wire(fake, oai):
    model = model_name("gpt-4o")
    history = [
        ChatMessage("system", "sys"),
        ChatMessage("user", "weather?"),
        ChatMessage(
            "assistant",
            "",
            reasoning="hidden",
            tool_calls=[
                ToolCallOut("call_1", "get_weather", '{"city":"Rome"}'),
                ToolCallOut("call_2", "get_time", ""),
            ],
        ),
        ChatMessage("tool", "sunny", tool_call_id="call_1", name="get_weather"),
        ChatMessage("tool", "noon", tool_call_id="call_2", name="get_time"),
        ChatMessage("assistant", "Sunny at noon."),
        ChatMessage("user", "thanks"),
    ]
    await oai.generate(LLMRequest(model=model, messages=history, tools=[WEATHER, CLOCK]))
    sent = body_of(fake, model)["messages"]
    assert sent[2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
            },
            {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
        ],
    }
    assert sent[3] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
    assert sent[4] == {"role": "tool", "tool_call_id": "call_2", "content": "noon"}
    assert sent[5] == {"role": "assistant", "content": "Sunny at noon."}


def test_openai_usage_details():
    raw = CompletionUsage.model_validate(
        {
            "prompt_tokens": 100,
            "completion_tokens": 40,
            "total_tokens": 140,
            "prompt_tokens_details": {"cached_tokens": 64},
            "completion_tokens_details": {"reasoning_tokens": 30},
        }
    )
    usage = _usage(raw)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (100, 40, 140)
    assert (usage.cached_input_tokens, usage.reasoning_tokens) == (64, 30)


async def test_openai_rate_limit_is_retried(fake, oai):
    model = model_name("gpt-4o-mini")
    fake.script(Reply(error=Error(429, "slow down", times=1, retry_after=1.5)), Reply(text="ok"), model=model)
    sleeps = Sleeps()
    response = await RetryingClient(oai, sleep=sleeps).generate(ask(model))
    assert response.text == "ok"
    assert requests_for(fake, model) == 2
    assert sleeps.delays == [1.5]  # the provider's Retry-After, not our backoff


async def test_openai_server_errors_exhaust_retries(fake, oai):
    model = model_name("gpt-4o-mini")
    fake.script(Reply(error=Error(500, "boom", times=3)), model=model)
    sleeps = Sleeps()
    with pytest.raises(LLMError) as info:
        await RetryingClient(oai, RetryPolicy(attempts=3), sleep=sleeps).generate(ask(model))
    assert info.value.kind == "server" and info.value.status == 500 and "boom" in info.value.message
    assert requests_for(fake, model) == 3
    assert len(sleeps.delays) == 2 and all(0.25 <= d <= 1.0 for d in sleeps.delays)


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (
            400,
            "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
            "context_window_exceeded",
        ),
        (400, "Invalid value for 'temperature'.", "bad_request"),
        (401, "Incorrect API key provided.", "auth"),
        (403, "Not allowed.", "auth"),
        (404, "The model does not exist.", "not_found"),
    ],
)
async def test_openai_error_kinds(fake, oai, status, message, kind):
    model = model_name("gpt-4o-mini")
    fake.script(Reply(error=Error(status, message)), model=model)
    sleeps = Sleeps()
    with pytest.raises(LLMError) as info:
        await RetryingClient(oai, sleep=sleeps).generate(ask(model))
    assert info.value.kind == kind and info.value.status == status
    assert message in info.value.message
    assert sleeps.delays == [] and requests_for(fake, model) == 1  # never retried


async def test_openai_empty_answer(fake, oai):
    model = model_name("gpt-4o-mini")
    fake.script(Reply(text=""), Reply(text=""), model=model)
    with pytest.raises(LLMError) as info:
        await oai.generate(ask(model))
    assert info.value.kind == "empty_response"
    with pytest.raises(LLMError) as info:
        await oai.generate(ask(model), collector()[1])
    assert info.value.kind == "empty_response"


async def test_openai_connection_refused(fake):
    server = FakeLLM().start()
    url = server.base_url + "/v1"
    server.stop()
    client = OpenAIChatClient(api_key="k", base_url=url)
    try:
        with pytest.raises(LLMError) as info:
            await client.generate(ask("gpt-4o-mini"))
    finally:
        await client.aclose()
    assert info.value.kind == "connection"


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_no_retry_after_a_delta_on_a_broken_stream(api):
    """The connection breaks mid-stream after text was delivered: the error is
    raised at once (kind "connection"), without a retry."""
    server = FakeLLM().start()
    model = model_name(api)
    server.script(
        Reply(text="a long answer that will be cut short", stream_chunks=8, chunk_delay_s=0.05), model=model
    )
    client: OpenAIChatClient | AnthropicMessagesClient
    if api == "openai":
        client = OpenAIChatClient(api_key="k", base_url=server.base_url + "/v1")
    else:
        client = AnthropicMessagesClient(api_key="k", base_url=server.base_url)
    deltas: list[Delta] = []

    async def on_delta(delta: Delta) -> None:
        deltas.append(delta)
        if len(deltas) == 1:
            await asyncio.to_thread(server.stop)  # drops the connection mid-answer

    sleeps = Sleeps()
    try:
        with pytest.raises(LLMError) as info:
            await RetryingClient(client, sleep=sleeps).generate(ask(model), on_delta)
    finally:
        await client.aclose()
        server.stop()
    assert info.value.kind == "connection" and info.value.provider == api
    assert len(deltas) >= 1 and sleeps.delays == []


class Flaky:
    """An in-test LLMClient: fails with `kind` `failures` times, optionally after a delta."""

    def __init__(self, kind: str, failures: int, *, delta_first: bool = False):
        self.kind, self.failures, self.delta_first, self.calls = kind, failures, delta_first, 0

    async def generate(self, request: LLMRequest, on_delta: OnDelta | None = None) -> LLMResponse:
        self.calls += 1
        if self.calls <= self.failures:
            if self.delta_first and on_delta is not None:
                await on_delta(Delta(kind="text", text="partial"))
            raise LLMError(self.kind, f"flaky {self.kind}")  # type: ignore[arg-type]
        return LLMResponse(text="fine")

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize("kind", ["rate_limit", "server", "timeout", "connection"])
async def test_retrying_client_retries_transient_kinds(kind):
    inner, sleeps = Flaky(kind, 2), Sleeps()
    response = await RetryingClient(inner, sleep=sleeps).generate(ask("m"), collector()[1])
    assert response.text == "fine" and inner.calls == 3
    # Exponential backoff with jitter: within [d/2, d] for d = 0.5, 1.0.
    assert 0.25 <= sleeps.delays[0] <= 0.5 and 0.5 <= sleeps.delays[1] <= 1.0


@pytest.mark.parametrize(
    "kind", ["auth", "bad_request", "not_found", "context_window_exceeded", "empty_response"]
)
async def test_retrying_client_does_not_retry_permanent_kinds(kind):
    inner = Flaky(kind, 1)
    with pytest.raises(LLMError):
        await RetryingClient(inner, sleep=Sleeps()).generate(ask("m"))
    assert inner.calls == 1


async def test_retrying_client_never_retries_after_a_delta():
    inner, sleeps = Flaky("server", 1, delta_first=True), Sleeps()
    deltas, on_delta = collector()
    with pytest.raises(LLMError) as info:
        await RetryingClient(inner, sleep=sleeps).generate(ask("m"), on_delta)
    assert info.value.kind == "server" and inner.calls == 1 and sleeps.delays == []
    assert [d.text for d in deltas] == ["partial"]


@pytest.mark.parametrize("api", ["openai", "anthropic"])
@pytest.mark.parametrize("streamed", [False, True])
async def test_an_unreadable_answer_is_an_invalid_response_not_retried(fake, api, streamed):
    """Malformed JSON, garbage SSE: a clean LLMError("invalid_response"), asked once."""
    model = model_name(api)
    event = "event: content_block_delta\n" if api == "anthropic" else ""  # Anthropic reads named events only
    body = f"{event}data: {{not json\n\ndata: [DONE]\n\n" if streamed else '{"id": "x", "choices": [{"mess'
    fake.script(Reply(raw_body=body), model=model)
    client: OpenAIChatClient | AnthropicMessagesClient
    if api == "openai":
        client = OpenAIChatClient(api_key="k", base_url=fake.base_url + "/v1")
    else:
        client = AnthropicMessagesClient(api_key="k", base_url=fake.base_url)
    sleeps = Sleeps()
    try:
        with pytest.raises(LLMError) as info:
            await RetryingClient(client, sleep=sleeps).generate(ask(model), collector()[1] if streamed else None)
    finally:
        await client.aclose()
    assert info.value.kind == "invalid_response" and "could not be read" in info.value.message
    assert info.value.provider == api
    assert requests_for(fake, model) == 1 and sleeps.delays == []


async def test_a_failure_of_the_callers_delta_sink_is_raised_as_it_is():
    """on_delta's own error is not taken for an unreadable answer."""
    inner = Flaky("server", 1, delta_first=True)

    async def on_delta(delta: Delta) -> None:
        raise KeyError("the caller's own bug")

    with pytest.raises(KeyError, match="the caller's own bug"):
        await RetryingClient(inner, sleep=Sleeps()).generate(ask("m"), on_delta)


def test_backoff_is_capped():
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0, max_retry_after=30.0)
    assert policy.delay(10, None, rng=lambda: 1.0) == 8.0
    assert policy.delay(1, None, rng=lambda: 0.0) == 0.25
    assert policy.delay(1, 120.0) == 30.0


# --------------------------------------------------------------------------- Anthropic


async def test_anthropic_text_system_and_usage(fake, ant):
    model = model_name("claude-haiku-4-5")
    fake.script(Reply(text="Hello!", prompt_tokens=30, completion_tokens=4), model=model)
    messages = [
        ChatMessage("system", "You are terse."),
        ChatMessage("system", "Be kind."),
        ChatMessage("user", "Hi"),
    ]
    response = await ant.generate(LLMRequest(model=model, messages=messages, temperature=0.5))
    assert response.text == "Hello!" and response.finish_reason == "stop"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (
        30,
        4,
        34,
    )

    request = fake.last_request(model=model)
    assert request.path == "/v1/messages"
    assert request.headers["authorization"] == "Bearer test-key"  # SDK 2.x sends the key as a bearer token
    body = request.body
    assert body["system"] == "You are terse.\n\nBe kind."
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert body["max_tokens"] == 4096
    # No tools, no thinking; and no temperature, which this API version refuses.
    assert not {"tools", "tool_choice", "thinking", "temperature"} & body.keys()


async def test_anthropic_stream_text(fake, ant):
    model = model_name("claude-haiku-4-5")
    fake.script(
        Reply(text="Streaming works fine.", stream_chunks=4, prompt_tokens=10, completion_tokens=5),
        model=model,
    )
    deltas, on_delta = collector()
    response = await ant.generate(ask(model, max_tokens=100), on_delta)
    assert response.text == "Streaming works fine." == joined(deltas, "text")
    assert len(deltas) == 4
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (10, 5)
    assert body_of(fake, model)["stream"] is True and body_of(fake, model)["max_tokens"] == 100


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_thinking(fake, ant, stream):
    model = model_name("claude-sonnet-4-5")
    fake.script(Reply(text="42", reasoning="Six times seven is 42."), model=model)
    deltas, on_delta = collector()
    response = await ant.generate(ask(model, reasoning=True, temperature=0.3), on_delta if stream else None)
    assert response.text == "42"
    assert response.reasoning == "Six times seven is 42." and response.reasoning_signature == "fake-sig"
    if stream:
        assert joined(deltas, "reasoning") == "Six times seven is 42."
    body = body_of(fake, model)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}


async def test_anthropic_thinking_off_when_a_tool_is_forced(fake, ant):
    model = model_name("claude-sonnet-4-5")
    fake.script(Reply(tool_calls=[ToolCall("get_weather", {"city": "Lima"})]), model=model)
    await ant.generate(ask(model, reasoning=True, tools=[WEATHER], tool_choice="required"))
    body = body_of(fake, model)
    assert "thinking" not in body
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_tool_calls(fake, ant, stream):
    model = model_name("claude-haiku-4-5")
    fake.script(
        Reply(
            text="Let me check.",
            tool_calls=[
                ToolCall("get_weather", {"city": "Kyiv"}, id="toolu_1"),
                ToolCall("get_time", {"zone": "EET"}, id="toolu_2"),
            ],
        ),
        model=model,
    )
    deltas, on_delta = collector()
    response = await ant.generate(
        ask(model, tools=[WEATHER, CLOCK], parallel_tool_calls=True), on_delta if stream else None
    )
    assert response.text == "Let me check." and response.finish_reason == "tool_calls"
    assert [(c.id, c.name, json.loads(c.arguments)) for c in response.tool_calls] == [
        ("toolu_1", "get_weather", {"city": "Kyiv"}),
        ("toolu_2", "get_time", {"zone": "EET"}),
    ]
    if stream:
        calls = [d for d in deltas if d.kind == "tool_call"]
        assert [(d.index, d.tool_call_id, d.name) for d in calls if d.tool_call_id] == [
            (0, "toolu_1", "get_weather"),
            (1, "toolu_2", "get_time"),
        ]
        for index, call in enumerate(response.tool_calls):
            assert "".join(d.arguments for d in calls if d.index == index) == call.arguments
    body = body_of(fake, model)
    assert body["tools"][1] == {
        "name": "get_time",
        "description": "Current time in a zone.",
        "input_schema": CLOCK.parameters,
    }
    assert body["tool_choice"] == {"type": "auto"}


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", {"type": "any", "disable_parallel_tool_use": True}),
        ("none", {"type": "none"}),
        ("get_time", {"type": "tool", "name": "get_time", "disable_parallel_tool_use": True}),
    ],
)
async def test_anthropic_tool_choice(fake, ant, choice, wire):
    model = model_name("claude-haiku-4-5")
    fake.script(Reply(text="ok"), model=model)
    await ant.generate(ask(model, tools=[WEATHER, CLOCK], tool_choice=choice))
    assert body_of(fake, model)["tool_choice"] == wire


async def test_anthropic_history_on_the_wire(fake, ant):
    model = model_name("claude-haiku-4-5")
    history = [
        ChatMessage("system", "sys"),
        ChatMessage("user", "weather and time?"),
        ChatMessage(
            "assistant",
            "Checking both.",
            reasoning="I need two tools.",
            reasoning_signature="sig-1",
            tool_calls=[
                ToolCallOut("toolu_a", "get_weather", '{"city": "Rome"}'),
                ToolCallOut("toolu_b", "get_time", '{"zone": '),
            ],
        ),  # broken JSON
        ChatMessage("tool", "sunny", tool_call_id="toolu_a", name="get_weather"),
        ChatMessage("tool", "error: bad arguments", tool_call_id="toolu_b", name="get_time"),
        ChatMessage("assistant", "It is sunny.", reasoning="no signature, not replayed"),
        ChatMessage("user", "thanks"),
    ]
    fake.script(Reply(text="You're welcome."), model=model)
    response = await ant.generate(LLMRequest(model=model, messages=history, tools=[WEATHER, CLOCK]))
    assert response.text == "You're welcome."
    body = body_of(fake, model)
    assert body["system"] == "sys"
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "weather and time?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "I need two tools.", "signature": "sig-1"},
                {"type": "text", "text": "Checking both."},
                {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Rome"}},
                {"type": "tool_use", "id": "toolu_b", "name": "get_time", "input": {}},
            ],
        },
        # Both results in one user message.
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "toolu_b", "content": "error: bad arguments"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "It is sunny."}]},
        {"role": "user", "content": [{"type": "text", "text": "thanks"}]},
    ]


async def test_anthropic_stop_reason_length(fake, ant):
    model = model_name("claude-haiku-4-5")
    fake.script(
        Reply(text="truncat", finish_reason="length"),
        Reply(text="truncat", finish_reason="length"),
        model=model,
    )
    assert (await ant.generate(ask(model))).finish_reason == "length"
    assert (await ant.generate(ask(model), collector()[1])).finish_reason == "length"


async def test_anthropic_overload_is_retried(fake, ant):
    model = model_name("claude-haiku-4-5")
    fake.script(Reply(error=Error(529, "Overloaded", times=1)), Reply(text="back"), model=model)
    sleeps = Sleeps()
    response = await RetryingClient(ant, sleep=sleeps).generate(ask(model), collector()[1])
    assert response.text == "back" and len(sleeps.delays) == 1 and requests_for(fake, model) == 2


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (400, "prompt is too long: 250000 tokens > 200000 maximum", "context_window_exceeded"),
        (400, "messages: roles must alternate", "bad_request"),
        (401, "invalid x-api-key", "auth"),
        (404, "model: nope", "not_found"),
        (429, "Number of requests has exceeded your rate limit", "rate_limit"),
        (500, "Internal server error", "server"),
    ],
)
async def test_anthropic_error_kinds(fake, ant, status, message, kind):
    model = model_name("claude-haiku-4-5")
    fake.script(Reply(error=Error(status, message)), model=model)
    with pytest.raises(LLMError) as info:
        await ant.generate(ask(model))
    assert info.value.kind == kind and info.value.status == status and message in info.value.message


def test_anthropic_error_event_inside_a_stream():
    """An `error` event after a 200 response: the kind comes from the error type."""
    import httpx2  # the HTTP library under the pinned SDKs

    response = httpx2.Response(200, request=httpx2.Request("POST", "http://fake/v1/messages"))
    for error_type, kind in [
        ("overloaded_error", "server"),
        ("rate_limit_error", "rate_limit"),
        ("invalid_request_error", "bad_request"),
    ]:
        body = {"type": "error", "error": {"type": error_type, "message": "mid-stream trouble"}}
        err = map_anthropic_error(anthropic.APIStatusError("stream error", response=response, body=body))
        assert (err.kind, err.status, err.message) == (kind, None, "mid-stream trouble")


# --------------------------------------------------------------------------- registry


def fake_settings(fake: FakeLLM, **overrides) -> Settings:
    values = dict(
        openai_api_key="sk-fake",
        openai_base_url=fake.base_url + "/v1",
        anthropic_api_key="ant-fake",
        anthropic_base_url=fake.base_url,
    )
    values.update(overrides)
    return Settings(**values)


async def test_registry_selects_and_caches_clients(fake):
    settings = fake_settings(fake)
    catalog = Catalog(settings)
    registry = ProviderRegistry(settings, catalog)
    try:
        openai_config = catalog.llm_config("openai/gpt-4o-mini")
        client = registry.client_for(openai_config)
        assert isinstance(client, RetryingClient) and isinstance(client.inner, OpenAIChatClient)
        assert registry.client_for(openai_config) is client  # cached
        assert registry.client_for(catalog.llm_config("openai/gpt-4o")) is client  # same endpoint and key

        anthropic_client = registry.client_for(catalog.llm_config("anthropic/claude-haiku-4-5"))
        assert isinstance(anthropic_client.inner, AnthropicMessagesClient)
        offline = registry.client_for(catalog.llm_config("mnemo/offline-dev"))
        assert isinstance(offline.inner, OfflineDevClient)

        # End to end against the fake, with the configured keys.
        model = model_name("gpt-4o-mini")
        fake.script(Reply(text="via registry"), model=model)
        assert (await client.generate(ask(model))).text == "via registry"
        assert fake.last_request(model=model).headers["authorization"] == "Bearer sk-fake"
        model = model_name("claude-haiku-4-5")
        fake.script(Reply(text="via registry"), model=model)
        assert (await anthropic_client.generate(ask(model))).text == "via registry"
        assert fake.last_request(model=model).headers["authorization"] == "Bearer ant-fake"
    finally:
        await registry.aclose()


@pytest.mark.parametrize(
    ("handle", "variable"),
    [("openai/gpt-4o-mini", "OPENAI_API_KEY"), ("anthropic/claude-haiku-4-5", "ANTHROPIC_API_KEY")],
)
def test_registry_missing_key(handle, variable):
    settings = Settings()
    registry = ProviderRegistry(settings, Catalog(settings))
    with pytest.raises(LLMError) as info:
        registry.client_for(Catalog(settings).llm_config(handle))
    assert info.value.kind == "auth"
    assert (
        info.value.message == f"{handle} needs {variable} (or {variable.replace('API_KEY', 'BASE_URL')} "
        "for a compatible server)"
    )


async def test_registry_compatible_server_without_key(fake):
    settings = fake_settings(fake, openai_api_key=None, anthropic_api_key=None, anthropic_base_url=None)
    catalog = Catalog(settings)
    registry = ProviderRegistry(settings, catalog)
    try:
        client = registry.client_for(catalog.llm_config("openai/my-local-model"))
        model = model_name("my-local-model")
        fake.script(Reply(text="local"), model=model)
        assert (await client.generate(ask(model))).text == "local"
        assert fake.last_request(model=model).headers["authorization"] == f"Bearer {NO_KEY}"

        ollama = registry.client_for(catalog.llm_config("ollama/llama3.2"))
        assert isinstance(ollama.inner, OpenAIChatClient) and ollama.inner.endpoint_type == "ollama"
        assert str(ollama.inner._sdk.base_url).startswith("http://localhost:11434/v1")
    finally:
        await registry.aclose()


def test_registry_rejects_unknown_endpoint_type():
    settings = Settings()
    config = Catalog(settings).llm_config("openai/gpt-4o-mini")
    config.model_endpoint_type = "carrier-pigeon"
    with pytest.raises(LLMError) as info:
        ProviderRegistry(settings).client_for(config)
    assert info.value.kind == "bad_request" and "carrier-pigeon" in info.value.message


# --------------------------------------------------------------------------- offline dev model


def specs(*names: str) -> list[ToolSpec]:
    out = []
    for name in names:
        schema = BUILTIN_TOOLS[name].json_schema
        out.append(ToolSpec(schema["name"], schema["description"], schema["parameters"]))
    return out


def with_heartbeat(tools: list[ToolSpec]) -> list[ToolSpec]:
    """memgpt-style schemas, which carry request_heartbeat."""
    out = []
    for tool in tools:
        params = json.loads(json.dumps(tool.parameters))
        if tool.name != "send_message":
            params["properties"]["request_heartbeat"] = {"type": "boolean"}
        out.append(ToolSpec(tool.name, tool.description, params))
    return out


def system_with_human(value: str) -> ChatMessage:
    return ChatMessage(
        "system",
        "You are a helpful agent.\n<memory_blocks>\n<persona>\n<value>\nI am Sam.\n"
        "</value>\n</persona>\n<human>\n<description>\nAbout the user.\n</description>\n"
        f"<value>\n{value}\n</value>\n</human>\n</memory_blocks>",
    )


LETTA_V1_TOOLS = specs("conversation_search", "memory_insert", "memory_replace")
MEMGPT_TOOLS = with_heartbeat(
    specs("send_message", "conversation_search", "core_memory_append", "core_memory_replace")
)


async def test_offline_records_a_name_with_memory_replace():
    request = LLMRequest(
        model="offline-dev",
        tools=LETTA_V1_TOOLS,
        messages=[
            system_with_human("The human's name is unknown.\nLikes tea."),
            ChatMessage("user", "Hi! My name is Ada."),
        ],
    )
    response = await OfflineDevClient().generate(request)
    assert response.finish_reason == "tool_calls" and response.text == ""
    [call] = response.tool_calls
    assert call.name == "memory_replace"
    assert json.loads(call.arguments) == {
        "label": "human",
        "old_string": "The human's name is unknown.",
        "new_string": "The human's name is Ada.",
    }


async def test_offline_records_a_name_with_memory_insert():
    request = LLMRequest(
        model="offline-dev",
        tools=LETTA_V1_TOOLS,
        messages=[system_with_human("Likes tea."), ChatMessage("user", "call me Grace Hopper please")],
    )
    [call] = (await OfflineDevClient().generate(request)).tool_calls
    assert call.name == "memory_insert"
    assert json.loads(call.arguments) == {"label": "human", "new_string": "Name: Grace Hopper"}


async def test_offline_memgpt_tools():
    client = OfflineDevClient()
    request = LLMRequest(
        model="offline-dev",
        tools=MEMGPT_TOOLS,
        messages=[
            system_with_human(""),
            ChatMessage("user", json.dumps({"type": "user_message", "message": "I am Linus"})),
        ],
    )
    [call] = (await client.generate(request)).tool_calls
    assert call.name == "core_memory_append"
    assert json.loads(call.arguments) == {
        "label": "human",
        "content": "Name: Linus",
        "request_heartbeat": True,
    }

    request.messages[0] = system_with_human("Name: Bob")
    [call] = (await client.generate(request)).tool_calls
    assert call.name == "core_memory_replace"
    assert json.loads(call.arguments) == {
        "label": "human",
        "old_content": "Name: Bob",
        "new_content": "Name: Linus",
        "request_heartbeat": True,
    }

    # The tool result comes back: the answer goes through send_message.
    request.messages += [
        ChatMessage("assistant", tool_calls=[call]),
        ChatMessage("tool", '{"status": "OK", "message": "None"}', tool_call_id=call.id, name=call.name),
    ]
    [reply] = (await client.generate(request)).tool_calls
    assert reply.name == "send_message" and json.loads(reply.arguments) == {"message": MEMORY_UPDATED}


async def test_offline_plain_echo_streams():
    request = LLMRequest(
        model="offline-dev",
        tools=LETTA_V1_TOOLS,
        messages=[system_with_human("Likes tea."), ChatMessage("user", "What's the weather?")],
    )
    deltas, on_delta = collector()
    response = await OfflineDevClient().generate(request, on_delta)
    assert response.text == (
        "(offline dev model) You said: What's the weather?. "
        "Set OPENAI_API_KEY or ANTHROPIC_API_KEY for a real model."
    )
    assert response.tool_calls == [] and response.finish_reason == "stop"
    assert joined(deltas, "text") == response.text and len(deltas) > 1
    assert response.usage.completion_tokens == len(response.text) // 4
    assert response.usage.prompt_tokens > 0
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens


async def test_offline_send_message_mode_streams_the_call():
    request = LLMRequest(
        model="offline-dev",
        tools=MEMGPT_TOOLS,
        tool_choice="required",
        messages=[system_with_human(""), ChatMessage("user", "hello")],
    )
    deltas, on_delta = collector()
    response = await OfflineDevClient().generate(request, on_delta)
    [call] = response.tool_calls
    assert call.name == "send_message"
    assert json.loads(call.arguments)["message"].startswith("(offline dev model) You said: hello.")
    assert deltas[0] == Delta(kind="tool_call", index=0, tool_call_id=call.id, name="send_message")
    assert "".join(d.arguments for d in deltas) == call.arguments


async def test_offline_answers_after_a_tool_result_and_respects_tool_choice_none():
    client = OfflineDevClient()
    call = ToolCallOut("call_1", "memory_insert", '{"label": "human", "new_string": "Name: Ada"}')
    messages = [
        system_with_human(""),
        ChatMessage("user", "my name is Ada"),
        ChatMessage("assistant", tool_calls=[call]),
        ChatMessage("tool", "OK", tool_call_id="call_1"),
    ]
    response = await client.generate(LLMRequest(model="offline-dev", tools=LETTA_V1_TOOLS, messages=messages))
    assert response.text == MEMORY_UPDATED and response.tool_calls == []

    failed = messages[:-1] + [ChatMessage("tool", "Error: block 'human' is full", tool_call_id="call_1")]
    response = await client.generate(LLMRequest(model="offline-dev", tools=LETTA_V1_TOOLS, messages=failed))
    assert "failed" in response.text and "block 'human' is full" in response.text

    # tool_choice "none": no tool call, even for a name.
    response = await client.generate(
        LLMRequest(model="offline-dev", tools=MEMGPT_TOOLS, tool_choice="none", messages=messages[:2])
    )
    assert response.tool_calls == [] and "You said: my name is Ada" in response.text


async def test_offline_known_name_needs_no_update():
    request = LLMRequest(
        model="offline-dev",
        tools=LETTA_V1_TOOLS,
        messages=[system_with_human("Name: Ada"), ChatMessage("user", "My name is Ada")],
    )
    response = await OfflineDevClient().generate(request)
    assert response.tool_calls == [] and "Ada" in response.text


async def test_offline_through_the_registry():
    settings = Settings()
    registry = ProviderRegistry(settings)
    client = registry.client_for(Catalog(settings).llm_config("mnemo/offline-dev"))
    response = await client.generate(LLMRequest(model="offline-dev", messages=[ChatMessage("user", "ping")]))
    assert "You said: ping" in response.text
    await registry.aclose()


def test_offline_name_capture_skips_filler_words():
    from mnemo_server.providers.offline import _name_in

    assert _name_in("My name is actually Chad.") == "Chad"
    assert _name_in("call me Ishmael") == "Ishmael"
    assert _name_in("I'm Ann Lee") == "Ann Lee"
    assert _name_in("I am tired") is None
