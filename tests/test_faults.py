"""Faults, injected for real: a server killed (-9) mid-step and restarted on
the same data directory; a server frozen (SIGSTOP) past the stale threshold
while another server on the same database takes its agent over. Real server
processes, real PostgreSQL, real Envoy; only the model is fake (and stalls)."""
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

from tests.fakes.fake_llm import Reply, ToolCall
from tests.harness import make_stack
from tests.test_durability import history
from tests.test_runs import new_agent, sse_events, wait_for
from tests.util import uid

STALE_S = "2"
OUTAGE_S = 20


def ended(http, run_id):
    return wait_for(lambda: (r := http.get(f"/v1/runs/{run_id}").json())["status"] not in ("created", "running")
                    and r, timeout=30)


def hold_open(stack, path: str, body: dict) -> socket.socket:
    """A request on a raw gateway connection that nobody reads (it dies with the server)."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", stack.http_port), timeout=10)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    return sock


# -- 2. kill -9 mid-step, restart on the same data directory -------------------------------------


def test_a_server_killed_mid_step_keeps_every_input_and_recovers(fake_llm):
    stack = make_stack(llm_base_url=fake_llm.base_url, extra_env={"MNEMO_SERVER_STALE_AFTER_S": STALE_S}).start()
    sockets = []
    try:
        with stack.http() as http:
            # A background run, a foreground stream and a step halfway through its tools.
            bg_model, fg_model, tool_model = (f"m-{uid()}" for _ in range(3))
            bg_agent, fg_agent = new_agent(http, bg_model), new_agent(http, fg_model)
            tool_agent = http.post("/v1/agents", json={
                "model": f"openai/{tool_model}", "embedding": "openai/text-embedding-3-small",
                "tools": ["archival_memory_insert"]}).json()["id"]
            fake_llm.script(Reply(text="never delivered", delay_s=60), model=bg_model)
            fake_llm.script(Reply(text="never streamed", delay_s=60), model=fg_model)
            marker = f"stall-{uid()}"
            fake_llm.embedding_stalls[marker] = 60
            fake_llm.script(Reply(tool_calls=[
                ToolCall("archival_memory_insert", {"content": "the first fact"}),
                ToolCall("archival_memory_insert", {"content": f"the second fact {marker}"}),
            ]), model=tool_model)
            bg_run = http.post(f"/v1/agents/{bg_agent}/messages/async", json={"input": "doomed background"}).json()
            sockets.append(hold_open(stack, f"/v1/agents/{fg_agent}/messages/stream", {"input": "doomed stream"}))
            tool_run = http.post(f"/v1/agents/{tool_agent}/messages/async", json={"input": "remember both"}).json()
            wait_for(lambda: fake_llm.last_request(model=bg_model) and fake_llm.last_request(model=fg_model))
            wait_for(lambda: any(marker in json.dumps(r.body) for r in fake_llm.requests
                                 if r.endpoint == "embeddings"))
        stack.process.send_signal(signal.SIGKILL)
        stack.process.wait()
        fake_llm.embedding_stalls.pop(marker)
        stack.start()
        with stack.http() as http:
            # Every run ends with a stop reason (failed: its server stopped) ...
            for run_id in (bg_run["id"], tool_run["id"]):
                run = ended(http, run_id)
                assert (run["status"], run["stop_reason"]) == ("failed", "error")
                assert "stopped" in json.dumps(run["metadata"])
            fg_runs = http.get("/v1/runs", params={"agent_id": fg_agent}).json()
            assert len(fg_runs) == 1
            fg_run = ended(http, fg_runs[0]["id"])
            assert fg_run["status"] == "failed"
            # ... and every input is kept, marked with its run.
            assert history(http, bg_agent) == [("user_message", "doomed background", bg_run["id"])]
            assert history(http, fg_agent) == [("user_message", "doomed stream", fg_run["id"])]
            assert history(http, tool_agent) == [("user_message", "remember both", tool_run["id"])]
            # The half-done step left nothing: not even the archival insert of its first tool call.
            assert http.get(f"/v1/agents/{tool_agent}/archival-memory").json() == []
            # The background run's stream, resumed, reports the failure.
            with http.stream("POST", f"/v1/runs/{bg_run['id']}/stream", json={}) as r:
                events = [p for _, p in sse_events(r) if p != "[DONE]"]
            kinds = [e["message_type"] for e in events]
            assert kinds == ["stop_reason", "error_message", "usage_statistics"]
            assert events[0]["stop_reason"] == "error" and "stopped" in events[1]["message"]
            # Every agent takes the next message.
            for agent in (bg_agent, fg_agent, tool_agent):
                reply = http.post(f"/v1/agents/{agent}/messages", json={"input": "still there?"})
                assert reply.status_code == 200 and reply.json()["messages"][-1]["content"] == "echo: still there?"
    finally:
        for sock in sockets:
            sock.close()
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)


# -- 3. fencing: a frozen server loses its agent and writes nothing after -------------------------


@pytest.fixture(scope="module")
def fenced_pair(fake_llm):
    folder = Path(tempfile.mkdtemp(prefix="mnemo-fence-db-"))
    db = EmbeddedPostgres(folder)
    url = db.start()
    env = {"MNEMO_DATABASE_URL": url, "MNEMO_ENCRYPTION_KEY": Fernet.generate_key().decode(),
           "MNEMO_SERVER_STALE_AFTER_S": STALE_S}
    a = make_stack(llm_base_url=fake_llm.base_url, extra_env=env).start()
    b = make_stack(llm_base_url=fake_llm.base_url, extra_env=env).start()
    yield a, b
    for s in (a, b):
        s.stop()
        shutil.rmtree(s.data_dir, ignore_errors=True)
    db.stop()
    shutil.rmtree(folder, ignore_errors=True)


def test_a_server_frozen_past_the_stale_threshold_is_fenced(fenced_pair, fake_llm):
    a, b = fenced_pair
    model = f"m-{uid()}"
    with a.http() as http_a, b.http() as http_b:
        agent = new_agent(http_a, model)
        http_a.post(f"/v1/agents/{agent}/messages", json={"input": "hello"}).raise_for_status()
        fake_llm.script(Reply(text="the frozen server's answer", delay_s=5), model=model)
        body: list[str] = []

        def stream_on_a():
            with a.http() as client, client.stream("POST", f"/v1/agents/{agent}/messages/stream",
                                                   json={"input": "before the freeze"}) as r:
                body.append("".join(r.iter_text()))

        reader = threading.Thread(target=stream_on_a)
        reader.start()
        wait_for(lambda: (r := fake_llm.last_request(model=model)) and "before the freeze" in json.dumps(r.body))
        a_run = [r for r in http_b.get("/v1/runs", params={"agent_id": agent}).json() if r["status"] == "running"][0]
        a.process.send_signal(signal.SIGSTOP)
        try:
            time.sleep(float(STALE_S) + 1.5)
            # B takes the agent over from the frozen server and answers.
            reply = http_b.post(f"/v1/agents/{agent}/messages", json={"input": "taking over"})
            assert reply.status_code == 200 and reply.json()["messages"][-1]["content"] == "echo: taking over"
        finally:
            a.process.send_signal(signal.SIGCONT)
        reader.join(30)
        assert not reader.is_alive()
        # A's run wakes up with the model's answer, finds it lost the agent, and stops without writing.
        assert "error" in body[0] and ("lost agent" in body[0] or "stopped" in body[0]), body[0]
        failed = ended(http_b, a_run["id"])
        assert failed["status"] == "failed"
        assert http_b.get(f"/v1/runs/{a_run['id']}/steps").json() == []
        contents = [h[1] for h in history(http_b, agent)]
        assert "the frozen server's answer" not in contents
        assert contents == ["hello", "echo: hello", "before the freeze", "taking over", "echo: taking over"]
        # The context was not overwritten by the fenced run: B's exchange is in it.
        state = http_b.get(f"/v1/agents/{agent}").json()
        in_context = http_b.get(f"/v1/agents/{agent}/messages", params={"order": "asc"}).json()
        by_id = {m["id"]: m.get("content") for m in in_context}
        assert [by_id.get(i) for i in state["message_ids"][1:]] == [
            "hello", "echo: hello", "taking over", "echo: taking over"]
        # Both servers go on serving the agent.
        assert http_a.post(f"/v1/agents/{agent}/messages", json={"input": "A again"}).json()[
            "messages"][-1]["content"] == "echo: A again"


# -- 3. a run whose last commit and end both failed (database restart) is recovered ---------------


def test_a_run_lost_in_a_database_restart_is_ended_and_the_agent_freed(fake_llm):
    folder = Path(tempfile.mkdtemp(prefix="mnemo-restart-db-"))
    db = EmbeddedPostgres(folder)
    url = db.start()
    env = {"MNEMO_DATABASE_URL": url, "MNEMO_ENCRYPTION_KEY": Fernet.generate_key().decode(),
           "MNEMO_SERVER_STALE_AFTER_S": STALE_S}
    stack = make_stack(llm_base_url=fake_llm.base_url, extra_env=env).start()
    try:
        model = f"m-{uid()}"
        with stack.http() as http:
            agent = new_agent(http, model)
            fake_llm.script(Reply(text="answered while the database was away", delay_s=3), model=model)
            run = http.post(f"/v1/agents/{agent}/messages/async", json={"input": "during the outage"}).json()
            wait_for(lambda: fake_llm.last_request(model=model) is not None)
            db.stop()  # the step's commit and the run's end both fail
            # Meanwhile requests get a prompt, honest answer (503), not a hang or an internal error.
            started = time.monotonic()
            for during in (http.get(f"/v1/agents/{agent}", timeout=15),
                           http.post(f"/v1/agents/{agent}/messages", json={"input": "x"}, timeout=15)):
                assert during.status_code == 503 and "database is unavailable" in during.json()["detail"], \
                    stack.log()[-6000:]
            assert time.monotonic() - started < 10
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - started)))  # the scenario: 20 s without a database
            assert db.start() == url
            # Its own server notices it holds the agent for a run it no longer runs.
            lost = ended(http, run["id"])
            assert lost["status"] == "failed" and "lost track" in json.dumps(lost["metadata"])
            assert history(http, agent) == [("user_message", "during the outage", run["id"])]
            reply = http.post(f"/v1/agents/{agent}/messages", json={"input": "after the outage"})
            assert reply.status_code == 200 and reply.json()["messages"][-1]["content"] == "echo: after the outage"
    finally:
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)
        db.stop()
        shutil.rmtree(folder, ignore_errors=True)


# -- many concurrent sends to one agent across two servers ------------------------------------------


@pytest.fixture(scope="module")
def busy_pair(fake_llm):
    folder = Path(tempfile.mkdtemp(prefix="mnemo-busy-db-"))
    db = EmbeddedPostgres(folder)
    url = db.start()
    env = {"MNEMO_DATABASE_URL": url, "MNEMO_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    a = make_stack(llm_base_url=fake_llm.base_url, extra_env=env).start()
    b = make_stack(llm_base_url=fake_llm.base_url, extra_env=env).start()
    yield a, b
    for s in (a, b):
        s.stop()
        shutil.rmtree(s.data_dir, ignore_errors=True)
    db.stop()
    shutil.rmtree(folder, ignore_errors=True)


def test_fifty_concurrent_sends_across_two_servers_are_all_kept_in_order_and_answered_once(busy_pair, fake_llm):
    a, b = busy_pair
    model = f"m-{uid()}"
    n = 50
    with a.http() as http:
        agent = new_agent(http, model)
    bodies = [{"messages": [{"role": "user", "content": f"q{i}", "otid": f"otid-{uid()}"}]} for i in range(n)]
    replies: dict[int, dict] = {}

    def send(i, stack):
        # Generous: fifty turns in a row on one agent, on a loaded 2-core machine.
        with httpx.Client(base_url=stack.http_base, timeout=480) as client:
            r = client.post(f"/v1/agents/{agent}/messages", json=bodies[i])
            replies[i] = r.json() if r.status_code == 200 else {"error": r.text}

    threads = [threading.Thread(target=send, args=(i, (a, b)[i % 2])) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(480)
    assert len(replies) == n and all("error" not in r for r in replies.values()), replies
    # Each answered once, with its own answer.
    assert all(replies[i]["messages"][-1]["content"] == f"echo: q{i}" for i in range(n))
    assert len({replies[i]["usage"]["run_ids"][0] for i in range(n)}) == n
    # Retries (same otids, through the other server) start nothing new and get the same answers.
    for i in range(0, n, 10):
        with (b, a)[i % 2].http() as client:
            again = client.post(f"/v1/agents/{agent}/messages", json=bodies[i]).json()
        assert again["usage"]["run_ids"] == replies[i]["usage"]["run_ids"]
        assert again["messages"][-1]["content"] == f"echo: q{i}"
    with a.http() as http:
        runs = http.get("/v1/runs", params={"agent_id": agent, "limit": 100}).json()
        assert len(runs) == n and {r["status"] for r in runs} == {"completed"}
        # All kept, in processing order: every question directly followed by its answer.
        contents = [h[1] for h in history(http, agent)]
    assert len(contents) == 2 * n
    assert all(contents[k + 1] == f"echo: {contents[k]}" for k in range(0, 2 * n, 2))
    assert sorted(contents[0::2]) == sorted(f"q{i}" for i in range(n))


def test_only_database_connection_failures_are_reported_as_the_database_being_away():
    """The 503 above is for the database's absence only, not any OSError."""
    import asyncio

    import asyncpg
    from mnemo_server.api.errors import database_away

    async def connect_to_nothing():
        await asyncpg.connect("postgresql://u@/db?host=/nonexistent-socket-dir", timeout=2)

    with pytest.raises(OSError) as refused:
        asyncio.run(connect_to_nothing())
    assert database_away(refused.value)
    try:
        Path("/nonexistent-file-of-a-request").read_text()
    except FileNotFoundError as exc:
        assert not database_away(exc)
    assert database_away(asyncpg.exceptions.CannotConnectNowError("the database system is starting up"))
    assert not database_away(ValueError("a request's own fault"))
