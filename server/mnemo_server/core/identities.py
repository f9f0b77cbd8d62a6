"""Identities: the users and organisations an application serves."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnemo.v1 import identities_pb2
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..errors import InvalidArgument, NotFound
from ..ids import new_id
from ..storage import agents as agent_store
from ..storage import convert
from ..storage import identities as store
from ..storage.paging import page_from
from ..storage.schema import blocks
from . import validate
from .db import get_or_not_found, transaction

IDENTITY_TYPES = ("user", "org", "other")
PROPERTY_TYPES = {"string": str, "number": (int, float), "boolean": bool, "json": (dict, list)}


def _properties(field: str, items: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(items):
        if isinstance(item, identities_pb2.IdentityProperty):
            key, ptype, value = item.key, item.type, convert.value_to_python(item.value)
        elif isinstance(item, dict):
            key, ptype, value = item.get("key"), item.get("type"), item.get("value")
        else:
            raise InvalidArgument(f"{field}[{i}]", "must be an object with key, value and type")
        if not isinstance(key, str) or not key:
            raise InvalidArgument(f"{field}[{i}].key", "is required")
        validate.one_of(f"{field}[{i}].type", ptype or "", PROPERTY_TYPES)
        if isinstance(value, bool) and ptype == "number" or not isinstance(value, PROPERTY_TYPES[ptype]):
            raise InvalidArgument(f"{field}[{i}].value", f"does not match type '{ptype}'")
        out.append({"key": key, "type": ptype, "value": value})
    return out


async def _check_links(conn: AsyncConnection, agent_ids: Sequence[str], block_ids: Sequence[str]) -> None:
    missing = set(agent_ids) - await agent_store.existing_ids(conn, agent_ids)
    if missing:
        raise NotFound("agent", sorted(missing)[0])
    if block_ids:
        from sqlalchemy import select

        found = {r.id for r in await conn.execute(select(blocks.c.id).where(blocks.c.id.in_(list(block_ids))))}
        if set(block_ids) - found:
            raise NotFound("block", sorted(set(block_ids) - found)[0])


class Identities:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    @staticmethod
    def _validated(request: identities_pb2.CreateIdentityRequest) -> dict[str, Any]:
        validate.required("identifier_key", request.identifier_key)
        validate.required("name", request.name)
        validate.one_of("identity_type", request.identity_type, IDENTITY_TYPES)
        return {
            "identifier_key": request.identifier_key, "name": request.name, "identity_type": request.identity_type,
            "project_id": request.project_id if request.HasField("project_id") else None,
            "properties": _properties("properties", list(request.properties)),
        }

    async def create(self, request: identities_pb2.CreateIdentityRequest, *, upsert: bool = False):
        values = self._validated(request)
        agent_ids, block_ids = convert.unique(request.agent_ids), convert.unique(request.block_ids)
        async with transaction(self.engine) as conn:
            await _check_links(conn, agent_ids, block_ids)
            existing = await store.get_by_key(conn, values["identifier_key"], values["project_id"]) if upsert else None
            if existing is not None:
                identity_id = existing.id
                await store.update_fields(conn, identity_id, values)
            else:
                identity_id = new_id("identity")
                await store.insert_identity(conn, {"id": identity_id, **values})
            # An upsert of an existing identity keeps its links unless new ones are given.
            if existing is None or agent_ids:
                await store.set_agents(conn, identity_id, agent_ids)
            if existing is None or block_ids:
                await store.set_blocks(conn, identity_id, block_ids)
            return await store.get(conn, identity_id)

    async def get(self, identity_id: str) -> identities_pb2.Identity:
        return await get_or_not_found(self.engine, "identity", "identity_id", identity_id, store.get)

    async def list(self, request: identities_pb2.ListIdentitiesRequest):
        page = page_from(request)
        opt = lambda name: getattr(request, name) if request.HasField(name) else None  # noqa: E731
        async with self.engine.connect() as conn:
            return await store.list_identities(
                conn, page, name=opt("name"), identifier_key=opt("identifier_key"),
                identity_type=opt("identity_type"), project_id=opt("project_id"),
            )

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            return await store.count(conn)

    async def update(self, request: identities_pb2.UpdateIdentityRequest) -> identities_pb2.Identity:
        validate.required("identity_id", request.identity_id)
        has = request.HasField
        changes: dict[str, Any] = {}
        if has("identifier_key"):
            changes["identifier_key"] = validate.required("identifier_key", request.identifier_key)
        if has("name"):
            changes["name"] = validate.required("name", request.name)
        if has("identity_type"):
            changes["identity_type"] = validate.one_of("identity_type", request.identity_type, IDENTITY_TYPES)
        if has("properties"):
            changes["properties"] = _properties("properties", convert.list_value_to_list(request.properties))
        agent_ids = (convert.unique(validate.strings("agent_ids", convert.list_value_to_list(request.agent_ids)))
                     if has("agent_ids") else None)
        block_ids = (convert.unique(validate.strings("block_ids", convert.list_value_to_list(request.block_ids)))
                     if has("block_ids") else None)
        async with transaction(self.engine) as conn:
            if await store.get(conn, request.identity_id) is None:
                raise NotFound("identity", request.identity_id)
            await _check_links(conn, agent_ids or [], block_ids or [])
            if changes:
                await store.update_fields(conn, request.identity_id, changes)
            if agent_ids is not None:
                await store.set_agents(conn, request.identity_id, agent_ids)
            if block_ids is not None:
                await store.set_blocks(conn, request.identity_id, block_ids)
            return await store.get(conn, request.identity_id)

    async def set_properties(self, request: identities_pb2.UpsertIdentityPropertiesRequest):
        validate.required("identity_id", request.identity_id)
        properties = _properties("properties", list(request.properties))
        async with transaction(self.engine) as conn:
            if await store.get(conn, request.identity_id) is None:
                raise NotFound("identity", request.identity_id)
            await store.update_fields(conn, request.identity_id, {"properties": properties})
            return await store.get(conn, request.identity_id)

    async def delete(self, identity_id: str) -> None:
        validate.required("identity_id", identity_id)
        async with transaction(self.engine) as conn:
            if not await store.delete_identity(conn, identity_id):
                raise NotFound("identity", identity_id)
