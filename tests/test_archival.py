"""Archival memory (passages) and recall search.

End to end (real server, Postgres, Envoy; the fake provider's deterministic
embeddings): PassageService over gRPC and REST, letta-client's
agents.passages.*, the archival tools in an agent's turn, the embedding-change
guard, the full-text fallback, conversation_search.

In process (a throwaway embedded PostgreSQL, the server's own storage and core
code): hybrid search with a small "semantic" embedder, so exact tokens and
paraphrases can be told apart; filtered HNSW searches with iterative scans;
per-dimension indexes; retries and batching of embedding calls; the benchmark
entry point; the local model when it is installed.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import re
import shutil
import tempfile
from pathlib import Path

import grpc
import pytest
from letta_client import Letta
from mnemo.v1 import (
    agents_pb2,
    agents_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    models_pb2,
    passages_pb2,
    passages_pb2_grpc,
)
from mnemo_server.config import Settings
from mnemo_server.core import passages as archival
from mnemo_server.core.catalog import Catalog
from mnemo_server.loop.archival_tools import ARCHIVAL_TOOLS
from mnemo_server.loop.tool_exec import EXECUTORS, ToolContext, ToolFailure
from mnemo_server.providers import local_embeddings
from mnemo_server.providers.base import LLMError
from mnemo_server.providers.embeddings import Embeddings
from mnemo_server.providers.registry import RetryPolicy
from mnemo_server.storage import passages as store
from mnemo_server.storage.database import EmbeddedPostgres, make_engine, migrate
from sqlalchemy import text

from tests.fakes.fake_llm import Reply, ToolCall
from tests.fakes.fake_llm import embed as fake_embed
from tests.util import Rest, assert_status, ts, uid

INVALID, NOT_FOUND, PRECONDITION = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                                    grpc.StatusCode.FAILED_PRECONDITION)
EMBEDDING = "openai/text-embedding-3-small"


# --------------------------------------------------------------------------- fixtures (end to end)


@pytest.fixture(scope="module")
def rest(http) -> Rest:
    return Rest(http)


@pytest.fixture(scope="module")
def agents(channel):
    return agents_pb2_grpc.AgentServiceStub(channel)


@pytest.fixture(scope="module")
def passages(channel):
    return passages_pb2_grpc.PassageServiceStub(channel)


@pytest.fixture(scope="module")
def msgs(channel):
    return messages_pb2_grpc.MessageServiceStub(channel)


@pytest.fixture(scope="module")
def sdk(stack):
    with Letta(base_url=stack.http_base, max_retries=0, timeout=30) as client:
        yield client


def new_agent(agents, **kwargs) -> agents_pb2.Agent:
    kwargs.setdefault("model", f"openai/m-{uid()}")
    if "embedding_config" not in kwargs:
        kwargs.setdefault("embedding", EMBEDDING)
    return agents.CreateAgent(agents_pb2.CreateAgentRequest(
        memory_blocks=[{"label": "human", "value": "The human is Bob."}], **kwargs))


def create(passages, agent_id: str, text_: str, metadata: dict | None = None, **kwargs) -> passages_pb2.Passage:
    request = passages_pb2.CreatePassageRequest(agent_id=agent_id, text=text_, **kwargs)
    if metadata is not None:
        request.metadata.update(metadata)
    response = passages.CreatePassage(request)
    assert len(response.passages) == 1
    return response.passages[0]


def send(msgs, agent_id: str, text_: str) -> messages_pb2.SendMessageResponse:
    return msgs.SendMessage(messages_pb2.SendMessageRequest(
        agent_id=agent_id, messages=[{"role": "user", "content": {"string_value": text_}}]))


# --------------------------------------------------------------------------- gRPC


def test_grpc_insert_list_get_update_delete(agents, passages):
    agent = new_agent(agents)
    first = create(passages, agent.id, "The first memory.", tags=["a", "b", "a"], metadata={"source": "test"})
    assert first.id.startswith("passage-") and first.agent_id == agent.id
    assert first.text == "The first memory." and list(first.tags) == ["a", "b"]
    assert dict(first.metadata) == {"source": "test"}
    assert first.embedding_config.embedding_model == "text-embedding-3-small"
    assert first.embedding_config.embedding_dim == 1536
    second = create(passages, agent.id, "The second memory.", created_at="2030-01-02T03:04:05Z")
    third = create(passages, agent.id, "A third one, about gardening.")
    assert second.created_at.ToDatetime().year == 2030

    listed = passages.ListPassages(passages_pb2.ListPassagesRequest(agent_id=agent.id)).passages
    assert [p.id for p in listed] == [first.id, third.id, second.id]  # oldest first, by created_at
    newest = passages.ListPassages(passages_pb2.ListPassagesRequest(agent_id=agent.id, ascending=False)).passages
    assert [p.id for p in newest] == [second.id, third.id, first.id]
    page = passages.ListPassages(passages_pb2.ListPassagesRequest(agent_id=agent.id, limit=2)).passages
    rest_page = passages.ListPassages(passages_pb2.ListPassagesRequest(agent_id=agent.id, after=page[-1].id))
    assert [p.id for p in page] + [p.id for p in rest_page.passages] == [first.id, third.id, second.id]
    found = passages.ListPassages(passages_pb2.ListPassagesRequest(agent_id=agent.id, search="GARDEN")).passages
    assert [p.id for p in found] == [third.id]

    got = passages.GetPassage(passages_pb2.GetPassageRequest(agent_id=agent.id, passage_id=first.id))
    assert got.text == first.text
    updated = passages.UpdatePassage(passages_pb2.UpdatePassageRequest(
        agent_id=agent.id, passage_id=first.id, text="The first memory, revised.", tags=["c"]))
    assert updated.text == "The first memory, revised." and list(updated.tags) == ["c"]
    assert updated.embedding_config.embedding_dim == 1536
    assert updated.updated_at.ToDatetime() >= updated.created_at.ToDatetime()

    passages.DeletePassage(passages_pb2.DeletePassageRequest(agent_id=agent.id, passage_id=first.id))
    assert_status(lambda: passages.GetPassage(passages_pb2.GetPassageRequest(agent_id=agent.id, passage_id=first.id)),
                  NOT_FOUND, "passage")
    assert_status(lambda: passages.DeletePassage(passages_pb2.DeletePassageRequest(
        agent_id=agent.id, passage_id=first.id)), NOT_FOUND)


def test_grpc_validation(agents, passages):
    agent = new_agent(agents)
    missing = "agent-00000000-0000-0000-0000-000000000000"
    assert_status(lambda: create(passages, agent.id, "  "), INVALID, "text")
    assert_status(lambda: create(passages, missing, "x"), NOT_FOUND, "agent")
    assert_status(lambda: create(passages, agent.id, "x", created_at="yesterday"), INVALID, "created_at")
    assert_status(lambda: create(passages, agent.id, "x", tags=[""]), INVALID, "tags[0]")
    assert_status(lambda: create(passages, agent.id, "x" * 100_001), INVALID, "text")
    other = new_agent(agents)
    theirs = create(passages, other.id, "belongs to the other agent")
    assert_status(lambda: passages.GetPassage(passages_pb2.GetPassageRequest(
        agent_id=agent.id, passage_id=theirs.id)), NOT_FOUND)
    search = passages_pb2.SearchAgentPassagesRequest
    assert_status(lambda: passages.SearchAgentPassages(search(agent_id=agent.id)), INVALID, "query")
    assert_status(lambda: passages.SearchAgentPassages(search(agent_id=agent.id, query="x", top_k=0)),
                  INVALID, "top_k")
    assert_status(lambda: passages.SearchAgentPassages(search(agent_id=agent.id, query="x", tag_match_mode="most")),
                  INVALID, "tag_match_mode")
    assert_status(lambda: passages.SearchPassages(passages_pb2.SearchPassagesRequest(query="x")), INVALID,
                  "agent_id")


def test_dimensions_are_honoured(agents, passages, fake_llm):
    config = models_pb2.EmbeddingConfig(embedding_endpoint_type="openai", embedding_model="text-embedding-3-small",
                                        embedding_dim=256, handle=EMBEDDING)
    agent = new_agent(agents, embedding_config=config)
    passage = create(passages, agent.id, "A small vector.")
    assert passage.embedding_config.embedding_dim == 256
    sent = [r for r in fake_llm.requests if r.endpoint == "embeddings" and r.body.get("input") == ["A small vector."]]
    assert sent and sent[-1].body["dimensions"] == 256 and sent[-1].body["model"] == "text-embedding-3-small"
    hits = passages.SearchAgentPassages(passages_pb2.SearchAgentPassagesRequest(agent_id=agent.id, query="small"))
    assert [r.id for r in hits.results] == [passage.id]


# --------------------------------------------------------------------------- REST and letta-client


def test_rest_shapes(agents, rest):
    agent = new_agent(agents)
    base = f"/v1/agents/{agent.id}/archival-memory"
    created = rest.post(base, {"text": "Dinner with Ann is on Friday.", "tags": ["social"],
                               "created_at": "2024-05-01T12:00:00"})
    assert isinstance(created, list) and len(created) == 1  # Letta answers a list
    passage = created[0]
    assert passage["text"] == "Dinner with Ann is on Friday." and passage["tags"] == ["social"]
    assert ts(passage["created_at"]).isoformat().startswith("2024-05-01T12:00:00")
    assert "embedding" not in passage and passage["embedding_config"]["embedding_dim"] == 1536
    rest.post(base, {"text": "Lunch with Tom is on Monday.", "tags": ["social", "work"]})

    listed = rest.get(base, params={"limit": 10, "ascending": "false"})
    assert isinstance(listed, list) and [p["text"][:5] for p in listed] == ["Lunch", "Dinne"]
    assert rest.get(base, params={"search": "tom"})[0]["text"].startswith("Lunch")
    assert rest.get(base, params={"after": listed[0]["id"], "ascending": "false"})[0]["id"] == passage["id"]

    found = rest.get(f"{base}/search", params={"query": "dinner with Ann", "top_k": 1})
    assert found["count"] == 1 and found["results"][0]["id"] == passage["id"]
    result = found["results"][0]
    assert result["content"] == passage["text"] and result["tags"] == ["social"]
    assert isinstance(result["timestamp"], str) and result["timestamp"].startswith("2024-05-01 12:00:00 PM")
    both = rest.get(f"{base}/search", params=[("query", "with"), ("tags", "social"), ("tags", "work"),
                                              ("tag_match_mode", "all")])
    assert [r["content"][:5] for r in both["results"]] == ["Lunch"]
    dated = rest.get(f"{base}/search", params={"query": "with", "end_datetime": "2024-12-31"})
    assert [r["id"] for r in dated["results"]] == [passage["id"]]

    patched = rest.patch(f"{base}/{passage['id']}", {"tags": ["social", "food"]})
    assert patched["tags"] == ["social", "food"] and patched["text"] == passage["text"]
    assert rest.get(f"{base}/{passage['id']}")["tags"] == ["social", "food"]

    scored = rest.post("/v1/passages/search", {"agent_id": agent.id, "query": "Ann dinner", "limit": 5})
    assert isinstance(scored, list) and scored[0]["passage"]["id"] == passage["id"]
    assert scored[0]["score"] > 0 and scored[0]["metadata"]["mode"] == "hybrid"
    assert scored[0]["metadata"]["vector_rank"] == 1 and scored[0]["metadata"]["text_rank"] == 1

    assert rest.delete(f"{base}/{passage['id']}") == {}
    rest.delete(f"{base}/{passage['id']}", expect=404, contains="passage")
    rest.post(base, {"text": ""}, expect=400, contains="text")
    rest.get(f"{base}/search", params={"query": "x", "start_datetime": "not a date"}, expect=400,
             contains="start_datetime")


def test_letta_client_passages(agents, sdk):
    agent = new_agent(agents)
    created = sdk.agents.passages.create(agent_id=agent.id, text="Bob's favourite fruit is the mango.",
                                         tags=["food"])
    assert isinstance(created, list) and created[0].text.startswith("Bob's favourite")  # List[Passage]
    sdk.agents.passages.create(agent_id=agent.id, text="Bob works at the harbour office.", tags=["work"])
    listed = sdk.agents.passages.list(agent_id=agent.id)
    assert [p.text[:9] for p in listed] == ["Bob's fav", "Bob works"]
    assert listed[0].created_at is not None and listed[0].tags == ["food"]
    assert [p.text[:9] for p in sdk.agents.passages.list(agent_id=agent.id, search="harbour")] == ["Bob works"]

    found = sdk.agents.passages.search(agent_id=agent.id, query="favourite fruit", top_k=1)
    assert found.count == 1 and found.results[0].content.startswith("Bob's favourite")
    assert isinstance(found.results[0].timestamp, str) and found.results[0].tags == ["food"]
    by_tag = sdk.agents.passages.search(agent_id=agent.id, query="Bob", tags=["work"], tag_match_mode="any")
    assert [r.content[:9] for r in by_tag.results] == ["Bob works"]

    # Letta's top-level search: a bare array of {passage, score, metadata}.
    scored = sdk.passages.search(agent_id=agent.id, query="harbour office", limit=2)
    assert scored[0].passage.text.startswith("Bob works") and scored[0].score > 0

    sdk.agents.passages.delete(created[0].id, agent_id=agent.id)
    assert [p.text[:9] for p in sdk.agents.passages.list(agent_id=agent.id)] == ["Bob works"]


# --------------------------------------------------------------------------- search quality through the API


def test_hybrid_search_finds_exact_tokens_and_related_wording(agents, passages):
    agent = new_agent(agents)
    target = create(passages, agent.id, "Invoice INV-2024-0042 for the garden shed was paid on Friday.")
    for i in range(30):
        create(passages, agent.id, f"Invoice INV-2024-{1000 + i} for office supplies was paid on Monday.")
    create(passages, agent.id, "The garden shed needs a new coat of paint before winter.")
    search = lambda q, k=5: passages.SearchAgentPassages(  # noqa: E731
        passages_pb2.SearchAgentPassagesRequest(agent_id=agent.id, query=q, top_k=k)).results
    assert search("INV-2024-0042")[0].id == target.id  # the exact id, among 30 near-identical invoices
    assert search("what did the shed invoice cost")[0].id == target.id
    # An id fragment that full-text search does not tokenise the same way ('-0042'
    # vs '0042') is still found: the vector side matches it.
    assert target.id in [r.id for r in search("0042")]


def test_filtered_search_returns_full_top_k(agents, passages):
    agent = new_agent(agents)
    for i in range(60):
        tags = ["keep"] if i % 3 == 0 else ["other"]
        created_at = f"2024-01-{1 + i % 28:02d}T00:00:00Z"
        create(passages, agent.id, f"Note {i}: a fact about topic {i % 7}.", tags=tags, created_at=created_at)
    request = passages_pb2.SearchAgentPassagesRequest
    keep = passages.SearchAgentPassages(request(agent_id=agent.id, query="a fact about topic 3", tags=["keep"],
                                                top_k=20)).results
    assert len(keep) == 20 and all(list(r.tags) == ["keep"] for r in keep)
    january = passages.SearchAgentPassages(request(agent_id=agent.id, query="fact", top_k=30,
                                                   start_datetime="2024-01-10", end_datetime="2024-01-20")).results
    assert len(january) == 22 and all("2024-01-1" in r.timestamp or "2024-01-20" in r.timestamp for r in january)


# --------------------------------------------------------------------------- the agent's tools


def test_agent_stores_a_fact_and_finds_it_later(agents, msgs, fake_llm):
    model = f"m-{uid()}"
    agent = new_agent(agents, model=f"openai/{model}", tools=["archival_memory_insert", "archival_memory_search"])
    fake_llm.script(
        Reply(tool_calls=[ToolCall("archival_memory_insert", {"content": "Bob's locker code is 4471.",
                                                              "tags": ["bob", "codes"]})]),
        Reply(text="Saved."),
        model=model,
    )
    first = send(msgs, agent.id, "Remember that my locker code is 4471.")
    assert [m.message_type for m in first.messages] == ["tool_call_message", "tool_return_message",
                                                        "assistant_message"]
    assert first.messages[1].status == "success" and "Saved to archival memory" in first.messages[1].tool_return

    fake_llm.script(
        Reply(tool_calls=[ToolCall("archival_memory_search", {"query": "what is the locker code of Bob",
                                                              "tags": ["bob"], "top_k": 3})]),
        Reply(text="Your locker code is 4471."),
        model=model,
    )
    second = send(msgs, agent.id, "What was my locker code again?")
    assert second.messages[1].status == "success"
    result = json.loads(second.messages[1].tool_return)
    top = result["results"][0]
    assert top["content"] == "Bob's locker code is 4471." and top["tags"] == ["bob", "codes"]
    assert 0 < top["relevance"] <= 1 and re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [AP]M", top["timestamp"])
    # The model read the result on its next call.
    last = fake_llm.last_request(model=model)
    assert "4471" in last.body["messages"][-1]["content"]

    fake_llm.script(
        Reply(tool_calls=[ToolCall("archival_memory_search", {"query": "x", "tag_match_mode": "most"})]),
        Reply(text="oops"), model=model,
    )
    bad = send(msgs, agent.id, "search badly")
    assert bad.messages[1].status == "error" and "tag_match_mode" in bad.messages[1].tool_return


def test_conversation_search_is_hybrid(agents, msgs, fake_llm):
    model = f"m-{uid()}"
    agent = new_agent(agents, model=f"openai/{model}")
    send(msgs, agent.id, "We deployed the payment service to production yesterday.")
    send(msgs, agent.id, "Ticket ABC-12345 is blocked by the database migration.")
    send(msgs, agent.id, "Lunch was great.")

    def search(args: dict) -> list[str]:
        fake_llm.script(Reply(tool_calls=[ToolCall("conversation_search", args)]), Reply(text="ok"), model=model)
        response = send(msgs, agent.id, "search please")
        return [r["content"] for r in json.loads(response.messages[1].tool_return)["results"]]

    # Another form of the word (full text, stemmed): substring matching alone misses it.
    assert any("deployed the payment service" in c for c in search({"query": "deployment"}))
    # A fragment of a token (substring).
    assert any("ABC-12345" in c for c in search({"query": "12345"}))
    # Several words, in another order: the best match comes first.
    assert "migration" in search({"query": "database migration ticket", "roles": ["user"]})[0]


# --------------------------------------------------------------------------- the embedding model is fixed


def test_changing_the_embedding_model_is_refused_once_there_are_passages(agents, passages, rest):
    agent = new_agent(agents)
    update = agents_pb2.UpdateAgentRequest
    # No passages yet: allowed.
    changed = agents.UpdateAgent(update(agent_id=agent.id, embedding="openai/text-embedding-3-large"))
    assert changed.embedding_config.embedding_model == "text-embedding-3-large"
    create(passages, agent.id, "A memory embedded with the large model.")
    assert_status(lambda: agents.UpdateAgent(update(agent_id=agent.id, embedding=EMBEDDING)), PRECONDITION,
                  "embedding")
    rest.patch(f"/v1/agents/{agent.id}", {"embedding": EMBEDDING}, expect=400, contains="embedding")
    # The same model again is no change; other fields still update.
    same = agents.UpdateAgent(update(agent_id=agent.id, embedding="openai/text-embedding-3-large", name="kept"))
    assert same.name == "kept"
    # Without the passages, the model can change again.
    for p in passages.ListPassages(passages_pb2.ListPassagesRequest(agent_id=agent.id)).passages:
        passages.DeletePassage(passages_pb2.DeletePassageRequest(agent_id=agent.id, passage_id=p.id))
    assert agents.UpdateAgent(update(agent_id=agent.id, embedding=EMBEDDING)).embedding == EMBEDDING


def test_unusable_embedding_model_falls_back_to_full_text(agents, passages, msgs, fake_llm):
    model = f"m-{uid()}"
    config = models_pb2.EmbeddingConfig(embedding_endpoint_type="not-a-provider", embedding_model="x",
                                        embedding_dim=8)
    agent = new_agent(agents, model=f"openai/{model}", embedding_config=config,
                      tools=["archival_memory_insert", "archival_memory_search"])
    stored = create(passages, agent.id, "The spare key is under the blue flowerpot.")
    assert not stored.HasField("embedding_config")  # stored without a vector
    found = passages.SearchPassages(passages_pb2.SearchPassagesRequest(agent_id=agent.id, query="spare key"))
    assert found.results[0].passage.id == stored.id
    assert found.results[0].metadata["mode"] == "text" and "full-text" in found.results[0].metadata["note"]
    fake_llm.script(
        Reply(tool_calls=[ToolCall("archival_memory_insert", {"content": "The wifi password is hunter2."})]),
        Reply(tool_calls=[ToolCall("archival_memory_search", {"query": "wifi password"})]),
        Reply(text="done"), model=model,
    )
    response = send(msgs, agent.id, "remember the wifi password")
    returns = [m.tool_return for m in response.messages if m.message_type == "tool_return_message"]
    assert "no embedding" in returns[0] and "words only" in returns[0]
    result = json.loads(returns[1])
    assert result["results"][0]["content"] == "The wifi password is hunter2." and "full-text" in result["note"]


# --------------------------------------------------------------------------- in process: a throwaway database


@pytest.fixture(scope="module")
async def engine():
    data_dir = Path(tempfile.mkdtemp(prefix="mnemo-archival-"))
    pg = EmbeddedPostgres(data_dir)
    try:
        url = await asyncio.to_thread(pg.start)
        eng = make_engine(url, pool_size=4)
        await migrate(eng)
        yield eng
        await eng.dispose()
    finally:
        await asyncio.to_thread(pg.stop)
        shutil.rmtree(data_dir, ignore_errors=True)


async def insert_agent(engine, embedding_config: dict | None = None) -> str:
    agent_id = f"agent-{uid()}"
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO agents (id, name, agent_type, system, llm_config, embedding_config) "
            "VALUES (:id, 'test', 'letta_v1_agent', '', '{}'::jsonb, CAST(:config AS jsonb))"),
            {"id": agent_id, "config": json.dumps(embedding_config) if embedding_config else None})
    return agent_id


# A tiny "semantic" embedder: synonyms share a feature, and, like real sentence
# models, it gives ids and numbers no meaning of their own (letters only).
CONCEPTS = {"automobile": "car", "vehicle": "car", "purchase": "buy", "purchased": "buy", "bought": "buy",
            "physician": "doctor", "appointment": "meeting"}
CONCEPT_DIM = 64
STUB_CONFIG = {"embedding_endpoint_type": "stub", "embedding_model": "concepts", "embedding_dim": CONCEPT_DIM,
               "handle": "stub/concepts"}


def concept_vector(text_: str) -> list[float]:
    vec = [0.0] * CONCEPT_DIM
    for word in re.findall(r"[a-z]+", text_.lower()):
        concept = CONCEPTS.get(word, word)
        vec[int(hashlib.blake2b(concept.encode(), digest_size=8).hexdigest(), 16) % CONCEPT_DIM] += 1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec] if any(vec) else [1.0] + [0.0] * (CONCEPT_DIM - 1)


class ConceptEmbedder:
    provider = "stub"

    async def embed(self, model, texts, dimensions):
        return [concept_vector(t) for t in texts]


class ConceptEmbeddings(Embeddings):
    def embedder_for(self, config):
        if config.embedding_endpoint_type == "stub":
            return ConceptEmbedder()
        return super().embedder_for(config)


async def test_hybrid_fusion_exact_tokens_from_text_paraphrases_from_vectors(engine):
    catalog = Catalog(Settings())
    service = archival.Passages(engine, catalog, ConceptEmbeddings(catalog))
    agent_id = await insert_agent(engine, STUB_CONFIG)
    car, _ = (await service.insert(agent_id, "Alice bought a new car last week."))[:2]
    invoice, _ = (await service.insert(agent_id, "Invoice INV-2024-0042 was paid by Bob on Friday."))[:2]
    for i in range(30):  # the same words, other ids: identical vectors
        await service.insert(agent_id, f"Invoice INV-2024-{1000 + i} was paid by Bob on Friday.")
    await service.insert(agent_id, "Carol's physician moved the meeting to Tuesday.")
    await service.indexes_ready()

    exact = await service.search(agent_id, "INV-2024-0042", top_k=5)
    assert exact.mode == "hybrid" and exact.hits[0].passage.id == invoice[0].id
    assert exact.hits[0].text_rank == 1  # full text told it apart from its 30 twins

    paraphrase = await service.search(agent_id, "automobile purchase", top_k=5)
    assert paraphrase.hits[0].passage.id == car[0].id
    assert paraphrase.hits[0].vector_rank == 1 and paraphrase.hits[0].text_rank is None  # no shared word

    doctor = await service.search(agent_id, "doctor appointment", top_k=3)
    assert doctor.hits[0].passage.text.startswith("Carol's physician")

    # Filters apply to both retrievers.
    none = await service.search(agent_id, "automobile purchase", tags=["x"], top_k=5)
    assert none.hits == []
    # Without a query: the newest passages.
    recent = await service.search(agent_id, None, top_k=2)
    assert recent.mode == "recent" and recent.hits[0].passage.text.startswith("Carol's")


async def test_filtered_hnsw_search_returns_full_top_k(engine):
    """Agent and tag filters are applied during the HNSW scan (iterative scans):
    a selective filter still yields top_k rows, where a plain scan of the
    first ef_search candidates would yield almost none."""
    rng = random.Random(7)
    dim = 32
    agent_ids = [await insert_agent(engine) for _ in range(20)]
    target = agent_ids[0]
    rows = []
    for n in range(2000):
        agent_id = agent_ids[n % 20]
        keep = agent_id == target and n % 60 < 20  # 34 of the target's 100 passages
        vector = [rng.gauss(0, 1) for _ in range(dim)]
        rows.append({"id": f"passage-{uid()}-{n}", "agent_id": agent_id, "text": f"passage {n}",
                     "tags": ["keep"] if keep else ["other"], "metadata": {}, "embedding": vector,
                     "embedding_dim": dim, "embedding_handle": "bench/random"})
    async with engine.begin() as conn:
        await store.insert_many(conn, rows)
        await conn.execute(text("ANALYZE passages"))
    assert await store.ensure_vector_index(engine, dim)
    query = [rng.gauss(0, 1) for _ in range(dim)]
    filters = store.Filters(agent_id=target, tags=("keep",))
    wanted = sum(1 for r in rows if r["agent_id"] == target and r["tags"] == ["keep"])

    async with engine.begin() as conn:
        plan = await store.explain_vector_search(conn, filters, query, limit=20, prefer_index=True)
    assert f"Index Scan using {store.index_name(dim)}" in plan, plan
    async with engine.begin() as conn:
        found = await store.vector_candidates(conn, filters, query, limit=20, prefer_index=True)
    async with engine.begin() as conn:
        exact = await store.vector_candidates(conn, filters, query, limit=20, exact=True)
    assert len(found) == 20 and wanted >= 20
    assert {i for i, _ in found} <= {r["id"] for r in rows if r["tags"] == ["keep"]}
    assert len({i for i, _ in found} & {i for i, _ in exact}) >= 18  # HNSW recall
    assert [d for _, d in found] == sorted(d for _, d in found)

    # The same index scan without iterative scans stops at ef_search candidates.
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL hnsw.iterative_scan = off"))
        await conn.execute(text("SET LOCAL hnsw.ef_search = 40"))
        await conn.execute(text("SET LOCAL enable_sort = off"))
        where, params = filters.sql()
        plain = (await conn.execute(text(
            f"SELECT id FROM passages WHERE embedding_dim = {dim} AND {where} "
            f"ORDER BY (embedding::vector({dim})) <=> CAST(:q AS vector({dim})) LIMIT 20"),
            {**params, "q": store.vector_literal(query)})).all()
    assert len(plain) < 20

    # More results than exist: all of them (the exact fallback), none lost.
    async with engine.begin() as conn:
        everything = await store.vector_candidates(conn, filters, query, limit=100, prefer_index=True)
    assert len(everything) == wanted


async def test_vector_indexes_per_dimension_are_idempotent(engine):
    store._known_indexes.clear()
    results = await asyncio.gather(*(store.ensure_vector_index(engine, 48) for _ in range(3)))
    assert results == [True, True, True]
    store._known_indexes.clear()
    assert await store.ensure_vector_index(engine, 3072)  # above 2,000: halfvec
    assert not await store.ensure_vector_index(engine, 5000)  # above 4,000: no index, exact search
    async with engine.connect() as conn:
        defs = dict((await conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'passages_embedding_hnsw_%'"))).all())
        valid = (await conn.execute(text(
            "SELECT bool_and(i.indisvalid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname LIKE 'passages_embedding_hnsw_%'"))).scalar()
    assert "WHERE (embedding_dim = 48)" in defs["passages_embedding_hnsw_48"]
    assert "(embedding)::vector(48)" in defs["passages_embedding_hnsw_48"]
    assert "halfvec(3072)" in defs["passages_embedding_hnsw_3072"] and valid


async def test_offline_agent_uses_full_text_and_tools_say_so(engine):
    catalog = Catalog(Settings())  # no provider configured
    archival.Passages(engine, catalog, Embeddings(catalog))
    agent_id = await insert_agent(engine, None)  # no embedding model
    ctx = ToolContext(engine=engine, agent_id=agent_id, run_id="run-test", agent={"id": agent_id})
    assert set(ARCHIVAL_TOOLS) <= set(EXECUTORS)  # registered by importing loop.archival_tools
    saved = await EXECUTORS["archival_memory_insert"](ctx, {"content": "Grandma's birthday is on 12 March.",
                                                             "tags": ["family"]})
    assert "Saved to archival memory" in saved and "no embedding" in saved and ctx.notes["archival_changed"]
    await EXECUTORS["archival_memory_insert"](ctx, {"content": "The car goes to the garage in May."})
    # The inserts wait for the step's commit (the agent loop runs them in its transaction).
    assert len(ctx.writes) == 2
    assert json.loads(await EXECUTORS["archival_memory_search"](ctx, {"query": "grandma"}))["results"] == []
    async with engine.begin() as conn:
        for pending in ctx.writes:
            await pending.write(conn)
    ctx.writes.clear()
    found = json.loads(await EXECUTORS["archival_memory_search"](ctx, {"query": "when is grandma's birthday"}))
    assert found["results"][0]["content"] == "Grandma's birthday is on 12 March."
    assert found["results"][0]["tags"] == ["family"] and "full-text" in found["note"]
    tagged = json.loads(await EXECUTORS["archival_memory_search"](ctx, {"query": "birthday garage",
                                                                        "tags": ["family"]}))
    assert [r["tags"] for r in tagged["results"]] == [["family"]]
    with pytest.raises(ToolFailure):
        await EXECUTORS["archival_memory_insert"](ctx, {"content": ""})
    with pytest.raises(ToolFailure):
        await EXECUTORS["archival_memory_search"](ctx, {"query": "x", "start_datetime": "soon"})
    empty = json.loads(await EXECUTORS["archival_memory_search"](ctx, {"query": "zebra"}))
    assert empty["results"] == [] and empty["message"] == "No results found."


async def test_embedding_calls_are_batched_and_retried():
    class Flaky:
        provider = "stub"

        def __init__(self):
            self.batches: list[int] = []
            self.failures = 1

        async def embed(self, model, texts, dimensions):
            if self.failures:
                self.failures -= 1
                raise LLMError("rate_limit", "slow down", status=429, provider="stub")
            self.batches.append(len(texts))
            return [fake_embed(t, 8) for t in texts]

    flaky = Flaky()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    class Stubbed(Embeddings):
        def embedder_for(self, config):
            return flaky

    embeddings = Stubbed(Catalog(Settings()), retry=RetryPolicy(attempts=3, base_delay=0.01), sleep=sleep)
    config = models_pb2.EmbeddingConfig(embedding_endpoint_type="stub", embedding_model="m", embedding_dim=8,
                                        batch_size=32)
    vectors = await embeddings.embed(config, [f"text {i}" for i in range(70)])
    assert len(vectors) == 70 and vectors[5] == pytest.approx(fake_embed("text 5", 8))
    assert sorted(flaky.batches) == [6, 32, 32] and len(slept) == 1

    class Broken(Flaky):
        async def embed(self, model, texts, dimensions):
            raise LLMError("auth", "bad key", status=401, provider="stub")

    flaky = Broken()
    with pytest.raises(LLMError):
        await embeddings.embed(config, ["x"])
    assert len(slept) == 1  # not retried


def test_unconfigured_openai_embedding_is_unavailable_not_an_error():
    embeddings = Embeddings(Catalog(Settings()))
    config = models_pb2.EmbeddingConfig(embedding_endpoint_type="openai", embedding_model="text-embedding-3-small",
                                        embedding_dim=1536, handle=EMBEDDING)
    assert "OPENAI_API_KEY" in embeddings.unavailable_reason(config)
    assert embeddings.unavailable_reason(None) == "the agent has no embedding model"


def test_bench_entry_point_reports_recall_and_the_index():
    from bench.archival import run

    report = run(3000, dim=48, agents=5, queries=15, verbose=False)
    assert report["index_used"] and report["index"] == "passages_embedding_hnsw_48"
    assert "Index Scan using passages_embedding_hnsw_48" in report["explain"]
    assert report["recall_at_k"] >= 0.9
    assert report["vector_indexed"]["p50_ms"] > 0 and report["load_rows_per_s"] > 0


@pytest.mark.skipif(not local_embeddings.available(), reason="the local-embeddings extra is not installed")
def test_local_model_matches_sentence_transformers():
    model = local_embeddings.load()
    vectors = model.encode(["This is an example sentence", "The cat sits on the mat.",
                            "A feline is resting on the rug.", "Quarterly revenue grew by 12 percent."])
    # sentence-transformers' published output for all-MiniLM-L6-v2.
    assert vectors[0][:5].tolist() == pytest.approx([0.0676569, 0.0634959, 0.0487131, 0.0793050, 0.0374480],
                                                    abs=1e-4)
    cat, feline, revenue = vectors[1], vectors[2], vectors[3]
    assert float(cat @ feline) > 0.5 > float(cat @ revenue)
    catalog = Catalog(Settings())
    assert catalog.default_embedding_handle() == local_embeddings.LOCAL_HANDLE
    assert catalog.embedding_config(local_embeddings.LOCAL_HANDLE).embedding_dim == 384


def test_archival_counts_reach_the_context_report_and_system_prompt(fake_llm, http):
    model = f"m-{uid()}"
    agent = http.post("/v1/agents", json={"model": f"openai/{model}", "embedding": "openai/text-embedding-3-small",
                                          "memory_blocks": [{"label": "human", "value": "Ann"}]}).json()
    for fact in ("first fact", "second fact"):
        http.post(f"/v1/agents/{agent['id']}/archival-memory", json={"text": fact, "tags": ["facts"]})
    assert http.get(f"/v1/agents/{agent['id']}/context").json()["num_archival_memory"] == 2
    fake_llm.script(Reply(text="ok"), model=model)
    http.post(f"/v1/agents/{agent['id']}/messages", json={"input": "hi"}).raise_for_status()
    system = fake_llm.last_request(model=model).body["messages"][0]["content"]
    assert "2 memories you saved are stored in archival memory" in system and "facts" in system
