"""Identities: IdentityService over gRPC and REST, and their links to agents."""
from __future__ import annotations

import grpc
import pytest
from mnemo.v1 import agents_pb2, identities_pb2

from tests.util import Rest, Stubs, assert_status, ids, pb, to_dict, ts, uid

INVALID, NOT_FOUND, EXISTS = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                              grpc.StatusCode.ALREADY_EXISTS)
MISSING = "identity-00000000-0000-0000-0000-000000000000"
PROPS = [
    {"key": "email", "value": "ana@example.com", "type": "string"},
    {"key": "age", "value": 41, "type": "number"},
    {"key": "vip", "value": True, "type": "boolean"},
    {"key": "prefs", "value": {"theme": "dark", "langs": ["en", "fr"]}, "type": "json"},
]


@pytest.fixture(scope="module")
def rest(http) -> Rest:
    return Rest(http)


@pytest.fixture(scope="module")
def stubs(channel) -> Stubs:
    return Stubs(channel)


def new_identity(rest, **extra) -> dict:
    return rest.post("/v1/identities", {"identifier_key": f"user-{uid()}", "name": "Ana", "identity_type": "user",
                                        **extra})


def test_create_and_get(rest, stubs):
    key = f"user-{uid()}"
    made = rest.post("/v1/identities", {"identifier_key": key, "name": "Ana Lima", "identity_type": "user",
                                        "properties": PROPS, "project_id": "p1"})
    assert made["id"].startswith("identity-")
    assert (made["identifier_key"], made["name"], made["identity_type"]) == (key, "Ana Lima", "user")
    assert made["properties"] == PROPS and made["project_id"] == "p1"
    assert made["agent_ids"] == [] and made["block_ids"] == []
    assert rest.get(f"/v1/identities/{made['id']}") == made

    got = stubs.identities.GetIdentity(identities_pb2.GetIdentityRequest(identity_id=made["id"]))
    assert got.identifier_key == key and [to_dict(p) for p in got.properties] == PROPS

    org = stubs.identities.CreateIdentity(pb(identities_pb2.CreateIdentityRequest, identifier_key=f"org-{uid()}",
                                             name="Acme", identity_type="org",
                                             properties=[{"key": "size", "value": 10, "type": "number"}]))
    assert org.identity_type == "org" and org.properties[0].value.number_value == 10
    assert rest.get(f"/v1/identities/{org.id}")["name"] == "Acme"


def test_create_validation(rest, stubs):
    rest.post("/v1/identities", {"identifier_key": "k", "name": "n", "identity_type": "robot"}, expect=400,
              contains="identity_type")
    rest.post("/v1/identities", {"name": "n", "identity_type": "user"}, expect=400, contains="identifier_key")
    rest.post("/v1/identities", {"identifier_key": f"k-{uid()}", "identity_type": "user"}, expect=400,
              contains="name")
    rest.post("/v1/identities", {"identifier_key": f"k-{uid()}", "name": "n", "identity_type": "user",
                                 "properties": [{"key": "age", "value": "old", "type": "number"}]},
              expect=400, contains="properties[0].value")
    rest.post("/v1/identities", {"identifier_key": f"k-{uid()}", "name": "n", "identity_type": "user",
                                 "properties": [{"key": "x", "value": 1, "type": "complex"}]},
              expect=400, contains="properties[0].type")
    rest.post("/v1/identities", {"identifier_key": f"k-{uid()}", "name": "n", "identity_type": "user",
                                 "agent_ids": ["agent-nope"]}, expect=404, contains="agent-nope")
    assert_status(lambda: stubs.identities.CreateIdentity(identities_pb2.CreateIdentityRequest(
        identifier_key="k", name="n", identity_type="x")), INVALID, "identity_type")


def test_duplicate_key_and_upsert(rest, stubs):
    key = f"dup-{uid()}"
    first = rest.post("/v1/identities", {"identifier_key": key, "name": "One", "identity_type": "user"})
    body = rest.post("/v1/identities", {"identifier_key": key, "name": "Two", "identity_type": "user"},
                     expect=409, contains="identifier_key")
    assert body["code"] == grpc.StatusCode.ALREADY_EXISTS.value[0]
    assert_status(lambda: stubs.identities.CreateIdentity(identities_pb2.CreateIdentityRequest(
        identifier_key=key, name="Two", identity_type="user")), EXISTS)
    # The same key in another project is another identity.
    elsewhere = rest.post("/v1/identities", {"identifier_key": key, "name": "P", "identity_type": "user",
                                             "project_id": f"proj-{uid()}"})
    assert elsewhere["id"] != first["id"]

    upserted = rest.put("/v1/identities", {"identifier_key": key, "name": "Two", "identity_type": "org",
                                           "properties": PROPS[:1]})
    assert upserted["id"] == first["id"]
    assert (upserted["name"], upserted["identity_type"], upserted["properties"]) == ("Two", "org", PROPS[:1])
    again = stubs.identities.UpsertIdentity(identities_pb2.CreateIdentityRequest(
        identifier_key=key, name="Three", identity_type="user"))
    assert again.id == first["id"] and again.name == "Three"
    # An upsert without agent_ids keeps the identity's links; with them, replaces them.
    agent = rest.post("/v1/agents", {"model": "openai/gpt-4o-mini"})
    linked = rest.put("/v1/identities", {"identifier_key": key, "name": "Four", "identity_type": "user",
                                         "agent_ids": [agent["id"]]})
    assert linked["agent_ids"] == [agent["id"]]
    kept = rest.put("/v1/identities", {"identifier_key": key, "name": "Five", "identity_type": "user"})
    assert kept["agent_ids"] == [agent["id"]] and kept["name"] == "Five"
    fresh = rest.put("/v1/identities", {"identifier_key": f"new-{uid()}", "name": "N", "identity_type": "other"})
    assert fresh["id"] not in (first["id"], elsewhere["id"]) and fresh["identity_type"] == "other"
    assert ids(rest.get("/v1/identities", params={"identifier_key": key})) == [elsewhere["id"], first["id"]]


def test_update(rest, stubs):
    made = new_identity(rest, properties=PROPS)
    path = f"/v1/identities/{made['id']}"
    updated = rest.patch(path, {"name": "Bea"})
    assert updated["name"] == "Bea"
    for key in ("identifier_key", "identity_type", "properties", "agent_ids", "created_at"):
        assert updated[key] == made[key], key
    assert ts(updated["updated_at"]) > ts(made["updated_at"])

    new_key = f"renamed-{uid()}"
    updated = rest.patch(path, {"identifier_key": new_key, "identity_type": "other", "properties": PROPS[1:2]})
    assert (updated["identifier_key"], updated["identity_type"]) == (new_key, "other")
    assert updated["properties"] == PROPS[1:2]
    rest.patch(path, {"identity_type": "robot"}, expect=400, contains="identity_type")
    rest.patch(path, {"properties": [{"key": "k", "value": 1, "type": "string"}]}, expect=400,
               contains="properties[0].value")
    rest.patch(path, {"agent_ids": ["agent-nope"]}, expect=404, contains="agent-nope")
    taken = new_identity(rest)
    rest.patch(path, {"identifier_key": taken["identifier_key"]}, expect=409)

    got = stubs.identities.UpdateIdentity(pb(identities_pb2.UpdateIdentityRequest, identity_id=made["id"],
                                             name="Cy", properties=[]))
    assert got.name == "Cy" and not got.properties and got.identifier_key == new_key
    rest.patch(f"/v1/identities/{MISSING}", {"name": "x"}, expect=404, contains=MISSING)


def test_properties_put(rest, stubs):
    made = new_identity(rest, properties=PROPS)
    path = f"/v1/identities/{made['id']}/properties"
    # The REST body is the JSON array itself.
    replaced = rest.put(path, [{"key": "plan", "value": "pro", "type": "string"}])
    assert replaced["id"] == made["id"]
    assert replaced["properties"] == [{"key": "plan", "value": "pro", "type": "string"}]
    assert rest.get(f"/v1/identities/{made['id']}")["properties"] == replaced["properties"]
    assert rest.put(path, [])["properties"] == []
    rest.put(path, [{"key": "n", "value": "x", "type": "boolean"}], expect=400, contains="properties[0].value")
    rest.put(f"/v1/identities/{MISSING}/properties", [], expect=404)

    got = stubs.identities.UpsertIdentityProperties(pb(identities_pb2.UpsertIdentityPropertiesRequest,
                                                       identity_id=made["id"], properties=PROPS))
    assert [to_dict(p) for p in got.properties] == PROPS


def test_list_count_and_paging(rest, stubs):
    tag = uid()
    made = [new_identity(rest, name=f"Person {tag} {i}", identity_type="org" if i == 1 else "user")
            for i in range(3)]
    made_ids = ids(made)

    def listed(**params) -> list[str]:
        over_rest = rest.get("/v1/identities", params=params)
        over_grpc = stubs.identities.ListIdentities(pb(identities_pb2.ListIdentitiesRequest, params))
        assert ids(over_grpc.identities) == ids(over_rest)
        return ids(over_rest)

    assert listed(name=f"person {tag}") == made_ids[::-1]  # newest first, case-insensitive
    assert listed(name=f"person {tag}", order="asc") == made_ids
    assert listed(name=tag, identity_type="org") == [made_ids[1]]
    assert listed(identifier_key=made[2]["identifier_key"]) == [made_ids[2]]
    assert listed(name=tag, limit=2) == made_ids[:0:-1]
    assert listed(name=tag, limit=2, after=made_ids[1]) == [made_ids[0]]
    assert listed(name=tag, order="asc", before=made_ids[2]) == made_ids[:2]
    assert listed(name=tag, after=made_ids[0]) == []

    count = rest.get("/v1/identities/count")
    assert count == stubs.identities.CountIdentities(identities_pb2.CountIdentitiesRequest()).count
    new_identity(rest)
    assert rest.get("/v1/identities/count") == count + 1


def test_delete(rest, stubs):
    made = new_identity(rest)
    agent = rest.post("/v1/agents", {"include_base_tools": False, "identity_ids": [made["id"]]})
    assert rest.delete(f"/v1/identities/{made['id']}") == {}
    rest.get(f"/v1/identities/{made['id']}", expect=404, contains=made["id"])
    rest.delete(f"/v1/identities/{made['id']}", expect=404)
    # The agent stays, unlinked.
    assert rest.get(f"/v1/agents/{agent['id']}")["identity_ids"] == []

    other = new_identity(rest)
    stubs.identities.DeleteIdentity(identities_pb2.DeleteIdentityRequest(identity_id=other["id"]))
    assert_status(lambda: stubs.identities.GetIdentity(identities_pb2.GetIdentityRequest(identity_id=other["id"])),
                  NOT_FOUND, other["id"])
    assert_status(lambda: stubs.identities.DeleteIdentity(identities_pb2.DeleteIdentityRequest()), INVALID,
                  "identity_id")


def test_links_agree_both_ways(rest, stubs):
    a1 = rest.post("/v1/agents", {"include_base_tools": False})
    a2 = rest.post("/v1/agents", {"include_base_tools": False})
    block = rest.post("/v1/blocks", {"label": f"ib_{uid()}"})

    # Linked from the identity's side.
    person = new_identity(rest, agent_ids=[a1["id"]], block_ids=[block["id"]])
    assert person["agent_ids"] == [a1["id"]] and person["block_ids"] == [block["id"]]
    assert rest.get(f"/v1/agents/{a1['id']}")["identity_ids"] == [person["id"]]
    assert ids(rest.get("/v1/agents", params={"identity_id": person["id"]})) == [a1["id"]]

    # Linked from the agent's side.
    rest.patch(f"/v1/agents/{a2['id']}/identities/attach/{person['id']}")
    assert sorted(rest.get(f"/v1/identities/{person['id']}")["agent_ids"]) == sorted([a1["id"], a2["id"]])

    # Replaced from the identity's side.
    updated = rest.patch(f"/v1/identities/{person['id']}", {"agent_ids": [a2["id"]], "block_ids": []})
    assert updated["agent_ids"] == [a2["id"]] and updated["block_ids"] == []
    assert rest.get(f"/v1/agents/{a1['id']}")["identity_ids"] == []
    assert rest.get(f"/v1/agents/{a2['id']}")["identity_ids"] == [person["id"]]

    # Replaced from the agent's side.
    org = new_identity(rest, identity_type="org")
    stubs.agents.UpdateAgent(pb(agents_pb2.UpdateAgentRequest, agent_id=a2["id"], identity_ids=[org["id"]]))
    assert rest.get(f"/v1/identities/{person['id']}")["agent_ids"] == []
    assert rest.get(f"/v1/identities/{org['id']}")["agent_ids"] == [a2["id"]]

    # Deleting an agent unlinks it.
    rest.delete(f"/v1/agents/{a2['id']}")
    assert rest.get(f"/v1/identities/{org['id']}")["agent_ids"] == []
