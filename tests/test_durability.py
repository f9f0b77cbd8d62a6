"""Durability of what a user sends: the input of every request is stored with
the start of its run, before anything else happens, so a client that leaves,
a cancel, a model error or a run that never gets the agent still leaves it in
history, marked with its run; a retried send (same otid) is answered by the
original run instead of running twice. (Crashes, stalls and two servers:
tests/test_faults.py.)"""
from __future__ import annotations

import json
import socket
import threading
import time

from tests.fakes.fake_llm import Error, Reply, ToolCall
from tests.test_runs import new_agent, sse_events, wait_for
from tests.util import uid


def history(http, agent):
    """(type, content, run_id) of the agent's messages, oldest first, system aside."""
    found = http.get(f"/v1/agents/{agent}/messages", params={"order": "asc", "limit": 1000}).json()
    return [(m["message_type"], m.get("content"), m.get("run_id")) for m in found
            if m["message_type"] != "system_message"]


def only_run(http, agent):
    runs = http.get("/v1/runs", params={"agent_id": agent}).json()
    assert len(runs) == 1, runs
    return runs[0]


def open_and_leave(stack, path: str, body: dict, until, linger_s: float = 0.0) -> None:
    """Sends a request through the gateway on a raw connection and hangs up
    once `until()` holds (e.g. the model has been asked) and `linger_s` more
    seconds passed, without reading."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", stack.http_port), timeout=10)
    try:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        wait_for(until, timeout=15)
        time.sleep(linger_s)
    finally:
        sock.close()


# -- 1. the input is kept whatever ends the run -----------------------------------------------


def test_stream_client_leaving_while_the_model_thinks_keeps_the_input(stack, fake_llm, http):
    """The reported failure: the user's message vanished with the client."""
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(text="you will never read this", delay_s=30), model=model)
    open_and_leave(stack, f"/v1/agents/{agent}/messages/stream", {"input": "are you thinking?"},
                   until=lambda: fake_llm.last_request(model=model) is not None)
    run = wait_for(lambda: (r := only_run(http, agent))["status"] not in ("created", "running") and r)
    assert run["status"] == "cancelled" and run["stop_reason"] == "cancelled"
    assert history(http, agent) == [("user_message", "are you thinking?", run["id"])]
    # The model call was cancelled with the run (not left to run on and be billed).
    request = fake_llm.last_request(model=model)
    wait_for(lambda: request.disconnected, timeout=5)
    # The agent is free, and its context holds the input of the cancelled run.
    reply = http.post(f"/v1/agents/{agent}/messages", json={"input": "hello again"}).json()
    assert reply["messages"][-1]["content"] == "echo: hello again"
    sent = [m["content"] for m in fake_llm.last_request(model=model).messages if m["role"] == "user"]
    assert sent[-2:] == ["are you thinking?", "hello again"]


def test_unary_client_leaving_while_the_model_thinks_keeps_the_input(stack, fake_llm, http):
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(text="unread", delay_s=30), model=model)
    open_and_leave(stack, f"/v1/agents/{agent}/messages", {"input": "quick question"},
                   until=lambda: fake_llm.last_request(model=model) is not None)
    run = wait_for(lambda: (r := only_run(http, agent))["status"] not in ("created", "running") and r)
    assert (run["status"], run["stop_reason"]) == ("cancelled", "cancelled")
    assert history(http, agent) == [("user_message", "quick question", run["id"])]
    request = fake_llm.last_request(model=model)
    wait_for(lambda: request.disconnected, timeout=5)
    steps = http.get(f"/v1/runs/{run['id']}/steps").json()
    assert [(s["status"], s["stop_reason"]) for s in steps] == [("cancelled", "cancelled")]


SLOW_TOOL = '''
def slow_chore_{suffix}(seconds: int) -> str:
    """Does a slow chore.

    Args:
        seconds: How long it takes.
    """
    import time
    time.sleep(seconds)
    return "chore done"
'''


def test_stream_client_leaving_mid_tool_keeps_the_step_and_stops_after_it(stack, fake_llm, http):
    """A tool already running finishes and its step is saved; the run then
    ends cancelled instead of asking the model again."""
    suffix = uid()
    tool = http.post("/v1/tools", json={"source_code": SLOW_TOOL.format(suffix=suffix)}).json()
    model = f"m-{uid()}"
    agent = http.post("/v1/agents", json={"model": f"openai/{model}", "include_base_tools": False,
                                          "tool_ids": [tool["id"]]}).json()["id"]
    fake_llm.script(Reply(tool_calls=[ToolCall(f"slow_chore_{suffix}", {"seconds": 3})]),
                    Reply(text="never asked"), model=model)
    open_and_leave(stack, f"/v1/agents/{agent}/messages/stream", {"input": "do the chore"},
                   until=lambda: fake_llm.last_request(model=model) is not None, linger_s=1.0)
    run = wait_for(lambda: (r := only_run(http, agent))["status"] not in ("created", "running") and r)
    assert (run["status"], run["stop_reason"]) == ("cancelled", "cancelled")
    kinds = [(h[0], h[2]) for h in history(http, agent)]
    assert kinds == [("user_message", run["id"]), ("tool_call_message", run["id"]),
                     ("tool_return_message", run["id"])]
    returns = [m for m in http.get(f"/v1/agents/{agent}/messages").json()
               if m["message_type"] == "tool_return_message"]
    assert returns[0]["tool_return"] == "chore done"
    assert len([r for r in fake_llm.requests if r.model == model]) == 1  # the model was not asked again
    steps = http.get(f"/v1/runs/{run['id']}/steps").json()
    assert [s["status"] for s in steps] == ["success", "cancelled"]


def test_background_stream_goes_on_when_its_client_leaves(stack, fake_llm, http):
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(text="finished anyway", delay_s=1.5), model=model)
    open_and_leave(stack, f"/v1/agents/{agent}/messages/stream", {"input": "go on", "background": True},
                   until=lambda: fake_llm.last_request(model=model) is not None)
    run = wait_for(lambda: (r := only_run(http, agent))["status"] not in ("created", "running") and r)
    assert (run["status"], run["stop_reason"]) == ("completed", "end_turn")
    assert history(http, agent) == [("user_message", "go on", run["id"]),
                                    ("assistant_message", "finished anyway", run["id"])]


def test_a_run_cancelled_in_the_queue_keeps_its_input(fake_llm, http):
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    http.post(f"/v1/agents/{agent}/messages", json={"input": "warm up"}).raise_for_status()
    fake_llm.script(Reply(text="first answer", delay_s=1.5), model=model)
    first = http.post(f"/v1/agents/{agent}/messages/async", json={"input": "first"}).json()
    wait_for(lambda: http.get(f"/v1/runs/{first['id']}").json()["status"] == "running")
    queued = http.post(f"/v1/agents/{agent}/messages/async", json={"input": "second, never run"}).json()
    assert queued["status"] == "created"
    assert http.post(f"/v1/agents/{agent}/messages/cancel", json={"run_ids": [queued["id"]]}).json() == {
        queued["id"]: "cancelled"}
    wait_for(lambda: http.get(f"/v1/runs/{first['id']}").json()["status"] == "completed")
    cancelled = http.get(f"/v1/runs/{queued['id']}").json()
    assert (cancelled["status"], cancelled["stop_reason"]) == ("cancelled", "cancelled")
    # It never ran, so it stays where it arrived (a run that does run shows
    # its input where it was processed: the next test).
    assert history(http, agent)[2:] == [("user_message", "first", first["id"]),
                                        ("user_message", "second, never run", queued["id"]),
                                        ("assistant_message", "first answer", first["id"])]


def test_a_model_error_keeps_the_input_marked_with_its_failed_run(fake_llm, http):
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(error=Error(400, "this model refuses")), model=model)
    r = http.post(f"/v1/agents/{agent}/messages", json={"input": "please?"})
    assert r.status_code >= 400
    run = only_run(http, agent)
    assert (run["status"], run["stop_reason"]) == ("failed", "llm_api_error")
    assert history(http, agent) == [("user_message", "please?", run["id"])]


def test_a_queued_run_whose_input_is_stored_early_is_shown_when_it_ran(stack, fake_llm, http):
    """Several inputs per request, queued: stored at once, shown in order where processed."""
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(text="one", delay_s=1.0), Reply(text="two"), model=model)
    first = http.post(f"/v1/agents/{agent}/messages/async", json={"input": "q1"}).json()
    wait_for(lambda: http.get(f"/v1/runs/{first['id']}").json()["status"] == "running")
    second = http.post(f"/v1/agents/{agent}/messages", json={"messages": [
        {"role": "user", "content": f"part {i}"} for i in range(5)]}).json()
    run2 = second["usage"]["run_ids"][0]
    assert [h[1] for h in history(http, agent)] == ["q1", "one", *[f"part {i}" for i in range(5)], "two"]
    assert {h[2] for h in history(http, agent)[2:]} == {run2}


# -- 4. exactly once: a retried send (same otid) is answered by its first run -----------------


def test_a_retried_send_with_the_same_otid_returns_the_original_run(fake_llm, http):
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(text="answered once"), model=model)
    body = {"messages": [{"role": "user", "content": "pay the invoice", "otid": f"otid-{uid()}"}]}
    first = http.post(f"/v1/agents/{agent}/messages", json=body).json()
    again = http.post(f"/v1/agents/{agent}/messages", json=body).json()
    assert again["usage"]["run_ids"] == first["usage"]["run_ids"]
    assert [m["content"] for m in again["messages"]] == [m["content"] for m in first["messages"]] == [
        "answered once"]
    assert again["stop_reason"]["stop_reason"] == "end_turn"
    assert len(http.get("/v1/runs", params={"agent_id": agent}).json()) == 1
    assert [h[1] for h in history(http, agent)] == ["pay the invoice", "answered once"]
    # The stored message carries the client's otid.
    stored = http.get(f"/v1/agents/{agent}/messages", params={"order": "asc"}).json()
    assert [m["otid"] for m in stored if m["message_type"] == "user_message"] == [body["messages"][0]["otid"]]
    # Async and streamed retries name the same run too.
    assert http.post(f"/v1/agents/{agent}/messages/async", json=body).json()["id"] == first["usage"]["run_ids"][0]
    with http.stream("POST", f"/v1/agents/{agent}/messages/stream", json=body) as r:
        events = [p for _, p in sse_events(r) if p != "[DONE]"]
    assert [(e["message_type"], e.get("content")) for e in events[:2]] == [
        ("assistant_message", "answered once"), ("stop_reason", None)]
    assert {e["run_id"] for e in events if "run_id" in e} == set(first["usage"]["run_ids"])
    # Another agent may use the same otid.
    other = new_agent(http, model)
    assert http.post(f"/v1/agents/{other}/messages", json=body).status_code == 200


def test_a_retry_while_the_first_send_still_runs_waits_for_it(stack, fake_llm, http):
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(text="slow but once", delay_s=1.0), model=model)
    body = {"messages": [{"role": "user", "content": "do it once", "otid": f"otid-{uid()}"}]}
    replies: list[dict] = []

    def send():
        with stack.http() as client:
            replies.append(client.post(f"/v1/agents/{agent}/messages", json=body).json())

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    assert len({r["usage"]["run_ids"][0] for r in replies}) == 1
    assert all(r["messages"][-1]["content"] == "slow but once" for r in replies)
    assert len(http.get("/v1/runs", params={"agent_id": agent}).json()) == 1
    assert [h[1] for h in history(http, agent)] == ["do it once", "slow but once"]


def test_otids_are_generated_unique_and_checked(fake_llm, http):
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    http.post(f"/v1/agents/{agent}/messages", json={"input": "no otid given"}).raise_for_status()
    http.post(f"/v1/agents/{agent}/messages", json={"input": "no otid given"}).raise_for_status()
    users = [m for m in http.get(f"/v1/agents/{agent}/messages").json() if m["message_type"] == "user_message"]
    assert len(users) == 2 and len({u["otid"] for u in users}) == 2 and all(users[0]["otid"] for u in users)
    r = http.post(f"/v1/agents/{agent}/messages", json={"messages": [
        {"role": "user", "content": "a", "otid": "same"}, {"role": "user", "content": "b", "otid": "same"}]})
    assert r.status_code == 400 and "messages[1].otid" in r.json()["detail"]
    r = http.post(f"/v1/agents/{agent}/messages", json={"messages": [{"role": "user", "content": "a", "otid": ""}]})
    assert r.status_code == 400 and "messages[0].otid" in r.json()["detail"]


def test_a_provider_hanging_up_mid_stream_ends_the_run_cleanly(fake_llm, http):
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    partial = Reply(text="a partial answer that never ends", stream_chunks=6, drop_after_events=3)
    fake_llm.script(*[partial] * 6, model=model)  # every retry hangs up too
    with http.stream("POST", f"/v1/agents/{agent}/messages/stream",
                     json={"input": "tell me", "stream_tokens": True}) as r:
        events = [p for _, p in sse_events(r) if p != "[DONE]"]
    assert [e["stop_reason"] for e in events if e["message_type"] == "stop_reason"] == ["llm_api_error"]
    run = only_run(http, agent)
    assert (run["status"], run["stop_reason"]) == ("failed", "llm_api_error")
    # Nothing half-written: the input only.
    assert history(http, agent) == [("user_message", "tell me", run["id"])]
    fake_llm.clear(requests=False)
    assert http.post(f"/v1/agents/{agent}/messages", json={"input": "again"}).json()[
        "messages"][-1]["content"] == "echo: again"
