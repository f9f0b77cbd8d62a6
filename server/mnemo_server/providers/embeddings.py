"""Embeddings: text to vectors, for archival memory.

`Embeddings.embed(config, texts)` embeds with the model an agent's
EmbeddingConfig names:

- endpoint type "openai" or an OpenAI-compatible one (ollama, vllm, ...): the
  official `openai` SDK's `embeddings.create` (POST /v1/embeddings), with the
  key of the configured provider. `dimensions` is sent to OpenAI's
  text-embedding-3 (and later) models, so a config asking for 512 dimensions
  gets 512; other servers return their model's own size. Either way the vector
  is stored at the size it came back with.
- endpoint type "google_ai": Gemini's embedding models through the
  `google-genai` SDK's `embed_content` (batchEmbedContents), asking for the
  config's `embedding_dim` as `output_dimensionality`.
- handle "mnemo/…" (endpoint type "hugging-face"; "mnemo" in configurations stored
  before it took Letta's vocabulary): the local model (local_embeddings.py), when installed.

Texts go out in batches of `batch_size` (from the config, default 32), a few
batches at a time. Transient failures (rate limits, 5xx, timeouts, broken
connections) are retried with the same policy as model calls (RetryPolicy in
registry.py); the SDK's own retries are off. A config that cannot be served
at all (no key, local model not installed) raises EmbeddingUnavailable, which
callers turn into full-text-only behaviour.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import openai
from mnemo.v1 import models_pb2

from ..core.catalog import DEFAULT_BASE_URL, OPENAI_COMPATIBLE, Catalog, Provider
from ..core.endpoints import foreign_endpoint
from . import local_embeddings
from .base import LLMError
from .openai_chat import DEFAULT_TIMEOUT, map_openai_error
from .registry import NO_KEY, RETRYABLE_KINDS, RetryPolicy, retry_after_of

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32
MAX_BATCH_SIZE = 2048  # OpenAI's limit on inputs per request
CONCURRENT_BATCHES = 4
# Embedding inputs are cut to this many characters (about 6,000 tokens, under
# the 8,192-token input limit of OpenAI's models). The stored text is whole
# and full-text search sees all of it.
MAX_INPUT_CHARS = 24_000
# OpenAI models that take no `dimensions` parameter.
_FIXED_DIMENSION_MODELS = ("text-embedding-ada-002",)
_KEY_HINT = "OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)"


class EmbeddingUnavailable(Exception):
    """The config's embedding model cannot be used on this server (no key,
    local model not installed, unknown endpoint type)."""


def handle_of(config: models_pb2.EmbeddingConfig) -> str:
    return config.handle or f"{config.embedding_endpoint_type}/{config.embedding_model}"


class OpenAIEmbedder:
    """One OpenAI or OpenAI-compatible embeddings endpoint."""

    def __init__(self, *, api_key: str, base_url: str, provider: str, timeout=DEFAULT_TIMEOUT):
        self.provider = provider
        self._sdk = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)

    async def embed(self, model: str, texts: list[str], dimensions: int | None) -> list[list[float]]:
        extra = {"dimensions": dimensions} if dimensions else {}
        try:
            response = await self._sdk.embeddings.create(model=model, input=texts, **extra)
        except openai.APIError as exc:
            raise map_openai_error(exc, self.provider) from exc
        data = sorted(response.data, key=lambda d: d.index)
        if len(data) != len(texts):
            raise LLMError("server", f"asked for {len(texts)} embeddings, got {len(data)}", provider=self.provider)
        return [list(d.embedding) for d in data]

    async def aclose(self) -> None:
        await self._sdk.close()


class GeminiEmbedder:
    """Gemini's embedding models (provider type google_ai)."""

    max_batch = 100  # batchEmbedContents' limit on requests per call

    def __init__(self, *, api_key: str, base_url: str, provider: str, timeout: float = 60.0):
        from .gemini import gemini_sdk

        self.provider = provider
        self._sdk = gemini_sdk(api_key, base_url, timeout)

    async def embed(self, model: str, texts: list[str], dimensions: int | None) -> list[list[float]]:
        from .gemini import map_gemini_error, transport_error

        config = {"output_dimensionality": dimensions} if dimensions else None
        try:
            response = await self._sdk.aio.models.embed_content(model=model, contents=texts, config=config)
        except Exception as exc:  # noqa: BLE001 - SDK and transport errors, mapped
            mapped = map_gemini_error(exc) or transport_error(exc, self.provider)
            if mapped is None:
                raise
            raise mapped from exc
        vectors = [list(e.values or []) for e in response.embeddings or []]
        if len(vectors) != len(texts):
            raise LLMError("server", f"asked for {len(texts)} embeddings, got {len(vectors)}", provider=self.provider)
        return vectors

    async def aclose(self) -> None:
        await self._sdk.aio.aclose()


class LocalEmbedder:
    """The in-process model; runs in a worker thread."""

    provider = local_embeddings.LOCAL_PROVIDER

    async def embed(self, model: str, texts: list[str], dimensions: int | None) -> list[list[float]]:
        if model != local_embeddings.LOCAL_MODEL:
            raise LLMError("not_found", f"the local provider has no embedding model '{model}' "
                           f"(only '{local_embeddings.LOCAL_MODEL}')", provider=self.provider)

        def run() -> list[list[float]]:
            return local_embeddings.load().encode(texts).tolist()

        return await asyncio.to_thread(run)

    async def aclose(self) -> None:
        return None


Embedder = OpenAIEmbedder | GeminiEmbedder | LocalEmbedder


class Embeddings:
    """Embeds texts with the model of an EmbeddingConfig; keeps one client per
    (endpoint type, base URL, key)."""

    def __init__(self, catalog: Catalog, *, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep):
        self._providers: dict[str, Provider] = catalog.providers
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clients: dict[tuple[str, str, str], OpenAIEmbedder | GeminiEmbedder] = {}
        self._local: LocalEmbedder | None = None

    def embedder_for(self, config: models_pb2.EmbeddingConfig) -> Embedder:
        """The client for `config`; raises EmbeddingUnavailable when it cannot be served."""
        etype = config.embedding_endpoint_type
        if etype == local_embeddings.LOCAL_PROVIDER or (
                etype == local_embeddings.LOCAL_ENDPOINT_TYPE
                and config.handle.partition("/")[0] == local_embeddings.LOCAL_PROVIDER):
            reason = local_embeddings.unavailable_reason()
            if reason is not None:
                raise EmbeddingUnavailable(reason)
            if self._local is None:
                self._local = LocalEmbedder()
            return self._local
        if etype != "openai" and etype != "google_ai" and etype not in OPENAI_COMPATIBLE:
            raise EmbeddingUnavailable(f"{handle_of(config)}: unsupported embedding endpoint type '{etype}'")
        provider_name = config.handle.partition("/")[0] if config.handle else etype
        provider = self._providers.get(provider_name) or self._providers.get(etype)
        if provider is not None and provider.provider_type != etype:
            provider = None
        configured_url = provider.base_url if provider else None
        base_url = (config.embedding_endpoint or configured_url or DEFAULT_BASE_URL[etype]).rstrip("/")
        api_key = provider.api_key if provider else None
        own_url = foreign_endpoint(provider, config.embedding_endpoint)
        if provider is not None and own_url is not None:  # a configuration stored before this was refused
            raise EmbeddingUnavailable(
                f"{handle_of(config)}: embedding_endpoint '{config.embedding_endpoint}' is not the URL of provider "
                f"'{provider.name}' ({own_url}); its key is only sent there")
        if not api_key:
            if etype == "google_ai":
                raise EmbeddingUnavailable(f"{handle_of(config)} needs GEMINI_API_KEY")
            if etype == "openai" and base_url == DEFAULT_BASE_URL["openai"].rstrip("/"):
                raise EmbeddingUnavailable(f"{handle_of(config)} needs {_KEY_HINT}")
            api_key = NO_KEY
        key = (etype, base_url, api_key)
        client = self._clients.get(key)
        if client is None:
            if etype == "google_ai":
                client = GeminiEmbedder(api_key=api_key, base_url=base_url, provider=provider_name)
            else:
                client = OpenAIEmbedder(api_key=api_key, base_url=base_url, provider=provider_name)
            self._clients[key] = client
        return client

    def unavailable_reason(self, config: models_pb2.EmbeddingConfig | None) -> str | None:
        """Why `config` cannot embed here (None: it can)."""
        if config is None:
            return "the agent has no embedding model"
        try:
            self.embedder_for(config)
        except EmbeddingUnavailable as exc:
            return str(exc)
        return None

    @staticmethod
    def _dimensions(config: models_pb2.EmbeddingConfig) -> int | None:
        if config.embedding_endpoint_type == "google_ai":
            return config.embedding_dim or None
        if config.embedding_endpoint_type != "openai" or not config.embedding_dim:
            return None
        if config.embedding_model.startswith(_FIXED_DIMENSION_MODELS):
            return None
        return config.embedding_dim

    async def embed(self, config: models_pb2.EmbeddingConfig, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order. Raises EmbeddingUnavailable, or
        LLMError when the provider keeps failing."""
        if not texts:
            return []
        embedder = self.embedder_for(config)
        size = min(max(config.batch_size or DEFAULT_BATCH_SIZE, 1), getattr(embedder, "max_batch", MAX_BATCH_SIZE))
        inputs = [(t or " ")[:MAX_INPUT_CHARS] for t in texts]  # OpenAI rejects empty strings
        batches = [inputs[i:i + size] for i in range(0, len(inputs), size)]
        dimensions = self._dimensions(config)
        gate = asyncio.Semaphore(CONCURRENT_BATCHES)

        async def one(batch: list[str]) -> list[list[float]]:
            async with gate:
                return await self._with_retries(
                    lambda: embedder.embed(config.embedding_model, batch, dimensions), handle_of(config))

        results = await asyncio.gather(*(one(b) for b in batches))
        return [vector for batch in results for vector in batch]

    async def _with_retries(self, call: Callable[[], Awaitable[list[list[float]]]], what: str):
        attempt = 1
        while True:
            try:
                return await call()
            except LLMError as err:
                if err.kind not in RETRYABLE_KINDS or attempt >= self._retry.attempts:
                    raise
                wait = self._retry.delay(attempt, retry_after_of(err))
                log.warning("embedding call to %s failed (%s: %s); retry %d/%d in %.2fs", what, err.kind,
                            err.message, attempt, self._retry.attempts - 1, wait)
                await self._sleep(wait)
                attempt += 1

    async def aclose(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        for result in await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True):
            if isinstance(result, BaseException):
                log.warning("closing an embedding client failed: %r", result)
