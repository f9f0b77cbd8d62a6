"""The model catalog: which providers are configured, which models they offer,
and how a handle ("provider/model") becomes an LlmConfig or EmbeddingConfig.

Providers come from the environment variables Letta used (OPENAI_API_KEY,
ANTHROPIC_API_KEY, GEMINI_API_KEY, AZURE_API_KEY + AZURE_BASE_URL, AWS_* for
Bedrock, OLLAMA_BASE_URL, GROQ_API_KEY, ...; all read in config.py and listed in
docs/providers.md). The "mnemo" provider is always there: its `offline-dev`
model runs inside the server with no network, so a fresh install answers
without any key.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from mnemo.v1 import models_pb2

from ..config import Settings
from ..errors import InvalidArgument
from ..providers import local_embeddings

log = logging.getLogger(__name__)

OFFLINE_PROVIDER = "mnemo"
OFFLINE_MODEL = "offline-dev"
OFFLINE_HANDLE = f"{OFFLINE_PROVIDER}/{OFFLINE_MODEL}"
# How the offline model presents itself in Letta's vocabulary (the official SDKs
# accept only their own enum values): it answers in the OpenAI chat shape, from
# the server itself ("letta" is Letta's provider type for a server's own models).
# Calls are routed to it by provider_name, never over the network.
OFFLINE_ENDPOINT_TYPE = "openai"
OFFLINE_PROVIDER_TYPE = "letta"
# Provider types whose Letta name differs from their endpoint type.
_SDK_PROVIDER_TYPE = {OFFLINE_PROVIDER: OFFLINE_PROVIDER_TYPE, "lmstudio": "lmstudio_openai"}
DEFAULT_CONTEXT_WINDOW = 32_000  # an agent's default window, capped by the model's

# OpenAI-compatible providers reachable by base URL; type -> default base URL.
OPENAI_COMPATIBLE = {
    "ollama": "http://localhost:11434/v1",
    "vllm": "http://localhost:8000/v1",
    "lmstudio": "http://localhost:1234/v1",
    "groq": "https://api.groq.com/openai/v1",
    "together": "https://api.together.xyz/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "xai": "https://api.x.ai/v1",
    "openrouter": "https://openrouter.ai/api/v1",
}
# Local servers whose Letta variables name the server, not its OpenAI API under /v1.
LOCAL_SERVERS = ("ollama", "vllm", "lmstudio")
GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_BASE_URL = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com",
                    "google_ai": GEMINI_BASE_URL, **OPENAI_COMPATIBLE}
# Provider types without one default URL: an Azure resource has its own
# endpoint, Bedrock one per AWS region (bedrock_url).
REGIONAL = ("azure", "bedrock")
PROVIDER_TYPES = (*DEFAULT_BASE_URL, *REGIONAL)

# Largest context windows of well-known models, by name prefix (longest wins).
CONTEXT_WINDOWS = {
    "gpt-4o": 128_000, "gpt-4.1": 1_047_576, "gpt-5": 400_000, "gpt-4-turbo": 128_000, "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385, "o1": 200_000, "o3": 200_000, "o4": 200_000,
    "claude": 200_000, "deepseek": 64_000, "grok": 131_072, "llama": 128_000,
    "gemini": 1_048_576, "gemini-2.0": 1_048_576, "gemini-1.5-pro": 2_097_152,
}
PROVIDER_CONTEXT_DEFAULT = {"openai": 128_000, "anthropic": 200_000, "google_ai": 1_048_576, "azure": 128_000,
                            "bedrock": 200_000}
# Well-known models offered when a provider's own listing cannot be read.
KNOWN_MODELS = {
    "openai": ["gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-5", "gpt-5-mini"],
    "anthropic": ["claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-opus-4-1"],
    "google_ai": ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite"],
    "azure": ["gpt-4o-mini", "gpt-4o", "gpt-4.1"],
    # Bedrock's cross-region inference profiles for Anthropic's current models.
    "bedrock": ["us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                "us.anthropic.claude-opus-4-1-20250805-v1:0"],
}
EMBEDDING_DIMS = {
    "text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536,
    # Gemini's embedding models take any size (Matryoshka); 1536 fits pgvector's HNSW limit.
    "gemini-embedding-001": 1536, "text-embedding-004": 768,
}
# Provider types whose embedding models /v1/embeddings/models lists, and
# those that serve none here.
EMBEDDING_TYPES = ("openai", "google_ai")
NO_EMBEDDINGS = ("anthropic", "azure", "bedrock")
# Embedding models offered when a provider's own listing has none.
KNOWN_EMBEDDINGS = {
    "openai": list(EMBEDDING_DIMS)[:3],
    "google_ai": ["gemini-embedding-001", "text-embedding-004"],
}
LISTING_TTL_S = 300.0
FAILED_LISTING_TTL_S = 30.0
LISTING_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Provider:
    name: str
    provider_type: str
    base_url: str | None
    api_key: str | None  # for Bedrock, the AWS secret access key
    category: str = "base"
    api_version: str | None = None  # Azure's api-version
    access_key: str | None = None  # Bedrock: the AWS access key id
    region: str | None = None  # Bedrock: the AWS region
    session_token: str | None = None  # Bedrock: temporary credentials' token


def bedrock_url(region: str) -> str:
    """The Bedrock runtime endpoint of an AWS region."""
    return f"https://bedrock-runtime.{region}.amazonaws.com"


def openai_v1(url: str) -> str:
    """A local server's URL as Letta's variables give it ("http://localhost:11434")
    turned into its OpenAI API's base URL (".../v1"); a URL already ending in
    /v1 is kept."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


def environment_providers(settings: Settings) -> list[Provider]:
    """The providers the environment configures (see config.py)."""
    out = []
    if settings.openai_api_key or settings.openai_base_url:
        out.append(Provider("openai", "openai", settings.openai_base_url or DEFAULT_BASE_URL["openai"],
                            settings.openai_api_key))
    if settings.anthropic_api_key or settings.anthropic_base_url:
        out.append(Provider("anthropic", "anthropic", settings.anthropic_base_url or DEFAULT_BASE_URL["anthropic"],
                            settings.anthropic_api_key))
    if settings.gemini_api_key:
        out.append(Provider("google_ai", "google_ai", (settings.gemini_base_url or GEMINI_BASE_URL).rstrip("/"),
                            settings.gemini_api_key))
    if settings.azure_api_key and settings.azure_base_url:
        out.append(Provider("azure", "azure", settings.azure_base_url.rstrip("/"), settings.azure_api_key,
                            api_version=settings.azure_api_version))
    elif settings.azure_api_key or settings.azure_base_url:
        log.warning("Azure OpenAI needs both AZURE_API_KEY and AZURE_BASE_URL; it is left out")
    if settings.aws_access_key_id and settings.aws_secret_access_key:
        region = settings.aws_region or "us-east-1"
        out.append(Provider("bedrock", "bedrock", (settings.bedrock_base_url or bedrock_url(region)).rstrip("/"),
                            settings.aws_secret_access_key, access_key=settings.aws_access_key_id, region=region,
                            session_token=settings.aws_session_token,
                            api_version=settings.bedrock_anthropic_version))
    for env in settings.compatible:
        if env.base_url:
            url = openai_v1(env.base_url) if env.provider_type in LOCAL_SERVERS else env.base_url.rstrip("/")
        else:
            url = OPENAI_COMPATIBLE[env.provider_type]
        out.append(Provider(env.provider_type, env.provider_type, url, env.api_key))
    return out


def is_offline(config: models_pb2.LlmConfig) -> bool:
    """Whether `config` names the offline model ("mnemo" was its endpoint type
    before it took Letta's vocabulary; stored configurations may still say so)."""
    return config.provider_name == OFFLINE_PROVIDER or config.model_endpoint_type == OFFLINE_PROVIDER


def sdk_provider_type(provider_type: str) -> str:
    """The `provider_type` a Letta client expects for one of our provider types."""
    return _SDK_PROVIDER_TYPE.get(provider_type, provider_type)


def context_window_of(provider_type: str, model: str) -> int:
    best = ""
    for prefix in CONTEXT_WINDOWS:
        if model.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    if best:
        return CONTEXT_WINDOWS[best]
    return PROVIDER_CONTEXT_DEFAULT.get(provider_type, DEFAULT_CONTEXT_WINDOW)


class Catalog:
    def __init__(self, settings: Settings):
        self.providers: dict[str, Provider] = {p.name: p for p in environment_providers(settings)}
        self.providers[OFFLINE_PROVIDER] = Provider(OFFLINE_PROVIDER, OFFLINE_PROVIDER, None, None)
        self._environment = frozenset(self.providers)
        self._listing: dict[str, tuple[float, list[str]]] = {}

    def environment_providers(self) -> frozenset[str]:
        """Names of the providers configured by the server itself."""
        return self._environment

    def set_stored(self, stored: list[Provider]) -> None:
        """Replaces the providers stored in the database (core/providers.py).
        The dict is changed in place: the provider registry shares it."""
        for name in [n for n, p in self.providers.items() if p.category == "byok"]:
            if name not in {p.name for p in stored}:
                del self.providers[name]
                self._listing.pop(name, None)
        for provider in stored:
            if provider.name not in self._environment:
                if self.providers.get(provider.name) != provider:
                    self._listing.pop(provider.name, None)
                self.providers[provider.name] = provider

    # -- defaults -----------------------------------------------------------

    def default_model_handle(self) -> str:
        if "openai" in self.providers:
            return "openai/gpt-4o-mini"
        if "anthropic" in self.providers:
            return "anthropic/claude-sonnet-4-5-20250929"
        if "google_ai" in self.providers:
            return "google_ai/gemini-2.5-flash"
        return OFFLINE_HANDLE

    def default_embedding_handle(self) -> str | None:
        """OpenAI's small model when OpenAI is configured, else Mnemo's local
        model when it is installed (the `local-embeddings` extra), else none:
        archival memory then works with full-text search only."""
        if "openai" in self.providers:
            return "openai/text-embedding-3-small"
        if local_embeddings.available():
            return local_embeddings.LOCAL_HANDLE
        return None

    # -- handles ------------------------------------------------------------

    @staticmethod
    def split_handle(field: str, handle: str) -> tuple[str, str]:
        provider, sep, model = handle.partition("/")
        if not sep or not provider or not model:
            raise InvalidArgument(field, f"'{handle}' is not a model handle; expected 'provider/model'")
        return provider, model

    def _provider_type(self, field: str, provider: str) -> str:
        if provider in self.providers:
            return self.providers[provider].provider_type
        if provider in PROVIDER_TYPES or provider == OFFLINE_PROVIDER:
            return provider
        known = sorted({*PROVIDER_TYPES, *self.providers})
        raise InvalidArgument(field, f"unknown provider '{provider}'; known providers: {', '.join(known)}")

    def llm_config(self, handle: str, *, field: str = "model", context_window_limit: int | None = None,
                   max_tokens: int | None = None) -> models_pb2.LlmConfig:
        provider, model = self.split_handle(field, handle)
        ptype = self._provider_type(field, provider)
        max_window = DEFAULT_CONTEXT_WINDOW if ptype == OFFLINE_PROVIDER else context_window_of(ptype, model)
        window = min(max_window, DEFAULT_CONTEXT_WINDOW)
        if context_window_limit is not None:
            if context_window_limit < 1000:
                raise InvalidArgument("context_window_limit", f"must be at least 1000 tokens, got {context_window_limit}")
            window = min(context_window_limit, max_window)
        configured = self.providers.get(provider)
        config = models_pb2.LlmConfig(
            model=model, model_endpoint_type=OFFLINE_ENDPOINT_TYPE if ptype == OFFLINE_PROVIDER else ptype,
            provider_name=provider,
            provider_category=configured.category if configured else "base",
            context_window=window, handle=handle, put_inner_thoughts_in_kwargs=False,
        )
        base_url = configured.base_url if configured else DEFAULT_BASE_URL.get(ptype)
        if base_url:
            config.model_endpoint = base_url
        if max_tokens is not None:
            config.max_tokens = max_tokens
        return config

    def embedding_config(self, handle: str, *, field: str = "embedding",
                         chunk_size: int | None = None) -> models_pb2.EmbeddingConfig:
        provider, model = self.split_handle(field, handle)
        ptype = self._provider_type(field, provider)
        if ptype in NO_EMBEDDINGS:
            raise InvalidArgument(field, f"{ptype} offers no embedding models here")
        if ptype == OFFLINE_PROVIDER:
            if model != local_embeddings.LOCAL_MODEL:
                raise InvalidArgument(field, f"the {OFFLINE_PROVIDER} provider's only embedding model is "
                                             f"'{local_embeddings.LOCAL_HANDLE}'")
            reason = local_embeddings.unavailable_reason()
            if reason is not None:
                raise InvalidArgument(field, f"'{handle}' is not available: {reason}")
            return models_pb2.EmbeddingConfig(
                embedding_endpoint_type=local_embeddings.LOCAL_ENDPOINT_TYPE, embedding_model=model,
                embedding_dim=local_embeddings.LOCAL_DIM, embedding_chunk_size=chunk_size or 300, handle=handle,
                batch_size=32,
            )
        configured = self.providers.get(provider)
        config = models_pb2.EmbeddingConfig(
            embedding_endpoint_type=ptype, embedding_model=model, embedding_dim=EMBEDDING_DIMS.get(model, 1536),
            embedding_chunk_size=chunk_size or 300, handle=handle, batch_size=32,
        )
        base_url = configured.base_url if configured else DEFAULT_BASE_URL.get(ptype)
        if base_url:
            config.embedding_endpoint = base_url
        return config

    # -- listings -----------------------------------------------------------

    async def _model_names(self, provider: Provider) -> list[str]:
        if provider.provider_type == OFFLINE_PROVIDER:
            return [OFFLINE_MODEL]
        cached = self._listing.get(provider.name)
        if cached and time.monotonic() < cached[0]:
            return cached[1]
        try:
            names = await asyncio.wait_for(self._fetch_names(provider), timeout=LISTING_TIMEOUT_S)
        except Exception as exc:  # network, auth, or an endpoint without /models
            log.warning("could not list %s models (%s); using the built-in list", provider.name, exc)
            names = KNOWN_MODELS.get(provider.provider_type, [])
            # A provider that is down is asked again after a while, not on every listing.
            self._listing[provider.name] = (time.monotonic() + FAILED_LISTING_TTL_S, names)
        else:
            self._listing[provider.name] = (time.monotonic() + LISTING_TTL_S, names)
        return names

    async def _all_names(self, providers: list[Provider]) -> list[list[str]]:
        """Each provider's model names, asked of all providers at once."""
        return list(await asyncio.gather(*(self._model_names(p) for p in providers)))

    @staticmethod
    async def _fetch_names(provider: Provider) -> list[str]:
        from ..providers.listing import fetch_model_names

        return await fetch_model_names(provider)

    async def list_models(self) -> list[models_pb2.Model]:
        out = []
        providers = list(self.providers.values())
        for provider, names in zip(providers, await self._all_names(providers), strict=True):
            for name in names:
                if provider.provider_type in EMBEDDING_TYPES and "embedding" in name:
                    continue
                handle = f"{provider.name}/{name}"
                max_window = (DEFAULT_CONTEXT_WINDOW if provider.provider_type == OFFLINE_PROVIDER
                              else context_window_of(provider.provider_type, name))
                offline = provider.provider_type == OFFLINE_PROVIDER
                model = models_pb2.Model(
                    handle=handle, model=name, name=name, display_name=name,
                    provider_type=sdk_provider_type(provider.provider_type),
                    provider_name=provider.name, provider_category=provider.category,
                    model_endpoint_type=OFFLINE_ENDPOINT_TYPE if offline else provider.provider_type,
                    context_window=min(max_window, DEFAULT_CONTEXT_WINDOW),
                    max_context_window=max_window, model_type="llm", put_inner_thoughts_in_kwargs=False,
                )
                if provider.base_url:
                    model.model_endpoint = provider.base_url
                out.append(model)
        return out

    async def list_embedding_models(self) -> list[models_pb2.EmbeddingModel]:
        out = []
        providers = [p for p in self.providers.values() if p.provider_type in EMBEDDING_TYPES]
        for provider, listed in zip(providers, await self._all_names(providers), strict=True):
            names = [n for n in listed if "embedding" in n] or KNOWN_EMBEDDINGS[provider.provider_type]
            for name in names:
                out.append(models_pb2.EmbeddingModel(
                    handle=f"{provider.name}/{name}", embedding_model=name, name=name, display_name=name,
                    provider_type=sdk_provider_type(provider.provider_type), provider_name=provider.name,
                    embedding_endpoint_type=provider.provider_type, embedding_endpoint=provider.base_url,
                    embedding_dim=EMBEDDING_DIMS.get(name, 1536), embedding_chunk_size=300, model_type="embedding",
                ))
        if local_embeddings.available():
            name = local_embeddings.LOCAL_MODEL
            out.append(models_pb2.EmbeddingModel(
                handle=local_embeddings.LOCAL_HANDLE, embedding_model=name, name=name, display_name=name,
                provider_type=OFFLINE_PROVIDER_TYPE, provider_name=OFFLINE_PROVIDER,
                embedding_endpoint_type=local_embeddings.LOCAL_ENDPOINT_TYPE, embedding_dim=local_embeddings.LOCAL_DIM,
                embedding_chunk_size=300, model_type="embedding",
            ))
        return out
