"""Tags (distinct agent tags) and the model catalog, over gRPC and REST."""
from __future__ import annotations

import grpc
import pytest
from mnemo.v1 import models_pb2, tags_pb2

from tests.util import Rest, Stubs, assert_status, pb, uid


@pytest.fixture(scope="module")
def rest(http) -> Rest:
    return Rest(http)


@pytest.fixture(scope="module")
def stubs(channel) -> Stubs:
    return Stubs(channel)


def test_tags_distinct_sorted_filtered(rest, stubs):
    tag = uid()
    wanted = [f"{tag}-apple", f"{tag}-banana", f"{tag}-cherry", f"{tag}-date"]
    rest.post("/v1/agents", {"include_base_tools": False, "tags": [wanted[2], wanted[0]]})
    rest.post("/v1/agents", {"include_base_tools": False, "tags": [wanted[0], wanted[3], wanted[1]]})
    rest.post("/v1/agents", {"include_base_tools": False, "tags": [wanted[1]]})

    def listed(**params) -> list[str]:
        over_rest = rest.get("/v1/tags", params=params)
        assert isinstance(over_rest, list) and all(isinstance(t, str) for t in over_rest)
        assert list(stubs.tags.ListTags(pb(tags_pb2.ListTagsRequest, params)).tags) == over_rest
        return over_rest

    assert listed(name=tag) == wanted  # distinct and alphabetical
    assert listed(name=tag.upper()) == wanted  # case-insensitive
    assert listed(query_text=f"{tag}-b") == [wanted[1]]  # the older parameter name
    assert listed(name=tag, order="desc") == wanted[::-1]
    assert listed(name=tag, limit=2) == wanted[:2]
    assert listed(name=tag, limit=2, after=wanted[1]) == wanted[2:]
    assert listed(name=tag, after=wanted[3]) == []
    assert listed(name=tag, before=wanted[2]) == wanted[:2]
    assert listed(name=tag, before=wanted[3], limit=2) == wanted[1:3]
    assert listed(name=tag, order="desc", after=wanted[2]) == wanted[1::-1]

    # Walking every tag page by page sees ours once each, in order.
    seen, after = [], None
    while True:
        page = rest.get("/v1/tags", params={"limit": 3, **({"after": after} if after else {})})
        if not page:
            break
        seen += page
        after = page[-1]
    assert seen == sorted(set(seen)) and [t for t in seen if t.startswith(tag)] == wanted

    # Tags disappear with the last agent that has them.
    agent = rest.post("/v1/agents", {"include_base_tools": False, "tags": [f"{tag}-zzz"]})
    assert listed(name=f"{tag}-zzz") == [f"{tag}-zzz"]
    rest.delete(f"/v1/agents/{agent['id']}")
    assert listed(name=f"{tag}-zzz") == []
    rest.get("/v1/tags", params={"limit": 0}, expect=400, contains="limit")


def test_models_include_fake_providers_and_offline(rest, stubs):
    models = rest.get("/v1/models")
    assert isinstance(models, list)
    by_handle = {m["handle"]: m for m in models}
    # The fake LLM lists these models; both configured providers report them.
    assert {"openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-haiku-4-5", "mnemo/offline-dev"} <= set(by_handle)
    # OpenAI's embedding models are not language models. (The fake LLM lists
    # the same models for Anthropic too, where the server keeps them.)
    assert "openai/text-embedding-3-small" not in by_handle
    mini = by_handle["openai/gpt-4o-mini"]
    assert (mini["model"], mini["provider_type"], mini["provider_name"]) == ("gpt-4o-mini", "openai", "openai")
    assert mini["model_endpoint_type"] == "openai" and mini["model_type"] == "llm"
    assert mini["model_endpoint"].endswith("/v1")
    assert 0 < mini["context_window"] <= mini["max_context_window"] == 128_000
    claude = by_handle["anthropic/claude-haiku-4-5"]
    assert claude["provider_type"] == "anthropic" and claude["max_context_window"] == 200_000
    offline = by_handle["mnemo/offline-dev"]
    assert offline["provider_name"] == "mnemo" and offline["context_window"] > 0

    over_grpc = stubs.models.ListModels(models_pb2.ListModelsRequest()).models
    assert [m.handle for m in over_grpc] == [m["handle"] for m in models]


def test_model_filters(rest, stubs):
    anthropic = rest.get("/v1/models", params={"provider_name": "anthropic"})
    assert anthropic and {m["provider_name"] for m in anthropic} == {"anthropic"}
    openai = stubs.models.ListModels(models_pb2.ListModelsRequest(provider_type="openai")).models
    assert openai and {m.provider_type for m in openai} == {"openai"}
    base = rest.get("/v1/models", params={"provider_category": ["base"]})
    assert len(base) == len(rest.get("/v1/models"))
    assert rest.get("/v1/models", params={"provider_category": ["byok"]}) == []
    assert rest.get("/v1/models", params={"provider_name": "nobody"}) == []


def test_listed_models_can_be_used(rest):
    for handle in ("anthropic/claude-haiku-4-5", "mnemo/offline-dev"):
        agent = rest.post("/v1/agents", {"include_base_tools": False, "model": handle})
        assert agent["llm_config"]["handle"] == handle


def test_embedding_models(rest, stubs):
    models = rest.get("/v1/models/embedding")
    assert isinstance(models, list)
    small = {m["handle"]: m for m in models}["openai/text-embedding-3-small"]
    assert small["embedding_model"] == "text-embedding-3-small" and small["embedding_dim"] == 1536
    assert small["model_type"] == "embedding" and small["embedding_endpoint_type"] == "openai"
    assert small["embedding_chunk_size"] > 0
    over_grpc = stubs.models.ListEmbeddingModels(models_pb2.ListEmbeddingModelsRequest()).models
    assert [m.handle for m in over_grpc] == [m["handle"] for m in models]


def test_tags_grpc_errors(stubs):
    assert_status(lambda: stubs.tags.ListTags(tags_pb2.ListTagsRequest(order="up")),
                  grpc.StatusCode.INVALID_ARGUMENT, "order")
