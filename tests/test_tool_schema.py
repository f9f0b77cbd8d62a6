"""Tests for mnemo_server.tools.schema (tool source -> JSON schema) and builtin."""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from mnemo_server.tools.builtin import (
    BUILTIN_TOOLS,
    DEFAULT_AGENT_TYPE,
    TERMINAL_BASE_TOOLS,
    BuiltinTool,
    base_tool_names,
)
from mnemo_server.tools.schema import (
    ToolSchema,
    ToolSourceError,
    parse_tool_source,
    schema_from_args_json_schema,
    validate_json_schema,
)

ROLL_DICE = '''\
def roll_dice() -> str:
    """Simulate the roll of a 20-sided die (d20).

    Returns:
        str: The result of rolling the die.
    """
    import random
    return f"You rolled a {random.randint(1, 20)}"
'''

GET_WEATHER = '''\
def get_weather(location: str) -> str:
    """Get the current weather for a location.

    Args:
        location (str): The city and state, e.g. San Francisco, CA.

    Returns:
        str: A short weather report.
    """
    return f"It is sunny in {location}"
'''


def parse(source: str) -> ToolSchema:
    """Parse dedented source."""
    return parse_tool_source(textwrap.dedent(source))


def props(result: ToolSchema) -> dict[str, Any]:
    return result.json_schema["parameters"]["properties"]


def required(result: ToolSchema) -> list[str]:
    return result.json_schema["parameters"]["required"]


def one_param(annotation: str, default: str = "") -> tuple[dict[str, Any], bool]:
    """Schema of a single parameter ``x`` and whether it is required."""
    result = parse_tool_source(
        f'def f(x: {annotation}{default}):\n    """Do it.\n\n    Args:\n        x: The x.\n    """\n'
    )
    prop = dict(props(result)["x"])
    assert prop.pop("description") == "The x."
    return prop, required(result) == ["x"]


# ---------------------------------------------------------------------------
# parse_tool_source: the seeds' examples
# ---------------------------------------------------------------------------


class TestExamples:
    def test_roll_dice(self) -> None:
        result = parse_tool_source(ROLL_DICE)
        assert result == ToolSchema(
            name="roll_dice",
            description="Simulate the roll of a 20-sided die (d20).",
            json_schema={
                "name": "roll_dice",
                "description": "Simulate the roll of a 20-sided die (d20).",
                "parameters": {"type": "object", "properties": {}, "required": []},
            },
            wants_agent_state=False,
        )

    def test_get_weather(self) -> None:
        result = parse_tool_source(GET_WEATHER)
        assert result.name == "get_weather"
        assert result.description == "Get the current weather for a location."
        assert result.json_schema == {
            "name": "get_weather",
            "description": "Get the current weather for a location.",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {
                        "type": "string",
                        "description": "The city and state, e.g. San Francisco, CA.",
                    }
                },
                "required": ["location"],
            },
        }
        assert result.wants_agent_state is False

    def test_result_is_frozen_and_json_serialisable(self) -> None:
        result = parse_tool_source(GET_WEATHER)
        with pytest.raises(AttributeError):
            result.name = "other"  # type: ignore[misc]
        assert json.loads(json.dumps(result.json_schema)) == result.json_schema

    def test_schema_passes_validation_unchanged(self) -> None:
        result = parse_tool_source(GET_WEATHER)
        assert validate_json_schema(result.json_schema) == result.json_schema


# ---------------------------------------------------------------------------
# parse_tool_source: choosing the function, hidden parameters
# ---------------------------------------------------------------------------


class TestFunctionSelection:
    def test_last_function_is_the_tool_helpers_may_precede(self) -> None:
        result = parse(
            '''
            import math

            def _helper(x):
                return x * 2

            class Thing:
                def method(self):
                    """Not a tool."""

            def another_helper(y: int) -> int:
                """Helpers may have docstrings too."""
                return y

            def area(radius: float) -> float:
                """Area of a circle.

                Args:
                    radius: Radius of the circle.
                """
                return math.pi * _helper(radius)
            '''
        )
        assert result.name == "area"
        assert props(result) == {"radius": {"type": "number", "description": "Radius of the circle."}}

    def test_helpers_without_docstrings_are_not_checked(self) -> None:
        result = parse(
            '''
            def helper(*args, **kwargs):
                pass

            def tool() -> str:
                """Does a thing."""
            '''
        )
        assert result.name == "tool"

    def test_async_def(self) -> None:
        result = parse(
            '''
            async def fetch(url: str) -> str:
                """Fetch a page.

                Args:
                    url: Address of the page.
                """
            '''
        )
        assert result.name == "fetch"
        assert required(result) == ["url"]

    def test_decorated_function(self) -> None:
        result = parse(
            '''
            @some_decorator(option=True)
            def decorated() -> str:
                """A decorated tool."""
            '''
        )
        assert result.name == "decorated"

    def test_nested_functions_are_ignored(self) -> None:
        result = parse(
            '''
            def outer() -> str:
                """The outer tool."""
                def inner(a, b):
                    return a
                return inner(1, 2)
            '''
        )
        assert result.name == "outer"
        assert props(result) == {}

    def test_agent_state_is_hidden_and_flagged(self) -> None:
        result = parse(
            '''
            def remember(agent_state: "AgentState", fact: str) -> str:
                """Store a fact.

                Args:
                    fact: The fact to store.
                """
            '''
        )
        assert result.wants_agent_state is True
        assert list(props(result)) == ["fact"]
        assert required(result) == ["fact"]

    def test_agent_state_with_any_annotation_or_position(self) -> None:
        result = parse(
            '''
            def tool(a: int, *, agent_state: SomeUnknownType = None) -> None:
                """Tool.

                Args:
                    a: An int.
                """
            '''
        )
        assert result.wants_agent_state is True
        assert list(props(result)) == ["a"]

    def test_self_is_hidden(self) -> None:
        result = parse(
            '''
            def tool(self, a: int) -> None:
                """Tool.

                Args:
                    a: An int.
                """
            '''
        )
        assert list(props(result)) == ["a"]
        assert result.wants_agent_state is False

    def test_positional_only_and_keyword_only_parameters(self) -> None:
        result = parse(
            '''
            def tool(a: int, b: str = "x", /, c: bool = True, *, d: float, e: int = 3) -> None:
                """Tool.

                Args:
                    a: A.
                    b: B.
                    c: C.
                    d: D.
                    e: E.
                """
            '''
        )
        assert list(props(result)) == ["a", "b", "c", "d", "e"]
        assert required(result) == ["a", "d"]
        assert props(result)["b"]["default"] == "x"
        assert props(result)["c"]["default"] is True
        assert "default" not in props(result)["d"]
        assert props(result)["e"]["default"] == 3

    def test_bare_star_is_allowed(self) -> None:
        result = parse(
            '''
            def tool(*, key: str) -> None:
                """Tool.

                Args:
                    key: Key.
                """
            '''
        )
        assert required(result) == ["key"]

    def test_unicode_in_docstring(self) -> None:
        result = parse(
            '''
            def greet(name: str) -> str:
                """Grüße — say hello 👋.

                Args:
                    name: Person's name (e.g. "José").
                """
            '''
        )
        assert result.description == "Grüße — say hello 👋."
        assert props(result)["name"]["description"] == 'Person\'s name (e.g. "José").'


# ---------------------------------------------------------------------------
# parse_tool_source: types
# ---------------------------------------------------------------------------


class TestTypes:
    @pytest.mark.parametrize(
        ("annotation", "expected"),
        [
            ("str", {"type": "string"}),
            ("int", {"type": "integer"}),
            ("float", {"type": "number"}),
            ("bool", {"type": "boolean"}),
            ("dict", {"type": "object"}),
            ("Dict", {"type": "object"}),
            ("typing.Dict", {"type": "object"}),
            ("list", {"type": "array"}),
            ("List[str]", {"type": "array", "items": {"type": "string"}}),
            ("list[int]", {"type": "array", "items": {"type": "integer"}}),
            ("typing.List[float]", {"type": "array", "items": {"type": "number"}}),
            ("Sequence[bool]", {"type": "array", "items": {"type": "boolean"}}),
            ("set[str]", {"type": "array", "items": {"type": "string"}}),
            ("tuple[int, ...]", {"type": "array", "items": {"type": "integer"}}),
            (
                "list[list[str]]",
                {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
            ),
            (
                "list[dict]",
                {"type": "array", "items": {"type": "object"}},
            ),
            ("dict[str, int]", {"type": "object", "additionalProperties": {"type": "integer"}}),
            ("Dict[str, Any]", {"type": "object"}),
            ("Any", {}),
            ("Annotated[int, 'meta']", {"type": "integer"}),
            ("'int'", {"type": "integer"}),
            ("'list[str]'", {"type": "array", "items": {"type": "string"}}),
            ("Union[int, str]", {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
            ("int | str", {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
            ("Union[int, Union[str, int]]", {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
            ("Union[int, Any]", {}),
            (
                "tuple[int, str]",
                {
                    "type": "array",
                    "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                    "minItems": 2,
                    "maxItems": 2,
                },
            ),
        ],
    )
    def test_required_types(self, annotation: str, expected: dict[str, Any]) -> None:
        schema, is_required = one_param(annotation)
        assert schema == expected
        assert is_required

    @pytest.mark.parametrize(
        ("annotation", "expected"),
        [
            ("Optional[int]", {"type": "integer"}),
            ("typing.Optional[str]", {"type": "string"}),
            ("int | None", {"type": "integer"}),
            ("None | int", {"type": "integer"}),
            ("Union[str, None]", {"type": "string"}),
            ("Optional[List[str]]", {"type": "array", "items": {"type": "string"}}),
            ("list[str] | None", {"type": "array", "items": {"type": "string"}}),
            ("Union[int, str, None]", {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
            ("'Optional[int]'", {"type": "integer"}),
            ("Literal['a', None]", {"type": "string", "enum": ["a"]}),
        ],
    )
    def test_optional_types_are_not_required(self, annotation: str, expected: dict[str, Any]) -> None:
        schema, is_required = one_param(annotation)
        assert schema == expected
        assert not is_required

    def test_no_annotation_is_string(self) -> None:
        result = parse(
            '''
            def echo(text, times=2):
                """Echo text.

                Args:
                    text: What to echo.
                    times: How many times.
                """
            '''
        )
        assert props(result) == {
            "text": {"type": "string", "description": "What to echo."},
            "times": {"type": "string", "description": "How many times.", "default": 2},
        }
        assert required(result) == ["text"]

    @pytest.mark.parametrize(
        ("annotation", "expected"),
        [
            ('Literal["a", "b"]', {"type": "string", "enum": ["a", "b"]}),
            ("typing.Literal['x']", {"type": "string", "enum": ["x"]}),
            ("Literal[1, 2, -3]", {"type": "integer", "enum": [1, 2, -3]}),
            ("Literal[1, 2.5]", {"type": "number", "enum": [1, 2.5]}),
            ("Literal[True, False]", {"type": "boolean", "enum": [True, False]}),
            ("Literal['a', 1]", {"enum": ["a", 1]}),
            ("Literal['a', 'a', 'b']", {"type": "string", "enum": ["a", "b"]}),
        ],
    )
    def test_literal_is_enum(self, annotation: str, expected: dict[str, Any]) -> None:
        schema, is_required = one_param(annotation)
        assert schema == expected
        assert is_required

    def test_literal_with_default(self) -> None:
        schema, is_required = one_param('Literal["celsius", "fahrenheit"]', ' = "celsius"')
        assert schema == {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}
        assert not is_required

    @pytest.mark.parametrize(
        ("default", "expected"),
        [
            (" = 5", 5),
            (" = -1", -1),
            (" = 2.5", 2.5),
            (" = 'x'", "x"),
            (" = False", False),
            (" = [1, 2]", [1, 2]),
            (" = (1, 2)", [1, 2]),
            (" = {'a': [1]}", {"a": [1]}),
        ],
    )
    def test_literal_defaults_are_recorded(self, default: str, expected: Any) -> None:
        schema, is_required = one_param("Any", default)
        assert schema["default"] == expected
        assert type(schema["default"]) is type(expected)
        assert not is_required

    @pytest.mark.parametrize(
        "default",
        [
            " = None",
            " = some_function()",
            " = CONSTANT",
            " = b'x'",
            " = {1, 2}",
            " = float('nan')",
            " = {1: 2}",
        ],
    )
    def test_other_defaults_make_optional_without_default(self, default: str) -> None:
        schema, is_required = one_param("Any", default)
        assert "default" not in schema
        assert not is_required

    def test_optional_with_none_default(self) -> None:
        schema, is_required = one_param("Optional[int]", " = None")
        assert schema == {"type": "integer"}
        assert not is_required


# ---------------------------------------------------------------------------
# parse_tool_source: docstrings
# ---------------------------------------------------------------------------


class TestDocstrings:
    def test_long_description_up_to_args(self) -> None:
        result = parse(
            '''
            def search(query: str, limit: int = 10) -> list:
                """Search the knowledge base.

                Looks up documents matching the query
                and returns their titles.

                Args:
                    query (str): Text to search for.
                    limit (int, optional): Maximum number of results.
                        Larger values are slower.

                Returns:
                    list: Matching titles.

                Raises:
                    ValueError: never.
                """
            '''
        )
        assert result.description == (
            "Search the knowledge base.\n\nLooks up documents matching the query\nand returns their titles."
        )
        assert result.json_schema["description"] == result.description
        assert props(result) == {
            "query": {"type": "string", "description": "Text to search for."},
            "limit": {
                "type": "integer",
                "description": "Maximum number of results. Larger values are slower.",
                "default": 10,
            },
        }
        assert required(result) == ["query"]

    def test_summary_on_line_after_quotes(self) -> None:
        result = parse(
            '''
            def tool(a: int) -> None:
                """
                Do the thing.

                Args:
                    a: An integer.
                """
            '''
        )
        assert result.description == "Do the thing."

    def test_single_line_docstring(self) -> None:
        result = parse("def ping() -> str:\n    'Check the service is up.'\n")
        assert result.description == "Check the service is up."

    def test_arg_formats(self) -> None:
        result = parse(
            '''
            def tool(a, b, c, d, e) -> None:
                """Tool.

                Arguments:
                    a (str): Form with a type.
                    b: Form without a type.
                    c (Dict[str, int], optional): Type with brackets: and a colon.
                    d:
                        Description only on the next line,
                        over two lines.
                    e: First paragraph.

                        Second paragraph.
                """
            '''
        )
        assert {name: p["description"] for name, p in props(result).items()} == {
            "a": "Form with a type.",
            "b": "Form without a type.",
            "c": "Type with brackets: and a colon.",
            "d": "Description only on the next line, over two lines.",
            "e": "First paragraph.\n\nSecond paragraph.",
        }

    @pytest.mark.parametrize("header", ["Args:", "Arguments:", "Parameters:", "Params:", "Keyword Args:"])
    def test_args_section_names(self, header: str) -> None:
        result = parse_tool_source(
            f'def f(x: int):\n    """Do it.\n\n    {header}\n        x: The x.\n    """\n'
        )
        assert props(result)["x"]["description"] == "The x."

    def test_unknown_headers_stay_in_description(self) -> None:
        result = parse(
            '''
            def tool() -> None:
                """Run the job.

                Usage:
                    call it once a day.

                Returns:
                    Nothing.
                """
            '''
        )
        assert result.description == "Run the job.\n\nUsage:\n    call it once a day."

    def test_returns_and_examples_ignored(self) -> None:
        result = parse(
            '''
            def tool(a: int) -> int:
                """Double a number.

                Args:
                    a: The number.

                Returns:
                    int: a: doubled (this must not override a's description).

                Example:
                    b: not a parameter.
                """
            '''
        )
        assert props(result)["a"]["description"] == "The number."
        assert "Returns" not in result.description

    def test_extra_documented_args_are_ignored(self) -> None:
        result = parse(
            '''
            def tool(a: int) -> None:
                """Tool.

                Args:
                    a: Used.
                    ghost: Not a parameter.
                    agent_state: The agent's state.
                """
            '''
        )
        assert list(props(result)) == ["a"]


# ---------------------------------------------------------------------------
# parse_tool_source: errors
# ---------------------------------------------------------------------------


def error_of(source: str) -> ToolSourceError:
    with pytest.raises(ToolSourceError) as info:
        parse(source)
    return info.value


class TestErrors:
    def test_is_value_error(self) -> None:
        assert issubclass(ToolSourceError, ValueError)

    def test_syntax_error_has_line_and_column(self) -> None:
        error = error_of(
            '''\
            def broken(x: int) -> str:
                """Docs."""
                return (x +
            '''
        )
        message = str(error)
        assert "syntax error" in message
        assert "line 3" in message
        assert "column" in message
        assert error.line == 3
        assert error.column is not None

    def test_indentation_error(self) -> None:
        with pytest.raises(ToolSourceError, match=r"syntax error at line 2"):
            parse_tool_source("def f():\nreturn 1\n")

    def test_null_byte(self) -> None:
        with pytest.raises(ToolSourceError):
            parse_tool_source("def f():\n    'x'\x00\n")

    def test_not_a_string(self) -> None:
        with pytest.raises(ToolSourceError, match="must be a string"):
            parse_tool_source(b"def f(): pass")  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "source",
        [
            "",
            "   \n",
            "# just a comment\n",
            "x = 1\nprint(x)\n",
            "class A:\n    def m(self):\n        'doc'\n",
            "f = lambda x: x\n",
        ],
    )
    def test_no_function(self, source: str) -> None:
        with pytest.raises(ToolSourceError, match="no function defined"):
            parse_tool_source(source)

    def test_missing_docstring(self) -> None:
        error = error_of(
            """\
            import os

            def tool(x: int) -> int:
                return x
            """
        )
        assert str(error) == (
            "line 3: function 'tool' has no docstring; describe the tool and its arguments "
            "in a Google-style docstring"
        )
        assert error.line == 3

    def test_missing_docstring_only_checks_the_last_function(self) -> None:
        error = error_of(
            '''
            def documented():
                """Has docs."""

            def undocumented():
                pass
            '''
        )
        assert "function 'undocumented' has no docstring" in str(error)

    @pytest.mark.parametrize("docstring", ['""""""', '"   "', "f'''formatted {1}'''"])
    def test_empty_or_non_literal_docstring(self, docstring: str) -> None:
        with pytest.raises(ToolSourceError, match="has no docstring"):
            parse_tool_source(f"def tool():\n    {docstring}\n")

    def test_docstring_without_description(self) -> None:
        error = error_of(
            '''\
            def tool(a: int):
                """
                Args:
                    a: The a.
                """
            '''
        )
        assert "docstring of function 'tool' has no description" in str(error)
        assert error.line == 2

    def test_parameter_without_description(self) -> None:
        error = error_of(
            '''\
            def tool(documented: int,
                     forgotten: str) -> None:
                """Tool.

                Args:
                    documented: Has one.
                """
            '''
        )
        assert "parameter 'forgotten'" in str(error)
        assert "no description" in str(error)
        assert "Args:" in str(error)
        assert str(error).startswith("line 2:")
        assert error.line == 2

    def test_parameter_without_args_section(self) -> None:
        error = error_of(
            '''\
            def tool(a: int) -> None:
                """Tool."""
            '''
        )
        assert "parameter 'a' of function 'tool' has no description" in str(error)

    def test_parameter_with_empty_description(self) -> None:
        error = error_of(
            '''\
            def tool(a: int) -> None:
                """Tool.

                Args:
                    a (int):
                """
            '''
        )
        assert "parameter 'a'" in str(error)

    def test_star_args_not_supported(self) -> None:
        error = error_of(
            '''\
            def tool(a: int, *rest: str) -> None:
                """Tool.

                Args:
                    a: A.
                    rest: The rest.
                """
            '''
        )
        assert "*rest" in str(error)
        assert "not supported" in str(error)
        assert error.line == 1

    def test_star_star_kwargs_not_supported(self) -> None:
        error = error_of(
            '''\
            def tool(
                a: int,
                **options,
            ) -> None:
                """Tool.

                Args:
                    a: A.
                """
            '''
        )
        assert "**options" in str(error)
        assert "not supported" in str(error)
        assert error.line == 3

    @pytest.mark.parametrize(
        ("annotation", "fragment"),
        [
            ("Foo", "unsupported type 'Foo'"),
            ("datetime.datetime", "unsupported type 'datetime.datetime'"),
            ("None", "'None' alone"),
            ("Callable[[int], int]", "unsupported type annotation"),
            ("'not a [type'", "is not a valid type"),
            ("Literal[some_var]", "Literal values must be constants"),
            ("Optional[int, str]", "Optional takes exactly one type"),
            ("list[int, str]", "exactly one item type"),
            ("dict[str]", "key type and a value type"),
            ("3", "is not a type"),
            ("x.y()", "unsupported type annotation"),
        ],
    )
    def test_unsupported_annotation(self, annotation: str, fragment: str) -> None:
        source = f'def f(\n    x: {annotation},\n):\n    """Do it.\n\n    Args:\n        x: The x.\n    """\n'
        with pytest.raises(ToolSourceError) as info:
            parse_tool_source(source)
        message = str(info.value)
        assert fragment in message
        assert "parameter 'x' of function 'f'" in message
        assert message.startswith("line 2:")

    def test_invalid_function_name(self) -> None:
        with pytest.raises(ToolSourceError, match="not a valid tool name"):
            parse_tool_source('def caf\u00e9():\n    """Coffee."""\n')

    def test_deeply_nested_source(self) -> None:
        source = "def f():\n    'doc'\n    x = " + "(" * 300 + ")" * 300 + "\n"
        try:
            result = parse_tool_source(source)
        except ToolSourceError:
            return  # too deep for this Python's parser: reported cleanly
        assert result.name == "f"


# ---------------------------------------------------------------------------
# parse_tool_source never executes anything
# ---------------------------------------------------------------------------


class TestNoExecution:
    def test_top_level_side_effects_do_not_run(self, tmp_path: Path) -> None:
        target = tmp_path / "created-by-tool"
        source = textwrap.dedent(
            f'''
            import os
            raise SystemExit("executed!")
            open({str(target)!r}, "w").write("pwned")
            os.system("touch {target}")

            def default_factory():
                open({str(target)!r}, "w").write("pwned")

            def tool(a: int = default_factory(), b: "__import__('os').system('x')" = 1) -> str:
                """Looks harmless.

                Args:
                    a: An int.
                    b: Another.
                """
                open({str(target)!r}, "w").write("pwned")
            '''
        )
        # A string annotation that is a call is rejected, never evaluated.
        with pytest.raises(ToolSourceError, match="parameter 'b'"):
            parse_tool_source(source)
        assert not target.exists()

        harmless = source.replace("b: \"__import__('os').system('x')\" = 1", "b: int = 1")
        result = parse_tool_source(harmless)
        assert result.name == "tool"
        assert "default" not in props(result)["a"]  # call defaults are not evaluated
        assert props(result)["b"]["default"] == 1
        assert not target.exists()

    def test_raise_system_exit_parses(self) -> None:
        result = parse(
            '''
            raise SystemExit(1)

            def tool() -> str:
                """A tool after a raise."""
            '''
        )
        assert result.name == "tool"

    def test_decorators_and_annotations_are_not_evaluated(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import builtins

        def explode(*_args: Any, **_kwargs: Any) -> None:
            raise AssertionError("code was executed")

        monkeypatch.setattr(builtins, "exec", explode)
        monkeypatch.setattr(builtins, "eval", explode)
        flag = "_mnemo_tool_schema_test_executed"
        set_flag = f"setattr(__import__('builtins'), {flag!r}, True)"
        result = parse_tool_source(
            f"{set_flag}\n"
            f"@{set_flag}\n"
            f'def tool(a: "int", b: int = {set_flag}) -> {set_flag}:\n'
            '    """Tool.\n\n    Args:\n        a: A.\n        b: B.\n    """\n'
            f"    {set_flag}\n"
        )
        assert props(result)["a"]["type"] == "integer"
        assert "default" not in props(result)["b"]
        assert not hasattr(builtins, flag)


# ---------------------------------------------------------------------------
# validate_json_schema
# ---------------------------------------------------------------------------


VALID_SCHEMA: dict[str, Any] = {
    "name": "get_weather",
    "description": "Get the weather.",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "City."},
            "days": {"type": ["integer", "null"]},
            "units": {"type": "string", "enum": ["c", "f"]},
            "points": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "number"}}}},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        },
        "required": ["location"],
    },
}


class TestValidateJsonSchema:
    def test_valid_schema_is_returned_as_copy(self) -> None:
        original = copy.deepcopy(VALID_SCHEMA)
        result = validate_json_schema(VALID_SCHEMA)
        assert result == VALID_SCHEMA
        assert VALID_SCHEMA == original  # input untouched
        result["parameters"]["properties"]["location"]["type"] = "integer"
        assert VALID_SCHEMA == original  # deep copy

    def test_normalises_missing_parts(self) -> None:
        assert validate_json_schema({"name": "noop"}) == {
            "name": "noop",
            "description": "",
            "parameters": {"type": "object", "properties": {}, "required": []},
        }
        assert validate_json_schema({"name": "noop", "description": None, "parameters": {}}) == {
            "name": "noop",
            "description": "",
            "parameters": {"type": "object", "properties": {}, "required": []},
        }

    def test_dedupes_required_and_keeps_extra_keys(self) -> None:
        result = validate_json_schema(
            {
                "name": "f",
                "description": "d",
                "strict": True,
                "parameters": {
                    "type": "object",
                    "properties": {"a": {"type": "string"}},
                    "required": ["a", "a"],
                    "additionalProperties": False,
                },
            }
        )
        assert result["strict"] is True
        assert result["parameters"]["required"] == ["a"]
        assert result["parameters"]["additionalProperties"] is False

    def test_unwraps_function_wrapper(self) -> None:
        wrapped = {"type": "function", "function": copy.deepcopy(VALID_SCHEMA)}
        assert validate_json_schema(wrapped) == VALID_SCHEMA

    @pytest.mark.parametrize(
        ("schema", "fragment"),
        [
            (["not", "a", "dict"], "json_schema must be an object, got a list"),
            ({}, "missing 'name'"),
            ({"name": ""}, "missing 'name'"),
            ({"name": 3}, "json_schema.name must be a string"),
            ({"name": "has space"}, "not a valid function name"),
            ({"name": "x" * 65}, "not a valid function name"),
            ({"name": "trailing_newline\n"}, "not a valid function name"),
            ({"name": "f", "description": 5}, "json_schema.description must be a string"),
            ({"name": "f", "parameters": "x"}, "json_schema.parameters must be an object"),
            ({"name": "f", "parameters": {"type": "array"}}, "json_schema.parameters.type must be 'object'"),
            (
                {"name": "f", "parameters": {"properties": []}},
                "json_schema.parameters.properties must be an object",
            ),
            (
                {"name": "f", "parameters": {"properties": {"a": "string"}}},
                "json_schema.parameters.properties.a must be a JSON schema object",
            ),
            (
                {"name": "f", "parameters": {"properties": {"a": {"type": "strin"}}}},
                "json_schema.parameters.properties.a.type 'strin' is not a JSON Schema type",
            ),
            (
                {"name": "f", "parameters": {"properties": {"a": {"type": []}}}},
                "type must not be an empty list",
            ),
            (
                {
                    "name": "f",
                    "parameters": {"properties": {"a": {"type": "array", "items": {"type": "str"}}}},
                },
                "json_schema.parameters.properties.a.items.type 'str'",
            ),
            (
                {"name": "f", "parameters": {"properties": {"a": {"anyOf": [{"type": "int"}]}}}},
                "json_schema.parameters.properties.a.anyOf[0].type 'int'",
            ),
            (
                {"name": "f", "parameters": {"properties": {"a": {"type": "string", "enum": []}}}},
                "enum must be a non-empty list",
            ),
            (
                {"name": "f", "parameters": {"properties": {"a": {"type": "string", "description": 1}}}},
                "properties.a.description must be a string",
            ),
            (
                {"name": "f", "parameters": {"required": "a"}},
                "json_schema.parameters.required must be a list",
            ),
            ({"name": "f", "parameters": {"required": [1]}}, "must contain only strings"),
            (
                {"name": "f", "parameters": {"properties": {}, "required": ["ghost"]}},
                "required names 'ghost', which is not in json_schema.parameters.properties",
            ),
            ({"name": "f", "extra": {1, 2}}, "must be plain JSON"),
            ({"name": "f", "extra": float("inf")}, "must be plain JSON"),
        ],
    )
    def test_errors_name_the_problem(self, schema: Any, fragment: str) -> None:
        with pytest.raises(ToolSourceError) as info:
            validate_json_schema(schema)
        assert fragment in str(info.value)


class TestSchemaFromArgsJsonSchema:
    def test_wraps_pydantic_style_schema(self) -> None:
        args = {
            "title": "WeatherArgs",
            "type": "object",
            "properties": {
                "location": {"title": "Location", "type": "string", "description": "City."},
                "unit": {"$ref": "#/$defs/Unit"},
            },
            "required": ["location"],
            "$defs": {"Unit": {"type": "string", "enum": ["c", "f"]}},
        }
        original = copy.deepcopy(args)
        result = schema_from_args_json_schema("get_weather", "Get the weather.", args)
        assert result == {
            "name": "get_weather",
            "description": "Get the weather.",
            "parameters": {
                "type": "object",
                "properties": args["properties"],
                "required": ["location"],
                "$defs": args["$defs"],
            },
        }
        assert args == original

    def test_fills_in_missing_parts(self) -> None:
        assert schema_from_args_json_schema("f", None, {"properties": {"a": {"type": "integer"}}}) == {
            "name": "f",
            "description": "",
            "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": []},
        }

    @pytest.mark.parametrize(
        ("args", "fragment"),
        [
            ([], "args_json_schema must be an object"),
            ({"type": "string"}, "args_json_schema.type must be 'object'"),
            ({"properties": {"a": {"type": "text"}}}, "args_json_schema.properties.a.type 'text'"),
            ({"properties": {}, "required": ["a"]}, "args_json_schema.required names 'a'"),
            ({"$defs": {"X": {"type": "nope"}}}, "args_json_schema.$defs.X.type 'nope'"),
            ({"properties": {"a": {"default": float("nan")}}}, "args_json_schema must be plain JSON"),
        ],
    )
    def test_errors_name_args_json_schema(self, args: Any, fragment: str) -> None:
        with pytest.raises(ToolSourceError) as info:
            schema_from_args_json_schema("f", "d", args)
        assert fragment in str(info.value)

    def test_bad_name(self) -> None:
        with pytest.raises(ToolSourceError, match="not a valid function name"):
            schema_from_args_json_schema("bad name", "d", {})


# ---------------------------------------------------------------------------
# builtin tools
# ---------------------------------------------------------------------------


EXPECTED_BUILTINS: dict[str, tuple[str, list[str], list[str]]] = {
    # name: (tool_type, all arguments in order, required arguments)
    "send_message": ("letta_core", ["message"], ["message"]),
    "conversation_search": (
        "letta_core",
        ["query", "roles", "limit", "page", "start_date", "end_date"],
        [],
    ),
    "core_memory_append": ("letta_memory_core", ["label", "content"], ["label", "content"]),
    "core_memory_replace": (
        "letta_memory_core",
        ["label", "old_content", "new_content"],
        ["label", "old_content", "new_content"],
    ),
    "memory_insert": ("letta_memory_core", ["label", "new_string", "insert_line"], ["label", "new_string"]),
    "memory_replace": (
        "letta_memory_core",
        ["label", "old_string", "new_string"],
        ["label", "old_string", "new_string"],
    ),
    "memory_rethink": ("letta_memory_core", ["label", "new_memory"], ["label", "new_memory"]),
    "archival_memory_insert": ("letta_core", ["content", "tags"], ["content"]),
    "archival_memory_search": (
        "letta_core",
        ["query", "tags", "tag_match_mode", "top_k", "start_datetime", "end_datetime"],
        ["query"],
    ),
}


class TestBuiltinTools:
    def test_names_and_order(self) -> None:
        assert list(BUILTIN_TOOLS) == list(EXPECTED_BUILTINS)

    @pytest.mark.parametrize("name", list(EXPECTED_BUILTINS))
    def test_definition(self, name: str) -> None:
        tool = BUILTIN_TOOLS[name]
        tool_type, arguments, required_args = EXPECTED_BUILTINS[name]
        assert isinstance(tool, BuiltinTool)
        assert tool.name == name
        assert tool.tool_type == tool_type
        assert tool.json_schema["name"] == name
        assert tool.json_schema["description"] == tool.description
        assert len(tool.description) > 40
        params = tool.json_schema["parameters"]
        assert params["type"] == "object"
        assert list(params["properties"]) == arguments
        assert params["required"] == required_args
        for arg_name, prop in params["properties"].items():
            assert prop.get("type") in {"string", "integer", "array"}, arg_name
            assert len(prop["description"]) > 10, arg_name

    @pytest.mark.parametrize("name", list(EXPECTED_BUILTINS))
    def test_schema_is_valid_and_normalised(self, name: str) -> None:
        schema = BUILTIN_TOOLS[name].json_schema
        assert validate_json_schema(schema) == schema
        assert json.loads(json.dumps(schema)) == schema

    def test_argument_types(self) -> None:
        def prop(tool: str, arg: str) -> dict[str, Any]:
            return BUILTIN_TOOLS[tool].json_schema["parameters"]["properties"][arg]

        assert prop("conversation_search", "roles")["items"] == {
            "type": "string",
            "enum": ["assistant", "user", "tool"],
        }
        assert prop("conversation_search", "limit")["type"] == "integer"
        assert prop("memory_insert", "insert_line")["type"] == "integer"
        assert prop("memory_insert", "insert_line")["default"] == -1
        assert prop("archival_memory_insert", "tags")["type"] == "array"
        assert prop("archival_memory_insert", "tags")["items"] == {"type": "string"}
        assert prop("archival_memory_search", "tags")["items"] == {"type": "string"}
        assert prop("archival_memory_search", "tag_match_mode")["enum"] == ["any", "all"]
        assert prop("archival_memory_search", "tag_match_mode")["default"] == "any"
        assert prop("archival_memory_search", "top_k")["type"] == "integer"
        for tool, arg in [
            ("conversation_search", "start_date"),
            ("conversation_search", "end_date"),
            ("archival_memory_search", "start_datetime"),
            ("archival_memory_search", "end_datetime"),
        ]:
            assert prop(tool, arg)["type"] == "string"
            assert "ISO 8601" in prop(tool, arg)["description"]

    def test_dataclass_is_frozen(self) -> None:
        with pytest.raises(AttributeError):
            BUILTIN_TOOLS["send_message"].name = "x"  # type: ignore[misc]

    def test_terminal_tools(self) -> None:
        assert TERMINAL_BASE_TOOLS == {"send_message"}
        assert TERMINAL_BASE_TOOLS <= set(BUILTIN_TOOLS)


class TestBaseToolNames:
    @pytest.mark.parametrize(
        ("agent_type", "expected"),
        [
            ("letta_v1_agent", ["conversation_search", "memory_insert", "memory_replace"]),
            ("memgpt_v2_agent", ["send_message", "conversation_search", "memory_insert", "memory_replace"]),
            (
                "memgpt_agent",
                ["send_message", "conversation_search", "core_memory_append", "core_memory_replace"],
            ),
            (
                "react_agent",
                ["send_message", "conversation_search", "core_memory_append", "core_memory_replace"],
            ),
            (
                "something_else",
                ["send_message", "conversation_search", "core_memory_append", "core_memory_replace"],
            ),
        ],
    )
    def test_by_agent_type(self, agent_type: str, expected: list[str]) -> None:
        assert base_tool_names(agent_type) == expected
        assert set(expected) <= set(BUILTIN_TOOLS)

    @pytest.mark.parametrize("agent_type", ["letta_v1_agent", "memgpt_v2_agent", "memgpt_agent"])
    def test_sleeptime(self, agent_type: str) -> None:
        assert base_tool_names(agent_type, enable_sleeptime=True) == [
            "send_message",
            "conversation_search",
            "archival_memory_search",
        ]

    def test_default_type(self) -> None:
        assert DEFAULT_AGENT_TYPE == "letta_v1_agent"
        assert base_tool_names() == base_tool_names("letta_v1_agent")

    def test_returns_fresh_lists(self) -> None:
        names = base_tool_names("letta_v1_agent")
        names.append("mutated")
        assert "mutated" not in base_tool_names("letta_v1_agent")
