"""Queries on identities and their links to agents and blocks."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnemo.v1 import identities_pb2
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from . import convert
from .paging import Page, apply_page
from .schema import identities, identity_agents, identity_blocks

IDENTITY_COLUMNS = [identities.c[name] for name in (
    "id", "identifier_key", "name", "identity_type", "project_id", "properties", "created_at", "updated_at",
)]


def _to_proto(r, agent_ids: list[str], block_ids: list[str]) -> identities_pb2.Identity:
    m = r._mapping if isinstance(r, Row) else r
    identity = identities_pb2.Identity(
        id=m["id"], identifier_key=m["identifier_key"], name=m["name"], identity_type=m["identity_type"],
        agent_ids=agent_ids, block_ids=block_ids,
        properties=[
            identities_pb2.IdentityProperty(key=p["key"], type=p["type"], value=convert.python_to_value(p["value"]))
            for p in m["properties"] or []
        ],
        created_at=convert.timestamp(m["created_at"]), updated_at=convert.timestamp(m["updated_at"]),
    )
    convert.set_optional(identity, project_id=m["project_id"])
    return identity


async def _hydrate(conn: AsyncConnection, rows: Sequence[Row]) -> list[identities_pb2.Identity]:
    ids = [r.id for r in rows]
    if not ids:
        return []
    agents: dict[str, list[str]] = {i: [] for i in ids}
    for link in await conn.execute(
        select(identity_agents.c.identity_id, identity_agents.c.agent_id)
        .where(identity_agents.c.identity_id.in_(ids)).order_by(identity_agents.c.agent_id)
    ):
        agents[link.identity_id].append(link.agent_id)
    blocks: dict[str, list[str]] = {i: [] for i in ids}
    for link in await conn.execute(
        select(identity_blocks.c.identity_id, identity_blocks.c.block_id)
        .where(identity_blocks.c.identity_id.in_(ids)).order_by(identity_blocks.c.block_id)
    ):
        blocks[link.identity_id].append(link.block_id)
    return [_to_proto(r, agents[r.id], blocks[r.id]) for r in rows]


async def get(conn: AsyncConnection, identity_id: str) -> identities_pb2.Identity | None:
    rows = (await conn.execute(select(*IDENTITY_COLUMNS).where(identities.c.id == identity_id))).all()
    found = await _hydrate(conn, rows)
    return found[0] if found else None


async def get_by_key(conn: AsyncConnection, identifier_key: str, project_id: str | None) -> identities_pb2.Identity | None:
    rows = (await conn.execute(
        select(*IDENTITY_COLUMNS).where(
            identities.c.identifier_key == identifier_key,
            func.coalesce(identities.c.project_id, "") == (project_id or ""),
        )
    )).all()
    found = await _hydrate(conn, rows)
    return found[0] if found else None


async def for_agents(conn: AsyncConnection, agent_ids: Sequence[str]) -> dict[str, list[identities_pb2.Identity]]:
    links = (await conn.execute(
        select(identity_agents.c.agent_id, identity_agents.c.identity_id)
        .where(identity_agents.c.agent_id.in_(agent_ids))
    )).all()
    out: dict[str, list[identities_pb2.Identity]] = {a: [] for a in agent_ids}
    if not links:
        return out
    rows = (await conn.execute(
        select(*IDENTITY_COLUMNS).where(identities.c.id.in_({link.identity_id for link in links}))
        .order_by(identities.c.created_at, identities.c.id)
    )).all()
    by_id = {i.id: i for i in await _hydrate(conn, rows)}
    for link in links:
        out[link.agent_id].append(by_id[link.identity_id])
    return out


async def insert_identity(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(identities).values(**values))


async def update_fields(conn: AsyncConnection, identity_id: str, values: dict[str, Any]) -> None:
    await conn.execute(
        update(identities).where(identities.c.id == identity_id).values(**values, updated_at=func.now())
    )


async def set_agents(conn: AsyncConnection, identity_id: str, agent_ids: Sequence[str]) -> None:
    await conn.execute(delete(identity_agents).where(identity_agents.c.identity_id == identity_id))
    if agent_ids:
        await conn.execute(insert(identity_agents), [{"identity_id": identity_id, "agent_id": a} for a in agent_ids])


async def set_blocks(conn: AsyncConnection, identity_id: str, block_ids: Sequence[str]) -> None:
    await conn.execute(delete(identity_blocks).where(identity_blocks.c.identity_id == identity_id))
    if block_ids:
        await conn.execute(insert(identity_blocks), [{"identity_id": identity_id, "block_id": b} for b in block_ids])


async def link_agent(conn: AsyncConnection, identity_ids: Sequence[str], agent_id: str) -> None:
    if identity_ids:
        stmt = pg_insert(identity_agents).values([{"identity_id": i, "agent_id": agent_id} for i in identity_ids])
        await conn.execute(stmt.on_conflict_do_nothing())


async def unlink_agent(conn: AsyncConnection, agent_id: str, identity_ids: Sequence[str] | None = None) -> bool:
    stmt = delete(identity_agents).where(identity_agents.c.agent_id == agent_id)
    if identity_ids is not None:
        stmt = stmt.where(identity_agents.c.identity_id.in_(list(identity_ids)))
    return (await conn.execute(stmt)).rowcount > 0


async def existing_ids(conn: AsyncConnection, ids: Sequence[str]) -> set[str]:
    return {r.id for r in await conn.execute(select(identities.c.id).where(identities.c.id.in_(list(ids))))}


async def list_identities(
    conn: AsyncConnection, page: Page, *, name: str | None = None, identifier_key: str | None = None,
    identity_type: str | None = None, project_id: str | None = None,
) -> list[identities_pb2.Identity]:
    stmt = select(*IDENTITY_COLUMNS)
    if name:
        stmt = stmt.where(identities.c.name.icontains(name, autoescape=True))
    if identifier_key is not None:
        stmt = stmt.where(identities.c.identifier_key == identifier_key)
    if identity_type is not None:
        stmt = stmt.where(identities.c.identity_type == identity_type)
    if project_id is not None:
        stmt = stmt.where(identities.c.project_id == project_id)
    stmt, flipped = await apply_page(conn, stmt, page, identities.c.created_at, identities.c.id)
    rows = (await conn.execute(stmt)).all()
    result = await _hydrate(conn, rows)
    return result[::-1] if flipped else result


async def count(conn: AsyncConnection) -> int:
    return (await conn.execute(select(func.count()).select_from(identities))).scalar_one()


async def delete_identity(conn: AsyncConnection, identity_id: str) -> bool:
    return (await conn.execute(delete(identities).where(identities.c.id == identity_id))).rowcount > 0
