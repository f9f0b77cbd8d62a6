"""Context window compilation: the system message (base prompt, memory blocks,
tool rules, memory metadata) and the provider-neutral prompt.

The system message is rebuilt only when what it shows changes (a block, the
tool rules or the base prompt), so providers can keep caching the prompt
prefix; the memory metadata is refreshed at the same time.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ..providers.base import ChatMessage, ToolCallOut
from ..storage.messages import Message
from .memory_edits import BlockState

MEMORY_OPEN = "<memory_blocks>"


def render_blocks(blocks: Sequence[BlockState], *, line_numbers: bool = False) -> str:
    lines = [MEMORY_OPEN, "These memory blocks are always in your context. Edit them with your memory tools.", ""]
    for block in blocks:
        lines.append(f"<{block.label}>")
        if block.description:
            lines += ["<description>", block.description, "</description>"]
        lines.append("<metadata>")
        if block.read_only:
            lines.append("- read_only=true")
        lines += [f"- chars_current={len(block.value)}", f"- chars_limit={block.limit}", "</metadata>"]
        if line_numbers:
            lines += ["<warning>", "Line numbers ('3→ ') are shown to help you edit; never include them in "
                      "memory tool arguments.", "</warning>"]
            value = "\n".join(f"{i}→ {line}" for i, line in enumerate(block.value.split("\n"), 1))
        else:
            value = block.value
        lines += ["<value>", value, "</value>", f"</{block.label}>", ""]
    lines.append("</memory_blocks>")
    return "\n".join(lines)


def render_rules(rules_text: str) -> str:
    if not rules_text:
        return ""
    return f"<tool_usage_rules>\nFollow these rules when calling tools:\n{rules_text}\n</tool_usage_rules>"


def render_metadata(*, agent_id: str, timezone: str | None, recall_count: int, archival_count: int = 0,
                    archival_tags: Sequence[str] = (), now: datetime | None = None) -> str:
    try:
        zone = ZoneInfo(timezone) if timezone else UTC
    except Exception:  # noqa: BLE001 - an unknown zone falls back to UTC
        zone = UTC
    now = (now or datetime.now(UTC)).astimezone(zone)
    lines = [
        "<memory_metadata>",
        f"- AGENT_ID: {agent_id}",
        f"- System prompt last recompiled: {now.strftime('%Y-%m-%d %I:%M:%S %p %Z%z')}",
        f"- {recall_count} previous messages between you and the user are stored in recall memory "
        "(use conversation_search to find them)",
    ]
    if archival_count:
        lines.append(f"- {archival_count} memories you saved are stored in archival memory (use archival tools)")
    if archival_tags:
        lines.append(f"- Archival memory tags: {', '.join(archival_tags)}")
    lines.append("</memory_metadata>")
    return "\n".join(lines)


def memory_section(blocks: Sequence[BlockState], rules_text: str, *, line_numbers: bool) -> str:
    """The part of the system message that, when changed, forces a rebuild."""
    rules = render_rules(rules_text)
    return render_blocks(blocks, line_numbers=line_numbers) + (f"\n\n{rules}" if rules else "")


def compile_system(base: str, section: str, metadata: str) -> str:
    return f"{base}\n\n{section}\n\n{metadata}"


def system_is_current(current_text: str, base: str, section: str) -> bool:
    return current_text.startswith(f"{base}\n\n{section}\n\n")


def split_system(text: str) -> tuple[str, str, str]:
    """(base prompt, memory section, metadata) of a compiled system message."""
    head, _, rest = text.partition(f"\n\n{MEMORY_OPEN}")
    if not rest:
        return text, "", ""
    body = MEMORY_OPEN + rest
    section, _, metadata = body.rpartition("\n\n<memory_metadata>")
    return head, section, ("<memory_metadata>" + metadata) if metadata else ""


def transcript_line(m: Message) -> str:
    """A message as one line of plain text (for summaries and token counts)."""
    parts = [m.text]
    if m.reasoning:
        parts.append(f"(thinking: {m.reasoning})")
    for call in m.tool_calls or ():
        parts.append(f"[calls {call['name']}({call['arguments']})]")
    for ret in m.tool_returns or ():
        parts.append(f"[{ret.get('status')}: {ret.get('func_response')}]")
    return " ".join(p for p in parts if p)


def to_chat(messages: Sequence[Message], *, system_override: str | None = None) -> list[ChatMessage]:
    """Stored messages as the provider-neutral prompt. Only the first message
    is the system prompt; later system input reaches the model as a user
    message marked as coming from the system."""
    out: list[ChatMessage] = []
    for i, m in enumerate(messages):
        if m.role == "system" and i == 0:
            out.append(ChatMessage(role="system", text=system_override if system_override is not None else m.text))
        elif m.role == "system":
            out.append(ChatMessage(role="user", text=f"[system] {m.text}"))
        elif m.role in ("user", "summary"):
            out.append(ChatMessage(role="user", text=m.text))
        elif m.role == "assistant":
            signature = next((p.get("signature") for p in m.content if p.get("type") == "reasoning"), None)
            out.append(ChatMessage(
                role="assistant", text=m.text, reasoning=m.reasoning, reasoning_signature=signature,
                tool_calls=[ToolCallOut(c["id"], c["name"], c["arguments"]) for c in m.tool_calls or []],
            ))
        elif m.role in ("approval", "approval_response"):
            continue  # bookkeeping for clients; the model sees the calls and their results
        elif m.role == "tool":
            for ret in m.tool_returns or []:
                out.append(ChatMessage(role="tool", text=tool_result_text(ret), tool_call_id=ret["tool_call_id"],
                                       name=m.name))
    return out


def tool_result_text(ret: dict) -> str:
    """What the model reads back from a tool call."""
    return json.dumps({"status": "OK" if ret.get("status") == "success" else "Failed",
                       "message": ret.get("func_response", "")}, ensure_ascii=False)


def estimate_tokens(text: str) -> int:
    """Cheap upper-leaning estimate (about 3.5 characters per token)."""
    return (len(text) * 2 + 6) // 7
