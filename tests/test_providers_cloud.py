"""Gemini (google-genai), Azure OpenAI (openai's AsyncAzureOpenAI) and AWS
Bedrock (anthropic's AsyncAnthropicBedrock), each driven through its real SDK
against FakeLLM speaking that provider's wire format.

Every test scripts its replies under a model name of its own.
"""
from __future__ import annotations

import asyncio
import base64
import json
import uuid

import pytest
from mnemo.v1 import models_pb2
from mnemo_server.config import Settings
from mnemo_server.core.catalog import Catalog, Provider
from mnemo_server.providers.base import ChatMessage, Delta, LLMError, LLMRequest, ToolCallOut, ToolSpec
from mnemo_server.providers.gemini import SKIP_SIGNATURE, GeminiClient
from mnemo_server.providers.listing import fetch_model_names
from mnemo_server.providers.registry import (
    ProviderRegistry,
    RetryingClient,
    RetryPolicy,
    azure_client,
    bedrock_client,
)

from tests.fakes.fake_llm import Error, FakeLLM, Reply, ToolCall

WEATHER = ToolSpec("get_weather", "Weather for a city.",
                   {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                    "additionalProperties": False})


@pytest.fixture(scope="module")
def fake():
    server = FakeLLM(models=["gemini-2.5-flash", "gemini-embedding-001", "gpt-4o-mini"]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def gemini(fake):
    client = GeminiClient(api_key="g-key", base_url=fake.base_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
async def azure(fake):
    client = azure_client(Provider("azure", "azure", fake.base_url, "az-key", api_version="2024-10-21"),
                          fake.base_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
async def bedrock(fake):
    provider = Provider("bedrock", "bedrock", fake.base_url, "aws-secret", access_key="AKIATESTKEY",
                        region="eu-west-3")
    client = bedrock_client(provider, fake.base_url)
    yield client
    await client.aclose()


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def name(base: str) -> str:
    return f"{base}-{uuid.uuid4().hex[:8]}"


def ask(model: str, text: str = "Hello?", **kw) -> LLMRequest:
    return LLMRequest(model=model, messages=[ChatMessage("system", "You are terse."), ChatMessage("user", text)], **kw)


def collector():
    deltas: list[Delta] = []

    async def on_delta(delta: Delta) -> None:
        deltas.append(delta)

    return deltas, on_delta


# --------------------------------------------------------------------------- Gemini


async def test_gemini_text_system_usage_and_wire(fake, gemini):
    model = name("gemini-2.5-flash")
    fake.script(Reply(text="Sunny.", prompt_tokens=40, completion_tokens=3), model=model)
    response = await gemini.generate(ask(model, max_tokens=99, temperature=0.3))
    assert response.text == "Sunny." and response.finish_reason == "stop"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (40, 3, 43)
    request = fake.last_request(model=model)
    assert request.path == f"/v1beta/models/{model}:generateContent"
    assert request.headers["x-goog-api-key"] == "g-key"
    body = request.body
    assert body["systemInstruction"]["parts"] == [{"text": "You are terse."}]
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Hello?"}]}]
    assert body["generationConfig"]["maxOutputTokens"] == 99
    assert body["generationConfig"]["temperature"] == 0.3


async def test_gemini_stream_text_and_thoughts(fake, gemini):
    model = name("gemini-2.5-pro")
    fake.script(Reply(text="The answer is 42.", reasoning="Let me think.", stream_chunks=3), model=model)
    deltas, on_delta = collector()
    response = await gemini.generate(ask(model, reasoning=True), on_delta)
    assert response.text == "The answer is 42." and response.reasoning == "Let me think."
    assert [d.kind for d in deltas] == ["reasoning"] * 3 + ["text"] * 3
    assert "".join(d.text for d in deltas if d.kind == "text") == "The answer is 42."
    assert response.usage.reasoning_tokens > 0
    assert response.usage.completion_tokens > response.usage.reasoning_tokens
    request = fake.last_request(model=model)
    assert request.path.endswith(":streamGenerateContent") and request.query == {"alt": "sse"}
    # The SDK writes some nested fields in proto field names; the API accepts both spellings.
    assert request.body["generationConfig"]["thinkingConfig"] in ({"includeThoughts": True},
                                                                  {"include_thoughts": True})


@pytest.mark.parametrize("stream", [False, True])
async def test_gemini_tool_calls(fake, gemini, stream):
    model = name("gemini-2.5-flash")
    fake.script(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"}),
                                  ToolCall("get_weather", {"city": "Oslo"})]), model=model)
    deltas, on_delta = collector()
    response = await gemini.generate(ask(model, tools=[WEATHER], tool_choice="get_weather"),
                                     on_delta if stream else None)
    assert response.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)) for c in response.tool_calls] == [
        ("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"})]
    assert all(c.id.startswith("call_") for c in response.tool_calls)
    assert len({c.id for c in response.tool_calls}) == 2
    # The first call's thought signature is kept for the replay.
    assert base64.b64decode(response.reasoning_signature) == b"fake-signature"
    if stream:
        assert [(d.index, d.name) for d in deltas] == [(0, "get_weather"), (1, "get_weather")]
    body = fake.last_request(model=model).body
    declaration = body["tools"][0]["functionDeclarations"][0]
    assert declaration["name"] == "get_weather"
    schema = declaration.get("parametersJsonSchema") or declaration.get("parameters_json_schema")
    assert schema == WEATHER.parameters  # the whole JSON Schema, additionalProperties included
    assert body["toolConfig"]["functionCallingConfig"] == {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}


@pytest.mark.parametrize(("choice", "mode"), [("auto", "AUTO"), ("required", "ANY"), ("none", "NONE")])
async def test_gemini_tool_choice(fake, gemini, choice, mode):
    model = name("gemini-2.5-flash")
    fake.script(Reply(text="ok"), model=model)
    await gemini.generate(ask(model, tools=[WEATHER], tool_choice=choice))
    assert fake.last_request(model=model).body["toolConfig"]["functionCallingConfig"] == {"mode": mode}


async def test_gemini_history_on_the_wire(fake, gemini):
    model = name("gemini-3-pro-preview")
    signature = base64.b64encode(b"sig-from-gemini").decode()
    history = [
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "Weather in Paris and Oslo?"),
        ChatMessage("assistant", "Checking.", reasoning_signature=signature, tool_calls=[
            ToolCallOut("call_1", "get_weather", '{"city": "Paris"}'),
            ToolCallOut("call_2", "get_weather", '{"city": "Oslo"}')]),
        ChatMessage("tool", '{"status": "OK", "message": "18C"}', tool_call_id="call_1", name="get_weather"),
        ChatMessage("tool", "rain", tool_call_id="call_2"),  # no name: found from the call
        ChatMessage("assistant", "", tool_calls=[ToolCallOut("call_3", "get_weather", '{"city": "Rome"}')]),
        ChatMessage("tool", "sun", tool_call_id="call_3", name="get_weather"),
    ]
    fake.script(Reply(text="Paris 18C, Oslo rain, Rome sun."), model=model)
    await gemini.generate(LLMRequest(model=model, messages=history, tools=[WEATHER]))
    contents = fake.last_request(model=model).body["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user", "model", "user"]
    first_call, second_call = contents[1]["parts"][1], contents[1]["parts"][2]
    assert contents[1]["parts"][0] == {"text": "Checking."}
    assert first_call["functionCall"] == {"name": "get_weather", "args": {"city": "Paris"}}
    assert base64.b64decode(first_call["thoughtSignature"]) == b"sig-from-gemini"
    assert "thoughtSignature" not in second_call
    assert contents[2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"status": "OK", "message": "18C"}}},
        {"functionResponse": {"name": "get_weather", "response": {"result": "rain"}}},
    ]
    # A Gemini 3 call replayed without a kept signature carries the documented placeholder.
    assert base64.b64decode(contents[3]["parts"][0]["thoughtSignature"]) == SKIP_SIGNATURE


async def test_gemini_rate_limit_honours_retry_info(fake, gemini):
    model = name("gemini-2.5-flash")
    fake.script(Reply(error=Error(429, "quota", retry_after=7)), Reply(text="finally"), model=model)
    sleeps = Sleeps()
    client = RetryingClient(gemini, RetryPolicy(attempts=3), sleep=sleeps)
    response = await client.generate(ask(model))
    assert response.text == "finally" and sleeps.delays == [7.0]


@pytest.mark.parametrize(("status", "message", "kind"), [
    (400, "API key not valid. Please pass a valid API key.", "auth"),
    (403, "permission denied", "auth"),
    (404, "models/x is not found", "not_found"),
    (400, "The input token count (2000000) exceeds the maximum number of tokens allowed", "context_window_exceeded"),
    (400, "bad schema", "bad_request"),
    (500, "internal", "server"),
    (503, "overloaded", "server"),
    (504, "deadline", "timeout"),
])
async def test_gemini_error_kinds(fake, gemini, status, message, kind):
    model = name("gemini-2.5-flash")
    fake.script(Reply(error=Error(status, message)), model=model)
    with pytest.raises(LLMError) as caught:
        await gemini.generate(ask(model))
    assert caught.value.kind == kind and caught.value.status == status and message in caught.value.message


async def test_gemini_connection_refused():
    client = GeminiClient(api_key="k", base_url="http://127.0.0.1:9", timeout=5)
    with pytest.raises(LLMError) as caught:
        await client.generate(ask("gemini-2.5-flash"))
    assert caught.value.kind == "connection"
    await client.aclose()


async def test_gemini_empty_answer_names_the_finish_reason(fake, gemini):
    model = name("gemini-2.5-flash")
    fake.script(Reply(text="", finish_reason="content_filter"), model=model)
    with pytest.raises(LLMError) as caught:
        await gemini.generate(ask(model))
    assert caught.value.kind == "empty_response" and "SAFETY" in caught.value.message


async def test_gemini_listing_keeps_generation_and_embedding_models(fake):
    names = await fetch_model_names(Provider("google_ai", "google_ai", fake.base_url, "g-key"))
    assert names == ["gemini-2.5-flash", "gemini-embedding-001", "gpt-4o-mini"]
    assert fake.last_request(endpoint="models").headers["x-goog-api-key"] == "g-key"


# --------------------------------------------------------------------------- Azure


async def test_azure_deployment_path_key_and_version(fake, azure):
    deployment = name("my-gpt4o")
    fake.script(Reply(text="from Azure"), model=deployment)
    response = await azure.generate(ask(deployment, max_tokens=64))
    assert response.text == "from Azure"
    request = fake.last_request(model=deployment)
    assert request.path == f"/openai/deployments/{deployment}/chat/completions"
    assert request.query == {"api-version": "2024-10-21"}
    assert request.headers["api-key"] == "az-key" and "authorization" not in request.headers
    assert request.body["max_completion_tokens"] == 64  # Azure takes OpenAI's name for the limit


async def test_azure_streamed_tool_call(fake, azure):
    deployment = name("dep")
    fake.script(Reply(tool_calls=[ToolCall("get_weather", {"city": "Lima"})]), model=deployment)
    deltas, on_delta = collector()
    response = await azure.generate(ask(deployment, tools=[WEATHER]), on_delta)
    assert [(c.name, json.loads(c.arguments)) for c in response.tool_calls] == [("get_weather", {"city": "Lima"})]
    assert deltas[0].name == "get_weather"


async def test_azure_errors_and_listing(fake, azure):
    deployment = name("dep")
    fake.script(Reply(error=Error(401, "Access denied due to invalid subscription key")), model=deployment)
    with pytest.raises(LLMError) as caught:
        await azure.generate(ask(deployment))
    assert caught.value.kind == "auth"
    names = await fetch_model_names(Provider("azure", "azure", fake.base_url, "az-key"))
    assert names == fake.models
    listing = fake.last_request(endpoint="models")
    assert listing.path == "/openai/deployments" and listing.headers["api-key"] == "az-key"


# --------------------------------------------------------------------------- Bedrock


async def test_bedrock_invoke_signed_with_aws_credentials(fake, bedrock):
    model = name("us.anthropic.claude-haiku-4-5-20251001-v1:0")
    fake.script(Reply(text="from Bedrock", prompt_tokens=12, completion_tokens=3), model=model)
    response = await bedrock.generate(ask(model, max_tokens=200))
    assert response.text == "from Bedrock" and response.usage.total_tokens == 15
    request = fake.last_request(model=model)
    assert request.path == f"/model/{model}/invoke"
    auth = request.headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIATESTKEY/") and "/eu-west-3/bedrock/aws4_request" in auth
    assert "aws-secret" not in json.dumps(request.headers)  # the secret signs, it is never sent
    assert request.body["anthropic_version"] == "bedrock-2023-05-31"
    assert "model" not in request.body and request.body["max_tokens"] == 200
    assert request.body["system"] == "You are terse."


@pytest.mark.parametrize("reasoning", [False, True])
async def test_bedrock_stream_over_aws_event_stream(fake, bedrock, reasoning):
    model = name("anthropic.claude-sonnet-4-5-20250929-v1:0")
    fake.script(Reply(text="Streamed.", reasoning="thinking" if reasoning else None,
                      tool_calls=[ToolCall("get_weather", {"city": "Kyiv"})]), model=model)
    deltas, on_delta = collector()
    response = await bedrock.generate(ask(model, tools=[WEATHER], max_tokens=4000, reasoning=reasoning), on_delta)
    assert response.text == "Streamed."
    assert [(c.name, json.loads(c.arguments)) for c in response.tool_calls] == [("get_weather", {"city": "Kyiv"})]
    assert "".join(d.text for d in deltas if d.kind == "text") == "Streamed."
    if reasoning:
        assert response.reasoning == "thinking" and response.reasoning_signature == "fake-sig"
    assert fake.last_request(model=model).path == f"/model/{model}/invoke-with-response-stream"


@pytest.mark.parametrize(("status", "kind"), [(429, "rate_limit"), (403, "auth"), (400, "bad_request"),
                                              (503, "server")])
async def test_bedrock_error_kinds(fake, bedrock, status, kind):
    model = name("anthropic.claude-x")
    fake.script(Reply(error=Error(status, "bedrock says no")), model=model)
    with pytest.raises(LLMError) as caught:
        await bedrock.generate(ask(model))
    assert caught.value.kind == kind and caught.value.provider == "bedrock"
    assert "bedrock says no" in caught.value.message


async def test_bedrock_listing_through_boto3(fake):
    provider = Provider("bedrock", "bedrock", fake.base_url, "aws-secret", access_key="AKIATESTKEY",
                        region="eu-west-3")
    assert await fetch_model_names(provider) == fake.models
    listing = fake.last_request(endpoint="models")
    assert listing.path == "/foundation-models" and listing.query == {"byProvider": "Anthropic"}
    assert listing.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIATESTKEY/")


# --------------------------------------------------------------------------- registry and catalog


def settings_for(fake: FakeLLM, **extra) -> Settings:
    return Settings(gemini_api_key="g-key", gemini_base_url=fake.base_url, azure_api_key="az-key",
                    azure_base_url=fake.base_url, aws_access_key_id="AKIATESTKEY", aws_secret_access_key="aws-secret",
                    aws_region="eu-west-3", bedrock_base_url=fake.base_url, **extra)


async def test_registry_routes_each_new_type_through_its_sdk(fake):
    catalog = Catalog(settings_for(fake))
    registry = ProviderRegistry(Settings(), catalog)
    try:
        for handle, text in (("google_ai/gemini-2.5-flash", "g"), ("azure/dep-a", "a"),
                             ("bedrock/anthropic.claude-y", "b")):
            config = catalog.llm_config(handle)
            assert config.model_endpoint == fake.base_url
            fake.script(Reply(text=text), model=config.model)
            response = await registry.client_for(config).generate(ask(config.model))
            assert response.text == text
        assert {r.api for r in fake.requests[-3:]} == {"gemini", "openai", "bedrock"}
        assert registry.client_for(catalog.llm_config("azure/dep-a")) is registry.client_for(
            catalog.llm_config("azure/dep-a"))
    finally:
        await registry.aclose()


@pytest.mark.parametrize(("handle", "variable"), [("google_ai/gemini-2.5-flash", "GEMINI_API_KEY"),
                                                  ("azure/dep", "AZURE_API_KEY"),
                                                  ("bedrock/anthropic.claude-y", "AWS_ACCESS_KEY_ID")])
def test_registry_names_the_missing_variable(handle, variable):
    catalog = Catalog(Settings())
    with pytest.raises(LLMError) as caught:
        ProviderRegistry(Settings(), catalog).client_for(catalog.llm_config(handle))
    assert caught.value.kind == "auth" and variable in caught.value.message


def test_new_types_keep_keys_with_their_provider(fake):
    """A config pointing a configured provider's model elsewhere is refused
    before any client is built (the rule of core/endpoints.py)."""
    catalog = Catalog(settings_for(fake))
    registry = ProviderRegistry(Settings(), catalog)
    for handle in ("google_ai/gemini-2.5-flash", "azure/dep", "bedrock/anthropic.claude-y"):
        config = catalog.llm_config(handle)
        config.model_endpoint = "http://127.0.0.1:9/elsewhere"
        with pytest.raises(LLMError) as caught:
            registry.client_for(config)
        assert caught.value.kind == "auth" and "only sent there" in caught.value.message


async def test_catalog_lists_new_providers_in_lettas_vocabulary(fake):
    catalog = Catalog(settings_for(fake))
    models = {m.handle: m for m in await catalog.list_models()}
    assert models["google_ai/gemini-2.5-flash"].provider_type == "google_ai"
    assert models["google_ai/gemini-2.5-flash"].context_window > 0
    assert "google_ai/gemini-embedding-001" not in models  # an embedding model
    assert models["azure/gpt-4o-mini"].model_endpoint_type == "azure"
    assert models["bedrock/gpt-4o-mini"].provider_type == "bedrock"
    embeddings = {m.handle for m in await catalog.list_embedding_models()}
    assert "google_ai/gemini-embedding-001" in embeddings
    assert isinstance(models["azure/gpt-4o-mini"], models_pb2.Model)


# --------------------------------------------------------------------------- Gemini embeddings


async def test_gemini_embeddings_in_batches_at_the_configured_size(fake):
    from mnemo_server.providers.embeddings import Embeddings, EmbeddingUnavailable

    from tests.fakes.fake_llm import embed

    catalog = Catalog(settings_for(fake))
    embeddings = Embeddings(catalog)
    config = catalog.embedding_config("google_ai/gemini-embedding-001")
    assert (config.embedding_endpoint_type, config.embedding_dim) == ("google_ai", 1536)
    config.batch_size = 500  # more than Gemini takes in one call
    texts = [f"fact number {i}" for i in range(130)]
    before = len(fake.requests)
    try:
        vectors = await embeddings.embed(config, texts)
    finally:
        await embeddings.aclose()
    assert len(vectors) == 130 and vectors[7] == pytest.approx(embed("fact number 7", 1536))
    calls = fake.requests[before:]
    assert sorted(len(c.body["requests"]) for c in calls) == [30, 100]  # batchEmbedContents' limit
    assert all(c.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents" for c in calls)
    assert {c.headers["x-goog-api-key"] for c in calls} == {"g-key"}
    assert calls[0].body["requests"][0]["outputDimensionality"] == 1536
    # Without a key it is unavailable (archival memory falls back to full text), not an error.
    bare = Catalog(Settings())
    with pytest.raises(EmbeddingUnavailable, match="GEMINI_API_KEY"):
        Embeddings(bare).embedder_for(bare.embedding_config("google_ai/gemini-embedding-001"))


async def test_listings_are_concurrent_and_a_down_provider_is_not_asked_every_time(fake):
    """Providers are listed at once (a slow one does not add up with the
    others), and one whose listing failed falls back to the built-in list and
    is asked again only after a while."""
    import time as clock

    from mnemo_server.core import catalog as catalog_module

    slow = FakeLLM(models=["slow-a"]).start()
    try:
        settings = Settings(openai_api_key="k", openai_base_url=f"{slow.base_url}/v1",
                            gemini_api_key="g-key", gemini_base_url=fake.base_url,
                            azure_api_key="az", azure_base_url="http://127.0.0.1:9")  # nothing listens there
        await Catalog(settings).list_models()  # imports and first connections, outside the timing
        catalog = Catalog(settings)
        original = catalog._fetch_names

        async def delayed(provider):
            if provider.provider_type in ("openai", "google_ai"):
                await asyncio.sleep(1.5)
            return await original(provider)

        catalog._fetch_names = delayed
        started = clock.monotonic()
        handles = {m.handle for m in await catalog.list_models()}
        assert clock.monotonic() - started < 2.8  # 1.5 s each, side by side (3 s one after the other)
        assert {"openai/slow-a", "google_ai/gemini-2.5-flash"} <= handles
        # Azure is down: its well-known deployments stand in, and it is not asked again at once.
        assert {f"azure/{m}" for m in catalog_module.KNOWN_MODELS["azure"]} <= handles
        calls = []

        async def counting(provider):
            calls.append(provider.name)
            return await original(provider)

        catalog._fetch_names = counting
        await catalog.list_models()
        assert calls == []  # every listing, the failed one included, is cached
    finally:
        slow.stop()
