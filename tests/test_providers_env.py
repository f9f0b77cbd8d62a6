"""Providers configured through Letta's environment variables, end to end: a
real Mnemo started with GEMINI_API_KEY, AZURE_*, AWS_* (Bedrock), OLLAMA_BASE_URL,
VLLM_API_BASE, GROQ_API_KEY, DEEPSEEK_API_KEY and OPENAI_API_BASE, all pointing
at one FakeLLM that only accepts the configured keys. Each provider's models
are listed by /v1/models (validated strictly by the official letta-client),
agents answer through each, and /v1/providers/check makes a real call."""
from __future__ import annotations

import shutil

import grpc
import pytest
from letta_client import Letta
from mnemo.v1 import providers_pb2, providers_pb2_grpc

from tests.fakes.fake_llm import FakeLLM, Reply
from tests.harness import make_stack
from tests.util import uid

KEYS = {"GEMINI_API_KEY": "g-env", "AZURE_API_KEY": "az-env", "GROQ_API_KEY": "groq-env",
        "DEEPSEEK_API_KEY": "ds-env", "OPENAI_API_KEY": "sk-env"}
AWS_ACCESS = "AKIAENVTEST"
NO_KEY = "not-needed"  # what OpenAI-compatible servers without a key are sent


@pytest.fixture(scope="module")
def fake():
    server = FakeLLM(models=["gemini-2.5-flash", "gemini-embedding-001", "llama3.2",
                             "us.anthropic.claude-haiku-4-5-20251001-v1:0"]).start()
    server.valid_keys = {*KEYS.values(), AWS_ACCESS, NO_KEY}
    yield server
    server.stop()


@pytest.fixture(scope="module")
def env_stack(fake):
    url = fake.base_url
    env = {**KEYS, "GEMINI_BASE_URL": url, "AZURE_BASE_URL": url, "AZURE_API_VERSION": "2024-10-21",
           # Letta's spellings for AWS: AWS_ACCESS_KEY and AWS_REGION.
           "AWS_ACCESS_KEY": AWS_ACCESS, "AWS_SECRET_ACCESS_KEY": "aws-secret", "AWS_REGION": "eu-west-3",
           "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": url,
           # Local servers as Letta's docs give them (no /v1), hosted ones through a base URL override.
           "OLLAMA_BASE_URL": url, "VLLM_API_BASE": url, "GROQ_BASE_URL": f"{url}/v1",
           "DEEPSEEK_BASE_URL": f"{url}/v1", "OPENAI_API_BASE": f"{url}/v1"}
    running = make_stack(llm_base_url=None, extra_env=env).start()
    yield running
    running.stop()
    shutil.rmtree(running.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def rest(env_stack):
    with env_stack.http() as client:
        yield client


@pytest.fixture(scope="module")
def letta(env_stack):
    with Letta(base_url=env_stack.http_base, max_retries=0, timeout=30, _strict_response_validation=True) as sdk:
        yield sdk


EXPECTED = {  # handle -> (provider_type, model_endpoint_type)
    "google_ai/gemini-2.5-flash": ("google_ai", "google_ai"),
    "azure/llama3.2": ("azure", "azure"),
    "bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0": ("bedrock", "bedrock"),
    "ollama/llama3.2": ("ollama", "ollama"),
    "vllm/llama3.2": ("vllm", "vllm"),
    "groq/llama3.2": ("groq", "groq"),
    "deepseek/llama3.2": ("deepseek", "deepseek"),
    "openai/llama3.2": ("openai", "openai"),
}


def test_every_env_provider_is_listed_and_validates_strictly(letta, rest, fake):
    models = {m.handle: m for m in letta.models.list()}  # strict: every enum value is the SDK's
    for handle, (ptype, etype) in EXPECTED.items():
        assert handle in models, (handle, sorted(models))
        assert (models[handle].provider_type, models[handle].api_model_endpoint_type) == (ptype, etype)
    ollama = rest.get("/v1/models", params={"provider_name": "ollama"}).json()
    assert {m["model_endpoint"] for m in ollama} == {f"{fake.base_url}/v1"}  # /v1 added to Letta's URL
    assert "google_ai/gemini-embedding-001" not in models
    embeddings = {m.handle for m in letta.models.embeddings.list()}
    assert "google_ai/gemini-embedding-001" in embeddings
    # Each listing was a call to that provider with its own key.
    listings = [r for r in fake.requests if r.endpoint == "models"]
    assert {r.headers.get("x-goog-api-key") for r in listings if r.api == "gemini"} == {"g-env"}
    assert {r.headers.get("api-key") for r in listings if r.path == "/openai/deployments"} == {"az-env"}
    assert any(r.path == "/foundation-models" and AWS_ACCESS in r.headers["authorization"] for r in listings)


@pytest.mark.parametrize(("handle", "key_header", "key"), [
    ("google_ai/gemini-2.5-flash", "x-goog-api-key", "g-env"),
    ("azure/llama3.2", "api-key", "az-env"),
    ("bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0", "authorization", f"Credential={AWS_ACCESS}/"),
    ("ollama/llama3.2", "authorization", f"Bearer {NO_KEY}"),
    ("vllm/llama3.2", "authorization", f"Bearer {NO_KEY}"),
    ("groq/llama3.2", "authorization", "Bearer groq-env"),
    ("deepseek/llama3.2", "authorization", "Bearer ds-env"),
])
def test_agents_answer_through_each_env_provider(letta, fake, handle, key_header, key):
    agent = letta.agents.create(model=handle, include_base_tools=False, name=f"env-{uid()}")
    assert agent.llm_config.handle == handle
    text = f"hello from {handle.partition('/')[0]} {uid()}"
    fake.script(Reply(text=text), match=lambda body, t=text: True)
    response = letta.agents.messages.create(agent.id, messages=[{"role": "user", "content": "hi"}])
    assert [m.content for m in response.messages if m.message_type == "assistant_message"] == [text]
    request = next(r for r in reversed(fake.requests) if r.endpoint not in ("models",))
    assert key in request.headers[key_header]
    assert request.model == handle.partition("/")[2]


def test_gemini_streams_through_the_gateway(letta, fake):
    agent = letta.agents.create(model="google_ai/gemini-2.5-flash", include_base_tools=False)
    fake.script(Reply(text="streamed from Gemini", stream_chunks=4), model="gemini-2.5-flash")
    with letta.agents.messages.stream(agent.id, messages=[{"role": "user", "content": "hi"}],
                                      stream_tokens=True) as stream:
        chunks = [c for c in stream if getattr(c, "message_type", None) == "assistant_message"]
    assert "".join(c.content for c in chunks) == "streamed from Gemini" and len(chunks) > 1
    assert fake.last_request(model="gemini-2.5-flash").query == {"alt": "sse"}


# --------------------------------------------------------------------------- /v1/providers/check


@pytest.mark.parametrize("body", [
    {"provider_type": "google_ai", "api_key": "g-env"},
    {"provider_type": "azure", "api_key": "az-env", "api_version": "2024-10-21"},
    {"provider_type": "groq", "api_key": "groq-env", "base_url": "{url}/v1"},
    {"provider_type": "ollama", "base_url": "{url}/v1"},
    {"provider_type": "bedrock", "access_key": AWS_ACCESS, "api_key": "aws-secret", "region": "eu-west-3"},
])
def test_check_accepts_working_credentials(rest, fake, body):
    body = {k: v.format(url=fake.base_url) for k, v in body.items()}
    if body["provider_type"] in ("google_ai", "azure", "bedrock"):
        body["base_url"] = fake.base_url
    before = len(fake.requests)
    r = rest.post("/v1/providers/check", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["message"] == f"Valid api key for provider_type={body['provider_type']}"
    assert r.json()["model_count"] == len(fake.models)
    assert len(fake.requests) == before + 1  # one real, cheap call: the model listing


@pytest.mark.parametrize("body", [
    {"provider_type": "google_ai", "api_key": "wrong"},
    {"provider_type": "azure", "api_key": "wrong"},
    {"provider_type": "openai", "api_key": "wrong", "base_url": "{url}/v1"},
    {"provider_type": "anthropic", "api_key": "wrong", "base_url": "{url}"},
    {"provider_type": "bedrock", "access_key": "AKIAWRONG", "api_key": "aws-secret"},
])
def test_check_refuses_a_bad_key_with_401(rest, fake, body):
    body = {k: v.format(url=fake.base_url) for k, v in body.items()}
    body.setdefault("base_url", fake.base_url)
    r = rest.post("/v1/providers/check", json=body)
    assert r.status_code == 401, r.text
    assert "api_key" in r.json()["detail"] and "invalid api key" in r.json()["detail"]


def test_check_lettas_get_form_with_the_key_in_a_header(rest, fake):
    params = {"provider_type": "openai", "base_url": f"{fake.base_url}/v1"}
    ok = rest.get("/v1/providers/check", params=params, headers={"x-api-key": "sk-env"})
    assert ok.status_code == 200 and ok.json()["message"] == "Valid api key for provider_type=openai"
    bad = rest.get("/v1/providers/check", params=params, headers={"x-api-key": "nope"})
    assert bad.status_code == 401 and "api_key" in bad.json()["detail"]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({}, 400, "provider_type"),
    ({"provider_type": "martian", "api_key": "k"}, 400, "provider_type"),
    ({"provider_type": "openai"}, 400, "api_key"),  # the official URL needs a key
    ({"provider_type": "azure", "api_key": "k"}, 400, "base_url"),
    ({"provider_type": "bedrock", "api_key": "k"}, 400, "access_key"),
    ({"provider_type": "groq", "api_key": "k", "base_url": "not a url"}, 400, "base_url"),
    ({"provider_type": "ollama", "base_url": "http://127.0.0.1:9/v1"}, 400, "base_url"),  # unreachable
])
def test_check_names_what_is_wrong(rest, body, status, field):
    r = rest.post("/v1/providers/check", json=body)
    assert r.status_code == status and field in r.json()["detail"], r.text


def test_check_over_grpc(env_stack, fake):
    with env_stack.channel() as channel:
        stub = providers_pb2_grpc.ProviderServiceStub(channel)
        ok = stub.CheckProvider(providers_pb2.CheckProviderRequest(
            provider_type="google_ai", api_key="g-env", base_url=fake.base_url))
        assert ok.message == "Valid api key for provider_type=google_ai" and ok.model_count == len(fake.models)
        with pytest.raises(grpc.RpcError) as bad:
            stub.CheckProvider(providers_pb2.CheckProviderRequest(
                provider_type="google_ai", api_key="wrong", base_url=fake.base_url))
        assert bad.value.code() == grpc.StatusCode.UNAUTHENTICATED
        # The key may come as x-api-key metadata, as through Letta's GET form.
        via_header = stub.CheckProvider(providers_pb2.CheckProviderRequest(
            provider_type="groq", base_url=f"{fake.base_url}/v1"), metadata=[("x-api-key", "groq-env")])
        assert via_header.model_count == len(fake.models)


def test_stored_gemini_and_azure_providers(rest, fake):
    missing = rest.post("/v1/providers", json={"name": f"az-{uid()}", "provider_type": "azure", "api_key": "k"})
    assert missing.status_code == 400 and "base_url" in missing.json()["detail"]
    keyless = rest.post("/v1/providers", json={"name": f"g-{uid()}", "provider_type": "google_ai"})
    assert keyless.status_code == 400 and "api_key" in keyless.json()["detail"]
    for ptype, key, header in (("google_ai", "g-env", "x-goog-api-key"), ("azure", "az-env", "api-key")):
        name = f"mine-{uid()}"
        created = rest.post("/v1/providers", json={"name": name, "provider_type": ptype, "api_key": key,
                                                   "base_url": fake.base_url})
        assert created.status_code == 200, created.text
        handles = [m["handle"] for m in rest.get("/v1/models", params={"provider_name": name}).json()]
        assert f"{name}/llama3.2" in handles
        agent = rest.post("/v1/agents", json={"model": f"{name}/llama3.2", "include_base_tools": False}).json()
        assert agent["llm_config"]["model_endpoint_type"] == ptype
        text = f"stored {ptype} {uid()}"
        fake.script(Reply(text=text), model="llama3.2")
        reply = rest.post(f"/v1/agents/{agent['id']}/messages", json={"input": "hi"}).json()
        assert reply["messages"][-1]["content"] == text
        assert fake.last_request(model="llama3.2").headers[header] == key


def test_archival_memory_embeds_with_gemini(rest, fake):
    agent = rest.post("/v1/agents", json={"model": "google_ai/gemini-2.5-flash", "include_base_tools": False,
                                          "embedding": "google_ai/gemini-embedding-001"}).json()
    assert agent["embedding_config"]["embedding_endpoint_type"] == "google_ai"
    base = f"/v1/agents/{agent['id']}/archival-memory"
    for fact in ("the cat sleeps on the red sofa", "invoices are due on the first monday"):
        assert rest.post(base, json={"text": fact}).status_code == 200
    embeds = [r for r in fake.requests if r.path.endswith(":batchEmbedContents")]
    assert embeds and embeds[-1].headers["x-goog-api-key"] == "g-env"
    found = rest.get(f"{base}/search", params={"query": "when are invoices due"}).json()["results"]
    assert found[0]["content"] == "invoices are due on the first monday"
    # The query was embedded by Gemini too (the vector half of the hybrid search).
    texts = [q["content"]["parts"][0]["text"] for r in fake.requests if r.path.endswith(":batchEmbedContents")
             for q in r.body["requests"]]
    assert "when are invoices due" in texts
