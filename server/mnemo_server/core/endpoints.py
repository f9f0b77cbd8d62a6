"""Keys stay with their provider.

A provider's key (from the environment, or a stored provider record) is only
ever sent to that provider's base URL. An agent's ``llm_config.model_endpoint``
or ``embedding_config.embedding_endpoint`` that points elsewhere is refused when
it is set (create/update), and, for configurations stored before that check,
again when a client would be built (providers/registry.py, embeddings.py).

The provider whose key would be used is found exactly as the clients find it:
for a model, ``llm_config.provider_name`` or else the endpoint type; for an
embedding model, the handle's provider part or else the endpoint type.
"""
from __future__ import annotations

from collections.abc import Mapping

from mnemo.v1 import models_pb2

from ..errors import InvalidArgument
from .catalog import DEFAULT_BASE_URL, Provider

__all__ = [
    "check_embedding_endpoint",
    "check_llm_endpoint",
    "embedding_key_provider",
    "foreign_endpoint",
    "llm_key_provider",
]


def _same_url(a: str, b: str) -> bool:
    return a.strip().rstrip("/") == b.strip().rstrip("/")


def provider_url(provider: Provider) -> str:
    return provider.base_url or DEFAULT_BASE_URL.get(provider.provider_type, "")


def llm_key_provider(providers: Mapping[str, Provider], config: models_pb2.LlmConfig) -> Provider | None:
    """The provider whose key a call for ``config`` would carry (None: no key)."""
    etype = config.model_endpoint_type
    provider = providers.get(config.provider_name or etype)
    if provider is None or provider.provider_type != etype or not provider.api_key:
        return None
    return provider


def embedding_key_provider(providers: Mapping[str, Provider],
                           config: models_pb2.EmbeddingConfig) -> Provider | None:
    """The provider whose key an embedding call for ``config`` would carry (None: no key)."""
    etype = config.embedding_endpoint_type
    name = config.handle.partition("/")[0] if config.handle else etype
    provider = providers.get(name) or providers.get(etype)
    if provider is None or provider.provider_type != etype or not provider.api_key:
        return None
    return provider


def foreign_endpoint(provider: Provider | None, endpoint: str) -> str | None:
    """The provider's own URL when ``endpoint`` is set, differs from it and
    the provider has a key to send; else None (nothing would leak)."""
    if provider is None or not provider.api_key or not endpoint:
        return None
    own = provider_url(provider)
    return None if _same_url(endpoint, own) else own


def check_llm_endpoint(providers: Mapping[str, Provider], config: models_pb2.LlmConfig,
                       field: str = "llm_config.model_endpoint") -> None:
    provider = llm_key_provider(providers, config)
    own = foreign_endpoint(provider, config.model_endpoint)
    if provider is not None and own is not None:
        raise InvalidArgument(
            field, f"'{config.model_endpoint}' is not the URL of provider '{provider.name}' ({own}), whose key "
                   "would be sent there; leave it empty or use that URL, or store a provider for the other URL "
                   "(with its own key) and name it in llm_config.provider_name")


def check_embedding_endpoint(providers: Mapping[str, Provider], config: models_pb2.EmbeddingConfig,
                             field: str = "embedding_config.embedding_endpoint") -> None:
    provider = embedding_key_provider(providers, config)
    own = foreign_endpoint(provider, config.embedding_endpoint)
    if provider is not None and own is not None:
        raise InvalidArgument(
            field, f"'{config.embedding_endpoint}' is not the URL of provider '{provider.name}' ({own}), whose "
                   "key would be sent there; leave it empty or use that URL, or store a provider for the other "
                   "URL (with its own key) and name it in embedding_config.handle ('<provider>/<model>')")
