"""Keys stay with their provider: an agent cannot point the server's (or a
stored provider's) key at a URL of its choosing.

An attacker-controlled HTTP listener on 127.0.0.1 records every request it
gets; agents pointed at it through llm_config.model_endpoint or
embedding_config.embedding_endpoint are refused (REST and gRPC, create and
update), and the listener never hears from the server with a key.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from mnemo.v1 import agents_pb2, models_pb2
from mnemo_server.config import Settings
from mnemo_server.core.catalog import Catalog, Provider
from mnemo_server.providers.base import LLMError
from mnemo_server.providers.embeddings import Embeddings, EmbeddingUnavailable
from mnemo_server.providers.registry import ProviderRegistry

from tests.fakes.fake_llm import Reply
from tests.util import Stubs, assert_status, uid

INVALID = grpc.StatusCode.INVALID_ARGUMENT
ENV_KEY = "test-key"  # the harness's OPENAI_API_KEY / ANTHROPIC_API_KEY


class Listener:
    """A tiny HTTP server that records the Authorization header of every request."""

    def __init__(self) -> None:
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                seen.append((self.command, self.path, self.headers.get("authorization")))
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                body = b'{"error": {"message": "no", "type": "invalid_request_error"}}'
                self.send_response(400)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def keys(self) -> list[str | None]:
        return [auth for _, _, auth in self.seen]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def stubs(channel) -> Stubs:
    return Stubs(channel)


def llm(endpoint: str, **extra) -> dict:
    return {"model": "gpt-4o-mini", "model_endpoint_type": "openai", "model_endpoint": endpoint,
            "context_window": 8000, **extra}


def embedding(endpoint: str, **extra) -> dict:
    return {"embedding_endpoint_type": "openai", "embedding_endpoint": endpoint,
            "embedding_model": "text-embedding-3-small", "embedding_dim": 1536, **extra}


def refused(response, field: str) -> None:
    assert response.status_code == 400, response.text
    assert field in response.json()["detail"], response.text


def test_rest_refuses_foreign_endpoints(http, listener):
    # Create, through the environment's provider (which has a key).
    refused(http.post("/v1/agents", json={"llm_config": llm(listener.url)}), "llm_config.model_endpoint")
    refused(http.post("/v1/agents", json={"model": "openai/gpt-4o-mini", "embedding_config": embedding(listener.url)}),
            "embedding_config.embedding_endpoint")
    # Naming the provider explicitly does not help.
    refused(http.post("/v1/agents", json={"llm_config": llm(listener.url, provider_name="openai")}),
            "llm_config.model_endpoint")
    refused(http.post("/v1/agents", json={"llm_config": {**llm(listener.url), "model_endpoint_type": "anthropic"}}),
            "llm_config.model_endpoint")
    # Update an existing, legitimate agent.
    agent = http.post("/v1/agents", json={"model": "openai/gpt-4o-mini"})
    assert agent.status_code == 200, agent.text
    agent_id = agent.json()["id"]
    refused(http.patch(f"/v1/agents/{agent_id}", json={"llm_config": llm(listener.url)}), "llm_config.model_endpoint")
    refused(http.patch(f"/v1/agents/{agent_id}", json={"embedding_config": embedding(listener.url)}),
            "embedding_config.embedding_endpoint")
    # The agent is unchanged, and the listener heard nothing.
    got = http.get(f"/v1/agents/{agent_id}").json()
    assert got["llm_config"]["model_endpoint"] != listener.url
    assert listener.seen == []


def test_grpc_refuses_foreign_endpoints(stubs, listener):
    llm_config = models_pb2.LlmConfig(model="gpt-4o-mini", model_endpoint_type="openai",
                                      model_endpoint=listener.url, context_window=8000)
    emb_config = models_pb2.EmbeddingConfig(embedding_endpoint_type="openai", embedding_endpoint=listener.url,
                                            embedding_model="text-embedding-3-small", embedding_dim=1536)
    assert_status(lambda: stubs.agents.CreateAgent(agents_pb2.CreateAgentRequest(llm_config=llm_config)),
                  INVALID, "llm_config.model_endpoint")
    assert_status(lambda: stubs.agents.CreateAgent(agents_pb2.CreateAgentRequest(
        model="openai/gpt-4o-mini", embedding_config=emb_config)), INVALID, "embedding_config.embedding_endpoint")
    agent = stubs.agents.CreateAgent(agents_pb2.CreateAgentRequest(model="openai/gpt-4o-mini"))
    assert_status(lambda: stubs.agents.UpdateAgent(agents_pb2.UpdateAgentRequest(
        agent_id=agent.id, llm_config=llm_config)), INVALID, "llm_config.model_endpoint")
    assert_status(lambda: stubs.agents.UpdateAgent(agents_pb2.UpdateAgentRequest(
        agent_id=agent.id, embedding_config=emb_config)), INVALID, "embedding_config.embedding_endpoint")
    assert listener.seen == []


def test_stored_provider_key_stays_with_its_url(http, fake_llm, listener):
    name = f"byok-{uid()}"
    own_url = f"{fake_llm.base_url}/v1"
    provider = http.post("/v1/providers", json={"name": name, "provider_type": "openai", "api_key": "sk-stored-1",
                                                "base_url": own_url}).json()
    # Its key cannot be pointed elsewhere by an agent.
    refused(http.post("/v1/agents", json={"llm_config": llm(listener.url, provider_name=name,
                                                                  provider_category="byok")}),
            "llm_config.model_endpoint")
    refused(http.post("/v1/agents", json={"model": "openai/gpt-4o-mini",
                                          "embedding_config": embedding(listener.url, handle=f"{name}/e")}),
            "embedding_config.embedding_endpoint")
    # Its base_url cannot move without the key being given again.
    r = http.patch(f"/v1/providers/{provider['id']}", json={"base_url": listener.url})
    refused(r, "api_key")
    # The same URL (no move) needs no key; a move with a new key is fine.
    assert http.patch(f"/v1/providers/{provider['id']}", json={"base_url": own_url + "/"}).status_code == 200
    # Legitimate: an agent on the provider's own URL works, with its key.
    model = f"m-{uid()}"
    agent = http.post("/v1/agents", json={"llm_config": llm(own_url, model=model, provider_name=name,
                                                            provider_category="byok")})
    assert agent.status_code == 200, agent.text
    fake_llm.script(Reply(text="own url"), model=model)
    reply = http.post(f"/v1/agents/{agent.json()['id']}/messages", json={"input": "hi"})
    assert reply.status_code == 200, reply.text
    assert fake_llm.last_request(model=model).headers["authorization"] == "Bearer sk-stored-1"
    moved = http.patch(f"/v1/providers/{provider['id']}", json={"base_url": listener.url, "api_key": "sk-for-there"})
    assert moved.status_code == 200, moved.text
    assert listener.seen == []
    http.delete(f"/v1/providers/{provider['id']}")


def test_keyless_provider_may_point_anywhere_and_sends_no_key(http, listener):
    # A provider with no key has nothing to leak: its agents may name any URL.
    name = f"nokey-{uid()}"
    provider = http.post("/v1/providers", json={"name": name, "provider_type": "ollama",
                                                "base_url": "http://127.0.0.1:9/v1"}).json()
    agent = http.post("/v1/agents", json={"llm_config": {**llm(listener.url, provider_name=name,
                                                                  provider_category="byok"),
                                                         "model_endpoint_type": "ollama"}})
    assert agent.status_code == 200, agent.text
    before = len(listener.seen)
    http.post(f"/v1/agents/{agent.json()['id']}/messages", json={"input": "hi"})  # the listener says no
    assert len(listener.seen) > before
    assert all(ENV_KEY not in (auth or "") and "sk-" not in (auth or "") for auth in listener.keys()), listener.seen
    http.delete(f"/v1/providers/{provider['id']}")


def test_legitimate_default_endpoints_still_work(http, fake_llm):
    model = f"m-{uid()}"
    # The environment provider's own URL, given explicitly (with or without a trailing slash).
    for endpoint in (f"{fake_llm.base_url}/v1", f"{fake_llm.base_url}/v1/"):
        agent = http.post("/v1/agents", json={"llm_config": llm(endpoint, model=model)})
        assert agent.status_code == 200, agent.text
    fake_llm.script(Reply(text="fine"), model=model)
    reply = http.post(f"/v1/agents/{agent.json()['id']}/messages", json={"input": "hi"})
    assert reply.status_code == 200, reply.text
    assert fake_llm.last_request(model=model).headers["authorization"] == f"Bearer {ENV_KEY}"


def test_stored_foreign_endpoint_is_refused_when_a_client_is_built():
    # A configuration stored before the create-time check never gets a client with the key.
    settings = Settings(openai_api_key="sk-env", openai_base_url="http://127.0.0.1:1/v1")
    catalog = Catalog(settings)
    catalog.set_stored([Provider("mine", "openai", "http://127.0.0.1:2/v1", "sk-mine", "byok")])
    registry = ProviderRegistry(settings, catalog)
    for provider_name in ("", "openai", "mine"):
        config = models_pb2.LlmConfig(model="m", model_endpoint_type="openai", model_endpoint="http://evil.test/v1",
                                      context_window=8000, provider_name=provider_name)
        with pytest.raises(LLMError, match="only sent there"):
            registry.client_for(config)
    config = models_pb2.LlmConfig(model="m", model_endpoint_type="openai", model_endpoint="http://127.0.0.1:1/v1/",
                                  context_window=8000)
    assert registry.client_for(config) is not None
    embeddings = Embeddings(catalog)
    for handle in ("", "mine/e"):
        emb = models_pb2.EmbeddingConfig(embedding_endpoint_type="openai", embedding_endpoint="http://evil.test/v1",
                                         embedding_model="e", embedding_dim=8, handle=handle)
        with pytest.raises(EmbeddingUnavailable, match="only sent there"):
            embeddings.embedder_for(emb)
