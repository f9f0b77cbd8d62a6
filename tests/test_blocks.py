"""Memory blocks: BlockService over gRPC and REST, and blocks shared by agents."""
from __future__ import annotations

import grpc
import pytest
from mnemo.v1 import agents_pb2, blocks_pb2

from tests.util import Rest, Stubs, assert_status, ids, pb, to_dict, ts, uid

INVALID, NOT_FOUND, EXISTS = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                              grpc.StatusCode.ALREADY_EXISTS)


@pytest.fixture(scope="module")
def rest(http) -> Rest:
    return Rest(http)


@pytest.fixture(scope="module")
def stubs(channel) -> Stubs:
    return Stubs(channel)


def make_blocks(rest, n: int, tag: str, **extra) -> list[dict]:
    return [rest.post("/v1/blocks", {"label": f"b{i}_{tag}", "value": f"value {i}", "tags": [tag], **extra})
            for i in range(n)]


# -- create / get -------------------------------------------------------------

def test_create_and_get_grpc(stubs, rest):
    tag = uid()
    block = stubs.blocks.CreateBlock(pb(blocks_pb2.CreateBlockRequest, {
        "label": f"notes_{tag}", "value": "likes tea", "limit": 100, "description": "notes about tea",
        "read_only": True, "metadata": {"source": "test", "n": 2}, "tags": [tag, tag], "project_id": "proj-1",
    }))
    assert block.id.startswith("block-")
    assert (block.label, block.value, block.limit) == (f"notes_{tag}", "likes tea", 100)
    assert block.description == "notes about tea"
    assert block.read_only and not block.hidden
    assert to_dict(block.metadata) == {"source": "test", "n": 2}
    assert list(block.tags) == [tag]  # repeats removed
    assert block.project_id == "proj-1"
    assert block.created_at.seconds > 0 and block.updated_at == block.created_at

    again = stubs.blocks.GetBlock(blocks_pb2.GetBlockRequest(block_id=block.id))
    assert again == block
    over_rest = rest.get(f"/v1/blocks/{block.id}")
    assert over_rest["id"] == block.id and over_rest["value"] == "likes tea"
    assert over_rest["metadata"] == {"source": "test", "n": 2}
    assert over_rest["tags"] == [tag] and over_rest["read_only"] is True


def test_create_rest_defaults(rest):
    tag = uid()
    block = rest.post("/v1/blocks", {"label": f"plain_{tag}"})
    assert block["value"] == "" and block["limit"] == 20000
    assert block["read_only"] is False and block["hidden"] is False
    assert block["metadata"] == {} and block["tags"] == []
    assert "description" not in block or block["description"] is None
    assert rest.get(f"/v1/blocks/{block['id']}") == block


@pytest.mark.parametrize("label", ["human", "persona"])
def test_human_and_persona_defaults(rest, label):
    block = rest.post("/v1/blocks", {"label": label, "value": "x"})
    assert block["limit"] == 5000  # the contract: 5000 for human and persona
    assert block["description"]  # a default description


def test_missing_label_is_invalid(stubs, rest):
    assert_status(lambda: stubs.blocks.CreateBlock(blocks_pb2.CreateBlockRequest(value="v")), INVALID, "label")
    body = rest.post("/v1/blocks", {"value": "v"}, expect=400, contains="label")
    assert body["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]


def test_error_detail_survives_quotes_and_unicode(rest):
    """The gateway copies the gRPC message into `detail`; it must stay valid JSON."""
    label = 'bad"la\\bel é\n\t✓'
    body = rest.post("/v1/blocks", {"label": label}, expect=400, contains=label)
    assert body["message"] == body["detail"] and body["detail"].startswith("label: ")


def test_bad_label_and_limit(stubs, rest):
    rest.post("/v1/blocks", {"label": "has space"}, expect=400, contains="label")
    rest.post("/v1/blocks", {"label": "a/b"}, expect=400, contains="label")
    assert_status(lambda: stubs.blocks.CreateBlock(blocks_pb2.CreateBlockRequest(label="ok", limit=0)),
                  INVALID, "limit")


def test_value_over_limit_on_create(stubs, rest):
    assert_status(
        lambda: stubs.blocks.CreateBlock(blocks_pb2.CreateBlockRequest(label="x", value="123456", limit=5)),
        INVALID, "value")
    rest.post("/v1/blocks", {"label": "x", "value": "123456", "limit": 5}, expect=400, contains="value")
    # Exactly at the limit is fine.
    assert rest.post("/v1/blocks", {"label": "x", "value": "12345", "limit": 5})["value"] == "12345"


def test_value_over_limit_on_update(stubs, rest):
    block = rest.post("/v1/blocks", {"label": f"l_{uid()}", "value": "12345", "limit": 10})
    path = f"/v1/blocks/{block['id']}"
    rest.patch(path, {"value": "x" * 11}, expect=400, contains="value")
    assert_status(lambda: stubs.blocks.UpdateBlock(
        blocks_pb2.UpdateBlockRequest(block_id=block["id"], value="x" * 11)), INVALID, "value")
    # Lowering the limit below the current value is refused, naming `limit`.
    rest.patch(path, {"limit": 4}, expect=400, contains="limit")
    assert_status(lambda: stubs.blocks.UpdateBlock(
        blocks_pb2.UpdateBlockRequest(block_id=block["id"], limit=4)), INVALID, "limit")
    # A new value and a new limit are checked together.
    assert rest.patch(path, {"value": "x" * 20, "limit": 20})["limit"] == 20
    rest.patch(path, {"value": "x" * 30, "limit": 25}, expect=400, contains="value")
    after = rest.get(path)
    assert (after["value"], after["limit"]) == ("x" * 20, 20)


def test_unknown_block(stubs, rest):
    missing = "block-00000000-0000-0000-0000-000000000000"
    for call in (
        lambda: stubs.blocks.GetBlock(blocks_pb2.GetBlockRequest(block_id=missing)),
        lambda: stubs.blocks.UpdateBlock(blocks_pb2.UpdateBlockRequest(block_id=missing, value="v")),
        lambda: stubs.blocks.DeleteBlock(blocks_pb2.DeleteBlockRequest(block_id=missing)),
    ):
        assert_status(call, NOT_FOUND, missing)
    rest.get(f"/v1/blocks/{missing}", expect=404, contains=missing)
    rest.patch(f"/v1/blocks/{missing}", {"value": "v"}, expect=404)
    body = rest.delete(f"/v1/blocks/{missing}", expect=404)
    assert body["code"] == grpc.StatusCode.NOT_FOUND.value[0]


# -- update -------------------------------------------------------------------

def test_update_is_partial_rest(rest):
    tag = uid()
    block = rest.post("/v1/blocks", {"label": f"p_{tag}", "value": "old", "limit": 50, "description": "d",
                                     "metadata": {"a": 1}, "tags": ["t1", "t2"]})
    path = f"/v1/blocks/{block['id']}"
    updated = rest.patch(path, {"value": "new"})
    assert updated["value"] == "new"
    for key in ("label", "limit", "description", "metadata", "tags", "read_only", "hidden", "created_at"):
        assert updated[key] == block[key], key
    assert ts(updated["updated_at"]) > ts(block["updated_at"])

    updated = rest.patch(path, {"tags": ["t3"], "metadata": {"b": [1, 2]}, "read_only": True, "hidden": True,
                                "description": "dd", "label": f"q_{tag}"})
    assert updated["tags"] == ["t3"] and updated["metadata"] == {"b": [1, 2]}
    assert updated["read_only"] is True and updated["hidden"] is True
    assert (updated["description"], updated["label"], updated["value"]) == ("dd", f"q_{tag}", "new")

    # An empty list clears the tags; leaving `tags` out keeps them.
    assert rest.patch(path, {"tags": []})["tags"] == []
    rest.patch(path, {"tags": ["k"]})
    assert rest.patch(path, {"value": "newer"})["tags"] == ["k"]
    assert rest.get(path)["value"] == "newer"
    # Tags must be strings.
    rest.patch(path, {"tags": ["ok", 3]}, expect=400, contains="tags[1]")
    # An empty update changes nothing.
    assert rest.patch(path, {})["value"] == "newer"


def test_update_grpc(stubs):
    tag = uid()
    block = stubs.blocks.CreateBlock(pb(blocks_pb2.CreateBlockRequest, label=f"g_{tag}", value="v",
                                        tags=["a"], metadata={"x": 1}))
    updated = stubs.blocks.UpdateBlock(pb(blocks_pb2.UpdateBlockRequest, block_id=block.id,
                                          tags=["b", "c"], metadata={"y": "z"}))
    assert list(updated.tags) == ["b", "c"] and to_dict(updated.metadata) == {"y": "z"}
    assert updated.value == "v" and updated.label == f"g_{tag}"
    updated = stubs.blocks.UpdateBlock(blocks_pb2.UpdateBlockRequest(block_id=block.id, value="w", read_only=True))
    assert updated.value == "w" and updated.read_only and list(updated.tags) == ["b", "c"]
    assert_status(lambda: stubs.blocks.UpdateBlock(blocks_pb2.UpdateBlockRequest(block_id=block.id, label="")),
                  INVALID, "label")
    assert_status(lambda: stubs.blocks.UpdateBlock(blocks_pb2.UpdateBlockRequest(block_id="")), INVALID, "block_id")


# -- delete / count -----------------------------------------------------------

def test_delete_and_count(stubs, rest):
    before_grpc = stubs.blocks.CountBlocks(blocks_pb2.CountBlocksRequest()).count
    before_rest = rest.get("/v1/blocks/count")
    assert isinstance(before_rest, int) and before_rest == before_grpc

    block = rest.post("/v1/blocks", {"label": f"c_{uid()}"})
    other = stubs.blocks.CreateBlock(blocks_pb2.CreateBlockRequest(label=f"c_{uid()}"))
    assert rest.get("/v1/blocks/count") == before_rest + 2
    assert stubs.blocks.CountBlocks(blocks_pb2.CountBlocksRequest()).count == before_grpc + 2

    assert rest.delete(f"/v1/blocks/{block['id']}") == {}
    rest.get(f"/v1/blocks/{block['id']}", expect=404)
    stubs.blocks.DeleteBlock(blocks_pb2.DeleteBlockRequest(block_id=other.id))
    assert_status(lambda: stubs.blocks.GetBlock(blocks_pb2.GetBlockRequest(block_id=other.id)), NOT_FOUND)
    assert rest.get("/v1/blocks/count") == before_rest


def test_delete_detaches_from_agents(rest):
    block = rest.post("/v1/blocks", {"label": f"gone_{uid()}", "value": "v"})
    agent = rest.post("/v1/agents", {"block_ids": [block["id"]], "include_base_tools": False})
    assert ids(agent["blocks"]) == [block["id"]]
    rest.delete(f"/v1/blocks/{block['id']}")
    assert rest.get(f"/v1/agents/{agent['id']}")["blocks"] == []


# -- list: filters ------------------------------------------------------------

def test_list_filters(stubs, rest):
    tag, other = uid(), uid()
    a = rest.post("/v1/blocks", {"label": f"Alpha_{tag}", "value": "The Quick fox", "tags": [tag, "x"],
                                 "description": "About FOXES"})
    b = rest.post("/v1/blocks", {"label": f"beta_{tag}", "value": "lazy dog", "tags": [tag, other],
                                 "project_id": f"proj-{tag}"})
    c = rest.post("/v1/blocks", {"label": f"alpha_{tag}", "value": "quick cat", "tags": [other]})
    hidden = rest.post("/v1/blocks", {"label": f"alpha_{tag}", "value": "quick", "tags": [tag], "hidden": True})

    def listed(**params) -> set[str]:
        over_rest = rest.get("/v1/blocks", params=params)
        assert isinstance(over_rest, list)
        msg = pb(blocks_pb2.ListBlocksRequest, params)
        over_grpc = stubs.blocks.ListBlocks(msg).blocks
        assert ids(over_grpc) == ids(over_rest)
        return set(ids(over_rest))

    assert listed(label=f"alpha_{tag}") == {c["id"]}
    assert listed(label_search=f"ALPHA_{tag}") == {a["id"], c["id"]}
    assert listed(name=f"alpha_{tag}") == {a["id"], c["id"]}  # alias of label_search
    assert listed(label_search=tag, value_search="QUICK") == {a["id"], c["id"]}
    assert listed(label_search=tag, description_search="fox") == {a["id"]}
    assert listed(tags=[tag]) == {a["id"], b["id"]}
    assert listed(tags=[tag, other]) == {a["id"], b["id"], c["id"]}
    assert listed(tags=[tag, other], match_all_tags=True) == {b["id"]}
    assert listed(tags=[tag, "x"], match_all_tags=True) == {a["id"]}
    assert listed(tags=[tag], include_hidden=True) == {a["id"], b["id"], hidden["id"]}
    assert listed(label_search=tag, value_search="nothing-like-this") == set()
    assert listed(project_id=f"proj-{tag}") == {b["id"]}
    # A literal % or _ is not a wildcard.
    assert listed(label_search=f"%{tag}") == set()


def test_list_by_identity(rest):
    block = rest.post("/v1/blocks", {"label": f"i_{uid()}"})
    rest.post("/v1/blocks", {"label": f"i_{uid()}"})
    identity = rest.post("/v1/identities", {"identifier_key": f"k-{uid()}", "name": "n", "identity_type": "user",
                                            "block_ids": [block["id"]]})
    assert ids(rest.get("/v1/blocks", params={"identity_id": identity["id"]})) == [block["id"]]


# -- list: pagination ---------------------------------------------------------

def test_pagination_both_directions(stubs, rest):
    tag = uid()
    created = ids(make_blocks(rest, 5, tag))
    newest_first = created[::-1]

    # Default order: newest first.
    assert ids(rest.get("/v1/blocks", params={"tags": tag})) == newest_first
    assert ids(rest.get("/v1/blocks", params={"tags": tag, "order": "asc"})) == created

    for order, expected in (("desc", newest_first), ("asc", created)):
        # Walk forward with `after` until an empty page, as the SDKs do.
        seen, after, pages = [], None, 0
        while True:
            params = {"tags": [tag], "limit": 2, "order": order, **({"after": after} if after else {})}
            page = rest.get("/v1/blocks", params=params)
            grpc_page = stubs.blocks.ListBlocks(pb(blocks_pb2.ListBlocksRequest, params)).blocks
            assert ids(grpc_page) == ids(page)
            pages += 1
            if not page:
                break
            assert len(page) <= 2
            seen += ids(page)
            after = page[-1]["id"]
        assert seen == expected and pages == 4  # 2 + 2 + 1 + the empty last page

        # Walk backward with `before` from the last item.
        seen, before = [], expected[-1]
        while True:
            page = rest.get("/v1/blocks", params={"tags": tag, "limit": 2, "order": order, "before": before})
            if not page:
                break
            seen = ids(page) + seen
            before = page[0]["id"]
        assert seen == expected[:-1]

    # after and before together bound a window.
    window = rest.get("/v1/blocks", params={"tags": tag, "order": "asc", "after": created[0], "before": created[4]})
    assert ids(window) == created[1:4]
    # Before the very first item: an empty page.
    assert rest.get("/v1/blocks", params={"tags": tag, "order": "asc", "before": created[0]}) == []


def test_pagination_bad_arguments(stubs, rest):
    rest.get("/v1/blocks", params={"limit": 0}, expect=400, contains="limit")
    rest.get("/v1/blocks", params={"limit": 1001}, expect=400, contains="limit")
    rest.get("/v1/blocks", params={"order": "sideways"}, expect=400, contains="order")
    rest.get("/v1/blocks", params={"after": "block-nope"}, expect=400, contains="after")
    assert_status(lambda: stubs.blocks.ListBlocks(blocks_pb2.ListBlocksRequest(before="block-nope")),
                  INVALID, "before")


# -- blocks shared by agents --------------------------------------------------

def test_shared_block_update_through_one_agent_is_seen_by_the_other(stubs, rest):
    label = f"shared_{uid()}"
    block = rest.post("/v1/blocks", {"label": label, "value": "v1"})
    a = rest.post("/v1/agents", {"block_ids": [block["id"]], "include_base_tools": False})
    b = rest.post("/v1/agents", {"block_ids": [block["id"]], "include_base_tools": False})

    updated = rest.patch(f"/v1/agents/{a['id']}/core-memory/blocks/{label}", {"value": "v2"})
    assert updated["id"] == block["id"] and updated["value"] == "v2"
    assert rest.get(f"/v1/agents/{b['id']}/core-memory/blocks/{label}")["value"] == "v2"
    assert [x["value"] for x in rest.get(f"/v1/agents/{b['id']}")["blocks"]] == ["v2"]
    assert rest.get(f"/v1/blocks/{block['id']}")["value"] == "v2"

    # Through gRPC, from the other agent, with the same effect.
    stubs.agents.UpdateAgentBlock(agents_pb2.UpdateAgentBlockRequest(agent_id=b["id"], block_label=label,
                                                                     value="v3"))
    got = stubs.agents.GetAgentBlock(agents_pb2.GetAgentBlockRequest(agent_id=a["id"], block_label=label))
    assert got.value == "v3"
    # Both agents count as changed.
    for agent in (a, b):
        assert ts(rest.get(f"/v1/agents/{agent['id']}")["updated_at"]) > ts(agent["updated_at"])


def test_relabel_shared_block(stubs, rest):
    tag = uid()
    shared = rest.post("/v1/blocks", {"label": f"x_{tag}", "value": "shared"})
    a = rest.post("/v1/agents", {"block_ids": [shared["id"]], "include_base_tools": False})
    b = rest.post("/v1/agents", {"block_ids": [shared["id"]], "memory_blocks": [{"label": f"y_{tag}"}],
                                 "include_base_tools": False})

    # Agent b already has y_<tag>, so the shared block cannot take that label,
    # whichever route is used.
    body = rest.patch(f"/v1/agents/{a['id']}/core-memory/blocks/x_{tag}", {"label": f"y_{tag}"}, expect=409)
    assert body["code"] == grpc.StatusCode.ALREADY_EXISTS.value[0]
    rest.patch(f"/v1/blocks/{shared['id']}", {"label": f"y_{tag}"}, expect=409)
    assert_status(lambda: stubs.agents.UpdateAgentBlock(agents_pb2.UpdateAgentBlockRequest(
        agent_id=a["id"], block_label=f"x_{tag}", label=f"y_{tag}")), EXISTS)
    assert_status(lambda: stubs.blocks.UpdateBlock(blocks_pb2.UpdateBlockRequest(
        block_id=shared["id"], label=f"y_{tag}")), EXISTS)
    assert rest.get(f"/v1/blocks/{shared['id']}")["label"] == f"x_{tag}"

    # A free label works, and both agents find the block under it.
    rest.patch(f"/v1/agents/{a['id']}/core-memory/blocks/x_{tag}", {"label": f"z_{tag}"})
    for agent in (a, b):
        assert rest.get(f"/v1/agents/{agent['id']}/core-memory/blocks/z_{tag}")["id"] == shared["id"]
        rest.get(f"/v1/agents/{agent['id']}/core-memory/blocks/x_{tag}", expect=404)
