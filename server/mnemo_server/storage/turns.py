"""What one agent turn reads at its start and writes at the end of each step.

A step is committed in one transaction: its messages, its step row, the block
edits the agent made, the rebuilt system message (if any) and the agent's new
in-context list. A failed or interrupted step writes nothing.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import blocks as block_store
from . import messages as message_store
from . import tools as tool_store
from .messages import Message
from .schema import agents


@dataclass
class ToolInfo:
    name: str
    tool_type: str
    description: str
    parameters: dict[str, Any]
    return_char_limit: int
    default_requires_approval: bool


@dataclass
class BlockRow:
    id: str
    label: str
    value: str
    limit: int
    read_only: bool
    description: str | None


@dataclass
class TurnState:
    agent: dict[str, Any]
    blocks: list[BlockRow]
    tools: list[ToolInfo]
    in_context: list[Message]
    extra: dict[str, Any] = field(default_factory=dict)


async def load(conn: AsyncConnection, agent_id: str) -> TurnState | None:
    row = (await conn.execute(select(*agents.c).where(agents.c.id == agent_id))).first()
    if row is None:
        return None
    agent = dict(row._mapping)
    blocks = (await block_store.for_agents(conn, [agent_id]))[agent_id]
    tools = (await tool_store.for_agents(conn, [agent_id]))[agent_id]
    in_context = await message_store.by_ids(conn, agent["message_ids"] or [])
    return TurnState(
        agent=agent,
        blocks=[BlockRow(b.id, b.label, b.value, b.limit, b.read_only,
                         b.description if b.HasField("description") else None) for b in blocks],
        tools=[_tool_info(t) for t in tools],
        in_context=in_context,
    )


def _tool_info(tool) -> ToolInfo:
    from google.protobuf import json_format

    schema = json_format.MessageToDict(tool.json_schema)
    return ToolInfo(
        name=tool.name, tool_type=tool.tool_type, description=schema.get("description", ""),
        parameters=schema.get("parameters") or {"type": "object", "properties": {}},
        return_char_limit=tool.return_char_limit, default_requires_approval=tool.default_requires_approval,
    )


async def commit_step(
    conn: AsyncConnection,
    *,
    agent_id: str,
    new_messages: Sequence[Message],
    step: dict[str, Any] | None,
    message_ids: Sequence[str],
    system_update: Message | None = None,
    agent_values: dict[str, Any] | None = None,
) -> None:
    await message_store.insert_messages(conn, new_messages)
    if system_update is not None:
        await message_store.update_content(conn, system_update)
    if step is not None:
        await message_store.insert_step(conn, step)
    values = {"message_ids": list(message_ids), **(agent_values or {})}
    if new_messages:
        values["message_count"] = agents.c.message_count + len(new_messages)
    await conn.execute(update(agents).where(agents.c.id == agent_id).values(**values))
