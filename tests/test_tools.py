"""Tools: ToolService over gRPC and REST (metadata only; nothing is run)."""
from __future__ import annotations

import grpc
import pytest
from mnemo.v1 import tools_pb2

from tests.util import ROLL_DICE, Rest, Stubs, assert_status, ids, pb, to_dict, tool_source, uid

INVALID, NOT_FOUND, EXISTS, PRECONDITION = (
    grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
)
BUILTIN_TYPES = {"letta_core", "letta_memory_core", "letta_sleeptime_core", "letta_multi_agent_core",
                 "letta_builtin"}



@pytest.fixture(scope="module")
def rest(http) -> Rest:
    return Rest(http)


@pytest.fixture(scope="module")
def stubs(channel) -> Stubs:
    return Stubs(channel)


def adder(name: str) -> str:
    return f'''def {name}(a: int, b: int = 2, label: str | None = None) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
        label: An optional label.

    Returns:
        int: The sum.
    """
    return a + b
'''


def test_create_roll_dice_from_source(rest, stubs):
    tool = rest.post("/v1/tools", {"source_code": ROLL_DICE})
    try:
        assert tool["id"].startswith("tool-")
        assert tool["name"] == "roll_dice"
        assert tool["tool_type"] == "custom" and tool["source_type"] == "python"
        assert tool["source_code"] == ROLL_DICE
        assert tool["description"].startswith("Simulate the roll of a 20-sided die (d20).")
        schema = tool["json_schema"]
        assert schema["name"] == "roll_dice"
        assert schema["description"] == tool["description"]
        assert schema["parameters"] == {"type": "object", "properties": {}, "required": []}
        assert tool["return_char_limit"] == 50000
        assert tool["metadata_"] == {} and "metadata" not in tool

        got = stubs.tools.GetTool(tools_pb2.GetToolRequest(tool_id=tool["id"]))
        assert got.name == "roll_dice" and to_dict(got.json_schema) == schema
        assert rest.get(f"/v1/tools/{tool['id']}") == tool
    finally:
        rest.delete(f"/v1/tools/{tool['id']}")


def test_create_with_args_grpc(stubs, rest):
    name = f"add_{uid()}"
    tool = stubs.tools.CreateTool(pb(tools_pb2.CreateToolRequest, source_code=adder(name), tags=["math"],
                                     return_char_limit=100, metadata_={"owner": "qa"},
                                     pip_requirements=[{"name": "numpy", "version": "1.26"}]))
    schema = to_dict(tool.json_schema)
    assert schema["name"] == name and schema["description"].startswith("Add two numbers.")
    params = schema["parameters"]
    assert params["type"] == "object" and params["required"] == ["a"]
    assert params["properties"]["a"] == {"type": "integer", "description": "The first number."}
    assert params["properties"]["b"]["type"] == "integer"
    assert params["properties"]["b"]["description"] == "The second number."
    assert "label" in params["properties"]
    assert list(tool.tags) == ["math"] and tool.return_char_limit == 100
    assert to_dict(tool.metadata_) == {"owner": "qa"}
    assert [(p.name, p.version) for p in tool.pip_requirements] == [("numpy", "1.26")]
    over_rest = rest.get(f"/v1/tools/{tool.id}")
    assert over_rest["metadata_"] == {"owner": "qa"} and over_rest["json_schema"] == schema
    assert over_rest["pip_requirements"] == [{"name": "numpy", "version": "1.26"}]


def test_explicit_schemas_and_description(rest):
    name = f"explicit_{uid()}"
    described = rest.post("/v1/tools", {"source_code": tool_source(name), "description": "Overridden."})
    assert described["description"] == "Overridden." and described["json_schema"]["description"] == "Overridden."

    args_schema = {"type": "object", "properties": {"city": {"type": "string", "description": "A city."}},
                   "required": ["city"]}
    other = f"weather_{uid()}"
    tool = rest.post("/v1/tools", {"source_code": tool_source(other, params="city: str"),
                                   "args_json_schema": args_schema})
    assert tool["json_schema"]["parameters"]["properties"]["city"]["description"] == "A city."
    assert tool["args_json_schema"] == args_schema
    rest.post("/v1/tools", {"source_code": tool_source(f"bad_{uid()}"), "args_json_schema": {"type": "string"}},
              expect=400, contains="args_json_schema")
    rest.post("/v1/tools", {"source_code": "def f(:", "args_json_schema": args_schema}, expect=400,
              contains="source_code")


def test_metadata_key_is_metadata_underscore(rest):
    tool = rest.post("/v1/tools", {"source_code": tool_source(f"meta_{uid()}"), "metadata_": {"a": [1, "b"]}})
    assert tool["metadata_"] == {"a": [1, "b"]}
    updated = rest.patch(f"/v1/tools/{tool['id']}", {"metadata_": {"c": True}})
    assert updated["metadata_"] == {"c": True}
    assert rest.get(f"/v1/tools/{tool['id']}")["metadata_"] == {"c": True}


def test_upsert_keeps_the_id(rest, stubs):
    name = f"upserted_{uid()}"
    first = rest.put("/v1/tools", {"source_code": tool_source(name, doc="First version.")})
    assert first["description"] == "First version."
    second = rest.put("/v1/tools", {"source_code": tool_source(name, doc="Second version."), "tags": ["v2"]})
    assert second["id"] == first["id"]
    assert second["description"] == "Second version." and second["tags"] == ["v2"]
    third = stubs.tools.UpsertTool(tools_pb2.CreateToolRequest(source_code=tool_source(name, doc="Third.")))
    assert third.id == first["id"] and third.description == "Third."
    assert rest.get(f"/v1/tools/{first['id']}")["description"] == "Third."
    assert len(rest.get("/v1/tools", params={"name": name})) == 1


def test_duplicate_name_on_create(rest, stubs):
    name = f"dup_{uid()}"
    rest.post("/v1/tools", {"source_code": tool_source(name)})
    body = rest.post("/v1/tools", {"source_code": tool_source(name, doc="Other.")}, expect=409, contains="name")
    assert body["code"] == grpc.StatusCode.ALREADY_EXISTS.value[0]
    assert_status(lambda: stubs.tools.CreateTool(tools_pb2.CreateToolRequest(source_code=tool_source(name))),
                  EXISTS)


def test_bad_source(rest, stubs):
    rest.post("/v1/tools", {"source_code": "def broken(:\n    pass\n"}, expect=400, contains="source_code")
    body = rest.post("/v1/tools", {"source_code": "def broken(:\n    pass\n"}, expect=400)
    assert "line 1" in body["detail"] and "syntax" in body["detail"]
    body = rest.post("/v1/tools", {"source_code": "def nodoc(x: int) -> str:\n    return str(x)\n"}, expect=400,
                     contains="source_code")
    assert "docstring" in body["detail"] and "nodoc" in body["detail"]
    rest.post("/v1/tools", {"source_code": "x = 1\n"}, expect=400, contains="source_code")
    rest.post("/v1/tools", {}, expect=400, contains="source_code")
    rest.post("/v1/tools", {"source_code": tool_source("js"), "source_type": "javascript"}, expect=400,
              contains="source_type")
    assert_status(lambda: stubs.tools.CreateTool(tools_pb2.CreateToolRequest(source_code="def f(:")),
                  INVALID, "source_code")
    rest.post("/v1/tools", {"source_code": tool_source(f"lim_{uid()}"), "return_char_limit": 0}, expect=400,
              contains="return_char_limit")
    rest.post("/v1/tools", {"source_code": tool_source(f"req_{uid()}"), "pip_requirements": [{"version": "1"}]},
              expect=400, contains="pip_requirements[0].name")


def test_update(rest, stubs):
    name = f"upd_{uid()}"
    tool = rest.post("/v1/tools", {"source_code": tool_source(name, doc="Old doc."), "tags": ["a"]})
    path = f"/v1/tools/{tool['id']}"

    # Partial: only the tags change.
    updated = rest.patch(path, {"tags": ["b", "c"]})
    assert updated["tags"] == ["b", "c"] and updated["source_code"] == tool["source_code"]
    assert updated["json_schema"] == tool["json_schema"]

    # New source: the schema is read again.
    new_source = adder(name)
    updated = rest.patch(path, {"source_code": new_source})
    assert updated["id"] == tool["id"] and updated["source_code"] == new_source
    assert updated["description"].startswith("Add two numbers.")
    assert updated["json_schema"]["parameters"]["required"] == ["a"]
    assert updated["tags"] == ["b", "c"]

    # Renaming the function renames the tool.
    renamed = f"renamed_{uid()}"
    assert rest.patch(path, {"source_code": adder(renamed)})["name"] == renamed
    # Only the description: the schema's description follows.
    described = rest.patch(path, {"description": "Sums."})
    assert described["description"] == "Sums." and described["json_schema"]["description"] == "Sums."
    assert described["json_schema"]["parameters"]["required"] == ["a"]

    rest.patch(path, {"source_code": "def nope(:"}, expect=400, contains="source_code")
    assert rest.get(path)["name"] == renamed  # unchanged by the failed update

    got = stubs.tools.UpdateTool(pb(tools_pb2.UpdateToolRequest, tool_id=tool["id"], return_char_limit=10,
                                    default_requires_approval=True, pip_requirements=[{"name": "rich"}]))
    assert got.return_char_limit == 10 and got.default_requires_approval
    assert [p.name for p in got.pip_requirements] == ["rich"]
    assert got.name == renamed

    # Taking the name of another tool is refused.
    taken = rest.post("/v1/tools", {"source_code": tool_source(f"taken_{uid()}")})
    rest.patch(path, {"source_code": tool_source(taken["name"])}, expect=409)


def test_builtin_tools(rest, stubs):
    builtins = rest.get("/v1/tools", params={"return_only_letta_tools": True, "limit": 100})
    by_name = {t["name"]: t for t in builtins}
    assert {"send_message", "conversation_search", "memory_insert", "memory_replace", "core_memory_append",
            "core_memory_replace", "archival_memory_insert", "archival_memory_search"} <= set(by_name)
    assert all(t["tool_type"] in BUILTIN_TYPES for t in builtins)
    assert by_name["send_message"]["json_schema"]["parameters"]["required"] == ["message"]
    core = rest.get("/v1/tools", params={"tool_types": ["letta_memory_core"], "limit": 100})
    assert core and {t["tool_type"] for t in core} == {"letta_memory_core"}
    assert "memory_insert" in {t["name"] for t in core}

    send = by_name["send_message"]
    body = rest.patch(f"/v1/tools/{send['id']}", {"description": "mine now"}, expect=400, contains="built-in")
    assert body["code"] == grpc.StatusCode.FAILED_PRECONDITION.value[0]
    rest.delete(f"/v1/tools/{send['id']}", expect=400, contains="built-in")
    assert_status(lambda: stubs.tools.DeleteTool(tools_pb2.DeleteToolRequest(tool_id=send["id"])), PRECONDITION)
    assert_status(lambda: stubs.tools.UpdateTool(tools_pb2.UpdateToolRequest(tool_id=send["id"], description="x")),
                  PRECONDITION)
    # A custom tool cannot take a built-in's name, by create or upsert.
    shadow = tool_source("send_message", params="message: str", args="        message: The text.")
    rest.post("/v1/tools", {"source_code": shadow}, expect=409)
    rest.put("/v1/tools", {"source_code": shadow}, expect=400, contains="built-in")
    assert rest.get(f"/v1/tools/{send['id']}") == send


def test_list_filters_count_and_paging(rest, stubs):
    tag = uid()
    made = [rest.post("/v1/tools", {"source_code": tool_source(f"f{i}_{tag}", doc=f"Finds {tag} things.")})
            for i in range(3)]
    made_ids = ids(made)

    def listed(**params) -> list[str]:
        over_rest = rest.get("/v1/tools", params=params)
        assert ids(stubs.tools.ListTools(pb(tools_pb2.ListToolsRequest, params)).tools) == ids(over_rest)
        return ids(over_rest)

    assert listed(name=f"f1_{tag}") == [made_ids[1]]
    assert listed(names=[f"f0_{tag}", f"f2_{tag}"]) == [made_ids[2], made_ids[0]]
    assert listed(tool_ids=made_ids[:2]) == made_ids[1::-1]
    assert listed(search=f"F1_{tag}") == [made_ids[1]]
    assert listed(search=f"finds {tag}") == made_ids[::-1]  # in the description
    assert listed(search=tag, order="asc") == made_ids
    assert listed(search=tag, limit=2) == made_ids[:0:-1]
    assert listed(search=tag, limit=2, after=made_ids[1]) == [made_ids[0]]
    assert listed(search=tag, before=made_ids[0]) == made_ids[:0:-1]
    assert listed(search=tag, after=made_ids[0]) == []
    assert listed(search=tag, tool_types=["custom"]) == made_ids[::-1]
    assert listed(search=tag, tool_types=["letta_core"]) == []
    assert listed(search=tag, exclude_tool_types=["custom"]) == []
    assert listed(search=tag, return_only_letta_tools=True) == []
    assert listed(name="send_message", exclude_tool_types=["custom"]) != []

    total = rest.get("/v1/tools/count")
    assert total == stubs.tools.CountTools(tools_pb2.CountToolsRequest()).count
    assert total >= 3 + len(rest.get("/v1/tools", params={"return_only_letta_tools": True, "limit": 100}))
    rest.post("/v1/tools", {"source_code": tool_source(f"counted_{uid()}")})
    assert rest.get("/v1/tools/count") == total + 1


def test_get_and_delete(rest, stubs):
    tool = rest.post("/v1/tools", {"source_code": tool_source(f"del_{uid()}")})
    assert rest.delete(f"/v1/tools/{tool['id']}") == {}
    rest.get(f"/v1/tools/{tool['id']}", expect=404, contains=tool["id"])
    rest.delete(f"/v1/tools/{tool['id']}", expect=404)
    rest.patch(f"/v1/tools/{tool['id']}", {"tags": []}, expect=404)
    other = stubs.tools.CreateTool(tools_pb2.CreateToolRequest(source_code=tool_source(f"del_{uid()}")))
    stubs.tools.DeleteTool(tools_pb2.DeleteToolRequest(tool_id=other.id))
    assert_status(lambda: stubs.tools.GetTool(tools_pb2.GetToolRequest(tool_id=other.id)), NOT_FOUND, other.id)
    assert_status(lambda: stubs.tools.GetTool(tools_pb2.GetToolRequest()), INVALID, "tool_id")
