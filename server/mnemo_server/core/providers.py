"""Model providers stored in the database ("bring your own key").

Stored providers join the catalog next to the environment's, under their own
name: an agent with model "my-groq/llama-3.3-70b" uses the stored provider
"my-groq". Keys are encrypted with the server's SecretBox and never returned.
Every server reloads the stored providers when one changes here, and every
few seconds, so all servers on one database agree.
"""
from __future__ import annotations

import asyncio
import logging
import re

from mnemo.v1 import providers_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from ..config import AZURE_DEFAULT_API_VERSION
from ..errors import AlreadyExists, InvalidArgument, NotFound, Unauthenticated, Unavailable
from ..ids import new_id
from ..providers.base import LLMError
from ..storage import providers as store
from ..storage.paging import page_from
from . import validate
from .catalog import DEFAULT_BASE_URL, OFFLINE_PROVIDER, Catalog, Provider, bedrock_url
from .catalog import PROVIDER_TYPES as ALL_TYPES
from .db import get_or_not_found, transaction
from .secrets import SecretBox

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Types a stored provider may have: Bedrock needs an access key id and a region
# besides its key, which a stored provider has no place for (environment only).
PROVIDER_TYPES = (*DEFAULT_BASE_URL, "azure")
# Types that need a key at their official URL.
KEYED_TYPES = ("openai", "anthropic", "google_ai", "groq", "together", "deepseek", "xai", "openrouter")
REFRESH_S = 5.0
CHECK_TIMEOUT_S = 10.0


def _base_url(field: str, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not re.match(r"^https?://[^\s]+$", value):
        raise InvalidArgument(field, f"'{value}' is not an http(s) URL")
    return value.rstrip("/")


def _require_credentials(ptype: str, base_url: str | None, api_key: str | None) -> None:
    if ptype == "azure" and not base_url:
        raise InvalidArgument("base_url", "is required for azure (the resource's endpoint, "
                                          "https://<resource>.openai.azure.com)")
    official = base_url is None or base_url == DEFAULT_BASE_URL.get(ptype)
    if api_key is None and (ptype == "azure" or (ptype in KEYED_TYPES and official)):
        where = "" if ptype == "azure" else " at its official URL"
        raise InvalidArgument("api_key", f"is required for {ptype}{where}")


class Providers:
    def __init__(self, engine: AsyncEngine, catalog: Catalog, box: SecretBox):
        self.engine = engine
        self.catalog = catalog
        self.box = box
        self._task: asyncio.Task | None = None

    # -- keeping the catalog in step ---------------------------------------------

    async def refresh(self) -> None:
        async with self.engine.connect() as conn:
            rows = await store.all_with_keys(conn)
        stored = []
        for name, ptype, base_url, key in rows:
            try:
                api_key = self.box.open(key) if key is not None else None
            except Exception:  # noqa: BLE001 - a key from another server's secret: skip, say so
                log.warning("stored provider %s: its key cannot be decrypted with this server's key", name)
                continue
            stored.append(Provider(name=name, provider_type=ptype, base_url=base_url or DEFAULT_BASE_URL.get(ptype),
                                   api_key=api_key, category="byok",
                                   api_version=AZURE_DEFAULT_API_VERSION if ptype == "azure" else None))
        self.catalog.set_stored(stored)

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._refresh_loop(), name="mnemo-providers")

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep the last good view
                log.exception("reloading stored providers failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # -- use cases ---------------------------------------------------------------

    async def create(self, request: providers_pb2.CreateProviderRequest) -> providers_pb2.Provider:
        validate.required("name", request.name)
        if not NAME_RE.match(request.name):
            raise InvalidArgument("name", f"'{request.name}' may only contain letters, digits, '_' and '-'")
        if request.name in self.catalog.environment_providers() or request.name == OFFLINE_PROVIDER:
            raise AlreadyExists(f"name: '{request.name}' is a provider configured by the server")
        validate.one_of("provider_type", request.provider_type, PROVIDER_TYPES)
        base_url = _base_url("base_url", request.base_url if request.HasField("base_url") else None)
        api_key = request.api_key if request.HasField("api_key") and request.api_key else None
        _require_credentials(request.provider_type, base_url, api_key)
        try:
            async with transaction(self.engine) as conn:
                provider = await store.insert_provider(conn, {
                    "id": new_id("provider"), "name": request.name, "provider_type": request.provider_type,
                    "base_url": base_url, "api_key_encrypted": self.box.seal(api_key) if api_key else None,
                })
        except Exception as exc:
            if "providers_name_key" in str(exc):
                raise AlreadyExists(f"name: a provider named '{request.name}' already exists") from None
            raise
        await self.refresh()
        return provider

    async def get(self, provider_id: str) -> providers_pb2.Provider:
        return await get_or_not_found(self.engine, "provider", "provider_id", provider_id, store.get)

    async def list(self, request: providers_pb2.ListProvidersRequest) -> list[providers_pb2.Provider]:
        page = page_from(request)
        async with self.engine.connect() as conn:
            return await store.list_providers(
                conn, page, name=request.name if request.HasField("name") else None,
                provider_type=request.provider_type if request.HasField("provider_type") else None,
            )

    async def update(self, request: providers_pb2.UpdateProviderRequest) -> providers_pb2.Provider:
        validate.required("provider_id", request.provider_id)
        values = {}
        if request.HasField("api_key"):
            values["api_key_encrypted"] = self.box.seal(request.api_key) if request.api_key else None
        if request.HasField("base_url"):
            values["base_url"] = _base_url("base_url", request.base_url)
        async with transaction(self.engine) as conn:
            current = await store.get(conn, request.provider_id)
            if current is None:
                raise NotFound("provider", request.provider_id)
            if "base_url" in values and not request.HasField("api_key") and current.has_api_key:
                default = DEFAULT_BASE_URL.get(current.provider_type)
                was = current.base_url if current.HasField("base_url") and current.base_url else default
                if (values["base_url"] or default) != was:
                    # A key is only sent to the URL it was given for.
                    raise InvalidArgument(
                        "api_key", "is required when base_url changes: a provider's key is only sent to the URL "
                                   "it was given for; pass the key again (or an empty one to send none)")
            provider = await store.update_fields(conn, request.provider_id, values) if values else current
        await self.refresh()
        return provider

    async def delete(self, provider_id: str) -> None:
        validate.required("provider_id", provider_id)
        async with transaction(self.engine) as conn:
            if not await store.delete_provider(conn, provider_id):
                raise NotFound("provider", provider_id)
        await self.refresh()

    async def check(self, request: providers_pb2.CheckProviderRequest,
                    header_key: str | None = None) -> providers_pb2.CheckProviderResponse:
        """Lists the provider's models with the given credentials: a real call
        that costs nothing. Nothing is stored, and the key goes only to the
        base URL given with it (or the type's official URL)."""
        validate.required("provider_type", request.provider_type)
        ptype = validate.one_of("provider_type", request.provider_type, ALL_TYPES)
        base_url = _base_url("base_url", request.base_url if request.HasField("base_url") else None)
        api_key = (request.api_key if request.HasField("api_key") and request.api_key else None) or header_key or None
        region = request.region if request.HasField("region") and request.region else None
        access_key = request.access_key if request.HasField("access_key") and request.access_key else None
        if ptype == "bedrock":
            if not access_key:
                raise InvalidArgument("access_key", "is required for bedrock (the AWS access key id)")
            if not api_key:
                raise InvalidArgument("api_key", "is required for bedrock (the AWS secret access key)")
            region = region or "us-east-1"
            base_url = base_url or bedrock_url(region)
        else:
            _require_credentials(ptype, base_url, api_key)
        version = request.api_version if request.HasField("api_version") and request.api_version else None
        provider = Provider(name=ptype, provider_type=ptype, base_url=base_url or DEFAULT_BASE_URL.get(ptype),
                            api_key=api_key, api_version=version or AZURE_DEFAULT_API_VERSION,
                            access_key=access_key, region=region)
        from ..providers.listing import fetch_model_names

        try:
            names = await fetch_model_names(provider, timeout=CHECK_TIMEOUT_S)
        except LLMError as err:
            raise _check_error(ptype, provider.base_url or "", err) from None
        return providers_pb2.CheckProviderResponse(message=f"Valid api key for provider_type={ptype}",
                                                   model_count=len(names))


def _check_error(ptype: str, base_url: str, err: LLMError) -> Exception:
    said = f"{ptype} answered: {err.message}"
    if err.kind == "auth":
        return Unauthenticated(f"api_key: {said}")
    if err.kind in ("connection", "timeout"):
        return InvalidArgument("base_url", f"could not reach {base_url} ({err.kind}: {err.message})")
    if err.kind == "not_found":
        return InvalidArgument("base_url", f"{base_url} has no model listing ({said})")
    if err.kind in ("rate_limit", "server"):
        return Unavailable(f"{said} (try again later)")
    return InvalidArgument("api_key", said)
