"""Running the tools an agent calls, other than its memory tools (which edit
the turn's blocks in place, see memory_edits.py).

Built-in tools register an executor here by name. An executor gets a
ToolContext and the call's arguments, and returns the text the model reads; it
raises ToolFailure for a failure the model should see (the agent continues).
"""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ..storage import messages as message_store


class ToolFailure(Exception):
    """A tool call that failed; the message is shown to the model."""


@dataclass
class ToolContext:
    engine: AsyncEngine
    agent_id: str
    run_id: str
    agent: dict[str, Any]  # the agent row as loaded for this turn
    # Filled by executors that need to tell the loop something (e.g. that the
    # system message must be rebuilt after an archival insert).
    notes: dict[str, Any] = field(default_factory=dict)
    services: Any = None
    # Side effects of built-in tools, written in the transaction of the step
    # that called them (never before it: a step that is not saved leaves none).
    writes: list[StepWrite] = field(default_factory=list)


@dataclass
class StepWrite:
    """A database write a tool defers to its step's commit."""

    write: Callable[[Any], Awaitable[None]]  # gets the step's SQLAlchemy connection
    after: Callable[[], None] | None = None  # once the step committed


Executor = Callable[[ToolContext, dict[str, Any]], Awaitable[str]]
EXECUTORS: dict[str, Executor] = {}


def executor(name: str) -> Callable[[Executor], Executor]:
    def register(fn: Executor) -> Executor:
        EXECUTORS[name] = fn
        return fn
    return register


def parse_date(value: Any, field_name: str, *, end: bool) -> datetime | None:
    """An ISO date or date-time; a bare date as an end bound covers the whole day."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ToolFailure(f"{field_name} must be an ISO date string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ToolFailure(f"{field_name}: '{value}' is not an ISO date or date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end and len(value) <= 10:
        parsed = parsed + timedelta(days=1) - timedelta(microseconds=1)
    return parsed


RECALL_PAGE = 5


@executor("send_message")
async def send_message(ctx: ToolContext, args: dict[str, Any]) -> str:
    if not isinstance(args.get("message"), str):
        raise ToolFailure("send_message needs a 'message' string")
    return "Sent message successfully."


@executor("conversation_search")
async def conversation_search(ctx: ToolContext, args: dict[str, Any]) -> str:
    query = args.get("query")
    if query is not None and not isinstance(query, str):
        raise ToolFailure("query must be a string")
    roles = args.get("roles") or []
    if not isinstance(roles, list) or any(r not in ("user", "assistant", "tool") for r in roles):
        raise ToolFailure("roles must be a list of 'user', 'assistant' and 'tool'")
    limit = args.get("limit") or RECALL_PAGE
    if not isinstance(limit, int) or limit < 1:
        raise ToolFailure("limit must be a positive integer")
    page = args.get("page") or 0
    if not isinstance(page, int) or page < 0:
        raise ToolFailure("page must be 0 or a positive integer")
    limit = min(limit, 50)
    start = parse_date(args.get("start_date"), "start_date", end=False)
    end = parse_date(args.get("end_date"), "end_date", end=True)
    async with ctx.engine.connect() as conn:
        found = await message_store.search(conn, ctx.agent_id, query=query, roles=roles, start=start, end=end,
                                           limit=limit * (page + 1))
    found = found[limit * page:]
    if not found:
        more = " on this page" if page else ""
        return json.dumps({"message": f"No results found{more}.", "results": []})
    results = [{"timestamp": m.created_at.isoformat() if m.created_at else None, "role": m.role,
                "content": m.search_text()[:2000]} for m in found]
    return json.dumps({"message": f"Showing {len(results)} results (page {page}):", "results": results},
                      ensure_ascii=False)
