"""Listing a provider's models through its own SDK: what `/v1/models` shows and
what `/v1/providers/check` calls to test a key.

`fetch_model_names(provider)` returns model names (chat and embedding models
together; callers tell them apart) and raises LLMError, with the same kinds
as a model call, when the provider refuses or cannot be reached. Every call
goes to the provider's own base URL with its own key.
"""
from __future__ import annotations

import asyncio
from typing import Any

from ..core.catalog import DEFAULT_BASE_URL, Provider, bedrock_url
from .base import LLMError

__all__ = ["AZURE_DEPLOYMENTS_API_VERSION", "fetch_model_names"]

# The data-plane API version that still lists an Azure resource's deployments.
AZURE_DEPLOYMENTS_API_VERSION = "2023-03-15-preview"
_NO_KEY = "not-needed"


async def fetch_model_names(provider: Provider, *, timeout: float = 10.0) -> list[str]:
    """The names of the models `provider` offers, from the provider itself."""
    ptype = provider.provider_type
    if ptype == "anthropic":
        return await _anthropic(provider, timeout)
    if ptype == "google_ai":
        return await _gemini(provider, timeout)
    if ptype == "azure":
        return await _azure(provider, timeout)
    if ptype == "bedrock":
        return await _bedrock(provider, timeout)
    return await _openai(provider, timeout)


async def _openai(provider: Provider, timeout: float) -> list[str]:
    import openai

    from .openai_chat import map_openai_error

    base_url = provider.base_url or DEFAULT_BASE_URL.get(provider.provider_type)
    async with openai.AsyncOpenAI(api_key=provider.api_key or _NO_KEY, base_url=base_url, max_retries=0,
                                  timeout=timeout) as client:
        try:
            return [m.id async for m in client.models.list()]
        except openai.APIError as exc:
            raise map_openai_error(exc, provider.name) from exc


async def _anthropic(provider: Provider, timeout: float) -> list[str]:
    import anthropic

    from .anthropic_messages import map_anthropic_error

    async with anthropic.AsyncAnthropic(api_key=provider.api_key or _NO_KEY, base_url=provider.base_url,
                                        max_retries=0, timeout=timeout) as client:
        try:
            return [m.id async for m in client.models.list()]
        except anthropic.APIError as exc:
            raise map_anthropic_error(exc) from exc


async def _gemini(provider: Provider, timeout: float) -> list[str]:
    from .gemini import EMBED, GENERATE, gemini_sdk, map_gemini_error, transport_error

    client = gemini_sdk(provider.api_key or "", provider.base_url, timeout)
    names = []
    try:
        pager = await client.aio.models.list(config={"page_size": 1000})
        async for model in pager:
            actions = set(model.supported_actions or ())
            if actions & {GENERATE, EMBED} and model.name:
                names.append(model.name.removeprefix("models/"))
    except Exception as exc:  # noqa: BLE001 - SDK and transport errors, mapped
        mapped = map_gemini_error(exc) or transport_error(exc, "google_ai")
        if mapped is None:
            raise
        raise mapped from exc
    finally:
        await client.aio.aclose()
    return names


async def _azure(provider: Provider, timeout: float) -> list[str]:
    """The resource's deployments (their names are the model names agents use)."""
    import openai

    from .openai_chat import map_openai_error

    async with openai.AsyncAzureOpenAI(api_key=provider.api_key or _NO_KEY, azure_endpoint=provider.base_url,
                                       api_version=AZURE_DEPLOYMENTS_API_VERSION, max_retries=0,
                                       timeout=timeout) as client:
        try:
            page: Any = await client.get("/deployments", cast_to=object)
        except openai.APIError as exc:
            raise map_openai_error(exc, provider.name) from exc
    data = page.get("data") if isinstance(page, dict) else None
    if not isinstance(data, list):
        raise LLMError("server", "the deployments listing has no 'data' list", provider=provider.name)
    return [d["id"] for d in data if isinstance(d, dict) and isinstance(d.get("id"), str)]


async def _bedrock(provider: Provider, timeout: float) -> list[str]:
    """Anthropic's foundation models in the provider's region (Bedrock's control
    plane, through boto3: ListFoundationModels)."""
    try:
        import boto3
        import botocore.config
        import botocore.exceptions
    except ImportError as exc:  # pragma: no cover - boto3 is a pinned dependency
        raise LLMError("bad_request", f"boto3 is not installed ({exc})", provider=provider.name) from exc
    region = provider.region or "us-east-1"
    runtime_default = bedrock_url(region)
    # With the runtime endpoint overridden (a proxy), the listing goes there too.
    endpoint = None if not provider.base_url or provider.base_url == runtime_default else provider.base_url

    def call() -> list[str]:
        client = boto3.client(
            "bedrock", region_name=region, endpoint_url=endpoint, aws_access_key_id=provider.access_key,
            aws_secret_access_key=provider.api_key, aws_session_token=provider.session_token,
            config=botocore.config.Config(connect_timeout=timeout, read_timeout=timeout,
                                          retries={"max_attempts": 1}))
        try:
            answer = client.list_foundation_models(byProvider="Anthropic")
        finally:
            client.close()
        return [m["modelId"] for m in answer.get("modelSummaries", []) if "modelId" in m]

    try:
        return await asyncio.to_thread(call)
    except Exception as exc:  # noqa: BLE001 - botocore's errors, mapped below
        raise _bedrock_error(exc, provider.name) from exc


def _bedrock_error(exc: Exception, name: str) -> LLMError:
    import botocore.exceptions

    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "") or str(exc)
        if status in (401, 403) or code in ("UnrecognizedClientException", "AccessDeniedException",
                                             "InvalidSignatureException", "ExpiredTokenException"):
            return LLMError("auth", message, status=status, provider=name)
        if status == 429 or code == "ThrottlingException":
            return LLMError("rate_limit", message, status=status, provider=name)
        if status == 404:
            return LLMError("not_found", message, status=status, provider=name)
        return LLMError("server" if (status or 500) >= 500 else "bad_request", message, status=status, provider=name)
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return LLMError("auth", str(exc), provider=name)
    if isinstance(exc, botocore.exceptions.ReadTimeoutError | botocore.exceptions.ConnectTimeoutError):
        return LLMError("timeout", str(exc), provider=name)
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectionError):
        return LLMError("connection", str(exc), provider=name)
    return LLMError("server", repr(exc), provider=name)
