"""The agent's archival memory tools: archival_memory_insert and
archival_memory_search (schemas in tools/builtin.py). Both go through
core.passages, the same path as the PassageService API.

Results are JSON the model can read: each passage's text, when it was saved
(in the agent's time zone), its tags and a relevance between 0 and 1 (1: first
in both the full-text and the vector ranking).
"""
from __future__ import annotations

import json
from typing import Any

from ..core import passages as archival
from ..errors import MnemoError
from ..storage.convert import unique
from ..storage.search import RRF_K
from .tool_exec import StepWrite, ToolContext, ToolFailure, executor

ARCHIVAL_TOOLS = ("archival_memory_insert", "archival_memory_search")
DEFAULT_TOP_K = 10
MAX_TOP_K = 50
MAX_CONTENT_CHARS = 4000


def _tags(args: dict[str, Any]) -> list[str]:
    tags = args.get("tags")
    if tags is None:
        return []
    if not isinstance(tags, list) or any(not isinstance(t, str) for t in tags):
        raise ToolFailure("tags must be a list of strings")
    return unique(t.strip() for t in tags if t.strip())


@executor("archival_memory_insert")
async def archival_memory_insert(ctx: ToolContext, args: dict[str, Any]) -> str:
    content = args.get("content")
    if not isinstance(content, str) or not content.strip():
        raise ToolFailure("archival_memory_insert needs a non-empty 'content' string")
    if len(content) > archival.MAX_TEXT_CHARS:
        raise ToolFailure(f"content is {len(content)} characters long; at most {archival.MAX_TEXT_CHARS}. "
                          "Split it into several passages.")
    tags = _tags(args)
    passages = archival.for_engine(ctx.engine)
    try:
        prepared = await passages.prepare(ctx.agent_id, content, tags=tags)
    except MnemoError as exc:
        raise ToolFailure(f"could not save to archival memory: {exc.message}") from None

    async def write(conn) -> None:
        await passages.write(conn, prepared)

    # Stored with the step's commit, in its transaction: a step that is not
    # saved (cancelled, crashed, fenced) saves no passage either.
    ctx.writes.append(StepWrite(write, after=lambda: passages.written(prepared)))
    ctx.notes["archival_changed"] = True
    no_vector = prepared.no_vector
    message = f"Saved to archival memory (id {prepared.id}"
    message += f", tags: {', '.join(tags)})." if tags else ")."
    if no_vector:
        message += f" It has no embedding ({no_vector}), so archival_memory_search finds it by its words only."
    return message


@executor("archival_memory_search")
async def archival_memory_search(ctx: ToolContext, args: dict[str, Any]) -> str:
    query = args.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ToolFailure("archival_memory_search needs a non-empty 'query' string")
    mode = args.get("tag_match_mode") or "any"
    if mode not in ("any", "all"):
        raise ToolFailure("tag_match_mode must be 'any' or 'all'")
    top_k = args.get("top_k") or DEFAULT_TOP_K
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise ToolFailure("top_k must be a positive integer")
    try:
        start = archival.parse_time("start_datetime", _str(args, "start_datetime"))
        end = archival.parse_time("end_datetime", _str(args, "end_datetime"), end=True)
        outcome = await archival.for_engine(ctx.engine).search(
            ctx.agent_id, query, tags=_tags(args), match_all_tags=mode == "all", start=start, end=end,
            top_k=min(top_k, MAX_TOP_K),
        )
    except MnemoError as exc:
        raise ToolFailure(exc.message) from None
    best = (2 if outcome.mode == "hybrid" else 1) / (RRF_K + 1)
    results = [{
        "timestamp": archival.format_timestamp(hit.passage.created_at, outcome.timezone),
        "content": hit.passage.text[:MAX_CONTENT_CHARS],
        "tags": hit.passage.tags or [],
        "relevance": round(min(1.0, hit.score / best), 3),
    } for hit in outcome.hits]
    body: dict[str, Any] = {
        "message": f"Showing {len(results)} results, most relevant first:" if results else "No results found.",
        "results": results,
    }
    if outcome.note:
        body["note"] = outcome.note
    return json.dumps(body, ensure_ascii=False)


def _str(args: dict[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is not None and not isinstance(value, str):
        raise ToolFailure(f"{name} must be an ISO date string")
    return value
