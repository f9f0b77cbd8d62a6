"""The memory tools: edits of core memory blocks, as pure functions.

Each tool works on a mapping label → :class:`BlockState` (the agent's core memory
blocks as loaded for the request). On success it changes the block's ``value``
in place and returns a short text for the model that shows the block's new
content; on failure it leaves every block unchanged and raises
:class:`MemoryEditError`, whose message tells the model what was wrong and how
to fix its call. Nothing here touches storage: the caller persists the blocks
whose value changed and rebuilds the system message.

Tools (names and arguments match the built-in tool schemas in
:mod:`mnemo_server.tools.builtin`):

* ``core_memory_append(label, content)``: add ``content`` on a new line at the end.
* ``core_memory_replace(label, old_content, new_content)``: replace every
  occurrence of ``old_content``.
* ``memory_insert(label, new_string, insert_line=-1)``: insert after line
  ``insert_line`` (0 = top, -1 = end).
* ``memory_replace(label, old_string, new_string)``: replace the one occurrence
  of ``old_string``.
* ``memory_rethink(label, new_memory)``: replace the whole value.

Line numbers are counted the way the system prompt shows them (``"3→ text"``,
one per ``"\\n"``-separated line, starting at 1). The newer tools
(``memory_insert``, ``memory_replace``, ``memory_rethink``) refuse text that
carries such prefixes, since they are display-only. Unlike Letta, a block's
``limit`` is enforced: an edit that would make the value longer than the limit
is refused. ``memory_rethink`` does not create missing blocks: blocks are
created and attached through the API only.

Use :func:`dispatch` to run a tool call as the model made it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "MEMORY_TOOLS",
    "BlockState",
    "MemoryEditError",
    "core_memory_append",
    "core_memory_replace",
    "dispatch",
    "memory_insert",
    "memory_replace",
    "memory_rethink",
]


@dataclass(slots=True)
class BlockState:
    """A core memory block as the loop sees and edits it.

    Attributes:
        id: The block's id (``"block-…"``).
        label: Its label, unique among the agent's blocks (``"human"``, ``"persona"``…).
        value: Its current text.
        limit: Most characters the value may hold; ``0`` or less means no limit.
        read_only: Whether the agent may not change it.
        description: What the block is for, as shown to the model.
    """

    id: str
    label: str
    value: str
    limit: int
    read_only: bool = False
    description: str | None = None


class MemoryEditError(ValueError):
    """A memory tool call that could not be applied; the message is meant for the model."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Blocks = MutableMapping[str, BlockState]

# A line that starts with a display line number such as "12→ " (the arrow is what
# the system prompt uses; text without it is left alone).
_LINE_NUMBER_PREFIX: Final = re.compile(r"^[ \t]*\d+[ \t]*→", re.MULTILINE)

# Values up to this size are shown whole after an edit; longer ones as a snippet.
_FULL_VIEW_CHARS: Final = 3000
_FULL_VIEW_LINES: Final = 60
# Lines of context shown before and after the edited lines in a snippet.
_SNIPPET_CONTEXT: Final = 4
# Quoted arguments in error messages are cut to this many characters.
_QUOTE_CHARS: Final = 120


# -- the tools ---------------------------------------------------------------------


def core_memory_append(blocks: Blocks, label: str, content: str) -> str:
    """Add ``content`` at the end of block ``label``, on a new line.

    An empty block gets ``content`` alone, and a block that already ends with a
    line break gets no second one (no blank line is added).

    Raises:
        MemoryEditError: Unknown label, read-only block, or the result is over
            the block's limit.
    """
    block = _writable(blocks, label)
    value = block.value
    new_value = value + content if not value or value.endswith("\n") else f"{value}\n{content}"
    first = _line_count(new_value) - _line_count(content) + 1
    return _commit(block, new_value, "core_memory_append", first, _line_count(new_value), numbered=False)


def core_memory_replace(blocks: Blocks, label: str, old_content: str, new_content: str) -> str:
    """Replace every occurrence of ``old_content`` in block ``label`` by ``new_content``.

    Raises:
        MemoryEditError: Unknown label, read-only block, empty or absent
            ``old_content``, or the result is over the block's limit.
    """
    block = _writable(blocks, label)
    if not old_content:
        raise MemoryEditError(
            "old_content is empty: give the exact text to replace. To add text, use core_memory_append."
        )
    positions = _occurrences(block.value, old_content, overlapping=False)
    if not positions:
        raise MemoryEditError(
            f"Nothing was replaced: old_content {_quote(old_content)} does not occur in memory block "
            f"`{label}`. Copy the text exactly as it appears in the block, including spacing and punctuation."
        )
    new_value = block.value.replace(old_content, new_content)
    first, last = _edited_lines(block.value, positions[0], positions[-1], new_content, old_content)
    return _commit(block, new_value, "core_memory_replace", first, last, numbered=False)


def memory_insert(blocks: Blocks, label: str, new_string: str, insert_line: int = -1) -> str:
    """Insert ``new_string`` into block ``label`` after line ``insert_line``.

    ``0`` inserts before the first line, ``n`` (the number of lines) or ``-1`` after
    the last one. With ``-1`` a trailing line break of the block is kept at the
    very end, and an empty block simply becomes ``new_string``.

    Raises:
        MemoryEditError: Unknown label, read-only block, line-number prefixes in
            ``new_string``, ``insert_line`` out of range, or the result is over
            the block's limit.
    """
    block = _writable(blocks, label)
    _reject_line_numbers("new_string", new_string)
    lines = block.value.split("\n")
    count = len(lines)
    if insert_line == -1:
        if not block.value:
            lines, at = [], 0
        elif lines[-1] == "":
            at = count - 1  # before the empty "line" that a trailing line break makes
        else:
            at = count
    elif 0 <= insert_line <= count:
        at = insert_line
    else:
        raise MemoryEditError(
            f"insert_line {insert_line} is out of range: memory block `{label}` has {count} line(s), so "
            f"insert_line must be between 0 and {count} (0 puts the text at the top), or -1 to add it at the end."
        )
    if not block.value:
        lines = []
    inserted = new_string.split("\n")
    new_value = "\n".join(lines[:at] + inserted + lines[at:])
    return _commit(block, new_value, "memory_insert", at + 1, at + len(inserted), numbered=True)


def memory_replace(blocks: Blocks, label: str, old_string: str, new_string: str) -> str:
    """Replace the single occurrence of ``old_string`` in block ``label`` by ``new_string``.

    When ``old_string`` is not found as written but would be with tabs expanded
    to spaces (models often turn tabs into spaces), the match is made on the
    tab-expanded text and the block's tabs become spaces.

    Raises:
        MemoryEditError: Unknown label, read-only block, line-number prefixes in
            either string, empty ``old_string``, ``old_string`` absent or found
            more than once, or the result is over the block's limit.
    """
    block = _writable(blocks, label)
    _reject_line_numbers("old_string", old_string)
    _reject_line_numbers("new_string", new_string)
    if not old_string:
        raise MemoryEditError(
            "old_string is empty: give the exact text to replace. To add text, use memory_insert."
        )
    value = block.value
    positions = _occurrences(value, old_string, overlapping=True)
    if not positions and ("\t" in value or "\t" in old_string):
        expanded = value.expandtabs()
        old_expanded, new_expanded = old_string.expandtabs(), new_string.expandtabs()
        found = _occurrences(expanded, old_expanded, overlapping=True)
        if found:
            value, old_string, new_string, positions = expanded, old_expanded, new_expanded, found
    if not positions:
        raise MemoryEditError(
            f"Nothing was replaced: old_string {_quote(old_string)} does not occur verbatim in memory block "
            f"`{label}`. Copy it exactly from the block (spacing and line breaks included), without line numbers."
        )
    if len(positions) > 1:
        starts = sorted({value.count("\n", 0, pos) + 1 for pos in positions})
        raise MemoryEditError(
            f"Nothing was replaced: old_string {_quote(old_string)} occurs {len(positions)} times in memory "
            f"block `{label}` (starting on line(s) {', '.join(map(str, starts))}), but it must occur exactly "
            "once. Include more of the surrounding text to make it unique."
        )
    pos = positions[0]
    new_value = value[:pos] + new_string + value[pos + len(old_string):]
    first, last = _edited_lines(value, pos, pos, new_string, old_string)
    return _commit(block, new_value, "memory_replace", first, last, numbered=True)


def memory_rethink(blocks: Blocks, label: str, new_memory: str) -> str:
    """Replace the whole value of block ``label`` by ``new_memory``.

    Raises:
        MemoryEditError: Unknown label (blocks are not created here), read-only
            block, line-number prefixes in ``new_memory``, or ``new_memory`` is
            over the block's limit.
    """
    block = _writable(blocks, label)
    _reject_line_numbers("new_memory", new_memory)
    return _commit(block, new_memory, "memory_rethink", 1, _line_count(new_memory), numbered=True)


# -- dispatch ----------------------------------------------------------------------

# Arguments models add to any tool call (heartbeat protocol, inner thoughts); dropped silently.
_IGNORED_ARGUMENTS: Final = frozenset({"request_heartbeat", "thinking"})


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    kind: type
    required: bool = True
    default: Any = None


_TOOLS: Final[dict[str, tuple[Callable[..., str], tuple[_Param, ...]]]] = {
    "core_memory_append": (core_memory_append, (_Param("label", str), _Param("content", str))),
    "core_memory_replace": (
        core_memory_replace,
        (_Param("label", str), _Param("old_content", str), _Param("new_content", str)),
    ),
    "memory_insert": (
        memory_insert,
        (_Param("label", str), _Param("new_string", str), _Param("insert_line", int, required=False, default=-1)),
    ),
    "memory_replace": (
        memory_replace,
        (_Param("label", str), _Param("old_string", str), _Param("new_string", str)),
    ),
    "memory_rethink": (memory_rethink, (_Param("label", str), _Param("new_memory", str))),
}

#: Names of the tools :func:`dispatch` runs.
MEMORY_TOOLS: Final[frozenset[str]] = frozenset(_TOOLS)


def dispatch(tool_name: str, arguments: Mapping[str, Any], blocks: Blocks) -> str:
    """Run the memory tool ``tool_name`` with the model's ``arguments``.

    Arguments are checked first: a missing or ``null`` required argument, or
    one of the wrong type, is reported by name. ``insert_line`` also accepts an
    integral float (``3.0``) or a numeric string (``"3"``). ``request_heartbeat``
    and ``thinking`` are dropped silently; any other unexpected argument is
    ignored and mentioned at the end of the result.

    Args:
        tool_name: One of :data:`MEMORY_TOOLS`.
        arguments: The call's arguments, decoded from JSON.
        blocks: The agent's blocks by label; the edited block is changed in place.

    Returns:
        The text to return to the model.

    Raises:
        MemoryEditError: The call cannot be applied (the message is for the model).
        ValueError: ``tool_name`` is not a memory tool (a bug in the caller).
    """
    if tool_name not in _TOOLS:
        raise ValueError(f"{tool_name!r} is not a memory tool; expected one of {sorted(MEMORY_TOOLS)}")
    if not isinstance(arguments, Mapping):
        raise MemoryEditError(f"The arguments of {tool_name} must be a JSON object.")
    function, params = _TOOLS[tool_name]
    known = {p.name for p in params}
    kwargs: dict[str, Any] = {}
    missing = [p.name for p in params if p.required and arguments.get(p.name) is None]
    if missing:
        raise MemoryEditError(
            f"{tool_name} is missing required argument(s): {', '.join(missing)}. "
            f"It takes: {', '.join(p.name + ('' if p.required else ' (optional)') for p in params)}."
        )
    for param in params:
        value = arguments.get(param.name)
        kwargs[param.name] = param.default if value is None else _coerce(tool_name, param, value)
    result = function(blocks, **kwargs)
    unknown = [name for name in arguments if name not in known and name not in _IGNORED_ARGUMENTS]
    if unknown:
        result += f"\n(Ignored unknown argument(s): {', '.join(map(str, unknown))}.)"
    return result


def _coerce(tool_name: str, param: _Param, value: Any) -> Any:
    if param.kind is str:
        if isinstance(value, str):
            return value
        raise MemoryEditError(f"Argument `{param.name}` of {tool_name} must be a string, not {_json_type(value)}.")
    # Integers: the only one is insert_line.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise MemoryEditError(f"Argument `{param.name}` of {tool_name} must be an integer, not {_json_type(value)}.")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"the string {_quote(value)}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


# -- helpers ---------------------------------------------------------------------------


def _writable(blocks: Blocks, label: Any) -> BlockState:
    """The block labelled ``label``, checked to exist and to be writable."""
    block = blocks.get(label) if isinstance(label, str) else None
    if block is None:
        if blocks:
            existing = ", ".join(f"`{name}`" for name in blocks)
            raise MemoryEditError(
                f"There is no memory block labelled {_quote(str(label))}. Existing blocks: {existing}. "
                "Use one of these labels exactly; new blocks cannot be created with this tool."
            )
        raise MemoryEditError(
            f"There is no memory block labelled {_quote(str(label))}: you have no memory blocks."
        )
    if block.read_only:
        raise MemoryEditError(f"Memory block `{block.label}` is read-only: it cannot be changed.")
    return block


def _reject_line_numbers(name: str, text: str) -> None:
    match = _LINE_NUMBER_PREFIX.search(text)
    if match:
        raise MemoryEditError(
            f"{name} contains a line-number prefix ({_quote(match.group(0).strip())}). Line numbers are only "
            f"shown to help you find lines; pass the block's text without them."
        )


def _commit(block: BlockState, new_value: str, tool: str, first: int, last: int, *, numbered: bool) -> str:
    """Check the limit, store ``new_value`` and describe the result for the model."""
    size = len(new_value)
    if block.limit > 0 and size > block.limit:
        raise MemoryEditError(
            f"The edit was not applied: memory block `{block.label}` would hold {size} characters, "
            f"{size - block.limit} over its limit of {block.limit}. Make the new text shorter, or first "
            "remove or condense other content of the block."
        )
    block.value = new_value
    limit = f" of {block.limit}" if block.limit > 0 else ""
    head = f"Memory block `{block.label}` was updated by {tool}; it now holds {size}{limit} characters."
    return f"{head}\n{_view(new_value, first, last, numbered=numbered)}"


def _view(value: str, first: int, last: int, *, numbered: bool) -> str:
    """The block's value, whole when short, else the lines around ``first``..``last``."""
    if not value:
        return "The block is now empty."
    lines = value.split("\n")
    total = len(lines)
    if len(value) <= _FULL_VIEW_CHARS and total <= _FULL_VIEW_LINES:
        start, end = 1, total
        intro = "Its content"
    else:
        start = max(1, min(first, total) - _SNIPPET_CONTEXT)
        end = min(total, max(last, first) + _SNIPPET_CONTEXT)
        intro = f"Lines {start}-{end} of {total}, around the change"
    if numbered:
        intro += " (line numbers are for reference only; never include them in edits)"
    shown = lines[start - 1:end]
    body = "\n".join(f"{i}→ {line}" for i, line in enumerate(shown, start)) if numbered else "\n".join(shown)
    return f"{intro}:\n{body}"


def _occurrences(text: str, sub: str, *, overlapping: bool) -> list[int]:
    """Start offsets of ``sub`` in ``text``."""
    out: list[int] = []
    pos = text.find(sub)
    while pos != -1:
        out.append(pos)
        pos = text.find(sub, pos + (1 if overlapping else len(sub)))
    return out


def _edited_lines(value: str, first_pos: int, last_pos: int, new_text: str, old_text: str) -> tuple[int, int]:
    """Lines (1-based, in the new value) spanned by the first to last replacement.

    Approximate when several replacements change the number of lines; only used
    to pick what part of a long block to show.
    """
    first = value.count("\n", 0, first_pos) + 1
    shift = new_text.count("\n") - old_text.count("\n")
    replacements_before_last = value.count(old_text, 0, last_pos) if last_pos > first_pos else 0
    # The line holding the last character of the new text (a trailing line break
    # does not reach into the next line).
    last = value.count("\n", 0, last_pos) + 1 + shift * replacements_before_last + new_text[:-1].count("\n")
    return first, max(first, last)


def _line_count(value: str) -> int:
    return value.count("\n") + 1


def _quote(text: str) -> str:
    """``text`` in backticks for a message, cut when long."""
    if len(text) > _QUOTE_CHARS:
        text = text[:_QUOTE_CHARS] + f"… ({len(text)} characters)"
    return f"`{text}`"
