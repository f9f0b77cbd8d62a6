"""Queries on MCP servers and on their tools (tools of type external_mcp)."""
from __future__ import annotations

from typing import Any

from mnemo.v1 import tools_pb2
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from .schema import agent_tools, mcp_servers, tools
from .tools import TOOL_COLUMNS, to_proto

COLUMNS = list(mcp_servers.c)


def _row(row: Row | None) -> dict[str, Any] | None:
    return dict(row._mapping) if row is not None else None


async def insert_server(conn: AsyncConnection, values: dict[str, Any]) -> dict[str, Any]:
    row = (await conn.execute(insert(mcp_servers).values(**values).returning(*COLUMNS))).one()
    return dict(row._mapping)


async def get(conn: AsyncConnection, server_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    stmt = select(*COLUMNS).where(mcp_servers.c.id == server_id)
    return _row((await conn.execute(stmt.with_for_update() if for_update else stmt)).first())


async def get_by_name(conn: AsyncConnection, name: str, *, for_update: bool = False) -> dict[str, Any] | None:
    stmt = select(*COLUMNS).where(mcp_servers.c.name == name)
    return _row((await conn.execute(stmt.with_for_update() if for_update else stmt)).first())


async def list_all(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(*COLUMNS).order_by(mcp_servers.c.created_at, mcp_servers.c.id))
    return [dict(r._mapping) for r in rows]


async def update_fields(conn: AsyncConnection, server_id: str, values: dict[str, Any]) -> dict[str, Any]:
    row = (await conn.execute(update(mcp_servers).where(mcp_servers.c.id == server_id)
                              .values(**values, updated_at=func.now()).returning(*COLUMNS))).one()
    return dict(row._mapping)


async def set_status(conn: AsyncConnection, server_id: str, *, protocol_version: str | None,
                     last_error: str | None) -> None:
    values: dict[str, Any] = {"last_error": last_error}
    if protocol_version is not None:
        values["protocol_version"] = protocol_version
    await conn.execute(update(mcp_servers).where(mcp_servers.c.id == server_id).values(**values))


async def delete_server(conn: AsyncConnection, server_id: str) -> bool:
    # Its tools go with it (ON DELETE CASCADE), and their attachments with them.
    return (await conn.execute(delete(mcp_servers).where(mcp_servers.c.id == server_id))).rowcount > 0


# -- the server's tools -------------------------------------------------------


async def server_tools(conn: AsyncConnection, server_id: str) -> list[tools_pb2.Tool]:
    rows = await conn.execute(select(*TOOL_COLUMNS).where(tools.c.mcp_server_id == server_id)
                              .order_by(tools.c.created_at, tools.c.id))
    return [to_proto(r) for r in rows]


async def server_tool(conn: AsyncConnection, server_id: str, tool_id: str) -> tools_pb2.Tool | None:
    row = (await conn.execute(select(*TOOL_COLUMNS).where(tools.c.mcp_server_id == server_id,
                                                          tools.c.id == tool_id))).first()
    return to_proto(row) if row else None


async def tool_owner(conn: AsyncConnection, name: str) -> str | None:
    """'' for a tool of that name that belongs to no MCP server, its server's id
    for an MCP tool, None when the name is free."""
    row = (await conn.execute(select(tools.c.mcp_server_id).where(tools.c.name == name))).first()
    return None if row is None else (row.mcp_server_id or "")


async def insert_tool(conn: AsyncConnection, values: dict[str, Any]) -> tools_pb2.Tool:
    row = (await conn.execute(insert(tools).values(**values).returning(*TOOL_COLUMNS))).one()
    return to_proto(row)


async def update_tool(conn: AsyncConnection, tool_id: str, values: dict[str, Any]) -> tools_pb2.Tool:
    row = (await conn.execute(update(tools).where(tools.c.id == tool_id)
                              .values(**values, updated_at=func.now()).returning(*TOOL_COLUMNS))).one()
    return to_proto(row)


async def delete_tools(conn: AsyncConnection, tool_ids: list[str]) -> None:
    if tool_ids:
        await conn.execute(delete(agent_tools).where(agent_tools.c.tool_id.in_(tool_ids)))
        await conn.execute(delete(tools).where(tools.c.id.in_(tool_ids)))
