"""Mnemo's offline dev model, "mnemo/offline-dev".

It runs inside the server with no network and no key, so a fresh install's
quickstart (create an agent, say hello, tell it your name) works end to end.
It is deterministic and deliberately unintelligent:

- After a tool result it confirms what happened ("Done — I updated my memory.").
- When the user gives their name ("my name is Ada", "call me Ada", "I am Ada")
  and a memory tool is offered, it records the name in the `human` block:
  `memory_replace` (or `core_memory_replace`) when the block already has a
  "name is ..." / "Name: ..." line to update, else `memory_insert`, else
  `core_memory_append`.
- Otherwise it echoes the user and says how to configure a real model.

Agents that may only answer through `send_message` (memgpt-style) get their
answer as a send_message call.
"""
from __future__ import annotations

import asyncio
import json
import re
import uuid
from itertools import pairwise
from typing import Any

from .base import ChatMessage, Delta, LLMRequest, LLMResponse, OnDelta, ToolCallOut, ToolSpec, Usage

__all__ = ["OfflineDevClient"]

SEND_MESSAGE = "send_message"
MEMORY_TOOLS = frozenset({"memory_replace", "memory_insert", "memory_rethink", "core_memory_append",
                          "core_memory_replace"})
MEMORY_UPDATED = "Done — I updated my memory."
HINT = "Set OPENAI_API_KEY or ANTHROPIC_API_KEY for a real model."
_STREAM_PIECES = 4
_RESULT_PREVIEW = 200

# "my name is Ada", "call me Ada Lovelace", "I am Ada" / "I'm Ada". The phrase
# matches in any case; after it come one word and any further capitalised ones
# (not "I"). After "I am" the name itself must be capitalised, so "I am tired"
# is not a name.
_MORE_NAMES = r"(?:\s+(?!I\b)[A-Z][\w'-]*)*"
_NAME_PATTERNS = (
    re.compile(r"\b(?i:my name is|my name's|call me)\s+(?:(?i:actually|really|now|just|not)\s+)*"
               r"(?P<name>[^\W\d_][\w'-]*" + _MORE_NAMES + ")"),
    re.compile(r"\b(?i:i am|i'm)\s+(?P<name>[A-Z][\w'-]*" + _MORE_NAMES + ")"),
)
# A line of the human block that states the name: "The human's name is Bob.", "Name: Bob".
_NAME_LINE = re.compile(r"(?P<lead>\bname(?:\s+is|\s*:))\s*(?P<old>[^\n.,;]*)", re.IGNORECASE)
_HUMAN_VALUE = re.compile(r"<human\b[^>]*>.*?<value>\n?(?P<value>.*?)\n?</value>", re.DOTALL)
# Line-number prefixes some prompt formats show in front of block lines.
_LINE_NUMBER = re.compile(r"^(?:Line \d+: |\d+→ ?)")


class OfflineDevClient:
    """An `LLMClient` that answers locally, without any model."""

    provider = "mnemo"

    async def aclose(self) -> None:
        return None

    async def generate(self, request: LLMRequest, on_delta: OnDelta | None = None) -> LLMResponse:
        response = self.answer(request)
        if on_delta is not None:
            await _replay(response, on_delta)
        return response

    # -- deciding -----------------------------------------------------------

    def answer(self, request: LLMRequest) -> LLMResponse:
        """The complete answer to `request` (deterministic apart from tool-call ids)."""
        tools = {} if request.tool_choice == "none" else {t.name: t for t in request.tools}
        call, text = self._decide(request.messages, tools)
        if call is None and SEND_MESSAGE in tools:
            # memgpt-style agents only reach the user through send_message.
            call = _call(SEND_MESSAGE, {"message": text})
        if call is not None:
            response = LLMResponse(tool_calls=[call], finish_reason="tool_calls")
        else:
            response = LLMResponse(text=text, finish_reason="stop")
        response.usage = _usage(request, response)
        return response

    @staticmethod
    def _decide(messages: list[ChatMessage], tools: dict[str, ToolSpec]) -> tuple[ToolCallOut | None, str]:
        """(memory tool call, or None and the text of the answer)."""
        if messages and messages[-1].role == "tool":
            return None, _summarise_tool_result(messages)
        said = _last_user_text(messages)
        name = _name_in(said)
        if name:
            block = _human_block(messages)
            if _already_known(name, block):
                return None, f"(offline dev model) Nice to see you again, {name}. {HINT}"
            call = _memory_call(name, tools, block)
            if call is not None:
                return call, ""
        if not said:
            return None, f"(offline dev model) {HINT}"
        return None, f"(offline dev model) You said: {said}. {HINT}"


# --------------------------------------------------------------------------- helpers


def _last_user_text(messages: list[ChatMessage]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return _unwrap(message.text).strip()
    return ""


def _unwrap(text: str) -> str:
    """The message inside a Letta-style JSON user envelope ({"type": "user_message", "message": ...})."""
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return text
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return data["message"]
    return text


def _name_in(text: str) -> str | None:
    for pattern in _NAME_PATTERNS:
        if match := pattern.search(text):
            return match.group("name").strip()
    return None


def _human_block(messages: list[ChatMessage]) -> str | None:
    """The value of the `human` memory block, as the system prompt shows it."""
    for message in messages:
        if message.role == "system" and (match := _HUMAN_VALUE.search(message.text)):
            lines = match.group("value").split("\n")
            if lines and all(_LINE_NUMBER.match(line) for line in lines if line):
                lines = [_LINE_NUMBER.sub("", line) for line in lines]
            return "\n".join(lines)
    return None


def _already_known(name: str, block: str | None) -> bool:
    if not block:
        return False
    return any(m.group("old").strip().lower() == name.lower() for m in _NAME_LINE.finditer(block))


def _memory_call(name: str, tools: dict[str, ToolSpec], block: str | None) -> ToolCallOut | None:
    """The tool call that records `name` in the human block, or None when no memory tool fits."""
    replaced = _replacement(name, block)
    if replaced is not None:
        old_line, new_line = replaced
        if "memory_replace" in tools:
            return _call("memory_replace", {"label": "human", "old_string": old_line, "new_string": new_line},
                         tools["memory_replace"])
        if "core_memory_replace" in tools:
            return _call("core_memory_replace",
                         {"label": "human", "old_content": old_line, "new_content": new_line},
                         tools["core_memory_replace"])
    if "memory_insert" in tools:
        return _call("memory_insert", {"label": "human", "new_string": f"Name: {name}"},
                     tools["memory_insert"])
    if "core_memory_append" in tools:
        return _call("core_memory_append", {"label": "human", "content": f"Name: {name}"},
                     tools["core_memory_append"])
    return None


def _replacement(name: str, block: str | None) -> tuple[str, str] | None:
    """(old line, new line) updating the name line of the human block, if it
    has exactly one such line and that line occurs once (replace tools need a
    unique match)."""
    if not block:
        return None
    found: list[tuple[str, str]] = []
    for line in block.split("\n"):
        match = _NAME_LINE.search(line)
        if match:
            start = match.start("old")
            end = start + len(match.group("old").rstrip())
            gap = "" if start == 0 or line[start - 1].isspace() else " "
            found.append((line, line[:start] + gap + name + line[end:]))
    if len(found) != 1 or block.count(found[0][0]) != 1:
        return None
    return found[0]


def _summarise_tool_result(messages: list[ChatMessage]) -> str:
    """A one-line answer about the tool result that ends `messages`."""
    result = messages[-1]
    tool_name = result.name or _tool_name_of(messages, result.tool_call_id)
    failure = _failure_of(result.text)
    if failure is not None:
        return f"(offline dev model) The {tool_name or 'tool'} call failed: {_preview(failure)}"
    if tool_name in MEMORY_TOOLS:
        return MEMORY_UPDATED
    return f"Done — {tool_name or 'the tool'} returned: {_preview(result.text)}"


def _tool_name_of(messages: list[ChatMessage], call_id: str | None) -> str | None:
    for message in reversed(messages):
        for call in message.tool_calls:
            if call.id == call_id:
                return call.name
    return None


def _failure_of(text: str) -> str | None:
    """The error a tool result reports, if it reports one."""
    stripped = text.strip()
    if stripped.lower().startswith("error"):
        return stripped
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(data, dict) and str(data.get("status", "")).lower() in ("failed", "error"):
        return str(data.get("message") or data.get("error") or stripped)
    return None


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _RESULT_PREVIEW else text[: _RESULT_PREVIEW - 1] + "…"


def _call(name: str, arguments: dict[str, Any], spec: ToolSpec | None = None) -> ToolCallOut:
    # memgpt-style tools carry request_heartbeat: ask for another step, so the
    # agent gets to confirm the change to the user.
    if spec is not None and "request_heartbeat" in (spec.parameters.get("properties") or {}):
        arguments = {**arguments, "request_heartbeat": True}
    return ToolCallOut(id="call_" + uuid.uuid4().hex[:24], name=name, arguments=json.dumps(arguments))


def _usage(request: LLMRequest, response: LLMResponse) -> Usage:
    """About four characters per token, like the providers' rule of thumb."""
    prompt_chars = sum(len(m.text) + sum(len(c.arguments) for c in m.tool_calls) for m in request.messages)
    prompt_chars += sum(len(t.name) + len(t.description) + len(json.dumps(t.parameters))
                        for t in request.tools)
    output_chars = len(response.text) + sum(len(c.name) + len(c.arguments) for c in response.tool_calls)
    prompt, completion = max(1, prompt_chars // 4), max(1, output_chars // 4)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _pieces(text: str, n: int = _STREAM_PIECES) -> list[str]:
    """`text` in at most `n` contiguous, non-empty pieces."""
    n = max(1, min(n, len(text)))
    bounds = [len(text) * i // n for i in range(n + 1)]
    return [text[a:b] for a, b in pairwise(bounds) if b > a]


async def _replay(response: LLMResponse, on_delta: OnDelta) -> None:
    """Report a finished answer as a stream of a few deltas."""
    for piece in _pieces(response.text):
        await on_delta(Delta(kind="text", text=piece))
        await asyncio.sleep(0)  # let other tasks (e.g. the stream writer) run between pieces
    for index, call in enumerate(response.tool_calls):
        await on_delta(Delta(kind="tool_call", index=index, tool_call_id=call.id, name=call.name))
        for piece in _pieces(call.arguments):
            await on_delta(Delta(kind="tool_call", index=index, arguments=piece))
            await asyncio.sleep(0)
