"""Queries on agents. An Agent message is assembled from the agent row and its
blocks, tools, identities and secret names, loaded in batches."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnemo.v1 import agents_pb2, models_pb2, tools_pb2
from sqlalchemy import Select, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import blocks as block_store
from . import convert
from . import identities as identity_store
from . import tools as tool_store
from .paging import Page, apply_page
from .runs import AGENT_FREE_CHANNEL, RUN_EVENTS_CHANNEL
from .schema import agent_blocks, agent_secrets, agents, identities, identity_agents

AGENT_COLUMNS = list(agents.c)


async def insert_agent(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(agents).values(**values))


async def exists(conn: AsyncConnection, agent_id: str, *, lock: bool = False) -> bool:
    stmt = select(agents.c.id).where(agents.c.id == agent_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first() is not None


async def existing_ids(conn: AsyncConnection, ids: Sequence[str]) -> set[str]:
    return {r.id for r in await conn.execute(select(agents.c.id).where(agents.c.id.in_(list(ids))))}


async def row(conn: AsyncConnection, agent_id: str) -> dict[str, Any] | None:
    found = (await conn.execute(select(*AGENT_COLUMNS).where(agents.c.id == agent_id))).first()
    return dict(found._mapping) if found else None


# An agent's relationships, each loaded by its own query (tags are a column).
RELATIONSHIPS = ("blocks", "tools", "identities", "secrets", "tags", "sources", "managed_group", "pending_approval")


async def load(conn: AsyncConnection, agent_ids: Sequence[str],
               include: frozenset[str] | None = None) -> list[agents_pb2.Agent]:
    """Agent messages for these ids, in the same order (missing ids skipped), with the
    relationships in `include` (every one when None; see RELATIONSHIPS)."""
    if not agent_ids:
        return []
    rows = (await conn.execute(select(*AGENT_COLUMNS).where(agents.c.id.in_(list(agent_ids))))).all()
    return await _hydrate(conn, [dict(r._mapping) for r in rows], order=agent_ids, include=include)


async def _hydrate(
    conn: AsyncConnection, rows: list[dict[str, Any]], order: Sequence[str] | None = None,
    include: frozenset[str] | None = None,
) -> list[agents_pb2.Agent]:
    if not rows:
        return []
    ids = [r["id"] for r in rows]

    def wanted(name: str) -> bool:
        return include is None or name in include

    empty: dict[str, list] = {i: [] for i in ids}
    blocks = await block_store.for_agents(conn, ids) if wanted("blocks") else empty
    tools = await tool_store.for_agents(conn, ids) if wanted("tools") else empty
    idents = await identity_store.for_agents(conn, ids) if wanted("identities") else empty
    secrets: dict[str, list[tuple[str, str | None]]] = {i: [] for i in ids}
    if wanted("secrets"):
        for s in await conn.execute(
            select(agent_secrets.c.agent_id, agent_secrets.c.key, agent_secrets.c.description)
            .where(agent_secrets.c.agent_id.in_(ids)).order_by(agent_secrets.c.key)
        ):
            secrets[s.agent_id].append((s.key, s.description))
    by_id = {r["id"]: _to_proto(r, blocks[r["id"]], tools[r["id"]], idents[r["id"]], secrets[r["id"]],
                                tags=wanted("tags")) for r in rows}
    return [by_id[i] for i in (order or ids) if i in by_id]


def _to_proto(r, blocks, tools, identities_, secrets, *, tags: bool = True) -> agents_pb2.Agent:
    agent = agents_pb2.Agent(
        id=r["id"], name=r["name"], agent_type=r["agent_type"], system=r["system"],
        metadata=convert.struct(r["metadata"] or {}), tags=(r["tags"] or []) if tags else [],
        blocks=blocks, memory=agents_pb2.AgentMemory(blocks=blocks, agent_type=r["agent_type"]), tools=tools,
        tool_rules=[convert.dict_to_message(rule, tools_pb2.ToolRule()) for rule in r["tool_rules"] or []],
        llm_config=convert.dict_to_message(r["llm_config"], models_pb2.LlmConfig()),
        message_ids=r["message_ids"] or [],
        identities=identities_, identity_ids=[i.id for i in identities_],
        message_buffer_autoclear=r["message_buffer_autoclear"], hidden=r["hidden"],
        enable_sleeptime=r["enable_sleeptime"],
        created_at=convert.timestamp(r["created_at"]), updated_at=convert.timestamp(r["updated_at"]),
    )
    env = [agents_pb2.AgentEnvironmentVariable(key=k, agent_id=r["id"], description=d) for k, d in secrets]
    agent.secrets.extend(env)
    agent.tool_exec_environment_variables.extend(env)
    convert.set_optional(
        agent, description=r["description"], model=r["model"], embedding=r["embedding"], timezone=r["timezone"],
        project_id=r["project_id"], last_stop_reason=r["last_stop_reason"],
        last_run_duration_ms=r["last_run_duration_ms"],
    )
    if r["embedding_config"]:
        convert.dict_to_message(r["embedding_config"], agent.embedding_config)
    for name in ("model_settings", "response_format", "compaction_settings", "tool_secrets"):
        if r[name] is not None:
            getattr(agent, name).CopyFrom(convert.struct(r[name]))
    if r["last_run_completion"] is not None:
        agent.last_run_completion.CopyFrom(convert.timestamp(r["last_run_completion"]))
    return agent


def _filtered(
    *, name=None, tags=(), match_all_tags=False, query_text=None, identity_id=None, identifier_keys=(),
    project_id=None, last_stop_reason=None, block_id=None,
) -> Select:
    stmt = select(*AGENT_COLUMNS)
    if name is not None:
        stmt = stmt.where(agents.c.name == name)
    if tags:
        stmt = stmt.where(agents.c.tags.contains(list(tags)) if match_all_tags else agents.c.tags.overlap(list(tags)))
    if query_text:
        stmt = stmt.where(agents.c.name.icontains(query_text, autoescape=True))
    if identity_id is not None:
        stmt = stmt.where(agents.c.id.in_(
            select(identity_agents.c.agent_id).where(identity_agents.c.identity_id == identity_id)
        ))
    if identifier_keys:
        stmt = stmt.where(agents.c.id.in_(
            select(identity_agents.c.agent_id)
            .join(identities, identities.c.id == identity_agents.c.identity_id)
            .where(identities.c.identifier_key.in_(list(identifier_keys)))
        ))
    if project_id is not None:
        stmt = stmt.where(agents.c.project_id == project_id)
    if last_stop_reason is not None:
        stmt = stmt.where(agents.c.last_stop_reason == last_stop_reason)
    if block_id is not None:
        stmt = stmt.where(agents.c.id.in_(select(agent_blocks.c.agent_id).where(agent_blocks.c.block_id == block_id)))
    return stmt


async def list_agents(conn: AsyncConnection, page: Page, *, order_by: str = "created_at",
                      include: frozenset[str] | None = None, **filters) -> list[agents_pb2.Agent]:
    stmt, flipped = await apply_page(conn, _filtered(**filters), page, agents.c[order_by], agents.c.id)
    rows = [dict(r._mapping) for r in (await conn.execute(stmt)).all()]
    result = await _hydrate(conn, rows, include=include)
    return result[::-1] if flipped else result


async def count(conn: AsyncConnection, **filters) -> int:
    sub = _filtered(**filters).subquery()
    return (await conn.execute(select(func.count()).select_from(sub))).scalar_one()


async def update_fields(conn: AsyncConnection, agent_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(agents).where(agents.c.id == agent_id).values(**values, updated_at=func.now()))


async def touch(conn: AsyncConnection, agent_ids: Sequence[str]) -> None:
    if agent_ids:
        await conn.execute(update(agents).where(agents.c.id.in_(list(agent_ids))).values(updated_at=func.now()))


async def delete_agent(conn: AsyncConnection, agent_id: str) -> bool:
    """Deletes the agent (its runs cascade), waking its queued runs and the
    readers of its live runs' streams (they end, their run is gone)."""
    await conn.execute(text("""
        SELECT pg_notify(:events, id) FROM runs WHERE agent_id = :a AND status IN ('created', 'running')
    """), {"events": RUN_EVENTS_CHANNEL, "a": agent_id})
    await conn.execute(text("SELECT pg_notify(:free, :a)"), {"free": AGENT_FREE_CHANNEL, "a": agent_id})
    return (await conn.execute(delete(agents).where(agents.c.id == agent_id))).rowcount > 0


async def replace_secrets(conn: AsyncConnection, agent_id: str, encrypted: dict[str, bytes]) -> None:
    await conn.execute(delete(agent_secrets).where(agent_secrets.c.agent_id == agent_id))
    if encrypted:
        await conn.execute(
            insert(agent_secrets),
            [{"agent_id": agent_id, "key": k, "value_encrypted": v} for k, v in encrypted.items()],
        )


async def secrets(conn: AsyncConnection, agent_id: str) -> dict[str, bytes]:
    rows = await conn.execute(
        select(agent_secrets.c.key, agent_secrets.c.value_encrypted).where(agent_secrets.c.agent_id == agent_id)
    )
    return {r.key: r.value_encrypted for r in rows}


async def distinct_tags(
    conn: AsyncConnection, *, contains: str | None, after: str | None, before: str | None, limit: int, descending: bool
) -> list[str]:
    tag = func.unnest(agents.c.tags).label("tag")
    sub = select(tag).distinct().subquery()
    stmt = select(sub.c.tag)
    if contains:
        stmt = stmt.where(sub.c.tag.icontains(contains, autoescape=True))
    if after is not None:
        stmt = stmt.where(sub.c.tag < after if descending else sub.c.tag > after)
    if before is not None:
        stmt = stmt.where(sub.c.tag > before if descending else sub.c.tag < before)
    flipped = before is not None and after is None
    read_desc = descending != flipped
    stmt = stmt.order_by(sub.c.tag.desc() if read_desc else sub.c.tag.asc()).limit(limit)
    tags = [r.tag for r in await conn.execute(stmt)]
    return tags[::-1] if flipped else tags
