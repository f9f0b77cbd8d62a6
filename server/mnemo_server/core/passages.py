"""Archival memory: storing, listing, changing and searching an agent's passages.

One path for every caller: the PassageService RPCs (REST and gRPC) and the
agent's archival_memory_* tools (loop/archival_tools.py) all go through
`Passages`.

Passages are embedded with the agent's embedding model (its EmbeddingConfig)
before they are stored. When the agent has no embedding model, or its model
cannot be used on this server (no key, the local model not installed), the
passage is stored without a vector and found by full-text search only; search
says so. A provider that fails (after retries) fails the write with
UNAVAILABLE rather than store a passage that vector search would never see.

Search is hybrid: the nearest passages by cosine distance (HNSW, filters
applied during the index scan) and the best full-text matches, fused by
reciprocal rank (storage/search.py). Exact tokens (names, ids, numbers) come
from full text, paraphrases from vectors.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from google.protobuf import struct_pb2
from mnemo.v1 import models_pb2, passages_pb2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from ..ids import new_id
from ..providers.base import LLMError
from ..providers.embeddings import Embeddings, EmbeddingUnavailable, handle_of
from ..storage import convert
from ..storage import passages as store
from ..storage.paging import page_from
from ..storage.schema import agents
from ..storage.search import rrf
from . import validate
from .catalog import Catalog
from .db import transaction

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 100_000
DEFAULT_TOP_K = 10
MAX_TOP_K = 100
DEFAULT_SEARCH_LIMIT = 50
# Each retriever contributes this many candidates (at least) to the fusion.
MIN_CANDIDATES = 40
CANDIDATE_FACTOR = 4


# --------------------------------------------------------------------------- small parsers


def parse_time(field: str, value: str | None, *, end: bool = False) -> datetime | None:
    """An ISO 8601 date or date-time; no zone means UTC; a date alone as an
    end bound covers the whole day."""
    if value is None or not value.strip():
        return None
    raw = value.strip()
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidArgument(field, f"'{value}' is not an ISO 8601 date or date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end and len(raw) <= 10:
        parsed = parsed + timedelta(days=1) - timedelta(microseconds=1)
    return parsed


def clean_tags(field: str, tags: Sequence[Any]) -> list[str]:
    out = []
    for i, tag in enumerate(tags):
        if not isinstance(tag, str) or not tag.strip():
            raise InvalidArgument(f"{field}[{i}]", "must be a non-empty string")
        out.append(tag.strip())
    return convert.unique(out)


def clean_text(field: str, value: str) -> str:
    validate.required(field, value)
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidArgument(field, f"is {len(value)} characters long; at most {MAX_TEXT_CHARS}")
    return value


def match_all(field: str, mode: str | None) -> bool:
    mode = mode or "any"
    validate.one_of(field, mode, ("any", "all"))
    return mode == "all"


def format_timestamp(dt: datetime, timezone: str | None) -> str:
    """How search results show a time: in the agent's time zone."""
    try:
        zone = ZoneInfo(timezone) if timezone else UTC
    except Exception:  # noqa: BLE001 - an unknown zone falls back to UTC
        zone = UTC
    return dt.astimezone(zone).strftime("%Y-%m-%d %I:%M:%S %p %Z%z")


def same_space(a: models_pb2.EmbeddingConfig | None, b: models_pb2.EmbeddingConfig | None) -> bool:
    """Whether two configs produce vectors in the same space."""
    if a is None or b is None:
        return a is None and b is None
    return (a.embedding_endpoint_type, a.embedding_model, a.embedding_dim) == (
        b.embedding_endpoint_type, b.embedding_model, b.embedding_dim)


def config_of(row: dict[str, Any]) -> models_pb2.EmbeddingConfig | None:
    data = row.get("embedding_config")
    return convert.dict_to_message(data, models_pb2.EmbeddingConfig()) if data else None


# --------------------------------------------------------------------------- results


@dataclass
class Hit:
    """One search result with how each retriever ranked it."""

    passage: store.PassageRow
    score: float
    vector_rank: int | None = None
    vector_distance: float | None = None
    text_rank: int | None = None
    text_score: float | None = None


@dataclass
class SearchOutcome:
    hits: list[Hit]
    mode: str  # "hybrid" | "text" | "recent"
    # Set when vector search could not be used (why), so callers can say so.
    note: str | None = None
    timezone: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- the use cases

_by_engine: dict[int, Passages] = {}


def for_engine(engine: AsyncEngine) -> Passages:
    """The Passages of the server that owns `engine` (registered by
    services.py); one is built from the environment if none was."""
    found = _by_engine.get(id(engine))
    if found is not None and found.engine is engine:
        return found
    from ..config import Settings

    catalog = Catalog(Settings.from_env())
    return Passages(engine, catalog, Embeddings(catalog))


@dataclass
class PreparedPassage:
    """A passage embedded and ready to insert."""

    row: dict[str, Any]
    config: models_pb2.EmbeddingConfig | None
    no_vector: str | None  # why it has no vector, if it has none

    @property
    def id(self) -> str:
        return self.row["id"]


class Passages:
    def __init__(self, engine: AsyncEngine, catalog: Catalog, embeddings: Embeddings):
        self.engine = engine
        self.catalog = catalog
        self.embeddings = embeddings
        self._index_tasks: set[asyncio.Task] = set()
        _by_engine[id(engine)] = self

    # -- helpers ----------------------------------------------------------------

    async def _agent(self, conn: AsyncConnection, agent_id: str, *, share_lock: bool = False) -> dict[str, Any]:
        validate.required("agent_id", agent_id)
        stmt = select(agents.c.id, agents.c.embedding_config, agents.c.timezone).where(agents.c.id == agent_id)
        if share_lock:
            stmt = stmt.with_for_update(read=True)
        row = (await conn.execute(stmt)).first()
        if row is None:
            raise NotFound("agent", agent_id)
        return dict(row._mapping)

    async def _embed(self, config: models_pb2.EmbeddingConfig | None,
                     texts: Sequence[str]) -> tuple[list[list[float]] | None, str | None]:
        """(vectors, None), or (None, why not) when the agent's model cannot be
        used here. A provider failure raises Unavailable."""
        if config is None:
            return None, "the agent has no embedding model"
        try:
            return await self.embeddings.embed(config, texts), None
        except EmbeddingUnavailable as exc:
            return None, str(exc)
        except LLMError as exc:
            raise Unavailable(f"embedding with {handle_of(config)} failed: {exc.message}") from exc

    def _ensure_index_soon(self, dim: int | None) -> None:
        """Builds the HNSW index of a new dimension in the background (CREATE
        INDEX CONCURRENTLY waits for older transactions; no request waits for it)."""
        if dim is None or store.vector_type(dim) is None:
            return

        async def build() -> None:
            try:
                await store.ensure_vector_index(self.engine, dim)
            except Exception:  # noqa: BLE001 - search still works without the index (exact scan)
                log.exception("could not create the HNSW index for %d dimensions", dim)

        task = asyncio.get_running_loop().create_task(build())
        self._index_tasks.add(task)
        task.add_done_callback(self._index_tasks.discard)

    async def indexes_ready(self) -> None:
        """Waits for the index builds started so far (tests, benchmarks)."""
        while self._index_tasks:
            await asyncio.gather(*list(self._index_tasks), return_exceptions=True)

    def _to_proto(self, row: store.PassageRow, config: models_pb2.EmbeddingConfig | None) -> passages_pb2.Passage:
        passage = passages_pb2.Passage(
            id=row.id, text=row.text, tags=row.tags or [], metadata=convert.struct(row.metadata or {}),
            agent_id=row.agent_id, created_at=convert.timestamp(row.created_at),
            updated_at=convert.timestamp(row.updated_at),
        )
        if row.embedding_dim is not None and config is not None:
            passage.embedding_config.CopyFrom(config)
            passage.embedding_config.embedding_dim = row.embedding_dim
        return passage

    # -- writes -------------------------------------------------------------------

    async def insert(self, agent_id: str, text: str, *, tags: Sequence[str] = (), created_at: datetime | None = None,
                     metadata: dict[str, Any] | None = None) -> tuple[list[store.PassageRow], str | None,
                                                                       models_pb2.EmbeddingConfig | None]:
        """Stores one passage. Returns (rows, why it has no vector or None, the
        config it was embedded with)."""
        prepared = await self.prepare(agent_id, text, tags=tags, created_at=created_at, metadata=metadata)
        async with transaction(self.engine) as conn:
            rows = await self.write(conn, prepared)
        self.written(prepared)
        return rows, prepared.no_vector, prepared.config

    async def prepare(self, agent_id: str, text: str, *, tags: Sequence[str] = (), created_at: datetime | None = None,
                      metadata: dict[str, Any] | None = None) -> PreparedPassage:
        """Embeds a passage to be stored by `write`, in a transaction of the
        caller's (the agent loop writes it with the step that made it)."""
        async with self.engine.connect() as conn:
            config = config_of(await self._agent(conn, agent_id))
        vectors, reason = await self._embed(config, [text])
        vector = vectors[0] if vectors else None
        row = {
            "id": new_id("passage"), "agent_id": agent_id, "text": text, "tags": list(tags),
            "metadata": metadata or {}, "embedding": vector,
            "embedding_dim": len(vector) if vector is not None else None,
            "embedding_handle": handle_of(config) if vector is not None and config is not None else None,
            **({"created_at": created_at} if created_at else {}),
        }
        return PreparedPassage(row=row, config=config, no_vector=reason)

    async def write(self, conn: AsyncConnection, prepared: PreparedPassage) -> list[store.PassageRow]:
        # Hold the agent's embedding model still while the passage goes in;
        # UpdateAgent takes the row lock before it checks for passages.
        now_config = config_of(await self._agent(conn, prepared.row["agent_id"], share_lock=True))
        if not same_space(now_config, prepared.config):
            raise FailedPrecondition("embedding: the agent's embedding model changed while the passage was "
                                     "being embedded; store it again")
        return await store.insert_many(conn, [prepared.row])

    def written(self, prepared: PreparedPassage) -> None:
        """After the write committed."""
        self._ensure_index_soon(prepared.row["embedding_dim"])

    async def create(self, request: passages_pb2.CreatePassageRequest) -> list[passages_pb2.Passage]:
        text = clean_text("text", request.text)
        tags = clean_tags("tags", list(request.tags))
        created_at = parse_time("created_at", request.created_at) if request.HasField("created_at") else None
        metadata = convert.struct_to_dict(request.metadata) if request.HasField("metadata") else None
        rows, _, config = await self.insert(request.agent_id, text, tags=tags, created_at=created_at,
                                            metadata=metadata)
        return [self._to_proto(r, config) for r in rows]

    async def update(self, request: passages_pb2.UpdatePassageRequest) -> passages_pb2.Passage:
        validate.required("passage_id", request.passage_id)
        has = request.HasField
        values: dict[str, Any] = {}
        if has("tags"):
            values["tags"] = clean_tags("tags", convert.list_value_to_list(request.tags))
        if has("metadata"):
            values["metadata"] = convert.struct_to_dict(request.metadata)
        config = None
        if has("text"):
            values["text"] = clean_text("text", request.text)
            async with self.engine.connect() as conn:
                config = config_of(await self._agent(conn, request.agent_id))
            vectors, _ = await self._embed(config, [values["text"]])
            vector = vectors[0] if vectors else None
            values.update(embedding=vector, embedding_dim=len(vector) if vector is not None else None,
                          embedding_handle=handle_of(config) if vector is not None and config is not None else None)
        async with transaction(self.engine) as conn:
            now_config = config_of(await self._agent(conn, request.agent_id, share_lock=True))
            if has("text") and not same_space(now_config, config):
                raise FailedPrecondition("embedding: the agent's embedding model changed while the passage was "
                                         "being embedded; try again")
            if await store.get(conn, request.agent_id, request.passage_id, for_update=True) is None:
                raise NotFound("passage", request.passage_id, by=f"id (on agent '{request.agent_id}')")
            if values:
                row = await store.update_one(conn, request.agent_id, request.passage_id, values)
            else:
                row = await store.get(conn, request.agent_id, request.passage_id)
        assert row is not None
        self._ensure_index_soon(row.embedding_dim)
        return self._to_proto(row, now_config)

    async def delete(self, request: passages_pb2.DeletePassageRequest) -> None:
        validate.required("passage_id", request.passage_id)
        async with transaction(self.engine) as conn:
            await self._agent(conn, request.agent_id)
            if not await store.delete_one(conn, request.agent_id, request.passage_id):
                raise NotFound("passage", request.passage_id, by=f"id (on agent '{request.agent_id}')")

    # -- reads ----------------------------------------------------------------------

    async def get(self, request: passages_pb2.GetPassageRequest) -> passages_pb2.Passage:
        validate.required("passage_id", request.passage_id)
        async with self.engine.connect() as conn:
            agent = await self._agent(conn, request.agent_id)
            row = await store.get(conn, request.agent_id, request.passage_id)
        if row is None:
            raise NotFound("passage", request.passage_id, by=f"id (on agent '{request.agent_id}')")
        return self._to_proto(row, config_of(agent))

    async def list(self, request: passages_pb2.ListPassagesRequest) -> list[passages_pb2.Passage]:
        page = page_from(request, default_descending=False)
        contains = request.search if request.HasField("search") and request.search else None
        async with self.engine.connect() as conn:
            agent = await self._agent(conn, request.agent_id)
            rows = await store.page(conn, request.agent_id, page, contains=contains)
        config = config_of(agent)
        return [self._to_proto(r, config) for r in rows]

    async def search(self, agent_id: str, query: str | None, *, tags: Sequence[str] = (), match_all_tags: bool = False,
                     start: datetime | None = None, end: datetime | None = None,
                     top_k: int = DEFAULT_TOP_K) -> SearchOutcome:
        """The `top_k` best passages for `query` that pass the filters, best
        first. Without a query: the newest passages that pass them."""
        async with self.engine.connect() as conn:
            agent = await self._agent(conn, agent_id)
        config = config_of(agent)
        filters = store.Filters(agent_id=agent_id, tags=tuple(tags), match_all_tags=match_all_tags, start=start,
                                end=end)
        if not query or not query.strip():
            async with self.engine.connect() as conn:
                ids = await store.recent(conn, filters, limit=top_k)
                rows = await store.by_ids(conn, ids)
            return SearchOutcome([Hit(rows[i], 0.0) for i in ids if i in rows], "recent",
                                 timezone=agent["timezone"])
        vector, note = None, None
        try:
            vectors, reason = await self._embed(config, [query])
            if vectors:
                vector = vectors[0]
            else:
                note = f"full-text search only: {reason}"
        except Unavailable as exc:
            note = f"full-text search only: {exc.message}"
        candidates = min(max(top_k * CANDIDATE_FACTOR, MIN_CANDIDATES), 1000)
        async with self.engine.begin() as conn:  # SET LOCAL needs a transaction
            by_vector = await store.vector_candidates(conn, filters, vector, limit=candidates) if vector else []
            by_text = await store.text_candidates(conn, filters, query, limit=candidates)
        scores = rrf([[i for i, _ in by_vector], [i for i, _ in by_text]])
        vector_rank = {pid: (n, d) for n, (pid, d) in enumerate(by_vector, 1)}
        text_rank = {pid: (n, s) for n, (pid, s) in enumerate(by_text, 1)}
        worst = candidates + 1

        def key(pid: str):
            best = min(vector_rank.get(pid, (worst,))[0], text_rank.get(pid, (worst,))[0])
            return (-scores[pid], best, pid)

        chosen = sorted(scores, key=key)[:top_k]
        async with self.engine.connect() as conn:
            rows = await store.by_ids(conn, chosen)
        hits = []
        for pid in chosen:
            if pid not in rows:  # deleted meanwhile
                continue
            v, t = vector_rank.get(pid), text_rank.get(pid)
            hits.append(Hit(rows[pid], scores[pid], vector_rank=v[0] if v else None,
                            vector_distance=v[1] if v else None, text_rank=t[0] if t else None,
                            text_score=t[1] if t else None))
        return SearchOutcome(hits, "hybrid" if vector is not None else "text", note=note,
                             timezone=agent["timezone"])

    async def search_agent(self, request: passages_pb2.SearchAgentPassagesRequest
                           ) -> passages_pb2.SearchAgentPassagesResponse:
        validate.required("query", request.query)
        top_k = request.top_k if request.HasField("top_k") else DEFAULT_TOP_K
        if not 1 <= top_k <= MAX_TOP_K:
            raise InvalidArgument("top_k", f"must be between 1 and {MAX_TOP_K}, got {top_k}")
        outcome = await self.search(
            request.agent_id, request.query, tags=clean_tags("tags", list(request.tags)),
            match_all_tags=match_all("tag_match_mode", request.tag_match_mode
                                     if request.HasField("tag_match_mode") else None),
            start=parse_time("start_datetime", request.start_datetime if request.HasField("start_datetime") else None),
            end=parse_time("end_datetime", request.end_datetime if request.HasField("end_datetime") else None,
                           end=True),
            top_k=top_k,
        )
        results = [passages_pb2.ArchivalSearchResult(
            id=h.passage.id, content=h.passage.text, tags=h.passage.tags or [],
            timestamp=format_timestamp(h.passage.created_at, outcome.timezone)) for h in outcome.hits]
        return passages_pb2.SearchAgentPassagesResponse(count=len(results), results=results)

    async def search_passages(self, request: passages_pb2.SearchPassagesRequest) -> passages_pb2.SearchPassagesResponse:
        if not request.HasField("agent_id") or not request.agent_id:
            raise InvalidArgument("agent_id", "is required: search covers one agent's archival memory "
                                              "(archives are not supported)")
        limit = request.limit if request.HasField("limit") else DEFAULT_SEARCH_LIMIT
        if not 1 <= limit <= MAX_TOP_K:
            raise InvalidArgument("limit", f"must be between 1 and {MAX_TOP_K}, got {limit}")
        outcome = await self.search(
            request.agent_id, request.query if request.HasField("query") else None,
            tags=clean_tags("tags", list(request.tags)),
            match_all_tags=match_all("tag_match_mode", request.tag_match_mode
                                     if request.HasField("tag_match_mode") else None),
            start=parse_time("start_date", request.start_date if request.HasField("start_date") else None),
            end=parse_time("end_date", request.end_date if request.HasField("end_date") else None, end=True),
            top_k=limit,
        )
        async with self.engine.connect() as conn:
            config = config_of(await self._agent(conn, request.agent_id))
        results = []
        for hit in outcome.hits:
            details: dict[str, Any] = {"mode": outcome.mode}
            if hit.vector_rank is not None:
                details.update(vector_rank=hit.vector_rank, vector_distance=hit.vector_distance)
            if hit.text_rank is not None:
                details.update(text_rank=hit.text_rank, text_score=hit.text_score)
            if outcome.note:
                details["note"] = outcome.note
            metadata = struct_pb2.Struct()
            metadata.update(details)
            results.append(passages_pb2.PassageSearchResult(
                passage=self._to_proto(hit.passage, config), score=hit.score, metadata=metadata))
        return passages_pb2.SearchPassagesResponse(results=results)
