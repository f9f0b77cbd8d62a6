"""Health over gRPC (ours and the standard service) and REST, and reflection."""
from __future__ import annotations

from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from mnemo.v1 import health_pb2 as mnemo_health
from mnemo.v1 import health_pb2_grpc as mnemo_health_grpc


def test_health_grpc(channel):
    reply = mnemo_health_grpc.HealthServiceStub(channel).GetHealth(mnemo_health.GetHealthRequest())
    assert reply.status == "ok"
    assert reply.version


def test_standard_health_service(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    assert stub.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
    named = stub.Check(health_pb2.HealthCheckRequest(service="mnemo.v1.AgentService"))
    assert named.status == health_pb2.HealthCheckResponse.SERVING


def test_health_rest_with_and_without_trailing_slash(http):
    for path in ("/v1/health", "/v1/health/"):
        r = http.get(path)
        assert r.status_code == 200
        assert r.json()["status"] == "ok"


def test_reflection_lists_services(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert {"mnemo.v1.AgentService", "mnemo.v1.BlockService", "grpc.health.v1.Health"} <= names


def test_unknown_route_is_json_404(http):
    r = http.get("/v1/nothing-here")
    assert r.status_code == 404
    assert "detail" in r.json()
