"""Stored messages (recall memory) and steps.

A stored message is the agent loop's record: role, content parts, tool calls
and tool returns. Clients see LettaMessage views of it (loop/views.py).
Content parts are JSON objects: {"type": "text", "text": ...} or
{"type": "reasoning", "reasoning": ..., "signature": ...}.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .paging import Page, apply_page
from .schema import messages, steps
from .search import or_query_text, rrf, tsquery


@dataclass
class Message:
    id: str
    agent_id: str
    role: str  # system | user | assistant | tool
    content: list[dict[str, Any]] = field(default_factory=list)
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None  # [{"id", "name", "arguments"}]
    tool_call_id: str | None = None
    tool_returns: list[dict[str, Any]] | None = None  # [{"tool_call_id", "status", "func_response"}]
    step_id: str | None = None
    run_id: str | None = None
    otid: str | None = None
    sender_id: str | None = None
    model: str | None = None
    is_err: bool = False
    created_at: datetime | None = None
    seq: int | None = None

    @property
    def text(self) -> str:
        """The visible text (text parts joined)."""
        return "".join(p.get("text", "") for p in self.content if p.get("type") == "text")

    @property
    def reasoning(self) -> str | None:
        parts = [p.get("reasoning", "") for p in self.content if p.get("type") == "reasoning"]
        return "".join(parts) if parts else None

    def search_text(self) -> str:
        pieces = [self.text, self.reasoning or ""]
        for call in self.tool_calls or ():
            pieces.append(f"{call['name']} {call['arguments']}")
        return "\n".join(p for p in pieces if p)

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id, "agent_id": self.agent_id, "role": self.role, "content": self.content,
            "text": self.search_text(), "name": self.name, "tool_calls": self.tool_calls,
            "tool_call_id": self.tool_call_id, "tool_returns": self.tool_returns, "step_id": self.step_id,
            "run_id": self.run_id, "otid": self.otid, "sender_id": self.sender_id, "model": self.model,
            "is_err": self.is_err, "created_at": self.created_at,
        }


COLUMNS = [messages.c[n] for n in (
    "id", "agent_id", "role", "content", "name", "tool_calls", "tool_call_id", "tool_returns", "step_id",
    "run_id", "otid", "sender_id", "model", "is_err", "created_at", "seq",
)]


def from_row(r) -> Message:
    m = r._mapping
    return Message(**{c.name: m[c.name] for c in COLUMNS})


async def insert_messages(conn: AsyncConnection, items: Sequence[Message]) -> None:
    if items:
        await conn.execute(insert(messages), [m.row() for m in items])


async def by_ids(conn: AsyncConnection, ids: Sequence[str]) -> list[Message]:
    """Messages in the order of `ids` (missing ids skipped)."""
    if not ids:
        return []
    rows = (await conn.execute(select(*COLUMNS).where(messages.c.id.in_(list(ids))))).all()
    found = {r.id: from_row(r) for r in rows}
    return [found[i] for i in ids if i in found]


async def get(conn: AsyncConnection, agent_id: str, message_id: str) -> Message | None:
    row = (await conn.execute(
        select(*COLUMNS).where(messages.c.id == message_id, messages.c.agent_id == agent_id)
    )).first()
    return from_row(row) if row else None


async def page(conn: AsyncConnection, agent_id: str, p: Page, *, include_err: bool = True) -> list[Message]:
    stmt = select(*COLUMNS).where(messages.c.agent_id == agent_id)
    if not include_err:
        stmt = stmt.where(messages.c.is_err.is_(False))
    stmt, flipped = await apply_page(
        conn, stmt, p, messages.c.seq, messages.c.id, cursor_scope=messages.c.agent_id == agent_id
    )
    result = [from_row(r) for r in (await conn.execute(stmt)).all()]
    return result[::-1] if flipped else result


async def page_of_run(conn: AsyncConnection, run_id: str, p: Page) -> list[Message]:
    stmt = select(*COLUMNS).where(messages.c.run_id == run_id)
    stmt, flipped = await apply_page(conn, stmt, p, messages.c.seq, messages.c.id,
                                     cursor_scope=messages.c.run_id == run_id)
    result = [from_row(r) for r in (await conn.execute(stmt)).all()]
    return result[::-1] if flipped else result


async def count(conn: AsyncConnection, agent_id: str) -> int:
    return (await conn.execute(
        select(func.count()).select_from(messages).where(messages.c.agent_id == agent_id)
    )).scalar_one()


# The document side of conversation_search's full-text search: exactly the
# expression of the messages_text_fts index (migration 0004), so it is used.
MESSAGE_TSV = literal_column("to_tsvector('english'::regconfig, left(messages.text, 100000))")
# Each ranking contributes at least this many candidates to the fusion.
MIN_CANDIDATES = 40


async def search(
    conn: AsyncConnection, agent_id: str, *, query: str | None, roles: Sequence[str], start: datetime | None,
    end: datetime | None, limit: int, exclude_ids: Sequence[str] = (),
) -> list[Message]:
    """Messages of the agent's whole history (system messages aside) that pass
    the filters. Without a query: newest first. With one: best match first,
    by reciprocal rank fusion of two rankings, full-text search (any word of
    the query, stemmed, ranked by ts_rank_cd) and case-insensitive substring
    match (the whole query, newest first), so both wording variants and exact
    fragments (ids, numbers, partial words) are found. Messages are not
    embedded: that would cost an embedding call per message on the step's path.
    """
    stmt = select(*COLUMNS).where(messages.c.agent_id == agent_id, messages.c.role != "system")
    if roles:
        stmt = stmt.where(messages.c.role.in_(list(roles)))
    if start is not None:
        stmt = stmt.where(messages.c.created_at >= start)
    if end is not None:
        stmt = stmt.where(messages.c.created_at <= end)
    if exclude_ids:
        stmt = stmt.where(messages.c.id.not_in(list(exclude_ids)))
    if not query or not query.strip():
        stmt = stmt.order_by(messages.c.seq.desc()).limit(limit)
        return [from_row(r) for r in (await conn.execute(stmt)).all()]
    candidates = max(limit * 4, MIN_CANDIDATES)
    found: dict[str, Message] = {}
    rankings: list[list[str]] = []
    if or_query_text(query):
        q = tsquery(query)
        by_text = stmt.where(MESSAGE_TSV.op("@@")(q)).order_by(
            func.ts_rank_cd(MESSAGE_TSV, q).desc(), messages.c.seq.desc()).limit(candidates)
        rows = [from_row(r) for r in (await conn.execute(by_text)).all()]
        found.update((m.id, m) for m in rows)
        rankings.append([m.id for m in rows])
    by_substring = stmt.where(messages.c.text.icontains(query.strip(), autoescape=True)) \
        .order_by(messages.c.seq.desc()).limit(candidates)
    rows = [from_row(r) for r in (await conn.execute(by_substring)).all()]
    found.update((m.id, m) for m in rows)
    rankings.append([m.id for m in rows])
    scores = rrf(rankings)
    best = sorted(scores, key=lambda i: (-scores[i], -(found[i].seq or 0)))
    return [found[i] for i in best[:limit]]


async def update_content(conn: AsyncConnection, message: Message) -> None:
    await conn.execute(
        update(messages).where(messages.c.id == message.id)
        .values(content=message.content, text=message.search_text(), created_at=message.created_at)
    )


async def insert_step(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(steps).values(**values))
