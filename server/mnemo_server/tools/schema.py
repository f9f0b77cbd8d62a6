"""Derive OpenAI-style function schemas from Python tool source, without running it.

A custom tool is Python source that defines one top-level function (helpers may
come first; the *last* top-level ``def`` is the tool). Its JSON schema is read
from the signature and the Google-style docstring using :mod:`ast` only: the
source is parsed, never compiled to bytecode, imported or executed, so a
hostile or broken tool cannot run anything on the server here.

The result has the shape the model providers expect::

    {
        "name": "get_weather",
        "description": "Get the current weather for a location.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "..."}},
            "required": ["location"],
        },
    }

Every problem is reported as :class:`ToolSourceError`, a :class:`ValueError`
whose message names the problem (and its line where there is one), ready to be
returned to the API client as an invalid-argument error.

The module also validates schemas given explicitly by the user
(:func:`validate_json_schema`) and wraps argument-only schemas
(:func:`schema_from_args_json_schema`).
"""

from __future__ import annotations

import ast
import copy
import json
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "MAX_LINE_CHARS",
    "MAX_SOURCE_BYTES",
    "ToolSchema",
    "ToolSourceError",
    "check_source_limits",
    "parse_tool_name_and_description",
    "parse_tool_source",
    "schema_from_args_json_schema",
    "validate_json_schema",
]


class ToolSourceError(ValueError):
    """The tool source or schema is unusable; the message says why and where.

    Attributes:
        line: 1-based line in the source the problem is on, when known.
        column: 1-based column of the problem, when known.
    """

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class ToolSchema:
    """What :func:`parse_tool_source` read from a tool's source.

    Attributes:
        name: The function's name, which is the tool's name.
        description: The docstring's description (everything before its first
            section, such as ``Args:``).
        json_schema: The OpenAI-style function schema (``name``,
            ``description``, ``parameters``).
        wants_agent_state: Whether the function takes an ``agent_state``
            parameter, which the executor fills in; it is never part of the
            schema.
    """

    name: str
    description: str
    json_schema: dict[str, Any]
    wants_agent_state: bool


# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

# Parameters the executor supplies itself; they never reach the model.
_HIDDEN_PARAMS: Final = frozenset({"self", "agent_state"})
_AGENT_STATE_PARAM: Final = "agent_state"

# What OpenAI (the strictest of the providers) accepts as a function name.
_FUNCTION_NAME_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")  # used with fullmatch

_JSON_TYPES: Final = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})

# Annotation names (last dotted component, so ``typing.List`` works too).
_SCALAR_TYPES: Final[dict[str, str]] = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
}
_ARRAY_TYPES: Final = frozenset(
    {
        "list",
        "List",
        "Sequence",
        "MutableSequence",
        "Iterable",
        "Collection",
        "set",
        "Set",
        "frozenset",
        "FrozenSet",
        "AbstractSet",
        "MutableSet",
    }
)
_TUPLE_TYPES: Final = frozenset({"tuple", "Tuple"})
_OBJECT_TYPES: Final = frozenset({"dict", "Dict", "Mapping", "MutableMapping"})
_ANY_TYPES: Final = frozenset({"Any", "object"})
_SUPPORTED_TYPES_HINT: Final = (
    "use str, int, float, bool, list[X], dict[str, X], Optional[X], X | None, Literal[...], Union[...] or Any"
)

# Google-style section headers. Only these end the description / Args
# section, so a line such as "Usage:" inside a description stays text.
_ARGS_SECTIONS: Final = frozenset(
    {
        "args",
        "arguments",
        "parameters",
        "params",
        "keyword args",
        "keyword arguments",
        "other parameters",
    }
)
_OTHER_SECTIONS: Final = frozenset(
    {
        "returns",
        "return",
        "yields",
        "yield",
        "raises",
        "raise",
        "exceptions",
        "except",
        "example",
        "examples",
        "note",
        "notes",
        "warning",
        "warnings",
        "see also",
        "todo",
        "attributes",
        "references",
        "methods",
    }
)
# Docstring lines are matched by small scanners built on regexes without
# nested or adjacent overlapping quantifiers, so every line is read in linear
# time whatever it holds (a run of spaces once made a lazy group and a
# following ``\s*`` try every split of it: quadratic on the event loop).
_SECTION_NAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z ]*")  # used with fullmatch
_ARG_NAME_RE: Final = re.compile(r"\*{0,2}[A-Za-z_]\w*")  # used with match
# The end of an "(type):" part: the first ")" followed by optional blanks and ":".
_TYPE_END_RE: Final = re.compile(r"\)\s*:")

# Bounds on tool source, checked before anything parses it.
MAX_SOURCE_BYTES: Final = 256 * 1024
MAX_LINE_CHARS: Final = 16 * 1024


# --------------------------------------------------------------------------
# Parsing tool source
# --------------------------------------------------------------------------


def check_source_limits(source_code: str) -> None:
    """Refuse source larger than :data:`MAX_SOURCE_BYTES` (UTF-8) or with a
    line longer than :data:`MAX_LINE_CHARS` characters.

    Raises:
        ToolSourceError: The source exceeds a limit; the message names it.
    """
    if not isinstance(source_code, str):
        raise ToolSourceError(f"source code must be a string, got {type(source_code).__name__}")
    # A character is at most 4 bytes in UTF-8: encode only when it may matter.
    if len(source_code) * 4 > MAX_SOURCE_BYTES:
        size = len(source_code.encode("utf-8", "surrogatepass"))
        if size > MAX_SOURCE_BYTES:
            raise ToolSourceError(
                f"source code is {size} bytes; the limit is {MAX_SOURCE_BYTES} bytes ({MAX_SOURCE_BYTES // 1024} KiB)"
            )
    for number, line in enumerate(source_code.splitlines(), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise ToolSourceError(
                f"line {number} is {len(line)} characters long; the limit is {MAX_LINE_CHARS} characters per line",
                line=number,
            )


def parse_tool_source(source_code: str) -> ToolSchema:
    """Read a tool's name, description and JSON schema from its Python source.

    The source is parsed with :mod:`ast`; nothing in it is executed.

    Args:
        source_code: Python source defining the tool as its last top-level
            function (``def`` or ``async def``).

    Returns:
        The parsed :class:`ToolSchema`.

    Raises:
        ToolSourceError: The source does not parse, defines no function, the
            function has no docstring, a parameter has no description, uses
            ``*args``/``**kwargs``, has an annotation that has no JSON
            schema equivalent, or exceeds a size limit
            (:func:`check_source_limits`).
    """
    check_source_limits(source_code)
    module = _parse_module(source_code)

    functions = [node for node in module.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not functions:
        raise ToolSourceError(
            "no function defined; the source must define the tool as a top-level function (def or async def)"
        )
    func = functions[-1]
    name = func.name
    if not _FUNCTION_NAME_RE.fullmatch(name):
        raise ToolSourceError(
            f"line {func.lineno}: function name {name!r} is not a valid tool name; "
            "use 1-64 ASCII letters, digits, underscores or hyphens",
            line=func.lineno,
        )

    docstring = ast.get_docstring(func, clean=True)
    if docstring is None or not docstring.strip():
        raise ToolSourceError(
            f"line {func.lineno}: function {name!r} has no docstring; describe the tool "
            "and its arguments in a Google-style docstring",
            line=func.lineno,
        )
    doc_line = func.body[0].lineno
    description, arg_docs = _parse_docstring(docstring)
    if not description:
        raise ToolSourceError(
            f"line {doc_line}: the docstring of function {name!r} has no description; "
            "start it with a sentence saying what the tool does",
            line=doc_line,
        )

    _reject_variadic(func)

    properties: dict[str, Any] = {}
    required: list[str] = []
    wants_agent_state = False
    for param, default in _params_with_defaults(func.args):
        if param.arg == _AGENT_STATE_PARAM:
            wants_agent_state = True
        if param.arg in _HIDDEN_PARAMS:
            continue

        arg_description = arg_docs.get(param.arg, "")
        if not arg_description:
            raise ToolSourceError(
                f"line {param.lineno}: parameter {param.arg!r} of function {name!r} has no "
                f"description; add '{param.arg}: <description>' under 'Args:' in the docstring",
                line=param.lineno,
            )

        type_schema: dict[str, Any]
        if param.annotation is None:
            type_schema, nullable = {"type": "string"}, False  # untyped: the model sends text
        else:
            type_schema, nullable = _AnnotationConverter(name, param).convert(param.annotation)

        prop: dict[str, Any] = {**type_schema, "description": arg_description}
        if default is not None:
            found, value = _literal_default(default)
            if found:
                prop["default"] = value
        properties[param.arg] = prop
        if default is None and not nullable:
            required.append(param.arg)

    json_schema = {
        "name": name,
        "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required},
    }
    # Belt and braces: whatever we produce must pass our own validation.
    json_schema = validate_json_schema(json_schema)
    return ToolSchema(
        name=name,
        description=description,
        json_schema=json_schema,
        wants_agent_state=wants_agent_state,
    )


def parse_tool_name_and_description(source_code: str) -> tuple[str, str]:
    """Read only a tool's name and docstring description from its source.

    Used when the arguments' schema is given explicitly (``args_json_schema``):
    the signature and the docstring's ``Args:`` section are then not needed.

    Raises:
        ToolSourceError: The source does not parse, defines no function, or
            the function name is not a valid tool name, or the source exceeds
            a size limit (:func:`check_source_limits`).
    """
    check_source_limits(source_code)
    module = _parse_module(source_code)
    functions = [node for node in module.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not functions:
        raise ToolSourceError(
            "no function defined; the source must define the tool as a top-level function (def or async def)"
        )
    func = functions[-1]
    if not _FUNCTION_NAME_RE.fullmatch(func.name):
        raise ToolSourceError(
            f"line {func.lineno}: function name {func.name!r} is not a valid tool name; "
            "use 1-64 ASCII letters, digits, underscores or hyphens",
            line=func.lineno,
        )
    docstring = ast.get_docstring(func, clean=True) or ""
    return func.name, _parse_docstring(docstring)[0]


def _parse_module(source_code: str) -> ast.Module:
    """Parse source into an AST, turning every parse failure into ToolSourceError."""
    try:
        with warnings.catch_warnings():
            # e.g. SyntaxWarning for invalid escape sequences: not our concern.
            warnings.simplefilter("ignore")
            return ast.parse(source_code, filename="<tool>", mode="exec")
    except SyntaxError as exc:  # includes IndentationError / TabError
        line, column = exc.lineno, exc.offset
        if line and column:
            message = f"syntax error at line {line}, column {column}: {exc.msg}"
        elif line:
            message = f"syntax error at line {line}: {exc.msg}"
        else:
            message = f"syntax error: {exc.msg}"
        raise ToolSourceError(message, line=line, column=column) from None
    except ValueError as exc:  # e.g. "source code string cannot contain null bytes"
        raise ToolSourceError(f"invalid source code: {exc}") from None
    except (RecursionError, MemoryError):
        raise ToolSourceError("source code is too deeply nested to parse") from None


def _reject_variadic(func: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    """Raise for ``*args`` / ``**kwargs``: a JSON schema cannot describe them."""
    args = func.args
    for variadic, stars in ((args.vararg, "*"), (args.kwarg, "**")):
        if variadic is not None:
            raise ToolSourceError(
                f"line {variadic.lineno}: function {func.name!r} takes {stars}{variadic.arg}; "
                "*args and **kwargs are not supported in tools, list each parameter explicitly",
                line=variadic.lineno,
            )


def _params_with_defaults(args: ast.arguments) -> list[tuple[ast.arg, ast.expr | None]]:
    """Every named parameter in signature order, paired with its default (or None)."""
    positional = [*args.posonlyargs, *args.args]
    # ``defaults`` belong to the last len(defaults) positional parameters.
    padding: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    pairs = list(zip(positional, [*padding, *args.defaults], strict=True))
    # ``kw_defaults`` has one entry per keyword-only parameter, None if none.
    pairs.extend(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    return pairs


# Marks a default that has no JSON equivalent.
_NOT_JSON: Final = object()


def _literal_default(node: ast.expr) -> tuple[bool, Any]:
    """Return ``(True, value)`` if a default is a plain JSON-compatible literal.

    :func:`ast.literal_eval` only folds literals (it never calls or looks up
    anything). ``None`` is left out: for an optional parameter it adds nothing.
    """
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    if value is None:
        return False, None
    converted = _to_json_value(value)
    if converted is _NOT_JSON:
        return False, None
    return True, converted


def _to_json_value(value: Any) -> Any:
    """Convert a literal to its JSON form (tuples become lists), or ``_NOT_JSON``."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _NOT_JSON
    if isinstance(value, (list, tuple)):
        items = [_to_json_value(item) for item in value]
        return _NOT_JSON if any(item is _NOT_JSON for item in items) else items
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            converted = _to_json_value(item)
            if not isinstance(key, str) or converted is _NOT_JSON:
                return _NOT_JSON
            result[key] = converted
        return result
    return _NOT_JSON  # bytes, complex, sets, Ellipsis...


# --------------------------------------------------------------------------
# Annotations -> JSON schema
# --------------------------------------------------------------------------


class _AnnotationConverter:
    """Turns one parameter's annotation AST into a JSON schema fragment."""

    def __init__(self, func_name: str, param: ast.arg) -> None:
        self._func_name = func_name
        self._param = param
        # Nodes of the source itself; those parsed out of a string annotation
        # carry line numbers relative to that string instead.
        self._source_nodes = {id(node) for node in ast.walk(param)}

    def convert(self, node: ast.expr) -> tuple[dict[str, Any], bool]:
        """Return ``(schema, nullable)``; nullable means ``None`` was allowed."""
        schema, nullable = self._convert(node, depth=0)
        if schema is None:  # a bare ``None`` annotation
            raise self._error(node, "'None' alone is not a parameter type")
        return schema, nullable

    # ``None`` as the schema stands for the None type inside unions.
    def _convert(self, node: ast.expr, depth: int) -> tuple[dict[str, Any] | None, bool]:
        if depth > 32:
            raise self._error(node, "type annotation is nested too deeply")
        if isinstance(node, ast.Constant):
            if node.value is None:
                return None, True
            if isinstance(node.value, str):  # a string (forward reference) annotation
                return self._convert(self._parse_string_annotation(node), depth + 1)
            raise self._error(node, f"{node.value!r} is not a type")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | Y
            return self._union([node.left, node.right], depth)
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self._named(node), False
        if isinstance(node, ast.Subscript):
            return self._subscript(node, depth)
        raise self._error(node, f"unsupported type annotation {_unparse(node)!r}")

    def _named(self, node: ast.Name | ast.Attribute) -> dict[str, Any]:
        """A bare type name such as ``str``, ``typing.List`` or ``dict``."""
        base = _base_name(node)
        if base in _SCALAR_TYPES:
            return {"type": _SCALAR_TYPES[base]}
        if base in _ARRAY_TYPES or base in _TUPLE_TYPES:
            return {"type": "array"}
        if base in _OBJECT_TYPES:
            return {"type": "object"}
        if base in _ANY_TYPES:
            return {}
        raise self._error(node, f"unsupported type {_unparse(node)!r}; {_SUPPORTED_TYPES_HINT}")

    def _subscript(self, node: ast.Subscript, depth: int) -> tuple[dict[str, Any] | None, bool]:
        """A generic such as ``list[str]``, ``Optional[int]`` or ``Literal["a"]``."""
        base = _base_name(node.value) if isinstance(node.value, (ast.Name, ast.Attribute)) else None
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]

        if base == "Optional":
            if len(args) != 1:
                raise self._error(node, "Optional takes exactly one type")
            schema, _ = self._convert(args[0], depth + 1)
            return schema, True
        if base == "Union":
            return self._union(args, depth)
        if base == "Annotated":
            return self._convert(args[0], depth + 1)
        if base == "Literal":
            return self._literal(node, args)
        if base in _ARRAY_TYPES:
            if len(args) != 1:
                raise self._error(node, f"{base} takes exactly one item type")
            return {"type": "array", "items": self._required_schema(args[0], depth)}, False
        if base in _TUPLE_TYPES:
            return self._tuple(args, depth), False
        if base in _OBJECT_TYPES:
            if len(args) != 2:
                raise self._error(node, f"{base} takes a key type and a value type")
            mapping: dict[str, Any] = {"type": "object"}
            values = self._required_schema(args[1], depth)
            if values:  # dict[str, Any] says nothing about the values
                mapping["additionalProperties"] = values
            return mapping, False
        raise self._error(node, f"unsupported type annotation {_unparse(node)!r}; {_SUPPORTED_TYPES_HINT}")

    def _union(self, members: list[ast.expr], depth: int) -> tuple[dict[str, Any] | None, bool]:
        """``Union[...]`` / ``X | Y``: None makes it nullable, the rest become anyOf."""
        nullable = False
        schemas: list[dict[str, Any]] = []
        for member in members:
            schema, member_nullable = self._convert(member, depth + 1)
            nullable = nullable or member_nullable
            if schema is None:
                continue
            if not schema:  # Any absorbs everything else
                return {}, nullable
            # Flatten nested unions (Union[A, Union[B, C]]) and drop duplicates.
            options = schema["anyOf"] if set(schema) == {"anyOf"} else [schema]
            for option in options:
                if option not in schemas:
                    schemas.append(option)
        if not schemas:
            return None, True
        if len(schemas) == 1:
            return schemas[0], nullable
        return {"anyOf": schemas}, nullable

    def _literal(self, node: ast.Subscript, args: list[ast.expr]) -> tuple[dict[str, Any], bool]:
        """``Literal["a", "b"]`` becomes an enum, typed when all values share a type."""
        values: list[Any] = []
        seen: set[tuple[type, Any]] = set()  # by type too: True == 1 in Python
        nullable = False
        for arg in args:
            try:
                value = ast.literal_eval(arg)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise self._error(arg, f"Literal values must be constants, got {_unparse(arg)!r}") from None
            if value is None:
                nullable = True
            elif isinstance(value, (str, bool, int, float)):
                if (type(value), value) not in seen:
                    seen.add((type(value), value))
                    values.append(value)
            else:
                raise self._error(arg, f"Literal value {value!r} is not a string, number or boolean")
        if not values:
            raise self._error(node, "Literal needs at least one value besides None")
        schema: dict[str, Any] = {}
        kinds = {type(v) for v in values}
        if kinds == {str}:
            schema["type"] = "string"
        elif kinds == {bool}:
            schema["type"] = "boolean"
        elif kinds == {int}:
            schema["type"] = "integer"
        elif kinds <= {int, float}:
            schema["type"] = "number"
        schema["enum"] = values
        return schema, nullable

    def _tuple(self, args: list[ast.expr], depth: int) -> dict[str, Any]:
        """``tuple[X, ...]`` is an array of X; ``tuple[X, Y]`` a fixed-length array."""
        if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis:
            return {"type": "array", "items": self._required_schema(args[0], depth)}
        items: list[dict[str, Any]] = []
        for arg in args:
            schema = self._required_schema(arg, depth)
            if schema not in items:
                items.append(schema)
        result: dict[str, Any] = {"type": "array"}
        if len(items) == 1:
            result["items"] = items[0]
        elif items:
            result["items"] = {"anyOf": items}
        result["minItems"] = result["maxItems"] = len(args)
        return result

    def _required_schema(self, node: ast.expr, depth: int) -> dict[str, Any]:
        """Schema of a nested type (list items, dict values); None is dropped there."""
        schema, _ = self._convert(node, depth + 1)
        if schema is None:
            raise self._error(node, "'None' alone is not an item type")
        return schema

    def _parse_string_annotation(self, node: ast.Constant) -> ast.expr:
        try:
            return ast.parse(node.value.strip(), mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise self._error(node, f"string annotation {node.value!r} is not a valid type") from None

    def _error(self, node: ast.AST, problem: str) -> ToolSourceError:
        line = getattr(node, "lineno", None)
        if line is None or id(node) not in self._source_nodes:
            line = self._param.lineno
        return ToolSourceError(
            f"line {line}: parameter {self._param.arg!r} of function {self._func_name!r}: {problem}",
            line=line,
        )


def _base_name(node: ast.Name | ast.Attribute) -> str:
    """Last component of a dotted name: ``typing.List`` -> ``List``."""
    return node.id if isinstance(node, ast.Name) else node.attr


def _unparse(node: ast.AST) -> str:
    """Source text of an annotation node, for error messages."""
    return ast.unparse(node)


# --------------------------------------------------------------------------
# Google-style docstrings
# --------------------------------------------------------------------------


def _parse_docstring(docstring: str) -> tuple[str, dict[str, str]]:
    """Split a cleaned docstring into its description and per-argument descriptions.

    The description is every line before the first recognised section header
    (``Args:``, ``Returns:``...), trimmed, with its line breaks kept. Argument
    descriptions come from every Args-like section; their continuation lines
    are joined with spaces (a blank line inside one starts a new paragraph).
    """
    lines = docstring.splitlines()
    description_lines: list[str] = []
    arg_docs: dict[str, str] = {}
    index = 0
    # Description: up to the first section header.
    while index < len(lines) and _section_name(lines[index]) is None:
        description_lines.append(lines[index].rstrip())
        index += 1
    description = "\n".join(description_lines).strip()

    # Sections: collect each one's lines, parse the Args-like ones.
    while index < len(lines):
        section = _section_name(lines[index])
        index += 1
        body: list[str] = []
        while index < len(lines) and _section_name(lines[index]) is None:
            body.append(lines[index])
            index += 1
        if section in _ARGS_SECTIONS:
            arg_docs.update(_parse_args_section(body))
    return description, arg_docs


def _section_name(line: str) -> str | None:
    """The lower-cased section name if ``line`` is a section header at column 0."""
    if line[:1].isspace():
        return None
    text = line.rstrip()
    if not text.endswith(":"):
        return None
    text = text[:-1].rstrip()
    if _SECTION_NAME_RE.fullmatch(text) is None:
        return None
    name = " ".join(text.lower().split())
    return name if name in _ARGS_SECTIONS or name in _OTHER_SECTIONS else None


def _parse_args_section(body: list[str]) -> dict[str, str]:
    """Parse the entries of an ``Args:`` section into ``{name: description}``."""
    entries: dict[str, list[str]] = {}
    entry_indent: int | None = None
    current: list[str] | None = None
    for raw in body:
        if not raw.strip():
            if current and current[-1] != "":
                current.append("")  # paragraph break, dropped if nothing follows
            continue
        indent = len(raw) - len(raw.lstrip())
        if entry_indent is None:
            entry_indent = indent
        text = raw.strip()
        entry = _arg_entry(text) if indent <= entry_indent else None
        if entry is not None:
            name = entry[0].lstrip("*")
            current = entries[name] = []
            first = entry[1].strip()
            if first:
                current.append(first)
        elif current is not None:
            current.append(text)  # continuation of the current entry
    return {name: _join_paragraphs(parts) for name, parts in entries.items()}


def _arg_entry(text: str) -> tuple[str, str] | None:
    """``(name, rest)`` of an Args entry line, else None.

    Accepts "name (type): description" and "name: description" (the name may
    start with ``*`` or ``**``). The type ends at the first ")" followed by a
    colon, so a colon inside the description is not taken for the end. Runs
    in time linear in the line's length.
    """
    match = _ARG_NAME_RE.match(text)
    if match is None:
        return None
    rest = text[match.end():].lstrip()
    if rest.startswith(":"):
        return match.group(), rest[1:]
    if rest.startswith("("):
        end = _TYPE_END_RE.search(rest, 1)
        if end is not None:
            return match.group(), rest[end.end():]
    return None


def _join_paragraphs(parts: list[str]) -> str:
    """Join wrapped lines with spaces; empty markers become paragraph breaks."""
    paragraphs: list[str] = []
    current: list[str] = []
    for part in parts:
        if part == "":
            if current:
                paragraphs.append(" ".join(current))
                current = []
        else:
            current.append(part)
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


# --------------------------------------------------------------------------
# User-given schemas
# --------------------------------------------------------------------------


def validate_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Check a full function schema given by a user and return a normalised copy.

    Accepted input is ``{"name", "description", "parameters"}`` (the
    ``{"type": "function", "function": {...}}`` wrapper is unwrapped). The copy
    always has a string ``description`` (empty if missing) and ``parameters``
    with ``type: "object"``, a ``properties`` object and a de-duplicated
    ``required`` list. Other keys are kept. The input is not modified.

    Args:
        schema: The function schema to check.

    Returns:
        The normalised schema, a deep copy of the input.

    Raises:
        ToolSourceError: Naming the first field that is wrong.
    """
    if not isinstance(schema, Mapping):
        raise ToolSourceError(f"json_schema must be an object, got {_json_kind(schema)}")
    _ensure_plain_json(schema, "json_schema")
    data: dict[str, Any] = copy.deepcopy(dict(schema))
    if data.get("type") == "function" and isinstance(data.get("function"), Mapping):
        data = dict(data["function"])

    name = data.get("name")
    if name is None or name == "":
        raise ToolSourceError("json_schema is missing 'name'")
    if not isinstance(name, str):
        raise ToolSourceError(f"json_schema.name must be a string, got {_json_kind(name)}")
    if not _FUNCTION_NAME_RE.fullmatch(name):
        raise ToolSourceError(
            f"json_schema.name {name!r} is not a valid function name; "
            "use 1-64 ASCII letters, digits, underscores or hyphens"
        )

    description = data.get("description")
    if description is None:
        description = ""
    elif not isinstance(description, str):
        raise ToolSourceError(f"json_schema.description must be a string, got {_json_kind(description)}")

    parameters = _normalise_parameters(data.get("parameters"), "json_schema.parameters")

    rest = {k: v for k, v in data.items() if k not in ("name", "description", "parameters")}
    return {"name": name, "description": description, "parameters": parameters, **rest}


def schema_from_args_json_schema(
    name: str, description: str | None, args_schema: Mapping[str, Any]
) -> dict[str, Any]:
    """Wrap a JSON schema of the arguments alone into a full function schema.

    ``args_schema`` is an object schema such as a Pydantic model's
    ``model_json_schema()``; its ``title`` is dropped, everything else
    (``$defs`` included) is kept as the function's ``parameters``.

    Args:
        name: The function name.
        description: The function description (None means empty).
        args_schema: Object schema of the arguments.

    Returns:
        The full, validated function schema.

    Raises:
        ToolSourceError: ``args_schema`` is not an object schema, or ``name``
            is not a valid function name.
    """
    parameters = _normalise_parameters(args_schema, "args_json_schema")
    parameters.pop("title", None)
    return validate_json_schema({"name": name, "description": description or "", "parameters": parameters})


def _normalise_parameters(parameters: Any, path: str) -> dict[str, Any]:
    """Check an arguments object schema and return a normalised deep copy."""
    if parameters is None:
        return {"type": "object", "properties": {}, "required": []}
    if not isinstance(parameters, Mapping):
        raise ToolSourceError(f"{path} must be an object, got {_json_kind(parameters)}")
    _ensure_plain_json(parameters, path)
    params: dict[str, Any] = copy.deepcopy(dict(parameters))

    kind = params.setdefault("type", "object")
    if kind != "object":
        raise ToolSourceError(f"{path}.type must be 'object', got {kind!r}")

    properties = params.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, Mapping):
        raise ToolSourceError(f"{path}.properties must be an object, got {_json_kind(properties)}")
    properties = dict(properties)
    for prop_name, prop_schema in properties.items():
        if not isinstance(prop_name, str) or not prop_name:
            raise ToolSourceError(f"{path}.properties has an invalid property name {prop_name!r}")
        _check_subschema(prop_schema, f"{path}.properties.{prop_name}")

    required = params.get("required")
    if required is None:
        required = []
    if not isinstance(required, (list, tuple)):
        raise ToolSourceError(f"{path}.required must be a list of property names, got {_json_kind(required)}")
    unique_required: list[str] = []
    for item in required:
        if not isinstance(item, str):
            raise ToolSourceError(f"{path}.required must contain only strings, got {item!r}")
        if item not in properties:
            raise ToolSourceError(f"{path}.required names {item!r}, which is not in {path}.properties")
        if item not in unique_required:
            unique_required.append(item)

    # Fixed key order for stable output: type, properties, required, the rest.
    rest = {k: v for k, v in params.items() if k not in ("type", "properties", "required")}
    for key in ("$defs", "definitions"):
        defs = rest.get(key)
        if defs is not None:
            if not isinstance(defs, Mapping):
                raise ToolSourceError(f"{path}.{key} must be an object, got {_json_kind(defs)}")
            for def_name, def_schema in defs.items():
                _check_subschema(def_schema, f"{path}.{key}.{def_name}")
    return {"type": "object", "properties": properties, "required": unique_required, **rest}


def _check_subschema(schema: Any, path: str, depth: int = 0) -> None:
    """Shallow sanity checks on a nested JSON schema: objects, valid types, enums."""
    if depth > 64:
        raise ToolSourceError(f"{path} is nested too deeply")
    if isinstance(schema, bool):  # true / false are valid JSON schemas
        return
    if not isinstance(schema, Mapping):
        raise ToolSourceError(f"{path} must be a JSON schema object, got {_json_kind(schema)}")

    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not kinds:
            raise ToolSourceError(f"{path}.type must not be an empty list")
        for item in kinds:
            if not isinstance(item, str) or item not in _JSON_TYPES:
                raise ToolSourceError(
                    f"{path}.type {item!r} is not a JSON Schema type; use one of "
                    + ", ".join(sorted(_JSON_TYPES))
                )
    if "enum" in schema and (not isinstance(schema["enum"], list) or not schema["enum"]):
        raise ToolSourceError(f"{path}.enum must be a non-empty list")
    if "description" in schema and not isinstance(schema["description"], str):
        raise ToolSourceError(f"{path}.description must be a string")

    items = schema.get("items")
    if isinstance(items, list):  # old-style tuple validation
        for i, item in enumerate(items):
            _check_subschema(item, f"{path}.items[{i}]", depth + 1)
    elif items is not None:
        _check_subschema(items, f"{path}.items", depth + 1)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        options = schema.get(key)
        if options is None:
            continue
        if not isinstance(options, list):
            raise ToolSourceError(f"{path}.{key} must be a list of schemas")
        for i, option in enumerate(options):
            _check_subschema(option, f"{path}.{key}[{i}]", depth + 1)
    nested = schema.get("properties")
    if nested is not None:
        if not isinstance(nested, Mapping):
            raise ToolSourceError(f"{path}.properties must be an object")
        for key, value in nested.items():
            _check_subschema(value, f"{path}.properties.{key}", depth + 1)
    extra = schema.get("additionalProperties")
    if extra is not None:
        _check_subschema(extra, f"{path}.additionalProperties", depth + 1)


def _ensure_plain_json(value: Any, path: str) -> None:
    """Raise unless ``value`` serialises to strict JSON (no NaN, sets, objects...)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ToolSourceError(f"{path} must be plain JSON: {exc}") from None


def _json_kind(value: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
