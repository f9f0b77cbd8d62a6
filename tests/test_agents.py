"""Agents: AgentService over gRPC and REST, with their blocks, tools,
identities, models and secrets."""
from __future__ import annotations

import grpc
import pytest
from mnemo.v1 import agents_pb2, blocks_pb2, tools_pb2

from tests.util import Rest, Stubs, assert_status, ids, pb, to_dict, tool_source, ts, uid

INVALID, NOT_FOUND, EXISTS = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                              grpc.StatusCode.ALREADY_EXISTS)
MISSING_AGENT = "agent-00000000-0000-0000-0000-000000000000"
LETTA_V1_BASE = ["conversation_search", "memory_insert", "memory_replace"]


@pytest.fixture(scope="module")
def rest(http) -> Rest:
    return Rest(http)


@pytest.fixture(scope="module")
def stubs(channel) -> Stubs:
    return Stubs(channel)


def names(tools) -> list[str]:
    return [t["name"] if isinstance(t, dict) else t.name for t in tools]


def labels(blocks) -> list[str]:
    return [b["label"] if isinstance(b, dict) else b.label for b in blocks]


def custom_tool(rest, prefix: str = "tool") -> dict:
    return rest.post("/v1/tools", {"source_code": tool_source(f"{prefix}_{uid()}")})


def identity(rest, **extra) -> dict:
    return rest.post("/v1/identities", {"identifier_key": f"key-{uid()}", "name": "Someone", "identity_type": "user",
                                        **extra})


def agent(rest, **body) -> dict:
    return rest.post("/v1/agents", {"include_base_tools": False, **body})


# -- create -------------------------------------------------------------------

def test_create_rest_with_everything(rest):
    tag = uid()
    shared = rest.post("/v1/blocks", {"label": f"shared_{tag}", "value": "shared text"})
    by_name, by_id = custom_tool(rest, "by_name"), custom_tool(rest, "by_id")
    person = identity(rest)
    created = rest.post("/v1/agents", {
        "name": f"full-{tag}", "description": "an agent", "system": "You are a test.",
        "metadata": {"team": "qa", "n": 1}, "tags": [tag, "extra", tag],
        "memory_blocks": [{"label": "human", "value": "Name: Ana"},
                          {"label": "persona", "value": "helpful", "limit": 100, "read_only": True}],
        "block_ids": [shared["id"]], "tools": [by_name["name"]], "tool_ids": [by_id["id"]],
        "identity_ids": [person["id"]], "model": "openai/gpt-4o", "context_window_limit": 16000,
        "embedding": "openai/text-embedding-3-small", "timezone": "Europe/Paris",
    })
    assert created["id"].startswith("agent-")
    assert created["name"] == f"full-{tag}" and created["agent_type"] == "letta_v1_agent"
    assert created["description"] == "an agent" and created["system"] == "You are a test."
    assert created["metadata"] == {"team": "qa", "n": 1}
    assert created["tags"] == [tag, "extra"]
    assert labels(created["blocks"]) == ["human", "persona", f"shared_{tag}"]
    assert created["blocks"][0]["value"] == "Name: Ana" and created["blocks"][1]["limit"] == 100
    assert created["blocks"][1]["read_only"] is True
    assert created["blocks"][2]["id"] == shared["id"]
    assert created["memory"]["blocks"] == created["blocks"]
    # Base tools first (include_base_tools defaults to true), then by name, then by id.
    assert names(created["tools"]) == [*LETTA_V1_BASE, by_name["name"], by_id["name"]]
    assert created["identity_ids"] == [person["id"]]
    assert created["identities"][0]["identifier_key"] == person["identifier_key"]
    llm = created["llm_config"]
    assert created["model"] == "openai/gpt-4o"
    assert (llm["model"], llm["model_endpoint_type"], llm["handle"]) == ("gpt-4o", "openai", "openai/gpt-4o")
    assert llm["context_window"] == 16000
    assert created["embedding"] == "openai/text-embedding-3-small"
    assert created["embedding_config"]["embedding_model"] == "text-embedding-3-small"
    assert created["embedding_config"]["embedding_dim"] == 1536
    assert created["timezone"] == "Europe/Paris"
    assert created["message_ids"] == [] and created["sources"] == []

    got = rest.get(f"/v1/agents/{created['id']}")
    assert got == created
    # `include` loads only what it names (tests/test_agent_include.py has the rest).
    only_blocks = rest.get(f"/v1/agents/{created['id']}", params={"include": ["agent.blocks"]})
    assert only_blocks["blocks"] == created["blocks"] and only_blocks["tools"] == only_blocks["identities"] == []


def test_create_grpc_and_get_both_ways(stubs, rest):
    tag = uid()
    made = stubs.agents.CreateAgent(pb(agents_pb2.CreateAgentRequest, {
        "name": f"grpc-{tag}", "tags": [tag], "metadata": {"k": "v"},
        "memory_blocks": [{"label": "notes", "value": "n", "tags": ["bt"]}],
        "model": "anthropic/claude-haiku-4-5",
    }))
    assert made.name == f"grpc-{tag}" and list(made.tags) == [tag]
    assert to_dict(made.metadata) == {"k": "v"}
    assert [b.label for b in made.blocks] == ["notes"] and list(made.blocks[0].tags) == ["bt"]
    assert made.llm_config.model_endpoint_type == "anthropic" and made.llm_config.model == "claude-haiku-4-5"
    assert stubs.agents.GetAgent(agents_pb2.GetAgentRequest(agent_id=made.id)) == made
    over_rest = rest.get(f"/v1/agents/{made.id}")
    assert over_rest["name"] == made.name and ids(over_rest["blocks"]) == [made.blocks[0].id]


def test_include_base_tools(rest, stubs):
    default = rest.post("/v1/agents", {})
    assert default["agent_type"] == "letta_v1_agent"
    assert names(default["tools"]) == LETTA_V1_BASE
    assert {t["tool_type"] for t in default["tools"]} <= {"letta_core", "letta_memory_core"}
    assert default["tool_rules"] == []  # letta_v1_agent has no default rules
    assert rest.post("/v1/agents", {"include_base_tools": False})["tools"] == []
    made = stubs.agents.CreateAgent(agents_pb2.CreateAgentRequest(include_base_tools=True, tools=["send_message"]))
    assert names(made.tools) == [*LETTA_V1_BASE, "send_message"]


def test_memgpt_agent_type(rest):
    made = rest.post("/v1/agents", {"agent_type": "memgpt_agent"})
    assert made["agent_type"] == "memgpt_agent"
    assert "send_message" in names(made["tools"])
    assert {"type": "exit_loop", "tool_name": "send_message"} in [
        {k: v for k, v in r.items() if k in ("type", "tool_name")} for r in made["tool_rules"]]
    assert made["system"] != rest.post("/v1/agents", {})["system"]  # a default prompt for its type

    v2 = rest.post("/v1/agents", {"agent_type": "memgpt_v2_agent"})
    assert names(v2["tools"]) == ["send_message", "conversation_search", "memory_insert", "memory_replace"]
    assert [(r["type"], r["tool_name"]) for r in v2["tool_rules"]] == [("exit_loop", "send_message")]

    no_rules = rest.post("/v1/agents", {"agent_type": "memgpt_agent", "include_base_tool_rules": False})
    assert no_rules["tool_rules"] == []
    # An explicit rule about the same tool wins over the default one.
    custom = rest.post("/v1/agents", {"agent_type": "memgpt_agent", "tool_rules": [
        {"type": "max_count_per_step", "tool_name": "send_message", "max_count_limit": 2}]})
    assert [(r["type"], r["tool_name"]) for r in custom["tool_rules"]] == [("max_count_per_step", "send_message")]


def test_generated_name(rest, stubs):
    first, second = rest.post("/v1/agents", {}), rest.post("/v1/agents", {"name": "   "})
    assert first["name"].strip() and second["name"].strip()
    assert first["name"] != second["name"]
    assert stubs.agents.CreateAgent(agents_pb2.CreateAgentRequest()).name


def test_secrets_are_never_returned(rest, stubs):
    secret, older = f"s3cr3t-{uid()}", f"older-{uid()}"
    block = rest.post("/v1/blocks", {"label": f"sec_{uid()}"})
    r = rest.raw("POST", "/v1/agents", {"secrets": {"API_TOKEN": secret},
                                         "tool_exec_environment_variables": {"OLD_STYLE": older},
                                         "block_ids": [block["id"]], "tags": [secret[-10:]]})
    assert r.status_code == 200, r.text
    created = r.json()
    assert secret not in r.text and older not in r.text
    assert [s["key"] for s in created["secrets"]] == ["API_TOKEN", "OLD_STYLE"]
    assert [s["key"] for s in created["tool_exec_environment_variables"]] == ["API_TOKEN", "OLD_STYLE"]
    assert all(s.get("value") in (None, "") and s["agent_id"] == created["id"] for s in created["secrets"])

    agent_id = created["id"]
    for path, params in ((f"/v1/agents/{agent_id}", None), ("/v1/agents", {"tags": secret[-10:]}),
                         (f"/v1/blocks/{block['id']}/agents", None)):
        raw = rest.raw("GET", path, params=params)
        assert raw.status_code == 200 and agent_id in raw.text
        assert secret not in raw.text and older not in raw.text

    got = stubs.agents.GetAgent(agents_pb2.GetAgentRequest(agent_id=agent_id))
    assert not any(s.HasField("value") for s in got.secrets)
    assert secret.encode() not in got.SerializeToString()

    # Updating replaces the set of secrets, still without echoing values.
    newer = f"newer-{uid()}"
    raw = rest.raw("PATCH", f"/v1/agents/{agent_id}", {"secrets": {"NEW_KEY": newer}})
    assert raw.status_code == 200 and newer not in raw.text
    assert [s["key"] for s in raw.json()["secrets"]] == ["NEW_KEY"]
    rest.patch(f"/v1/agents/{agent_id}", {"secrets": {"BAD": 3}}, expect=400, contains="secrets")


def test_model_handles(rest, stubs):
    anthropic = rest.post("/v1/agents", {"model": "anthropic/claude-haiku-4-5"})
    assert anthropic["llm_config"]["model_endpoint_type"] == "anthropic"
    default = rest.post("/v1/agents", {})
    assert default["model"] == "openai/gpt-4o-mini"  # the default with OpenAI configured
    assert default["llm_config"]["context_window"] > 0
    # The limit never exceeds the model's own window (gpt-4o: 128k).
    capped = rest.post("/v1/agents", {"model": "openai/gpt-4o", "context_window_limit": 10_000_000})
    assert capped["llm_config"]["context_window"] == 128_000
    rest.post("/v1/agents", {"model": "openai/gpt-4o", "context_window_limit": 10}, expect=400,
              contains="context_window_limit")
    rest.post("/v1/agents", {"model": "gpt-4o"}, expect=400, contains="model")
    rest.post("/v1/agents", {"model": "nosuchprovider/x"}, expect=400, contains="model")
    assert_status(lambda: stubs.agents.CreateAgent(agents_pb2.CreateAgentRequest(model="/x")), INVALID, "model")
    rest.post("/v1/agents", {"embedding": "anthropic/x"}, expect=400, contains="embedding")
    rest.post("/v1/agents", {"embedding": "nope"}, expect=400, contains="embedding")


def test_full_model_configs(rest):
    """The Letta pattern of copying configs from another agent."""
    source = rest.post("/v1/agents", {"include_base_tools": False, "model": "openai/gpt-4o",
                                      "context_window_limit": 12000})
    llm = {**source["llm_config"], "temperature": 0.25}
    copy = rest.post("/v1/agents", {"include_base_tools": False, "llm_config": llm,
                                    "embedding_config": source["embedding_config"]})
    assert copy["llm_config"] == llm and copy["model"] == "openai/gpt-4o"
    assert copy["embedding_config"] == source["embedding_config"]
    windowed = rest.post("/v1/agents", {"include_base_tools": False, "llm_config": llm, "context_window_limit": 9000})
    assert windowed["llm_config"]["context_window"] == 9000
    rest.post("/v1/agents", {"llm_config": {"model": "gpt-4o"}}, expect=400, contains="llm_config.model_endpoint_type")
    rest.post("/v1/agents", {"embedding_config": {"embedding_model": "x"}}, expect=400,
              contains="embedding_config.embedding_dim")
    updated = rest.patch(f"/v1/agents/{copy['id']}", {"llm_config": {**llm, "model": "gpt-4o-mini",
                                                                       "handle": "openai/gpt-4o-mini"}})
    assert updated["model"] == "openai/gpt-4o-mini" and updated["llm_config"]["model"] == "gpt-4o-mini"


def test_create_errors(rest, stubs):
    rest.post("/v1/agents", {"agent_type": "bogus_agent"}, expect=400, contains="agent_type")
    assert_status(lambda: stubs.agents.CreateAgent(agents_pb2.CreateAgentRequest(agent_type="x")),
                  INVALID, "agent_type")
    rest.post("/v1/agents", {"memory_blocks": [{"label": "a"}, {"label": "a"}]}, expect=400,
              contains="memory_blocks[1].label")
    rest.post("/v1/agents", {"memory_blocks": [{"value": "no label"}]}, expect=400, contains="memory_blocks[0].label")
    rest.post("/v1/agents", {"memory_blocks": [{"label": "a", "value": "long", "limit": 2}]}, expect=400,
              contains="memory_blocks[0].value")
    missing_tool = f"no_such_tool_{uid()}"
    rest.post("/v1/agents", {"tools": [missing_tool]}, expect=404, contains=missing_tool)
    assert_status(lambda: stubs.agents.CreateAgent(agents_pb2.CreateAgentRequest(tools=[missing_tool])),
                  NOT_FOUND, missing_tool)
    rest.post("/v1/agents", {"tool_ids": ["tool-nope"]}, expect=404, contains="tool-nope")
    rest.post("/v1/agents", {"block_ids": ["block-nope"]}, expect=404, contains="block-nope")
    rest.post("/v1/agents", {"identity_ids": ["identity-nope"]}, expect=404, contains="identity-nope")
    rest.post("/v1/agents", {"tool_rules": [{"type": "constrain_child_tools", "tool_name": "x"}]}, expect=400,
              contains="tool_rules[0].children")
    rest.post("/v1/agents", {"tool_rules": [{"type": "run_first", "tool_name": "x"},
                                            {"type": "nonsense", "tool_name": "x"}]},
              expect=400, contains="tool_rules[1].type")
    rest.post("/v1/agents", {"tool_rules": [{"type": "max_count_per_step", "tool_name": "x"}]}, expect=400,
              contains="max_count_limit")
    # A block_ids block whose label clashes with a new memory block.
    clash = rest.post("/v1/blocks", {"label": "human"})
    rest.post("/v1/agents", {"memory_blocks": [{"label": "human"}], "block_ids": [clash["id"]]}, expect=409,
              contains="human")
    # Nothing of the failed creations was kept.
    assert rest.get(f"/v1/blocks/{clash['id']}/agents") == []


def test_tool_rules_are_stored(rest):
    rules = [
        {"type": "run_first", "tool_name": "memory_insert"},
        {"type": "constrain_child_tools", "tool_name": "memory_insert", "children": ["memory_replace"]},
        {"type": "conditional", "tool_name": "memory_replace", "child_output_mapping": {"ok": "memory_insert"},
         "default_child": "conversation_search"},
        {"type": "max_count_per_step", "tool_name": "conversation_search", "max_count_limit": 3},
    ]
    made = rest.post("/v1/agents", {"tool_rules": rules})
    assert len(made["tool_rules"]) == len(rules)
    assert [{k: r[k] for k in rule} for r, rule in zip(made["tool_rules"], rules, strict=True)] == rules


# -- get / list / count -------------------------------------------------------

def test_unknown_agent(rest, stubs):
    rest.get(f"/v1/agents/{MISSING_AGENT}", expect=404, contains=MISSING_AGENT)
    rest.patch(f"/v1/agents/{MISSING_AGENT}", {"name": "x"}, expect=404)
    rest.delete(f"/v1/agents/{MISSING_AGENT}", expect=404)
    rest.get(f"/v1/agents/{MISSING_AGENT}/core-memory/blocks", expect=404)
    rest.get(f"/v1/agents/{MISSING_AGENT}/tools", expect=404)
    for call in (
        lambda: stubs.agents.GetAgent(agents_pb2.GetAgentRequest(agent_id=MISSING_AGENT)),
        lambda: stubs.agents.UpdateAgent(agents_pb2.UpdateAgentRequest(agent_id=MISSING_AGENT, name="x")),
        lambda: stubs.agents.DeleteAgent(agents_pb2.DeleteAgentRequest(agent_id=MISSING_AGENT)),
        lambda: stubs.agents.ListAgentBlocks(agents_pb2.ListAgentBlocksRequest(agent_id=MISSING_AGENT)),
        lambda: stubs.agents.ListAgentTools(agents_pb2.ListAgentToolsRequest(agent_id=MISSING_AGENT)),
    ):
        assert_status(call, NOT_FOUND, MISSING_AGENT)
    assert_status(lambda: stubs.agents.GetAgent(agents_pb2.GetAgentRequest()), INVALID, "agent_id")


def test_list_filters_and_count(rest, stubs):
    tag, other = uid(), uid()
    person, org = identity(rest), identity(rest, identity_type="org")
    one = agent(rest, name=f"Alpha-{tag}", tags=[tag, other], identity_ids=[person["id"]])
    two = agent(rest, name=f"beta-{tag}", tags=[tag], identity_ids=[org["id"]])
    three = agent(rest, name=f"gamma-{tag}", tags=[other], identity_ids=[person["id"], org["id"]])

    def listed(**params) -> list[str]:
        over_rest = rest.get("/v1/agents", params=params)
        assert isinstance(over_rest, list)
        over_grpc = stubs.agents.ListAgents(pb(agents_pb2.ListAgentsRequest, params)).agents
        assert ids(over_grpc) == ids(over_rest)
        count = rest.get("/v1/agents/count", params=params)
        assert count == stubs.agents.CountAgents(pb(agents_pb2.ListAgentsRequest, params)).count
        assert count == len(over_rest)
        return ids(over_rest)

    newest_first = [three["id"], two["id"], one["id"]]
    assert listed(tags=[tag, other]) == newest_first
    assert listed(tags=[tag]) == [two["id"], one["id"]]
    assert listed(tags=[tag, other], match_all_tags=True) == [one["id"]]
    assert listed(name=f"beta-{tag}") == [two["id"]]
    assert listed(name=f"BETA-{tag}") == []  # name is exact
    assert listed(query_text=f"ALPHA-{tag}") == [one["id"]]
    assert listed(query_text=tag) == newest_first
    assert listed(identity_id=person["id"]) == [three["id"], one["id"]]
    assert listed(identifier_keys=[org["identifier_key"]]) == [three["id"], two["id"]]
    assert listed(identifier_keys=[org["identifier_key"], person["identifier_key"]]) == newest_first
    assert listed(tags=[tag, other], order="asc") == newest_first[::-1]
    assert listed(tags=[tag, other], ascending=True) == newest_first[::-1]
    assert listed(tags=[tag, other], ascending=False) == newest_first

    # order_by updated_at: touching the oldest makes it the most recent.
    rest.patch(f"/v1/agents/{one['id']}", {"description": "touched"})
    assert listed(tags=[tag, other], order_by="updated_at") == [one["id"], three["id"], two["id"]]
    rest.get("/v1/agents", params={"order_by": "name"}, expect=400, contains="order_by")
    # No filter: everything, including ours (other tests add more).
    assert rest.get("/v1/agents/count") >= 3


def test_query_text_with_spaces(rest):
    tag = uid()
    spaced = agent(rest, name=f"my helper {tag}")
    # httpx sends the space as '+'; the gateway must read it back as a space.
    assert ids(rest.get("/v1/agents", params={"query_text": f"HELPER {tag}"})) == [spaced["id"]]
    assert ids(rest.get(f"/v1/agents?query_text=helper%20{tag}")) == [spaced["id"]]
    assert rest.get("/v1/agents", params={"query_text": f"helper+{tag}"}) == []


def test_list_cursors(rest, stubs):
    tag = uid()
    made = [agent(rest, tags=[tag])["id"] for _ in range(5)]
    for order, expected in (("desc", made[::-1]), ("asc", made)):
        seen, after = [], None
        while True:
            page = rest.get("/v1/agents", params={"tags": tag, "limit": 2, "order": order,
                                                  **({"after": after} if after else {})})
            if not page:
                break
            seen += ids(page)
            after = page[-1]["id"]
        assert seen == expected
        page = rest.get("/v1/agents", params={"tags": tag, "limit": 2, "order": order, "before": expected[-1]})
        assert ids(page) == expected[-3:-1]
    grpc_page = stubs.agents.ListAgents(agents_pb2.ListAgentsRequest(tags=[tag], after=made[4], before=made[0]))
    assert ids(grpc_page.agents) == made[3:0:-1]


# -- update -------------------------------------------------------------------

def test_update_partial(rest, stubs):
    tag = uid()
    made = rest.post("/v1/agents", {"name": f"u-{tag}", "description": "d", "tags": [tag], "metadata": {"a": 1},
                                    "memory_blocks": [{"label": "human", "value": "h"}], "model": "openai/gpt-4o",
                                    "context_window_limit": 20000})
    path = f"/v1/agents/{made['id']}"
    renamed = rest.patch(path, {"name": f"renamed-{tag}"})
    assert renamed["name"] == f"renamed-{tag}"
    for key in ("description", "tags", "metadata", "system", "blocks", "tools", "llm_config", "model", "created_at"):
        assert renamed[key] == made[key], key
    assert ts(renamed["updated_at"]) > ts(made["updated_at"])

    updated = rest.patch(path, {"tags": ["t1", "t2"], "metadata": {"b": 2}, "description": "dd", "system": "sys",
                                "timezone": "UTC", "hidden": True, "message_buffer_autoclear": True})
    assert updated["tags"] == ["t1", "t2"] and updated["metadata"] == {"b": 2}
    assert (updated["description"], updated["system"], updated["timezone"]) == ("dd", "sys", "UTC")
    assert updated["hidden"] is True and updated["message_buffer_autoclear"] is True
    assert rest.patch(path, {"tags": []})["tags"] == []

    # Only the context window changes; the model stays.
    window = rest.patch(path, {"context_window_limit": 8000})
    assert window["llm_config"]["context_window"] == 8000 and window["llm_config"]["model"] == "gpt-4o"
    assert window["model"] == "openai/gpt-4o"
    rest.patch(path, {"context_window_limit": 5}, expect=400, contains="context_window_limit")
    # As at creation, the limit never exceeds the model's own window (gpt-4o: 128k).
    assert rest.patch(path, {"context_window_limit": 10_000_000})["llm_config"]["context_window"] == 128_000
    # A new embedding model gives a new embedding_config.
    embedded = rest.patch(path, {"embedding": "openai/text-embedding-3-large"})
    assert embedded["embedding"] == "openai/text-embedding-3-large"
    assert embedded["embedding_config"]["embedding_model"] == "text-embedding-3-large"
    assert embedded["embedding_config"]["embedding_dim"] == 3072
    rest.patch(path, {"embedding": "anthropic/x"}, expect=400, contains="embedding")
    # A new model gives a new llm_config.
    moved = rest.patch(path, {"model": "anthropic/claude-haiku-4-5"})
    assert moved["model"] == "anthropic/claude-haiku-4-5"
    assert moved["llm_config"]["model"] == "claude-haiku-4-5"
    assert moved["llm_config"]["model_endpoint_type"] == "anthropic"
    rest.patch(path, {"model": "no-slash"}, expect=400, contains="model")
    rest.patch(path, {"name": ""}, expect=400, contains="name")

    got = stubs.agents.UpdateAgent(pb(agents_pb2.UpdateAgentRequest, agent_id=made["id"], tags=["g"],
                                      metadata={"via": "grpc"}))
    assert list(got.tags) == ["g"] and to_dict(got.metadata) == {"via": "grpc"}
    assert got.name == f"renamed-{tag}" and got.llm_config.model == "claude-haiku-4-5"


def test_update_replaces_blocks_tools_rules_identities(rest, stubs):
    tag = uid()
    b1, b2, b3 = (rest.post("/v1/blocks", {"label": f"b{i}_{tag}"}) for i in range(3))
    t1, t2 = custom_tool(rest), custom_tool(rest)
    i1, i2 = identity(rest), identity(rest)
    made = agent(rest, block_ids=[b1["id"], b2["id"]], tool_ids=[t1["id"]], identity_ids=[i1["id"]])
    path = f"/v1/agents/{made['id']}"

    updated = rest.patch(path, {"block_ids": [b2["id"], b3["id"]]})
    assert set(ids(updated["blocks"])) == {b2["id"], b3["id"]}
    assert rest.get(f"/v1/blocks/{b1['id']}")["id"] == b1["id"]  # detached, not deleted

    updated = rest.patch(path, {"tool_ids": [t2["id"]]})
    assert ids(updated["tools"]) == [t2["id"]]
    rest.patch(path, {"tool_ids": ["tool-nope"]}, expect=404, contains="tool-nope")
    rest.patch(path, {"block_ids": ["block-nope"]}, expect=404, contains="block-nope")
    rest.patch(path, {"identity_ids": ["identity-nope"]}, expect=404, contains="identity-nope")
    rest.patch(path, {"tool_ids": [7]}, expect=400, contains="tool_ids[0]")

    rules = [{"type": "exit_loop", "tool_name": t2["name"]}]
    updated = rest.patch(path, {"tool_rules": rules})
    assert [(r["type"], r["tool_name"]) for r in updated["tool_rules"]] == [("exit_loop", t2["name"])]
    rest.patch(path, {"tool_rules": [{"type": "constrain_child_tools", "tool_name": "x"}]}, expect=400,
               contains="tool_rules[0].children")
    rest.patch(path, {"tool_rules": [{"type": "run_first", "tool_name": "x", "children": "not-a-list"}]},
               expect=400, contains="tool_rules[0]")

    updated = rest.patch(path, {"identity_ids": [i2["id"]]})
    assert updated["identity_ids"] == [i2["id"]]
    assert rest.get(f"/v1/identities/{i1['id']}")["agent_ids"] == []
    assert rest.get(f"/v1/identities/{i2['id']}")["agent_ids"] == [made["id"]]

    # Two blocks with one label cannot be attached together.
    twin = rest.post("/v1/blocks", {"label": b2["label"]})
    rest.patch(path, {"block_ids": [b2["id"], twin["id"]]}, expect=409, contains=b2["label"])
    assert set(ids(rest.get(path)["blocks"])) == {b2["id"], b3["id"]}  # rolled back
    # Through gRPC, with empty lists clearing everything.
    cleared = stubs.agents.UpdateAgent(pb(agents_pb2.UpdateAgentRequest, agent_id=made["id"], block_ids=[],
                                          tool_ids=[], tool_rules=[], identity_ids=[]))
    assert not cleared.blocks and not cleared.tools and not cleared.tool_rules and not cleared.identity_ids
    # The failed updates above left nothing half-done.
    assert cleared.name == made["name"]


def test_delete_agent_keeps_shared_blocks_and_tools(rest, stubs):
    shared = rest.post("/v1/blocks", {"label": f"keep_{uid()}", "value": "stays"})
    tool = custom_tool(rest)
    first = agent(rest, block_ids=[shared["id"]], tool_ids=[tool["id"]], memory_blocks=[{"label": "own"}])
    second = agent(rest, block_ids=[shared["id"]])
    assert set(ids(rest.get(f"/v1/blocks/{shared['id']}/agents"))) == {first["id"], second["id"]}

    assert rest.delete(f"/v1/agents/{first['id']}") == {}
    rest.get(f"/v1/agents/{first['id']}", expect=404)
    assert rest.get(f"/v1/blocks/{shared['id']}")["value"] == "stays"
    assert ids(rest.get(f"/v1/blocks/{shared['id']}/agents")) == [second["id"]]
    assert rest.get(f"/v1/tools/{tool['id']}")["id"] == tool["id"]

    stubs.agents.DeleteAgent(agents_pb2.DeleteAgentRequest(agent_id=second["id"]))
    assert_status(lambda: stubs.agents.GetAgent(agents_pb2.GetAgentRequest(agent_id=second["id"])), NOT_FOUND)
    assert rest.get(f"/v1/blocks/{shared['id']}/agents") == []


# -- blocks of an agent -------------------------------------------------------

def test_agent_blocks(rest, stubs):
    tag = uid()
    made = agent(rest, memory_blocks=[{"label": "human", "value": "h"}, {"label": "persona", "value": "p"},
                                      {"label": f"notes_{tag}", "value": "n"}])
    base = f"/v1/agents/{made['id']}/core-memory/blocks"
    listed = rest.get(base)
    assert labels(listed) == ["human", "persona", f"notes_{tag}"]  # attachment order
    assert labels(rest.get(base, params={"order": "desc"})) == ["notes_" + tag, "persona", "human"]
    grpc_listed = stubs.agents.ListAgentBlocks(agents_pb2.ListAgentBlocksRequest(agent_id=made["id"]))
    assert ids(grpc_listed.blocks) == ids(listed)
    page = rest.get(base, params={"limit": 2})
    assert labels(page) == ["human", "persona"]
    assert labels(rest.get(base, params={"limit": 2, "after": page[-1]["id"]})) == [f"notes_{tag}"]
    assert rest.get(base, params={"after": listed[-1]["id"]}) == []
    assert labels(rest.get(base, params={"before": listed[-1]["id"]})) == ["human", "persona"]

    human = rest.get(f"{base}/human")
    assert human["value"] == "h" and human["id"] == listed[0]["id"]
    got = stubs.agents.GetAgentBlock(agents_pb2.GetAgentBlockRequest(agent_id=made["id"], block_label="persona"))
    assert got.value == "p"
    rest.get(f"{base}/nothing_{tag}", expect=404, contains=f"nothing_{tag}")
    assert_status(lambda: stubs.agents.GetAgentBlock(agents_pb2.GetAgentBlockRequest(
        agent_id=made["id"], block_label="nothing")), NOT_FOUND)

    updated = rest.patch(f"{base}/human", {"value": "Name: Bo", "tags": ["x"], "metadata": {"m": 1}})
    assert (updated["value"], updated["tags"], updated["metadata"]) == ("Name: Bo", ["x"], {"m": 1})
    assert updated["limit"] == human["limit"] and updated["label"] == "human"
    rest.patch(f"{base}/human", {"value": "x" * (human["limit"] + 1)}, expect=400, contains="value")
    rest.patch(f"{base}/nothing_{tag}", {"value": "v"}, expect=404)
    got = stubs.agents.UpdateAgentBlock(pb(agents_pb2.UpdateAgentBlockRequest, agent_id=made["id"],
                                           block_label="persona", value="P2", tags=[]))
    assert got.value == "P2"
    assert rest.get(f"/v1/blocks/{got.id}")["value"] == "P2"
    # Read-only only binds the agent's own tools; the API may still edit.
    ro = rest.patch(f"{base}/persona", {"read_only": True})
    assert rest.patch(f"{base}/persona", {"value": "P3"})["value"] == "P3" and ro["read_only"] is True


def test_attach_and_detach_blocks(rest, stubs):
    tag = uid()
    made = agent(rest, memory_blocks=[{"label": f"own_{tag}"}])
    extra = rest.post("/v1/blocks", {"label": f"extra_{tag}", "value": "e"})
    base = f"/v1/agents/{made['id']}/core-memory/blocks"

    attached = rest.patch(f"{base}/attach/{extra['id']}")
    assert labels(attached["blocks"]) == [f"own_{tag}", f"extra_{tag}"]
    assert rest.get(f"{base}/extra_{tag}")["id"] == extra["id"]
    assert ids(rest.get(f"/v1/blocks/{extra['id']}/agents")) == [made["id"]]
    grpc_agents = stubs.agents.ListBlockAgents(agents_pb2.ListBlockAgentsRequest(block_id=extra["id"]))
    assert ids(grpc_agents.agents) == [made["id"]]

    # The same block again, or another block with a label the agent has: 409.
    rest.patch(f"{base}/attach/{extra['id']}", expect=409)
    twin = rest.post("/v1/blocks", {"label": f"own_{tag}"})
    rest.patch(f"{base}/attach/{twin['id']}", expect=409, contains="label")
    assert_status(lambda: stubs.agents.AttachBlock(agents_pb2.AttachBlockRequest(
        agent_id=made["id"], block_id=twin["id"])), EXISTS)
    rest.patch(f"{base}/attach/block-nope", expect=404, contains="block-nope")
    rest.patch(f"/v1/agents/{MISSING_AGENT}/core-memory/blocks/attach/{twin['id']}", expect=404)

    detached = rest.patch(f"{base}/detach/{extra['id']}")
    assert labels(detached["blocks"]) == [f"own_{tag}"]
    assert rest.get(f"/v1/blocks/{extra['id']}")["id"] == extra["id"]  # the block stays
    assert rest.get(f"/v1/blocks/{extra['id']}/agents") == []
    rest.patch(f"{base}/detach/{extra['id']}", expect=404)  # not attached any more
    assert_status(lambda: stubs.agents.DetachBlock(agents_pb2.DetachBlockRequest(
        agent_id=made["id"], block_id=twin["id"])), NOT_FOUND)

    # Through gRPC: once its own block is detached, the agent can take the twin.
    own_id = made["blocks"][0]["id"]
    stubs.agents.DetachBlock(agents_pb2.DetachBlockRequest(agent_id=made["id"], block_id=own_id))
    after = stubs.agents.AttachBlock(agents_pb2.AttachBlockRequest(agent_id=made["id"], block_id=twin["id"]))
    assert [b.id for b in after.blocks] == [twin["id"]]


def test_list_block_agents_paging(rest, stubs):
    block = rest.post("/v1/blocks", {"label": f"many_{uid()}"})
    made = [agent(rest, block_ids=[block["id"]])["id"] for _ in range(3)]
    assert ids(rest.get(f"/v1/blocks/{block['id']}/agents")) == made[::-1]
    assert ids(rest.get(f"/v1/blocks/{block['id']}/agents", params={"order": "asc", "limit": 2})) == made[:2]
    assert ids(rest.get(f"/v1/blocks/{block['id']}/agents", params={"order": "asc", "after": made[1]})) == made[2:]
    rest.get("/v1/blocks/block-nope/agents", expect=404, contains="block-nope")
    assert_status(lambda: stubs.agents.ListBlockAgents(agents_pb2.ListBlockAgentsRequest(block_id="block-nope")),
                  NOT_FOUND)


# -- tools of an agent --------------------------------------------------------

def test_attach_detach_list_tools(rest, stubs):
    t1, t2 = custom_tool(rest), custom_tool(rest)
    made = agent(rest)
    base = f"/v1/agents/{made['id']}/tools"
    assert rest.get(base) == []

    assert ids(rest.patch(f"{base}/attach/{t1['id']}")["tools"]) == [t1["id"]]
    got = stubs.agents.AttachTool(agents_pb2.AttachToolRequest(agent_id=made["id"], tool_id=t2["id"]))
    assert [t.id for t in got.tools] == [t1["id"], t2["id"]]
    assert ids(rest.patch(f"{base}/attach/{t1['id']}")["tools"]) == [t1["id"], t2["id"]]  # no duplicate
    rest.patch(f"{base}/attach/tool-nope", expect=404, contains="tool-nope")

    assert ids(rest.get(base)) == [t1["id"], t2["id"]]
    assert ids(rest.get(base, params={"order": "desc"})) == [t2["id"], t1["id"]]
    assert ids(rest.get(base, params={"limit": 1, "after": t1["id"]})) == [t2["id"]]
    listed = stubs.agents.ListAgentTools(agents_pb2.ListAgentToolsRequest(agent_id=made["id"]))
    assert [t.id for t in listed.tools] == [t1["id"], t2["id"]]
    assert listed.tools[0].json_schema["name"] == t1["name"]

    assert ids(rest.patch(f"{base}/detach/{t1['id']}")["tools"]) == [t2["id"]]
    got = stubs.agents.DetachTool(agents_pb2.DetachToolRequest(agent_id=made["id"], tool_id=t2["id"]))
    assert not got.tools
    assert rest.get(f"/v1/tools/{t1['id']}")["id"] == t1["id"]  # the tool stays
    rest.patch(f"/v1/agents/{MISSING_AGENT}/tools/attach/{t1['id']}", expect=404)


def test_deleting_a_tool_detaches_it(rest):
    tool = custom_tool(rest)
    made = agent(rest, tool_ids=[tool["id"]])
    rest.delete(f"/v1/tools/{tool['id']}")
    assert rest.get(f"/v1/agents/{made['id']}")["tools"] == []


# -- identities of an agent ---------------------------------------------------

def test_attach_detach_identities(rest, stubs):
    person, other = identity(rest), identity(rest)
    made = agent(rest)
    base = f"/v1/agents/{made['id']}/identities"

    attached = rest.patch(f"{base}/attach/{person['id']}")
    assert attached["identity_ids"] == [person["id"]]
    assert attached["identities"][0]["name"] == "Someone"
    assert rest.get(f"/v1/identities/{person['id']}")["agent_ids"] == [made["id"]]
    got = stubs.agents.AttachIdentity(agents_pb2.AttachIdentityRequest(agent_id=made["id"], identity_id=other["id"]))
    assert set(got.identity_ids) == {person["id"], other["id"]}
    rest.patch(f"{base}/attach/identity-nope", expect=404, contains="identity-nope")
    assert ids(rest.get("/v1/agents", params={"identity_id": other["id"]})) == [made["id"]]

    detached = rest.patch(f"{base}/detach/{person['id']}")
    assert detached["identity_ids"] == [other["id"]]
    assert rest.get(f"/v1/identities/{person['id']}")["agent_ids"] == []
    rest.patch(f"{base}/detach/{person['id']}", expect=404)
    got = stubs.agents.DetachIdentity(agents_pb2.DetachIdentityRequest(agent_id=made["id"], identity_id=other["id"]))
    assert not got.identity_ids


@pytest.mark.parametrize("route", ["tools/attach/x", "identities/attach/x", "core-memory/blocks/attach/x"])
def test_attach_routes_need_an_agent(rest, route):
    rest.patch(f"/v1/agents/{MISSING_AGENT}/{route}", expect=404)


def test_block_and_tool_messages_in_agent(stubs):
    """The Agent message carries full Block and Tool messages."""
    made = stubs.agents.CreateAgent(agents_pb2.CreateAgentRequest(
        memory_blocks=[blocks_pb2.CreateBlockRequest(label="human", value="x")], tools=["send_message"],
        include_base_tools=False))
    assert isinstance(made.blocks[0], blocks_pb2.Block) and made.blocks[0].limit == 5000
    assert isinstance(made.tools[0], tools_pb2.Tool) and made.tools[0].tool_type == "letta_core"
