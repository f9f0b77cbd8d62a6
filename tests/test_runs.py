"""Runs: background execution, resumable streams, cancellation, the per-agent
queue, and several servers sharing one database (including one that dies)."""
from __future__ import annotations

import json
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from mnemo_server.storage.database import EmbeddedPostgres

from tests.fakes.fake_llm import Reply
from tests.harness import make_stack
from tests.util import uid


def sse_events(response: httpx.Response):
    """Parses an SSE response into (event name, payload) pairs."""
    name = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
            yield name, (data if data == "[DONE]" else json.loads(data))
            name = None


def wait_for(predicate, timeout=20.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def new_agent(http, model):
    return http.post("/v1/agents", json={"model": f"openai/{model}", "include_base_tools": False}).json()["id"]


# -- one server ------------------------------------------------------------------------


def test_async_run_completes_and_is_listable(fake_llm, http):
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(text="done in the background", delay_s=0.3), model=model)
    run = http.post(f"/v1/agents/{agent}/messages/async", json={"input": "work on it"}).json()
    assert run["id"].startswith("run-") and run["status"] in ("created", "running") and run["background"]
    done = wait_for(lambda: (r := http.get(f"/v1/runs/{run['id']}").json())["status"] == "completed" and r)
    assert done["stop_reason"] == "end_turn" and done["total_duration_ns"] > 0
    messages = http.get(f"/v1/runs/{run['id']}/messages").json()
    assert [(m["message_type"], m.get("content")) for m in messages] == [
        ("user_message", "work on it"), ("assistant_message", "done in the background")]
    steps = http.get(f"/v1/runs/{run['id']}/steps").json()
    assert len(steps) == 1 and steps[0]["status"] == "success" and steps[0]["run_id"] == run["id"]
    assert http.get(f"/v1/steps/{steps[0]['id']}").json()["agent_id"] == agent
    usage = http.get(f"/v1/runs/{run['id']}/usage").json()
    assert usage["step_count"] == 1 and usage["total_tokens"] > 0
    listed = http.get("/v1/runs", params={"agent_id": agent}).json()
    assert [r["id"] for r in listed] == [run["id"]]
    assert http.get("/v1/runs", params={"agent_id": agent, "active": "true"}).json() == []
    assert [s["id"] for s in http.get("/v1/steps", params={"agent_id": agent}).json()] == [steps[0]["id"]]
    # The whole event log can be replayed.
    with http.stream("POST", f"/v1/runs/{run['id']}/stream", json={}) as r:
        events = list(sse_events(r))
    assert [e[1]["message_type"] for e in events[:-1]] == ["assistant_message", "stop_reason", "usage_statistics"]
    assert [e[1]["seq_id"] for e in events[:-1]] == [1, 2, 3] and events[-1] == (None, "[DONE]")


def test_foreground_runs_cannot_be_resumed_and_unknown_runs_404(fake_llm, http):
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    reply = http.post(f"/v1/agents/{agent}/messages", json={"input": "hi"}).json()
    run_id = reply["usage"]["run_ids"][0]
    assert http.get(f"/v1/runs/{run_id}").json()["status"] == "completed"
    r = http.post(f"/v1/runs/{run_id}/stream", json={})
    assert r.status_code == 400 and "background" in r.json()["detail"]
    assert http.get("/v1/runs/run-00000000-0000-0000-0000-000000000000").status_code == 404


def test_cancel_mid_run_keeps_history_consistent(fake_llm, http):
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(text="too late", delay_s=30), model=model)
    run = http.post(f"/v1/agents/{agent}/messages/async", json={"input": "slow one"}).json()
    wait_for(lambda: http.get(f"/v1/runs/{run['id']}").json()["status"] == "running")
    wait_for(lambda: fake_llm.last_request(model=model) is not None)  # cancel while the model is answering
    started = time.monotonic()
    outcome = http.post(f"/v1/agents/{agent}/messages/cancel", json={}).json()
    assert outcome == {run["id"]: "cancelled"}
    final = wait_for(lambda: (r := http.get(f"/v1/runs/{run['id']}").json())["status"] != "running" and r)
    assert final["status"] == "cancelled" and final["stop_reason"] == "cancelled"
    assert time.monotonic() - started < 5
    contents = [(m["message_type"], m.get("content")) for m in http.get(f"/v1/runs/{run['id']}/messages").json()]
    assert contents == [("user_message", "slow one")]
    reply = http.post(f"/v1/agents/{agent}/messages", json={"input": "next"}).json()
    assert reply["messages"][-1]["content"] == "echo: next"
    assert http.get(f"/v1/agents/{agent}").json()["last_stop_reason"] == "end_turn"


def test_concurrent_messages_are_processed_one_at_a_time_in_order(stack, fake_llm, http):
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(*[Reply(text=f"answer {i}", delay_s=0.05) for i in range(8)], model=model)
    results: dict[int, dict] = {}

    def send(i):
        with stack.http() as client:
            results[i] = client.post(f"/v1/agents/{agent}/messages", json={"input": f"question {i}"}).json()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
        time.sleep(0.01)
    for t in threads:
        t.join()
    assert len(results) == 8 and all(r["stop_reason"]["stop_reason"] == "end_turn" for r in results.values())
    # Arrival order is the order in which requests reached the agent's queue: the
    # runs list in ascending order.
    runs = http.get("/v1/runs", params={"agent_id": agent, "limit": 20, "order": "asc"}).json()
    assert len(runs) == 8 and all(r["status"] == "completed" for r in runs)
    # One at a time: no two runs overlap.
    spans = sorted((r["started_at"], r["completed_at"]) for r in runs)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    # In arrival order, nothing lost: each question is directly followed by one answer.
    history = http.get(f"/v1/agents/{agent}/messages", params={"order": "asc", "limit": 100}).json()
    pairs = [m.get("content") for m in history if m["message_type"] in ("user_message", "assistant_message")]
    questions = pairs[0::2]
    assert sorted(questions) == sorted(f"question {i}" for i in range(8))
    assert all(a.startswith("answer") for a in pairs[1::2]) and len(pairs) == 16
    order_by_run = [http.get(f"/v1/runs/{r['id']}/messages").json()[0]["content"] for r in runs]
    assert order_by_run == questions, "processing order is run (arrival) order"


def test_busy_agent_can_reject_instead_of_queueing(fake_llm, http):
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(text="slow", delay_s=2), model=model)
    run = http.post(f"/v1/agents/{agent}/messages/async", json={"input": "first"}).json()
    wait_for(lambda: http.get(f"/v1/runs/{run['id']}").json()["status"] == "running")
    r = http.post(f"/v1/agents/{agent}/messages", json={"input": "second", "if_busy": "reject"})
    assert r.status_code == 409 and run["id"] in r.json()["detail"]
    assert http.post(f"/v1/agents/{agent}/messages", json={"input": "x", "if_busy": "maybe"}).status_code == 400
    wait_for(lambda: http.get(f"/v1/runs/{run['id']}").json()["status"] == "completed")


# -- several servers on one database -------------------------------------------------------


@pytest.fixture(scope="module")
def shared_db():
    folder = Path(tempfile.mkdtemp(prefix="mnemo-shared-db-"))
    db = EmbeddedPostgres(folder)
    url = db.start()
    yield url
    db.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def two_servers(fake_llm, shared_db):
    env = {"MNEMO_DATABASE_URL": shared_db, "MNEMO_ENCRYPTION_KEY": Fernet.generate_key().decode(),
           "MNEMO_SERVER_STALE_AFTER_S": "2", "MNEMO_PING_INTERVAL_S": "0.3"}
    a = make_stack(llm_base_url=fake_llm.base_url, extra_env=env).start()
    b = make_stack(llm_base_url=fake_llm.base_url, extra_env=env).start()
    yield a, b
    for s in (a, b):
        s.stop()
        shutil.rmtree(s.data_dir, ignore_errors=True)


def test_stream_resumes_on_another_server_without_gaps(two_servers, fake_llm):
    a, b = two_servers
    model = f"m-{uid()}"
    with a.http() as http_a, b.http() as http_b:
        agent = new_agent(http_a, model)
        text = " ".join(f"word{i}" for i in range(30))
        fake_llm.script(Reply(text=text, stream_chunks=30, chunk_delay_s=0.05), model=model)
        seen = []
        with http_a.stream("POST", f"/v1/agents/{agent}/messages/stream",
                           json={"input": "talk", "stream_tokens": True, "background": True}) as r:
            for _, payload in sse_events(r):
                seen.append(payload)
                if len(seen) == 5:
                    break  # the client drops the connection mid-stream
        run_id = seen[0]["run_id"]
        last = seen[-1]["seq_id"]
        with http_b.stream("POST", f"/v1/runs/{run_id}/stream", json={"starting_after": last}) as r:
            rest = [p for _, p in sse_events(r) if p != "[DONE]"]
    seqs = [e["seq_id"] for e in seen + rest]
    assert seqs == list(range(1, len(seqs) + 1)), "no gaps, no duplicates"
    deltas = [e["content"] for e in seen + rest if e["message_type"] == "assistant_message"]
    assert "".join(deltas) == text
    assert [e["message_type"] for e in rest[-2:]] == ["stop_reason", "usage_statistics"]


def test_two_servers_never_run_one_agent_twice(two_servers, fake_llm):
    a, b = two_servers
    model = f"m-{uid()}"
    with a.http() as http_a:
        agent = new_agent(http_a, model)
    fake_llm.script(*[Reply(text=f"r{i}", delay_s=0.2) for i in range(6)], model=model)

    def send(stack, i):
        with stack.http() as client:
            assert client.post(f"/v1/agents/{agent}/messages", json={"input": f"m{i}"}).status_code == 200

    threads = [threading.Thread(target=send, args=((a, b)[i % 2], i)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with b.http() as http_b:
        runs = http_b.get("/v1/runs", params={"agent_id": agent}).json()
    assert len(runs) == 6 and {r["status"] for r in runs} == {"completed"}
    spans = sorted((r["started_at"], r["completed_at"]) for r in runs)
    assert all(x[1] <= y[0] for x, y in zip(spans, spans[1:], strict=False))


def test_a_killed_servers_run_is_failed_and_the_agent_freed(two_servers, fake_llm, shared_db):
    a, b = two_servers
    model = f"m-{uid()}"
    with a.http() as http_a:
        agent = new_agent(http_a, model)
        fake_llm.script(Reply(text="never delivered", delay_s=60), model=model)
        run = http_a.post(f"/v1/agents/{agent}/messages/async", json={"input": "doomed"}).json()
        wait_for(lambda: http_a.get(f"/v1/runs/{run['id']}").json()["status"] == "running")
    # Kill it mid-run: while its model call is in flight.
    wait_for(lambda: fake_llm.last_request(model=model) is not None)
    a.process.send_signal(signal.SIGKILL)
    a.process.wait()

    def gateway_gone():
        try:
            socket.create_connection(("127.0.0.1", a.http_port), timeout=0.2).close()
            return False
        except OSError:
            return True

    # Its gateway dies with it (it would otherwise keep serving the port).
    wait_for(gateway_gone, timeout=10)
    try:
        with b.http() as http_b:
            started = time.monotonic()
            failed = wait_for(lambda: (r := http_b.get(f"/v1/runs/{run['id']}").json())["status"] == "failed" and r,
                              timeout=20)
            assert "stopped" in json.dumps(failed["metadata"])
            assert time.monotonic() - started < 15
            reply = http_b.post(f"/v1/agents/{agent}/messages", json={"input": "anyone?"})
            assert reply.status_code == 200 and reply.json()["messages"][-1]["content"] == "echo: anyone?"
    finally:
        a.start()  # leave the pair running for other tests


def test_keep_alive_pings_while_the_model_is_slow(two_servers, fake_llm):
    a, b = two_servers
    model = f"m-{uid()}"
    with a.http() as http_a, b.http() as http_b:
        agent = new_agent(http_a, model)
        fake_llm.script(Reply(text="finally", delay_s=1.5), Reply(text="again", delay_s=1.5), model=model)
        with http_a.stream("POST", f"/v1/agents/{agent}/messages/stream",
                           json={"input": "take your time", "include_pings": True}) as r:
            events = [p for _, p in sse_events(r) if p != "[DONE]"]
        kinds = [e["message_type"] for e in events]
        assert kinds.count("ping") >= 2 and kinds[-3:] == ["assistant_message", "stop_reason", "usage_statistics"]
        assert all(e["run_id"] == events[-2]["run_id"] for e in events if e["message_type"] == "ping")
        # A resumed background stream pings too.
        run = http_a.post(f"/v1/agents/{agent}/messages/async", json={"input": "more"}).json()
        with http_b.stream("POST", f"/v1/runs/{run['id']}/stream", json={"include_pings": True}) as r:
            resumed = [p["message_type"] for _, p in sse_events(r) if p != "[DONE]"]
        assert "ping" in resumed and resumed[-1] == "usage_statistics"
