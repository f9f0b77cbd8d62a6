"""The REST surface against a web page and a rebinding DNS name, and the global limits, through
the real Envoy and server.

- Content-Type: the bodies an HTML form or a "simple" cross-origin fetch can send without a
  preflight (text/plain, form, multipart) get 415 and change nothing.
- Origin: a browser request from an origin not in MNEMO_CORS_ORIGINS is refused (403) before it
  reaches the server, preflight or not; a configured origin gets a proper CORS answer.
- Host: a Host that is not one of the configured names (DNS rebinding) is refused (403).
- Body caps per route (413 naming the setting), Content-Length or chunked.
- Concurrent RPC and stream caps (RESOURCE_EXHAUSTED / 429 with Retry-After) and the default
  deadline of unary RPCs, on a dedicated server with low settings.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from mnemo.v1 import agents_pb2, agents_pb2_grpc, messages_pb2, messages_pb2_grpc
from mnemo.v1 import health_pb2 as mnemo_health_pb2
from mnemo.v1 import health_pb2_grpc as mnemo_health_grpc

from tests.fakes.fake_llm import Reply
from tests.harness import ROOT, make_stack
from tests.util import tool_source, uid

SIMPLE_TYPES = ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=xyz"]


def agent_names(http, name: str) -> list[str]:
    r = http.get("/v1/agents", params={"name": name})
    assert r.status_code == 200, r.text
    return [a["name"] for a in r.json()]


def assert_json_error(r: httpx.Response, status: int, *fragments: str) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), r.headers
    detail = r.json()["detail"]
    for fragment in fragments:
        assert fragment in detail, detail


# ----------------------------------------------------------------------------- Content-Type


@pytest.mark.parametrize("content_type", SIMPLE_TYPES)
def test_non_json_bodies_are_refused_with_415_and_change_nothing(http, content_type):
    name = f"csrf-{uid()}"
    r = http.post("/v1/agents", content=json.dumps({"name": name}), headers={"content-type": content_type})
    assert_json_error(r, 415, "Content-Type", "application/json")
    assert agent_names(http, name) == []
    # The same body as JSON is accepted: only the media type made the difference.
    r = http.post("/v1/agents", content=json.dumps({"name": name}), headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert agent_names(http, name) == [name]


def test_tools_run_refuses_text_plain(http):
    body = json.dumps({"source_code": tool_source("probe", body="return 'ran'"), "args": {}})
    r = http.post("/v1/tools/run", content=body, headers={"content-type": "text/plain"})
    assert_json_error(r, 415, "text/plain")
    r = http.post("/v1/tools/run", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["func_return"] == "ran", r.text


def test_json_media_types_and_a_missing_content_type(http):
    for content_type in ("application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"):
        name = f"ct-{uid()}"
        r = http.post("/v1/agents", content=json.dumps({"name": name}), headers={"content-type": content_type})
        assert r.status_code == 200, (content_type, r.text)
    # No Content-Type: the body must parse as JSON (the transcoder answers 400 otherwise).
    name = f"noct-{uid()}"
    r = http.post("/v1/agents", content=json.dumps({"name": name}))
    assert "content-type" not in r.request.headers
    assert r.status_code == 200 and r.json()["name"] == name, r.text
    r = http.post("/v1/agents", content=b"name=x")
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/json"), r.text
    # Requests without a body are not affected, whatever they claim.
    assert http.get("/v1/health", headers={"content-type": "text/plain"}).status_code == 200


# ----------------------------------------------------------------------------- Host


def test_foreign_host_is_refused(stack, http):
    name = f"rebind-{uid()}"
    for host in ("evil.example", f"evil.example:{stack.http_port}", "127.0.0.1.evil.example", "localhost.evil"):
        r = http.post("/v1/agents", json={"name": name}, headers={"host": host})
        assert_json_error(r, 403, host.split(":")[0], "MNEMO_ALLOWED_HOSTS")
        assert_json_error(http.get("/v1/agents", headers={"host": host}), 403, "MNEMO_ALLOWED_HOSTS")
    assert agent_names(http, name) == []
    for host in ("localhost", f"localhost:{stack.http_port}", "LOCALHOST", "127.0.0.1", f"[::1]:{stack.http_port}"):
        assert http.get("/v1/health", headers={"host": host}).status_code == 200, host


# ----------------------------------------------------------------------------- Origin (CORS)


def test_preflight_from_an_unconfigured_origin_is_refused(http):
    r = http.options("/v1/tools/run", headers={
        "origin": "https://evil.example", "access-control-request-method": "POST",
        "access-control-request-headers": "content-type"})
    assert_json_error(r, 403, "https://evil.example", "MNEMO_CORS_ORIGINS")
    assert not any(k.startswith("access-control-") for k in r.headers)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json"])
def test_cross_origin_post_is_refused_without_side_effect(http, content_type):
    """What a page on evil.example can send: a simple POST (no Content-Type, as fetch with a Blob
    body sends; or text/plain), or a JSON POST if its preflight were skipped."""
    name = f"xorigin-{uid()}"
    headers = {"origin": "https://evil.example"}
    if content_type:
        headers["content-type"] = content_type
    r = http.post("/v1/agents", content=json.dumps({"name": name}), headers=headers)
    assert_json_error(r, 403, "https://evil.example", "MNEMO_CORS_ORIGINS")
    assert "access-control-allow-origin" not in r.headers
    assert agent_names(http, name) == []
    body = json.dumps({"source_code": tool_source("probe", body="return 'ran'"), "args": {}})
    r = http.post("/v1/tools/run", content=body, headers=headers)
    assert_json_error(r, 403, "MNEMO_CORS_ORIGINS")
    assert "ran" not in r.text


def test_null_origin_and_other_ports_are_foreign(stack, http):
    for origin in ("null", f"http://127.0.0.1:{stack.http_port + 1}", "http://localhost:3000"):
        r = http.post("/v1/agents", json={"name": f"o-{uid()}"}, headers={"origin": origin})
        assert_json_error(r, 403, "MNEMO_CORS_ORIGINS")


def test_same_origin_is_allowed(stack, http):
    name = f"same-{uid()}"
    r = http.post("/v1/agents", json={"name": name}, headers={"origin": stack.http_base})
    assert r.status_code == 200, r.text


# ----------------------------------------------------------------------------- body caps


def test_json_body_cap_by_length_and_chunked(http):
    name = f"big-{uid()}"
    big = json.dumps({"name": name, "description": "x" * (1024 * 1024 + 1)}).encode()
    r = http.post("/v1/agents", content=big, headers={"content-type": "application/json"})
    assert_json_error(r, 413, "1048576 bytes", "MNEMO_MAX_BODY_BYTES")

    def chunks():  # no Content-Length: Transfer-Encoding chunked
        for i in range(0, len(big), 256 * 1024):
            yield big[i:i + 256 * 1024]

    r = http.post("/v1/agents", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_json_error(r, 413, "1048576 bytes", "MNEMO_MAX_BODY_BYTES")
    assert agent_names(http, name) == []
    # Just under the cap passes.
    small = json.dumps({"name": name, "description": "x" * (1024 * 1024 - 200)}).encode()
    r = http.post("/v1/agents", content=small, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text[:300]


def test_message_routes_take_larger_bodies(http):
    """Sending messages has its own, larger cap (MNEMO_MAX_MESSAGE_BODY_BYTES, 8 MiB)."""
    missing = "agent-00000000-0000-0000-0000-000000000000"
    text = "x" * (2 * 1024 * 1024)
    for path in ("messages", "messages/stream", "messages/async"):
        r = http.post(f"/v1/agents/{missing}/{path}", json={"messages": [{"role": "user", "content": text}]})
        assert_json_error(r, 404, "not found")  # got past the gateway's cap to the server
    for path in ("/v1/chat/completions", f"/v1/voice-beta/{missing}/chat/completions"):
        for stream in (False, True):
            r = http.post(path, json={"model": missing, "stream": stream,
                                      "messages": [{"role": "user", "content": text}]})
            assert r.status_code in (400, 404), (path, stream, r.status_code, r.text[:300])
            assert r.json()["detail"]
    huge = "x" * (8 * 1024 * 1024 + 1)
    r = http.post(f"/v1/agents/{missing}/messages", json={"messages": [{"role": "user", "content": huge}]})
    assert_json_error(r, 413, "MNEMO_MAX_MESSAGE_BODY_BYTES")
    # The same 2 MiB anywhere else is over the default cap.
    r = http.patch(f"/v1/agents/{missing}", json={"description": text})
    assert_json_error(r, 413, "MNEMO_MAX_BODY_BYTES")


# ----------------------------------------------------------------------------- a dedicated server


@pytest.fixture(scope="module")
def tight(fake_llm):
    """A server with a configured origin and host, and low limits."""
    stack = make_stack(llm_base_url=fake_llm.base_url, extra_env={
        "MNEMO_CORS_ORIGINS": "https://app.example.com,http://localhost:5173",
        "MNEMO_ALLOWED_HOSTS": "mnemo.internal",
        "MNEMO_MAX_CONCURRENT_RPCS": "4",
        "MNEMO_MAX_CONCURRENT_STREAMS": "2",
        "MNEMO_RPC_TIMEOUT_S": "2",
        "MNEMO_STREAM_IDLE_TIMEOUT_S": "5",
        "MNEMO_PING_INTERVAL_S": "1",
    }).start()
    yield stack
    stack.stop()
    shutil.rmtree(stack.data_dir, ignore_errors=True)


def test_configured_origin_gets_cors_answers(tight):
    with tight.http() as http:
        r = http.options("/v1/agents", headers={
            "origin": "https://app.example.com", "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
            "access-control-request-private-network": "true"})
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-private-network"] == "true"
        assert r.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "POST" in r.headers["access-control-allow-methods"]
        assert "authorization" in r.headers["access-control-allow-headers"]
        name = f"cors-{uid()}"
        r = http.post("/v1/agents", json={"name": name}, headers={"origin": "http://localhost:5173"})
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == "http://localhost:5173"
        # A configured origin still cannot send a simple (non-JSON) body.
        r = http.post("/v1/agents", content=json.dumps({"name": name}),
                      headers={"origin": "https://app.example.com", "content-type": "text/plain"})
        assert_json_error(r, 415, "text/plain")
        # Others stay refused.
        r = http.options("/v1/agents", headers={"origin": "https://app.example.com.evil",
                                                 "access-control-request-method": "POST"})
        assert_json_error(r, 403, "MNEMO_CORS_ORIGINS")
        # The configured extra host name is served, others are not.
        assert http.get("/v1/health", headers={"host": "mnemo.internal"}).status_code == 200
        assert_json_error(http.get("/v1/health", headers={"host": "other.internal"}), 403, "other.internal")


def _watch(channel) -> grpc.Future:
    """Holds one Health/Watch stream open (a long server-streaming RPC)."""
    call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
    assert next(call).status == health_pb2.HealthCheckResponse.SERVING
    return call


def test_concurrent_stream_and_rpc_limits(tight, fake_llm):
    channel = tight.channel()
    held = [_watch(channel), _watch(channel)]
    try:
        # A third stream: RESOURCE_EXHAUSTED naming the setting, with a retry hint.
        with pytest.raises(grpc.RpcError) as err:
            next(health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service="")))
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "MNEMO_MAX_CONCURRENT_STREAMS" in err.value.details()
        assert ("retry-after", "1") in tuple(err.value.trailing_metadata())
        with tight.http() as http:
            r = http.post("/v1/runs/run-00000000-0000-0000-0000-000000000000/stream", json={})
            assert_json_error(r, 429, "MNEMO_MAX_CONCURRENT_STREAMS")
            assert r.headers["retry-after"] == "1"
            # Unary calls still fit under the RPC cap (2 of 4 used).
            assert http.get("/v1/health").status_code == 200

            # Two slow unary calls fill the RPC cap (2 streams + 2 calls = 4).
            model = f"slow-{uid()}"
            fake_llm.script(Reply(text="late", delay_s=1.5), Reply(text="late", delay_s=1.5), model=model)
            agents = agents_pb2_grpc.AgentServiceStub(channel)
            msgs = messages_pb2_grpc.MessageServiceStub(channel)
            slow = []
            for _ in range(2):
                agent = agents.CreateAgent(agents_pb2.CreateAgentRequest(model=f"openai/{model}"))
                slow.append(msgs.SendMessage.future(messages_pb2.SendMessageRequest(
                    agent_id=agent.id, messages=[{"role": "user", "content": {"string_value": "hi"}}])))
            time.sleep(0.5)
            with pytest.raises(grpc.RpcError) as err:
                mnemo_health_grpc.HealthServiceStub(channel).GetHealth(mnemo_health_pb2.GetHealthRequest())
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            r = http.get("/v1/health")
            assert r.status_code == 429 and r.headers["retry-after"] == "1", r.text
            assert r.headers["content-type"].startswith("application/json") and r.json()["detail"]
            for call in slow:
                assert call.result(timeout=30).messages[0].content.string_value == "late"
            # Slots free again once calls end.
            assert http.get("/v1/health").status_code == 200
    finally:
        for call in held:
            call.cancel()
        channel.close()
    time.sleep(0.3)
    with tight.http() as http:  # and the stream slots too
        r = http.post("/v1/runs/run-00000000-0000-0000-0000-000000000000/stream", json={})
        assert_json_error(r, 404, "not found")


def test_unary_call_without_deadline_is_cut_at_the_default(tight, fake_llm):
    model = f"stall-{uid()}"
    slow = Reply(text="too late", delay_s=8.5)
    fake_llm.script(slow, Reply(text="next"), slow, slow, model=model)
    with tight.channel() as channel:
        agents = agents_pb2_grpc.AgentServiceStub(channel)
        msgs = messages_pb2_grpc.MessageServiceStub(channel)
        agent = agents.CreateAgent(agents_pb2.CreateAgentRequest(model=f"openai/{model}"))
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as err:
            msgs.SendMessage(messages_pb2.SendMessageRequest(
                agent_id=agent.id, messages=[{"role": "user", "content": {"string_value": "hi"}}]))
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "MNEMO_RPC_TIMEOUT_S" in err.value.details()
        assert 1.5 < time.monotonic() - started < 6
        # The cut call's run was cancelled: the agent takes the next message at once.
        started = time.monotonic()
        reply = msgs.SendMessage(messages_pb2.SendMessageRequest(
            agent_id=agent.id, messages=[{"role": "user", "content": {"string_value": "again"}}]))
        assert reply.messages[-1].content.string_value == "next" and time.monotonic() - started < 2

    with tight.http() as http:
        agent_id = http.post("/v1/agents", json={"model": f"openai/{model}"}).json()["id"]
        started = time.monotonic()
        r = http.post(f"/v1/agents/{agent_id}/messages", json={"messages": [{"role": "user", "content": "hi"}]})
        assert_json_error(r, 504, "MNEMO_RPC_TIMEOUT_S")
        assert time.monotonic() - started < 6

        # Streams are exempt: the same slow answer (8.5 s, past the gateway's unary route timeout
        # of MNEMO_RPC_TIMEOUT_S + 5 s) arrives on a stream ("streaming": true is routed to
        # StreamMessages), kept open through the idle timeout (5 s) by pings.
        other = http.post("/v1/agents", json={"model": f"openai/{model}"}).json()["id"]
        with http.stream("POST", f"/v1/agents/{other}/messages", timeout=60, json={
                "messages": [{"role": "user", "content": "hi"}], "streaming": True, "include_pings": True}) as r:
            assert r.status_code == 200
            body = "".join(r.iter_text())
        assert '"ping"' in body and "too late" in body and body.rstrip().endswith("data: [DONE]"), body


def test_silent_stream_is_closed_at_the_idle_timeout(tight, fake_llm):
    model = f"silent-{uid()}"
    fake_llm.script(Reply(text="too late", delay_s=8.5), model=model)
    with tight.http() as http:
        agent_id = http.post("/v1/agents", json={"model": f"openai/{model}"}).json()["id"]
        started = time.monotonic()
        body = ""
        try:
            with http.stream("POST", f"/v1/agents/{agent_id}/messages/stream", timeout=60,
                             json={"messages": [{"role": "user", "content": "hi"}]}) as r:
                status = r.status_code
                body = "".join(r.iter_text())
        except httpx.HTTPError:  # headers already sent: the stream is reset
            status = None
        elapsed = time.monotonic() - started
    assert 4 < elapsed < 8, elapsed  # MNEMO_STREAM_IDLE_TIMEOUT_S=5, before the 8.5 s answer
    assert status != 200 or "[DONE]" not in body, body


def test_invalid_limit_settings_refuse_to_start(tmp_path):
    for name, value in [("MNEMO_MAX_CONCURRENT_RPCS", "0"), ("MNEMO_RPC_TIMEOUT_S", "soon"),
                        ("MNEMO_CORS_ORIGINS", "*"), ("MNEMO_ALLOWED_HOSTS", "http://x.example/")]:
        stack = make_stack(llm_base_url=None, data_dir=tmp_path, extra_env={name: value})
        result = subprocess.run([sys.executable, "-m", "mnemo_server", "run"], cwd=ROOT, env=stack.env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        assert name in result.stderr, result.stderr

