"""Which LLMClient serves an agent's LlmConfig, and the retries around it.

`ProviderRegistry.client_for(llm_config)` picks the client by the config's
model_endpoint_type, points it at the config's model_endpoint, takes the key
from the configured provider, and keeps one client per (type, base URL, key)
so connections are pooled across agents. Every client is wrapped in a
`RetryingClient`: the SDKs' own retries are off, so there is exactly one
retry policy, and it knows not to retry an answer the user already saw part of.
"""
from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anthropic as anthropic_sdk
import openai as openai_sdk
from mnemo.v1 import models_pb2

from ..config import AZURE_DEFAULT_API_VERSION, BEDROCK_ANTHROPIC_VERSION, Settings
from ..core.catalog import DEFAULT_BASE_URL, PROVIDER_TYPES, Catalog, Provider, is_offline
from ..core.endpoints import foreign_endpoint
from .anthropic_messages import AnthropicMessagesClient
from .base import Delta, LLMClient, LLMError, LLMRequest, LLMResponse, OnDelta
from .gemini import GeminiClient
from .offline import OfflineDevClient
from .openai_chat import OpenAIChatClient

__all__ = ["NO_KEY", "RETRYABLE_KINDS", "ProviderRegistry", "RetryPolicy", "RetryingClient"]

log = logging.getLogger(__name__)

# Sent to OpenAI-compatible servers that need no key (the SDK insists on one).
NO_KEY = "not-needed"
RETRYABLE_KINDS = frozenset({"rate_limit", "server", "timeout", "connection"})
# Environment variables that configure each provider, for error messages.
_KEY_HINTS = {
    "openai": "OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)",
    "anthropic": "ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL for a compatible server)",
    "google_ai": "GEMINI_API_KEY",
    "azure": "AZURE_API_KEY and AZURE_BASE_URL",
    "bedrock": "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION",
    "groq": "GROQ_API_KEY", "together": "TOGETHER_API_KEY", "deepseek": "DEEPSEEK_API_KEY",
    "xai": "XAI_API_KEY", "openrouter": "OPENROUTER_API_KEY",
}
# Provider types that are only reached with credentials of their own (no
# placeholder key at any URL): Azure and Bedrock have no public default URL.
_CREDENTIALS_REQUIRED = ("azure", "bedrock")


# --------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter.

    `attempts` counts the first call. The n-th retry waits a random time
    between half and all of min(max_delay, base_delay * 2**(n-1)), unless
    the provider said how long to wait (Retry-After), which is honoured up to
    `max_retry_after`.
    """

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0

    def delay(self, retry: int, retry_after: float | None, rng: Callable[[], float] = random.random) -> float:
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after))
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return ceiling / 2 + rng() * ceiling / 2


# What reading an answer that is not what the provider's API promises raises (malformed JSON,
# SSE events that are not JSON, JSON of the wrong shape), in the SDKs or in our conversions.
_UNREADABLE = (ValueError, TypeError, AttributeError, KeyError, IndexError)


class _DeliveryFailed(Exception):
    """The caller's on_delta raised (its own failure, raised again as it is)."""


class RetryingClient:
    """Retries transient failures (rate limits, 5xx, timeouts, broken connections)
    of the client it wraps.

    A streamed answer is never retried once a delta has been delivered: the
    caller has already shown it, and a second attempt would repeat or contradict
    it. The error is raised at once instead.

    An answer that cannot be read (malformed JSON, garbage SSE, the wrong
    shape) is an LLMError("invalid_response"), not retried: the provider
    answered (and billed) it, and would likely answer alike.
    """

    def __init__(self, inner: LLMClient, policy: RetryPolicy | None = None, *,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep):
        self.inner = inner
        self.policy = policy or RetryPolicy()
        self._sleep = sleep

    async def generate(self, request: LLMRequest, on_delta: OnDelta | None = None) -> LLMResponse:
        delivered = False

        async def forward(delta: Delta) -> None:
            nonlocal delivered
            delivered = True  # before handing it on: from here the answer may be visible
            assert on_delta is not None
            try:
                await on_delta(delta)
            except Exception as exc:
                raise _DeliveryFailed() from exc

        callback = forward if on_delta is not None else None
        attempt = 1
        while True:
            try:
                return await self.inner.generate(request, callback)
            except _DeliveryFailed as failed:
                assert failed.__cause__ is not None
                raise failed.__cause__ from None
            except _UNREADABLE as exc:
                provider = getattr(self.inner, "provider", None) or getattr(self.inner, "endpoint_type", "")
                log.warning("%s call to %s: unreadable answer (%s: %s)", provider or "model", request.model,
                            type(exc).__name__, exc)
                raise LLMError("invalid_response", f"the answer could not be read ({type(exc).__name__}: {exc})",
                               provider=provider) from exc
            except LLMError as err:
                if err.kind not in RETRYABLE_KINDS or attempt >= self.policy.attempts:
                    raise
                if delivered:
                    log.warning("%s call to %s failed mid-stream (%s); a partly delivered answer "
                                "is not retried", err.provider or "model", request.model, err.kind)
                    raise
                wait = self.policy.delay(attempt, retry_after_of(err))
                log.warning("%s call to %s failed (%s: %s); retry %d/%d in %.2fs", err.provider or "model",
                            request.model, err.kind, err.message, attempt, self.policy.attempts - 1, wait)
                await self._sleep(wait)
                attempt += 1

    async def aclose(self) -> None:
        await self.inner.aclose()


def retry_after_of(err: BaseException) -> float | None:
    """Seconds the provider asked us to wait, from the HTTP response behind the
    SDK exception that caused `err` (retry-after-ms, else retry-after), or
    from the error body when the provider said it there."""
    if isinstance(getattr(err, "retry_after", None), float):
        return err.retry_after  # type: ignore[attr-defined]
    cause = err.__cause__
    response = getattr(cause, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return float(raw_ms) / 1000
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:  # an HTTP date
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# --------------------------------------------------------------------------- the registry


class ProviderRegistry:
    """Builds and caches the LLMClient for each LlmConfig.

    Keys come from the catalog's configured providers (OPENAI_API_KEY,
    ANTHROPIC_API_KEY, ...). A provider type with an official hosted endpoint
    (openai, anthropic) needs a key when called there; other OpenAI-compatible
    endpoints are called with a placeholder key when none is configured.
    """

    def __init__(self, settings: Settings, catalog: Catalog | None = None, *,
                 retry: RetryPolicy | None = None, timeout: float | None = None):
        self._providers: dict[str, Provider] = (catalog or Catalog(settings)).providers
        self._retry = retry or RetryPolicy()
        # Seconds one model call (each attempt) may take to connect, send and answer; a stream
        # may stay silent that long between two chunks (MNEMO_PROVIDER_TIMEOUT_S).
        self._timeout = settings.provider_timeout_s if timeout is None else timeout
        self._clients: dict[tuple[str, str, str], RetryingClient] = {}
        self._offline: RetryingClient | None = None

    def client_for(self, llm_config: models_pb2.LlmConfig) -> RetryingClient:
        """The client for `llm_config`; raises LLMError("auth") when its
        provider needs a key that is not configured."""
        etype = llm_config.model_endpoint_type
        if is_offline(llm_config):
            if self._offline is None:
                self._offline = RetryingClient(OfflineDevClient(), self._retry)
            return self._offline
        if etype not in PROVIDER_TYPES:
            raise LLMError("bad_request", f"{_handle(llm_config)}: unsupported model endpoint type '{etype}'",
                           provider=etype)

        provider = self._providers.get(llm_config.provider_name or etype)
        if provider is not None and provider.provider_type != etype:
            provider = None  # a provider of that name, but not the one this config was made for
        if provider is None and llm_config.provider_category == "byok":
            raise LLMError("auth", f"{_handle(llm_config)}: the stored provider '{llm_config.provider_name}' "
                                   "no longer exists", provider=etype)
        configured_url = provider.base_url if provider else None
        base_url = (llm_config.model_endpoint or configured_url or DEFAULT_BASE_URL.get(etype, "")).rstrip("/")
        api_key = provider.api_key if provider else None
        if etype in _CREDENTIALS_REQUIRED and (provider is None or not api_key or not base_url):
            raise LLMError("auth", f"{_handle(llm_config)} needs {_KEY_HINTS[etype]}", provider=etype)
        own_url = foreign_endpoint(provider, llm_config.model_endpoint)
        if provider is not None and own_url is not None:  # a configuration stored before this was refused
            raise LLMError("auth", f"{_handle(llm_config)}: model_endpoint '{llm_config.model_endpoint}' is not "
                                   f"the URL of provider '{provider.name}' ({own_url}); its key is only sent there",
                           provider=etype)
        if not api_key:
            official = DEFAULT_BASE_URL.get(etype, "").rstrip("/")
            if etype in _KEY_HINTS and base_url == official:
                raise LLMError("auth", f"{_handle(llm_config)} needs {_KEY_HINTS[etype]}", provider=etype)
            api_key = NO_KEY

        # Azure's API version and Bedrock's credentials and region are part of what a client is.
        extra = (provider.api_version, provider.access_key, provider.region, provider.session_token) \
            if provider is not None and etype in _CREDENTIALS_REQUIRED else ()
        key = (etype, base_url, api_key, *extra)
        client = self._clients.get(key)
        if client is None:
            client = RetryingClient(self._build(etype, base_url, api_key, provider), self._retry)
            self._clients[key] = client
        return client

    def _build(self, etype: str, base_url: str, api_key: str, provider: Provider | None) -> LLMClient:
        if etype == "anthropic":
            return AnthropicMessagesClient(api_key=api_key, base_url=base_url,
                                           timeout=sdk_timeout(anthropic_sdk, self._timeout))
        if etype == "google_ai":
            return GeminiClient(api_key=api_key, base_url=base_url, timeout=self._timeout)
        if etype == "azure":
            assert provider is not None
            return azure_client(provider, base_url, self._timeout)
        if etype == "bedrock":
            assert provider is not None
            return bedrock_client(provider, base_url, self._timeout)
        return OpenAIChatClient(api_key=api_key, base_url=base_url, endpoint_type=etype,
                                timeout=sdk_timeout(openai_sdk, self._timeout))

    async def aclose(self) -> None:
        """Closes every client built so far."""
        clients = list(self._clients.values())
        self._clients.clear()
        results = await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.warning("closing an LLM client failed: %r", result)


def sdk_timeout(sdk: Any, seconds: float) -> Any:
    """The timeout of one model call, in the SDK's own type (`openai.Timeout`,
    `anthropic.Timeout`): `seconds` to send, to wait for the answer and between
    two chunks of a stream; connecting gives up after 10 s at most."""
    return sdk.Timeout(seconds, connect=min(10.0, seconds))


def azure_client(provider: Provider, base_url: str, timeout: float | None = None) -> OpenAIChatClient:
    """Chat Completions on an Azure OpenAI resource: the `openai` SDK's Azure
    client sends each call to /openai/deployments/{model}/chat/completions
    with the api-version and the `api-key` header; the model is the deployment."""
    import openai

    from .openai_chat import DEFAULT_TIMEOUT


    sdk = openai.AsyncAzureOpenAI(api_key=provider.api_key, azure_endpoint=base_url,
                                  api_version=provider.api_version or AZURE_DEFAULT_API_VERSION,
                                  timeout=DEFAULT_TIMEOUT if timeout is None else sdk_timeout(openai, timeout),
                                  max_retries=0)
    return OpenAIChatClient(api_key=provider.api_key or "", endpoint_type="azure", sdk=sdk)


def bedrock_client(provider: Provider, base_url: str, timeout: float | None = None) -> AnthropicMessagesClient:
    """Anthropic models on AWS Bedrock: the `anthropic` SDK's Bedrock client
    signs each call with the AWS credentials (SigV4) and sends it to
    /model/{model}/invoke (or invoke-with-response-stream)."""
    import anthropic

    from .anthropic_messages import DEFAULT_TIMEOUT

    sdk = anthropic.AsyncAnthropicBedrock(
        aws_access_key=provider.access_key, aws_secret_key=provider.api_key,
        aws_session_token=provider.session_token, aws_region=provider.region or "us-east-1", base_url=base_url,
        timeout=DEFAULT_TIMEOUT if timeout is None else sdk_timeout(anthropic, timeout), max_retries=0)
    # Bedrock takes the API version in the body, and only its own ("bedrock-2023-05-31").
    version = provider.api_version or BEDROCK_ANTHROPIC_VERSION
    return AnthropicMessagesClient(api_key=provider.api_key or "", sdk=sdk, provider="bedrock",
                                   extra_body={"anthropic_version": version})


def _handle(llm_config: models_pb2.LlmConfig) -> str:
    provider = llm_config.provider_name or llm_config.model_endpoint_type
    return llm_config.handle or f"{provider}/{llm_config.model}"
