"""Queries on memory blocks and their attachment to agents."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnemo.v1 import blocks_pb2
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from . import convert
from .paging import Page, apply_page
from .schema import agent_blocks, blocks, identity_blocks

BLOCK_COLUMNS = [blocks.c[name] for name in (
    "id", "label", "value", "limit", "description", "read_only", "hidden", "metadata", "tags",
    "project_id", "created_at", "updated_at",
)]


def to_proto(row: Row | dict[str, Any]) -> blocks_pb2.Block:
    r = row._mapping if isinstance(row, Row) else row
    block = blocks_pb2.Block(
        id=r["id"], label=r["label"], value=r["value"], limit=r["limit"],
        read_only=r["read_only"], hidden=r["hidden"], tags=r["tags"] or [],
        metadata=convert.struct(r["metadata"] or {}),
        created_at=convert.timestamp(r["created_at"]), updated_at=convert.timestamp(r["updated_at"]),
    )
    convert.set_optional(block, description=r["description"], project_id=r["project_id"])
    return block


async def insert_blocks(conn: AsyncConnection, values: Sequence[dict[str, Any]]) -> list[blocks_pb2.Block]:
    if not values:
        return []
    rows = (await conn.execute(insert(blocks).returning(*BLOCK_COLUMNS), list(values))).all()
    return [to_proto(r) for r in rows]


async def get(conn: AsyncConnection, block_id: str, *, for_update: bool = False) -> blocks_pb2.Block | None:
    stmt = select(*BLOCK_COLUMNS).where(blocks.c.id == block_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    return to_proto(row) if row else None


async def get_by_agent_label(
    conn: AsyncConnection, agent_id: str, label: str, *, for_update: bool = False
) -> blocks_pb2.Block | None:
    stmt = (
        select(*BLOCK_COLUMNS)
        .join(agent_blocks, agent_blocks.c.block_id == blocks.c.id)
        .where(agent_blocks.c.agent_id == agent_id, agent_blocks.c.block_label == label)
    )
    if for_update:
        stmt = stmt.with_for_update(of=blocks)
    row = (await conn.execute(stmt)).first()
    return to_proto(row) if row else None


async def for_agents(conn: AsyncConnection, agent_ids: Sequence[str]) -> dict[str, list[blocks_pb2.Block]]:
    """Blocks of each agent, in the order they were attached."""
    rows = (await conn.execute(
        select(agent_blocks.c.agent_id, *BLOCK_COLUMNS)
        .join(agent_blocks, agent_blocks.c.block_id == blocks.c.id)
        .where(agent_blocks.c.agent_id.in_(agent_ids))
        .order_by(agent_blocks.c.attached_at, blocks.c.id)
    )).all()
    out: dict[str, list[blocks_pb2.Block]] = {agent_id: [] for agent_id in agent_ids}
    for row in rows:
        out[row.agent_id].append(to_proto(row))
    return out


async def list_blocks(
    conn: AsyncConnection,
    page: Page,
    *,
    label: str | None = None,
    label_search: str | None = None,
    value_search: str | None = None,
    description_search: str | None = None,
    tags: Sequence[str] = (),
    match_all_tags: bool = False,
    project_id: str | None = None,
    identity_id: str | None = None,
    include_hidden: bool = False,
) -> list[blocks_pb2.Block]:
    stmt = select(*BLOCK_COLUMNS)
    if label is not None:
        stmt = stmt.where(blocks.c.label == label)
    if label_search:
        stmt = stmt.where(blocks.c.label.icontains(label_search, autoescape=True))
    if value_search:
        stmt = stmt.where(blocks.c.value.icontains(value_search, autoescape=True))
    if description_search:
        stmt = stmt.where(blocks.c.description.icontains(description_search, autoescape=True))
    if tags:
        stmt = stmt.where(blocks.c.tags.contains(list(tags)) if match_all_tags else blocks.c.tags.overlap(list(tags)))
    if project_id is not None:
        stmt = stmt.where(blocks.c.project_id == project_id)
    if identity_id is not None:
        stmt = stmt.where(blocks.c.id.in_(
            select(identity_blocks.c.block_id).where(identity_blocks.c.identity_id == identity_id)
        ))
    if not include_hidden:
        stmt = stmt.where(blocks.c.hidden.is_(False))
    stmt, flipped = await apply_page(conn, stmt, page, blocks.c.created_at, blocks.c.id)
    rows = (await conn.execute(stmt)).all()
    result = [to_proto(r) for r in rows]
    return result[::-1] if flipped else result


async def list_for_agent(conn: AsyncConnection, agent_id: str, page: Page) -> list[blocks_pb2.Block]:
    stmt = (
        select(*BLOCK_COLUMNS)
        .join(agent_blocks, agent_blocks.c.block_id == blocks.c.id)
        .where(agent_blocks.c.agent_id == agent_id)
    )
    stmt, flipped = await apply_page(
        conn, stmt, page, agent_blocks.c.attached_at, agent_blocks.c.block_id,
        cursor_scope=agent_blocks.c.agent_id == agent_id,
    )
    rows = (await conn.execute(stmt)).all()
    result = [to_proto(r) for r in rows]
    return result[::-1] if flipped else result


async def count(conn: AsyncConnection) -> int:
    return (await conn.execute(select(func.count()).select_from(blocks))).scalar_one()


async def update_fields(conn: AsyncConnection, block_id: str, values: dict[str, Any]) -> blocks_pb2.Block:
    values = {**values, "updated_at": func.now()}
    row = (await conn.execute(
        update(blocks).where(blocks.c.id == block_id).values(**values).returning(*BLOCK_COLUMNS)
    )).one()
    return to_proto(row)


async def delete_block(conn: AsyncConnection, block_id: str) -> bool:
    result = await conn.execute(delete(blocks).where(blocks.c.id == block_id))
    return result.rowcount > 0


async def attach(conn: AsyncConnection, agent_id: str, block_id: str, label: str) -> None:
    await conn.execute(insert(agent_blocks).values(agent_id=agent_id, block_id=block_id, block_label=label))


async def attach_many(conn: AsyncConnection, agent_id: str, items: Sequence[tuple[str, str]]) -> None:
    if items:
        await conn.execute(
            insert(agent_blocks),
            [{"agent_id": agent_id, "block_id": b, "block_label": label} for b, label in items],
        )


async def detach(conn: AsyncConnection, agent_id: str, block_id: str) -> bool:
    result = await conn.execute(
        delete(agent_blocks).where(agent_blocks.c.agent_id == agent_id, agent_blocks.c.block_id == block_id)
    )
    return result.rowcount > 0


async def agent_ids_of(conn: AsyncConnection, block_id: str) -> list[str]:
    rows = await conn.execute(select(agent_blocks.c.agent_id).where(agent_blocks.c.block_id == block_id))
    return [r.agent_id for r in rows]
