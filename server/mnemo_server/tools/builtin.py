"""Definitions of Mnemo's built-in tools: names, types, descriptions and schemas.

This module is data only. The tools are implemented by the server itself (they
act on the agent's messages and memory), so there is no source code here and
nothing is executed; the executors live elsewhere and dispatch on ``name``.

Names and argument names match Letta's built-in tools so that agents, tool
rules and clients written for Letta keep working. The descriptions are our
own, written to tell the model exactly how and when to use each tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from mnemo_server.tools.schema import validate_json_schema

__all__ = [
    "BUILTIN_TOOLS",
    "DEFAULT_AGENT_TYPE",
    "TERMINAL_BASE_TOOLS",
    "BuiltinTool",
    "base_tool_names",
]

# Tool types, as stored in ``Tool.tool_type``.
LETTA_CORE: Final = "letta_core"
LETTA_MEMORY_CORE: Final = "letta_memory_core"

# The agent type used when a request does not name one.
DEFAULT_AGENT_TYPE: Final = "letta_v1_agent"

# Base tools whose call ends the agent's turn.
TERMINAL_BASE_TOOLS: Final[frozenset[str]] = frozenset({"send_message"})


@dataclass(frozen=True, slots=True)
class BuiltinTool:
    """One built-in tool.

    Attributes:
        name: Function name the model calls.
        tool_type: ``"letta_core"`` or ``"letta_memory_core"``.
        description: What the tool does, as shown to the model (the same text
            as ``json_schema["description"]``).
        json_schema: OpenAI-style function schema. Shared by every caller:
            copy it before changing it.
    """

    name: str
    tool_type: str
    description: str
    json_schema: dict[str, Any]


def _tool(
    name: str,
    tool_type: str,
    description: str,
    properties: dict[str, dict[str, Any]],
    required: list[str],
) -> BuiltinTool:
    """Build a BuiltinTool, checking its schema the way user schemas are checked."""
    schema = validate_json_schema(
        {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        }
    )
    return BuiltinTool(name=name, tool_type=tool_type, description=description, json_schema=schema)


# Shared argument descriptions.
_LABEL = (
    "Label of the memory block to change, exactly as it appears in your core memory "
    "(for example 'human' or 'persona')."
)
_NO_LINE_NUMBERS = (
    "Use the block's text only: do not include line-number prefixes that may be shown alongside the memory."
)
_DATE_FORMAT = "ISO 8601 date ('2024-01-15') or date-time ('2024-01-15T14:30:00Z')."


_SEND_MESSAGE = _tool(
    "send_message",
    LETTA_CORE,
    "Send a reply to the user. Only text passed through this tool reaches the user; "
    "your other output stays private. Calling it ends your turn, so put everything "
    "you want to say in one message.",
    {
        "message": {
            "type": "string",
            "description": "The full text of your reply to the user.",
        },
    },
    ["message"],
)

_CONVERSATION_SEARCH = _tool(
    "conversation_search",
    LETTA_CORE,
    "Search the full history of this conversation, including messages that no longer "
    "fit in your context window. Use it to recall what was said earlier. Every "
    "argument is an optional filter; the filters you give are combined.",
    {
        "query": {
            "type": "string",
            "description": "Words or a phrase to look for. Leave out to filter by role or date only.",
        },
        "roles": {
            "type": "array",
            "items": {"type": "string", "enum": ["assistant", "user", "tool"]},
            "description": "Only return messages from these senders: 'assistant' (you), "
            "'user', or 'tool' (tool results). Leave out to search all of them.",
        },
        "limit": {
            "type": "integer",
            "description": "Maximum number of messages to return (a page; default 5).",
        },
        "page": {
            "type": "integer",
            "description": "Which page of results to return, 0 for the first (the best matches or "
            "the newest messages). Ask for the next page to see more.",
        },
        "start_date": {
            "type": "string",
            "description": "Only messages sent at or after this moment. "
            + _DATE_FORMAT
            + " A date alone starts at the beginning of that day.",
        },
        "end_date": {
            "type": "string",
            "description": "Only messages sent at or before this moment. "
            + _DATE_FORMAT
            + " A date alone includes the whole of that day.",
        },
    },
    [],
)

_CORE_MEMORY_APPEND = _tool(
    "core_memory_append",
    LETTA_MEMORY_CORE,
    "Add text to the end of a core memory block, on a new line. Use it to record new "
    "facts worth keeping in view in every future turn.",
    {
        "label": {"type": "string", "description": _LABEL},
        "content": {
            "type": "string",
            "description": "Text to add to the end of the block.",
        },
    },
    ["label", "content"],
)

_CORE_MEMORY_REPLACE = _tool(
    "core_memory_replace",
    LETTA_MEMORY_CORE,
    "Replace text in a core memory block. Every occurrence of old_content is replaced "
    "by new_content; the call fails if old_content is not in the block. To delete "
    "text, pass an empty new_content.",
    {
        "label": {"type": "string", "description": _LABEL},
        "old_content": {
            "type": "string",
            "description": "Text currently in the block, copied exactly, including spacing and punctuation.",
        },
        "new_content": {
            "type": "string",
            "description": "Text to put in its place; empty to delete old_content.",
        },
    },
    ["label", "old_content", "new_content"],
)

_MEMORY_INSERT = _tool(
    "memory_insert",
    LETTA_MEMORY_CORE,
    "Insert text into a core memory block at a given line, leaving the rest of the "
    "block unchanged. By default the text goes at the end of the block.",
    {
        "label": {"type": "string", "description": _LABEL},
        "new_string": {
            "type": "string",
            "description": "Text to insert; it may span several lines. " + _NO_LINE_NUMBERS,
        },
        "insert_line": {
            "type": "integer",
            "description": "Line number after which to insert: 0 puts the text before the "
            "first line (at the top), 1 after the first line, and so on; -1 (the "
            "default) puts it after the last line.",
            "default": -1,
        },
    },
    ["label", "new_string"],
)

_MEMORY_REPLACE = _tool(
    "memory_replace",
    LETTA_MEMORY_CORE,
    "Replace one exact piece of text in a core memory block. old_string must occur "
    "exactly once in the block; if it occurs more than once, include enough "
    "surrounding text to make it unique. To delete text, pass an empty new_string.",
    {
        "label": {"type": "string", "description": _LABEL},
        "old_string": {
            "type": "string",
            "description": "Text currently in the block, copied exactly, including "
            "spacing and line breaks. " + _NO_LINE_NUMBERS,
        },
        "new_string": {
            "type": "string",
            "description": "Text to put in its place; empty to delete old_string. " + _NO_LINE_NUMBERS,
        },
    },
    ["label", "old_string", "new_string"],
)

_MEMORY_RETHINK = _tool(
    "memory_rethink",
    LETTA_MEMORY_CORE,
    "Rewrite a core memory block as a whole: its entire content is replaced by "
    "new_memory. Use it to reorganize, condense or correct a block in one step; for "
    "small edits prefer memory_replace or memory_insert.",
    {
        "label": {"type": "string", "description": _LABEL},
        "new_memory": {
            "type": "string",
            "description": "The complete new content of the block. Anything left out "
            "is lost. " + _NO_LINE_NUMBERS,
        },
    },
    ["label", "new_memory"],
)

_ARCHIVAL_MEMORY_INSERT = _tool(
    "archival_memory_insert",
    LETTA_CORE,
    "Save a passage to archival memory, your long-term store. Archived passages are "
    "not shown in your context; find them again with archival_memory_search, which "
    "matches by meaning. Write each passage so it makes sense on its own.",
    {
        "content": {
            "type": "string",
            "description": "The text to store, self-contained (say who and what it is about).",
        },
        "tags": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Optional labels for the passage, such as topics or "
            "categories; archival_memory_search can filter on them.",
        },
    },
    ["content"],
)

_ARCHIVAL_MEMORY_SEARCH = _tool(
    "archival_memory_search",
    LETTA_CORE,
    "Search archival memory by meaning: the passages most similar to the query come "
    "first. Use it to recall facts stored earlier with archival_memory_insert.",
    {
        "query": {
            "type": "string",
            "description": "What you are looking for, in natural language.",
        },
        "tags": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Only return passages with these tags (see tag_match_mode).",
        },
        "tag_match_mode": {
            "type": "string",
            "enum": ["any", "all"],
            "description": "With tags: 'any' (the default) returns passages that have at "
            "least one of the tags, 'all' only those that have every tag.",
            "default": "any",
        },
        "top_k": {
            "type": "integer",
            "description": "Maximum number of passages to return.",
        },
        "start_datetime": {
            "type": "string",
            "description": "Only passages saved at or after this moment. " + _DATE_FORMAT,
        },
        "end_datetime": {
            "type": "string",
            "description": "Only passages saved at or before this moment. " + _DATE_FORMAT,
        },
    },
    ["query"],
)


# Every built-in tool by name, in a fixed order.
BUILTIN_TOOLS: Final[dict[str, BuiltinTool]] = {
    tool.name: tool
    for tool in (
        _SEND_MESSAGE,
        _CONVERSATION_SEARCH,
        _CORE_MEMORY_APPEND,
        _CORE_MEMORY_REPLACE,
        _MEMORY_INSERT,
        _MEMORY_REPLACE,
        _MEMORY_RETHINK,
        _ARCHIVAL_MEMORY_INSERT,
        _ARCHIVAL_MEMORY_SEARCH,
    )
}


def base_tool_names(agent_type: str = DEFAULT_AGENT_TYPE, enable_sleeptime: bool = False) -> list[str]:
    """Names of the built-in tools attached to a new agent by default.

    Args:
        agent_type: The agent's type, e.g. ``"letta_v1_agent"`` (the default),
            ``"memgpt_v2_agent"`` or ``"memgpt_agent"``. Unknown types get the
            classic MemGPT set.
        enable_sleeptime: Whether the agent has a sleep-time agent managing its
            memory; it then gets no memory-editing tools of its own.

    Returns:
        A new list of tool names, in attachment order.
    """
    if enable_sleeptime:
        return ["send_message", "conversation_search", "archival_memory_search"]
    if agent_type == "letta_v1_agent":
        return ["conversation_search", "memory_insert", "memory_replace"]
    if agent_type == "memgpt_v2_agent":
        return ["send_message", "conversation_search", "memory_insert", "memory_replace"]
    return ["send_message", "conversation_search", "core_memory_append", "core_memory_replace"]
