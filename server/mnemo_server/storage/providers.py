"""Queries on stored model providers."""
from __future__ import annotations

from typing import Any

from mnemo.v1 import providers_pb2
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import convert
from .paging import Page, apply_page
from .schema import providers

COLUMNS = list(providers.c)


def to_proto(r) -> providers_pb2.Provider:
    m = r._mapping
    provider = providers_pb2.Provider(
        id=m["id"], name=m["name"], provider_type=m["provider_type"], provider_category="byok",
        has_api_key=m["api_key_encrypted"] is not None,
        created_at=convert.timestamp(m["created_at"]), updated_at=convert.timestamp(m["updated_at"]),
    )
    convert.set_optional(provider, base_url=m["base_url"])
    return provider


async def insert_provider(conn: AsyncConnection, values: dict[str, Any]) -> providers_pb2.Provider:
    return to_proto((await conn.execute(insert(providers).values(**values).returning(*COLUMNS))).one())


async def get(conn: AsyncConnection, provider_id: str) -> providers_pb2.Provider | None:
    row = (await conn.execute(select(*COLUMNS).where(providers.c.id == provider_id))).first()
    return to_proto(row) if row else None


async def all_with_keys(conn: AsyncConnection) -> list[tuple[str, str, str | None, bytes | None]]:
    """(name, type, base_url, encrypted key) of every stored provider."""
    rows = await conn.execute(select(providers.c.name, providers.c.provider_type, providers.c.base_url,
                                     providers.c.api_key_encrypted))
    return [(r.name, r.provider_type, r.base_url, r.api_key_encrypted) for r in rows]


async def list_providers(conn: AsyncConnection, page: Page, *, name: str | None, provider_type: str | None):
    stmt = select(*COLUMNS)
    if name is not None:
        stmt = stmt.where(providers.c.name == name)
    if provider_type is not None:
        stmt = stmt.where(providers.c.provider_type == provider_type)
    stmt, flipped = await apply_page(conn, stmt, page, providers.c.created_at, providers.c.id)
    result = [to_proto(r) for r in (await conn.execute(stmt)).all()]
    return result[::-1] if flipped else result


async def update_fields(conn: AsyncConnection, provider_id: str, values: dict[str, Any]) -> providers_pb2.Provider:
    row = (await conn.execute(update(providers).where(providers.c.id == provider_id)
                              .values(**values, updated_at=func.now()).returning(*COLUMNS))).one()
    return to_proto(row)


async def delete_provider(conn: AsyncConnection, provider_id: str) -> bool:
    return (await conn.execute(delete(providers).where(providers.c.id == provider_id))).rowcount > 0
