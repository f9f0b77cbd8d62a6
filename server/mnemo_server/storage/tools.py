"""Queries on tools and their attachment to agents."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnemo.v1 import tools_pb2
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from . import convert
from .paging import Page, apply_page
from .schema import agent_tools, tools

TOOL_COLUMNS = [tools.c[name] for name in (
    "id", "name", "description", "tool_type", "source_type", "source_code", "json_schema",
    "args_json_schema", "tags", "return_char_limit", "pip_requirements", "npm_requirements", "metadata",
    "default_requires_approval", "enable_parallel_execution", "project_id", "created_at", "updated_at",
)]
BUILTIN_PREFIX = "letta_"


def to_proto(row: Row | dict[str, Any]) -> tools_pb2.Tool:
    r = row._mapping if isinstance(row, Row) else row
    tool = tools_pb2.Tool(
        id=r["id"], name=r["name"], tool_type=r["tool_type"], tags=r["tags"] or [],
        json_schema=convert.struct(r["json_schema"]), return_char_limit=r["return_char_limit"],
        pip_requirements=[tools_pb2.PackageRequirement(**p) for p in r["pip_requirements"] or []],
        npm_requirements=[tools_pb2.PackageRequirement(**p) for p in r["npm_requirements"] or []],
        metadata_=convert.struct(r["metadata"] or {}),
        default_requires_approval=r["default_requires_approval"],
        enable_parallel_execution=r["enable_parallel_execution"],
        created_at=convert.timestamp(r["created_at"]), updated_at=convert.timestamp(r["updated_at"]),
    )
    convert.set_optional(
        tool, description=r["description"], source_type=r["source_type"], source_code=r["source_code"],
        project_id=r["project_id"],
    )
    if r["args_json_schema"] is not None:
        tool.args_json_schema.CopyFrom(convert.struct(r["args_json_schema"]))
    return tool


async def insert_tool(conn: AsyncConnection, values: dict[str, Any]) -> tools_pb2.Tool:
    row = (await conn.execute(insert(tools).values(**values).returning(*TOOL_COLUMNS))).one()
    return to_proto(row)


async def upsert_by_name(conn: AsyncConnection, values: dict[str, Any]) -> tools_pb2.Tool:
    """Inserts, or replaces the tool with the same name (keeping its id)."""
    stmt = pg_insert(tools).values(**values)
    changed = {k: stmt.excluded[k] for k in values if k not in ("id", "name", "created_at")}
    changed["updated_at"] = func.now()
    row = (await conn.execute(
        stmt.on_conflict_do_update(index_elements=[tools.c.name], set_=changed).returning(*TOOL_COLUMNS)
    )).one()
    return to_proto(row)


async def get(conn: AsyncConnection, tool_id: str) -> tools_pb2.Tool | None:
    row = (await conn.execute(select(*TOOL_COLUMNS).where(tools.c.id == tool_id))).first()
    return to_proto(row) if row else None


async def get_by_name(conn: AsyncConnection, name: str) -> tools_pb2.Tool | None:
    row = (await conn.execute(select(*TOOL_COLUMNS).where(tools.c.name == name))).first()
    return to_proto(row) if row else None


async def ids_by_names(conn: AsyncConnection, names: Sequence[str]) -> dict[str, str]:
    rows = await conn.execute(select(tools.c.name, tools.c.id).where(tools.c.name.in_(list(names))))
    return {r.name: r.id for r in rows}


async def existing_ids(conn: AsyncConnection, ids: Sequence[str]) -> set[str]:
    rows = await conn.execute(select(tools.c.id).where(tools.c.id.in_(list(ids))))
    return {r.id for r in rows}


async def for_agents(conn: AsyncConnection, agent_ids: Sequence[str]) -> dict[str, list[tools_pb2.Tool]]:
    rows = (await conn.execute(
        select(agent_tools.c.agent_id, *TOOL_COLUMNS)
        .join(agent_tools, agent_tools.c.tool_id == tools.c.id)
        .where(agent_tools.c.agent_id.in_(agent_ids))
        .order_by(agent_tools.c.attached_at, tools.c.id)
    )).all()
    out: dict[str, list[tools_pb2.Tool]] = {agent_id: [] for agent_id in agent_ids}
    for row in rows:
        out[row.agent_id].append(to_proto(row))
    return out


async def list_tools(
    conn: AsyncConnection,
    page: Page,
    *,
    name: str | None = None,
    names: Sequence[str] = (),
    tool_ids: Sequence[str] = (),
    search: str | None = None,
    tool_types: Sequence[str] = (),
    exclude_tool_types: Sequence[str] = (),
    only_builtin: bool = False,
) -> list[tools_pb2.Tool]:
    stmt = select(*TOOL_COLUMNS)
    if name is not None:
        stmt = stmt.where(tools.c.name == name)
    if names:
        stmt = stmt.where(tools.c.name.in_(list(names)))
    if tool_ids:
        stmt = stmt.where(tools.c.id.in_(list(tool_ids)))
    if search:
        stmt = stmt.where(
            tools.c.name.icontains(search, autoescape=True) | tools.c.description.icontains(search, autoescape=True)
        )
    if tool_types:
        stmt = stmt.where(tools.c.tool_type.in_(list(tool_types)))
    if exclude_tool_types:
        stmt = stmt.where(tools.c.tool_type.not_in(list(exclude_tool_types)))
    if only_builtin:
        stmt = stmt.where(tools.c.tool_type.startswith(BUILTIN_PREFIX))
    stmt, flipped = await apply_page(conn, stmt, page, tools.c.created_at, tools.c.id)
    result = [to_proto(r) for r in (await conn.execute(stmt)).all()]
    return result[::-1] if flipped else result


async def list_for_agent(conn: AsyncConnection, agent_id: str, page: Page) -> list[tools_pb2.Tool]:
    stmt = (
        select(*TOOL_COLUMNS)
        .join(agent_tools, agent_tools.c.tool_id == tools.c.id)
        .where(agent_tools.c.agent_id == agent_id)
    )
    stmt, flipped = await apply_page(
        conn, stmt, page, agent_tools.c.attached_at, agent_tools.c.tool_id,
        cursor_scope=agent_tools.c.agent_id == agent_id,
    )
    result = [to_proto(r) for r in (await conn.execute(stmt)).all()]
    return result[::-1] if flipped else result


async def count(conn: AsyncConnection) -> int:
    return (await conn.execute(select(func.count()).select_from(tools))).scalar_one()


async def update_fields(conn: AsyncConnection, tool_id: str, values: dict[str, Any]) -> tools_pb2.Tool:
    values = {**values, "updated_at": func.now()}
    row = (await conn.execute(
        update(tools).where(tools.c.id == tool_id).values(**values).returning(*TOOL_COLUMNS)
    )).one()
    return to_proto(row)


async def delete_tool(conn: AsyncConnection, tool_id: str) -> bool:
    return (await conn.execute(delete(tools).where(tools.c.id == tool_id))).rowcount > 0


async def attach(conn: AsyncConnection, agent_id: str, tool_ids: Sequence[str]) -> None:
    if tool_ids:
        stmt = pg_insert(agent_tools).values([{"agent_id": agent_id, "tool_id": t} for t in tool_ids])
        await conn.execute(stmt.on_conflict_do_nothing())


async def detach(conn: AsyncConnection, agent_id: str, tool_ids: Sequence[str] | None = None) -> None:
    stmt = delete(agent_tools).where(agent_tools.c.agent_id == agent_id)
    if tool_ids is not None:
        stmt = stmt.where(agent_tools.c.tool_id.in_(list(tool_ids)))
    await conn.execute(stmt)
