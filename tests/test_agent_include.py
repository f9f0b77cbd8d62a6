"""`include` (Letta 1.x) and `include_relationships` (older) on reading agents:
only the relationships asked for are loaded, the others are left empty; no
parameter means every relationship, as before."""
from __future__ import annotations

import time

import pytest
from letta_client import Letta

from tests.util import Rest, tool_source, uid


@pytest.fixture(scope="module")
def rest(http):
    return Rest(http)


@pytest.fixture(scope="module")
def agent(rest):
    tag = uid()
    tool = rest.post("/v1/tools", {"source_code": tool_source(f"t_{tag.replace('-', '_')}")})
    created = rest.post("/v1/agents", {
        "name": f"inc-{tag}", "tags": [tag, "x"], "tool_ids": [tool["id"]], "include_base_tools": False,
        "memory_blocks": [{"label": "human", "value": "Bob"}], "secrets": {"API_TOKEN": "s3cret-value"},
    })
    return created, tag


def relations(agent: dict) -> dict[str, bool]:
    return {"blocks": bool(agent["memory"]["blocks"]) and bool(agent["blocks"]), "tools": bool(agent["tools"]),
            "tags": bool(agent["tags"]), "secrets": bool(agent["secrets"])}


def test_everything_without_the_parameter(rest, agent):
    created, _ = agent
    assert relations(rest.get(f"/v1/agents/{created['id']}")) == dict.fromkeys(("blocks", "tools", "tags", "secrets"),
                                                                               True)


@pytest.mark.parametrize(("params", "expected"), [
    ({"include": ["agent.tools"]}, {"tools"}),
    ({"include": ["agent.blocks", "agent.tags"]}, {"blocks", "tags"}),
    ({"include": ["agent.secrets"]}, {"secrets"}),
    ({"include": ["agent.sources"]}, set()),
    ({"include_relationships": ["memory"]}, {"blocks"}),
    ({"include_relationships": ["tools", "tags"]}, {"tools", "tags"}),
])
def test_only_what_is_asked_for(rest, agent, params, expected):
    created, tag = agent
    got = rest.get(f"/v1/agents/{created['id']}", params=params)
    assert {k for k, v in relations(got).items() if v} == expected
    assert got["id"] == created["id"] and got["llm_config"]["model"]  # the agent's own columns are always there
    listed = rest.get("/v1/agents", params={**params, "name": created["name"]})
    assert [a["id"] for a in listed] == [created["id"]]
    assert {k for k, v in relations(listed[0]).items() if v} == expected


def test_unknown_relationships_are_refused_by_name(rest, agent):
    created, _ = agent
    rest.get(f"/v1/agents/{created['id']}", params={"include": ["agent.tools", "agent.everything"]},
             expect=400, contains="include[1]")
    rest.get("/v1/agents", params={"include_relationships": ["friends"]}, expect=400, contains="include_relationships[0]")


def test_strict_sdk_with_include(stack, agent):
    created, _ = agent
    with Letta(base_url=stack.http_base, max_retries=0, _strict_response_validation=True) as sdk:
        got = sdk.agents.retrieve(created["id"], include=["agent.blocks"])
        assert [b.label for b in got.memory.blocks] == ["human"] and got.tools == []


def test_fewer_relationships_read_faster(rest, agent):
    """Measured, not asserted tightly: a page of agents without relationships skips their queries."""
    created, _ = agent
    def timed(params: dict) -> float:
        best = float("inf")
        for _ in range(15):
            start = time.perf_counter()
            rest.get("/v1/agents", params={"limit": 50, **params})
            best = min(best, time.perf_counter() - start)
        return best
    everything, bare = timed({}), timed({"include": ["agent.tags"]})
    print(f"list 50 agents: every relationship {everything * 1000:.1f} ms, tags only {bare * 1000:.1f} ms")
    assert bare < everything * 1.5  # never slower beyond noise
