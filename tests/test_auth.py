"""MNEMO_SERVER_PASSWORD: every call needs `authorization: Bearer <password>`,
over gRPC and REST, except health checks. Runs its own server."""
from __future__ import annotations

import shutil

import grpc
import letta_client
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from letta_client import Letta
from mnemo.v1 import agents_pb2, blocks_pb2, models_pb2, tags_pb2, tools_pb2
from mnemo.v1 import health_pb2 as mnemo_health
from mnemo.v1 import health_pb2_grpc as mnemo_health_grpc

from tests.harness import make_stack
from tests.util import Stubs, assert_status, uid

PASSWORD = f"pw-{uid()}"
GOOD = (("authorization", f"Bearer {PASSWORD}"),)
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


@pytest.fixture(scope="module")
def locked():
    stack = make_stack(llm_base_url=None, extra_env={"MNEMO_SERVER_PASSWORD": PASSWORD}).start()
    yield stack
    stack.stop()
    shutil.rmtree(stack.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def locked_stubs(locked):
    channel = locked.channel()
    yield Stubs(channel)
    channel.close()


@pytest.fixture(scope="module")
def locked_http(locked):
    with locked.http() as client:
        yield client


def test_grpc_needs_the_password(locked_stubs):
    s = locked_stubs
    calls = {
        "ListAgents": lambda md: s.agents.ListAgents(agents_pb2.ListAgentsRequest(), metadata=md),
        "CreateBlock": lambda md: s.blocks.CreateBlock(blocks_pb2.CreateBlockRequest(label="x"), metadata=md),
        "ListTools": lambda md: s.tools.ListTools(tools_pb2.ListToolsRequest(), metadata=md),
        "ListTags": lambda md: s.tags.ListTags(tags_pb2.ListTagsRequest(), metadata=md),
        "ListModels": lambda md: s.models.ListModels(models_pb2.ListModelsRequest(), metadata=md),
    }
    wrong = [(), (("authorization", "Bearer nope"),), (("authorization", PASSWORD),),
             (("authorization", f"Bearer {PASSWORD}x"),), (("authorization", f"bearer-{PASSWORD}"),)]
    for call in calls.values():
        for metadata in wrong:
            assert_status(lambda c=call, md=metadata: c(md), UNAUTHENTICATED, "password")
        call(GOOD)  # works with the password


def test_grpc_with_password_does_real_work(locked_stubs):
    block = locked_stubs.blocks.CreateBlock(blocks_pb2.CreateBlockRequest(label=f"b_{uid()}", value="v"),
                                            metadata=GOOD)
    agent = locked_stubs.agents.CreateAgent(agents_pb2.CreateAgentRequest(block_ids=[block.id]), metadata=GOOD)
    assert [b.id for b in agent.blocks] == [block.id]
    # Without a provider configured, agents get the offline model.
    assert agent.model == "mnemo/offline-dev"
    assert_status(lambda: locked_stubs.agents.GetAgent(agents_pb2.GetAgentRequest(agent_id=agent.id)),
                  UNAUTHENTICATED)


def test_health_stays_open(locked, locked_http):
    channel = locked.channel()
    try:
        assert mnemo_health_grpc.HealthServiceStub(channel).GetHealth(mnemo_health.GetHealthRequest()).status == "ok"
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        channel.close()
    for path in ("/v1/health", "/v1/health/"):
        r = locked_http.get(path)
        assert r.status_code == 200 and r.json()["status"] == "ok"


def _list_services(channel, metadata=()):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                        metadata=metadata, timeout=30)
    return {s.name for r in replies for s in r.list_services_response.service}


def test_reflection_needs_the_password(locked):
    channel = locked.channel()
    try:
        for metadata in ((), (("authorization", "Bearer nope"),)):
            assert_status(lambda md=metadata: _list_services(channel, md), UNAUTHENTICATED, "password")
        assert "mnemo.v1.AgentService" in _list_services(channel, GOOD)
    finally:
        channel.close()


def test_health_watch_needs_the_password(locked):
    channel = locked.channel()
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        assert_status(lambda: next(stub.Watch(health_pb2.HealthCheckRequest(), timeout=30)), UNAUTHENTICATED,
                      "password")
        first = next(stub.Watch(health_pb2.HealthCheckRequest(), metadata=GOOD, timeout=30))
        assert first.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        channel.close()


def test_letta_server_password_alone_protects_the_server():
    password = f"letta-{uid()}"
    stack = make_stack(llm_base_url=None, extra_env={"LETTA_SERVER_PASSWORD": password}).start()
    try:
        channel = stack.channel()
        try:
            agents = Stubs(channel).agents
            assert_status(lambda: agents.ListAgents(agents_pb2.ListAgentsRequest()), UNAUTHENTICATED, "password")
            agents.ListAgents(agents_pb2.ListAgentsRequest(), metadata=(("authorization", f"Bearer {password}"),))
        finally:
            channel.close()
        with stack.http() as http:
            assert http.get("/v1/agents").status_code == 401
            assert http.get("/v1/agents", headers={"Authorization": f"Bearer {password}"}).status_code == 200
        assert "NO PASSWORD SET" not in stack.log()
    finally:
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)


def test_unauthenticated_server_warns_loudly(stack):
    # The session stack runs without a password: its start-up log says what that allows, and where.
    warning = next(line for line in stack.log_lines if "NO PASSWORD SET" in line)
    assert "WARNING" in warning and "run tools" in warning and "every agent" in warning
    assert f"127.0.0.1:{stack.grpc_port}" in warning and f"127.0.0.1:{stack.http_port}" in warning


def test_rest_needs_the_password(locked_http):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": PASSWORD}):
        for path in ("/v1/agents", "/v1/blocks", "/v1/tools", "/v1/models", "/v1/tags", "/v1/identities/count"):
            r = locked_http.get(path, headers=headers)
            assert r.status_code == 401, (path, headers, r.text)
            assert r.headers["content-type"].startswith("application/json")
            assert "password" in r.json()["detail"]
        r = locked_http.post("/v1/blocks", json={"label": "x"}, headers=headers)
        assert r.status_code == 401
    auth = {"Authorization": f"Bearer {PASSWORD}"}
    r = locked_http.post("/v1/blocks", json={"label": f"rest_{uid()}"}, headers=auth)
    assert r.status_code == 200, r.text
    r = locked_http.get(f"/v1/blocks/{r.json()['id']}", headers=auth)
    assert r.status_code == 200
    assert locked_http.get("/v1/agents", headers=auth).status_code == 200
    assert [m["handle"] for m in locked_http.get("/v1/models", headers=auth).json()] == ["mnemo/offline-dev"]


def test_letta_client_with_api_key(locked):
    with Letta(base_url=locked.http_base, api_key=PASSWORD, max_retries=0) as client:
        agent = client.agents.create(memory_blocks=[{"label": "human", "value": "x"}])
        assert client.agents.retrieve(agent.id).id == agent.id
        assert client.health().status == "ok"
    with Letta(base_url=locked.http_base, api_key="wrong", max_retries=0) as client:
        with pytest.raises(letta_client.AuthenticationError):
            client.agents.list()
        assert client.health().status == "ok"
    with Letta(base_url=locked.http_base, max_retries=0) as client:
        with pytest.raises(letta_client.AuthenticationError):
            client.agents.retrieve(agent.id)
