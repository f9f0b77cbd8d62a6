"""Provider faults, through the real server (PostgreSQL, Envoy): a model that
rate-limits, fails, stalls, answers malformed JSON or garbage SSE, or hangs up
mid-stream, and a turn that outlives its wall-clock budget. For each: the
run's status and stop reason are honest, retries happen only where they are
safe, history keeps the input and no half-written step, and the agent takes
the next message.

A dedicated stack with small limits keeps this fast: one model call may take
PROVIDER_TIMEOUT_S (MNEMO_PROVIDER_TIMEOUT_S), a whole turn TURN_TIMEOUT_S
(MNEMO_TURN_TIMEOUT_S). A stalled call is retried twice (3 attempts, at most
1.5 s of backoff), which must fit in the turn's budget with room to spare."""
from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time

import pytest

from tests.fakes.fake_llm import Error, Reply, ToolCall
from tests.harness import make_stack
from tests.test_durability import history
from tests.test_runs import new_agent, sse_events, wait_for
from tests.util import uid

PROVIDER_TIMEOUT_S = 1.0
TURN_TIMEOUT_S = 9.0


@pytest.fixture(scope="module")
def limited(fake_llm):
    stack = make_stack(llm_base_url=fake_llm.base_url, extra_env={
        "MNEMO_PROVIDER_TIMEOUT_S": str(PROVIDER_TIMEOUT_S), "MNEMO_TURN_TIMEOUT_S": str(TURN_TIMEOUT_S)}).start()
    try:
        with stack.http() as http:
            yield stack, http
    finally:
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)


def runs_of(http, agent):
    return http.get("/v1/runs", params={"agent_id": agent, "order": "asc"}).json()


def ended(http, run_id, timeout=30.0):
    return wait_for(lambda: (r := http.get(f"/v1/runs/{run_id}").json())["status"] not in ("created", "running")
                    and r, timeout=timeout)


def calls_to(fake_llm, model):
    return [r for r in fake_llm.requests if r.model == model and r.endpoint == "chat.completions"]


def steps_of(http, run_id):
    return http.get(f"/v1/runs/{run_id}/steps").json()


def takes_the_next_message(fake_llm, http, agent):
    """The agent is free and its context holds the earlier input."""
    reply = http.post(f"/v1/agents/{agent}/messages", json={"input": "still there?"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["messages"][-1]["content"] == "echo: still there?"


def stream(http, agent, text, **extra):
    with http.stream("POST", f"/v1/agents/{agent}/messages/stream", json={"input": text, **extra}) as r:
        assert r.status_code == 200
        return [p for _, p in sse_events(r) if p != "[DONE]"]


def stop_of(events):
    return [e["stop_reason"] for e in events if e["message_type"] == "stop_reason"]


# -- rate limits and server errors -----------------------------------------------------------


def test_a_429_is_retried_after_the_providers_retry_after_then_answers(fake_llm, limited):
    _, http = limited
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(error=Error(429, "slow down", retry_after=1.5)), Reply(text="after the wait"), model=model)
    reply = http.post(f"/v1/agents/{agent}/messages", json={"input": "hello"})
    assert reply.status_code == 200 and reply.json()["messages"][-1]["content"] == "after the wait"
    assert reply.json()["stop_reason"]["stop_reason"] == "end_turn"
    first, second = calls_to(fake_llm, model)
    assert second.received_at - first.received_at >= 1.4  # Retry-After honoured, not the 0.25 s backoff
    run = runs_of(http, agent)[0]
    assert (run["status"], run["stop_reason"]) == ("completed", "end_turn")
    assert [(s["status"]) for s in steps_of(http, run["id"])] == ["success"]


def test_a_500_is_retried_then_answers_and_a_lasting_500_ends_with_llm_api_error(fake_llm, limited):
    _, http = limited
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(error=Error(500, "a hiccup")), Reply(text="recovered"), model=model)
    reply = http.post(f"/v1/agents/{agent}/messages", json={"input": "one"})
    assert reply.status_code == 200 and reply.json()["messages"][-1]["content"] == "recovered"
    assert len(calls_to(fake_llm, model)) == 2

    fake_llm.script(Reply(error=Error(500, "the provider is down", times=3)), model=model)
    events = stream(http, agent, "two")
    assert stop_of(events) == ["llm_api_error"]
    assert any(e["message_type"] == "error_message" and "the provider is down" in e["message"] for e in events)
    assert len(calls_to(fake_llm, model)) == 5  # three attempts, then it gave up
    run = runs_of(http, agent)[-1]
    assert (run["status"], run["stop_reason"]) == ("failed", "llm_api_error")
    assert [s["status"] for s in steps_of(http, run["id"])] == ["failed"]
    first_run = runs_of(http, agent)[0]["id"]
    assert history(http, agent) == [("user_message", "one", first_run), ("assistant_message", "recovered", first_run),
                                    ("user_message", "two", run["id"])]
    takes_the_next_message(fake_llm, http, agent)
    assert [m["content"] for m in calls_to(fake_llm, model)[-1].messages if m["role"] == "user"][-2:] == [
        "two", "still there?"]


# -- stalls: the per-call timeout, then the turn's budget -------------------------------------


def test_a_stalled_provider_times_out_per_call_is_retried_and_ends_cleanly(fake_llm, limited):
    _, http = limited
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(*[Reply(text="never sent", delay_s=30)] * 3, model=model)
    started = time.monotonic()
    reply = http.post(f"/v1/agents/{agent}/messages", json={"input": "are you there?"})
    took = time.monotonic() - started
    assert reply.status_code == 503 and "llm_api_error" in reply.json()["detail"], reply.text
    assert 3 * PROVIDER_TIMEOUT_S <= took < TURN_TIMEOUT_S  # each attempt timed out; the budget did not end it
    calls = calls_to(fake_llm, model)
    assert len(calls) == 3
    wait_for(lambda: all(c.disconnected for c in calls), timeout=5)  # each stalled request was hung up on
    run = runs_of(http, agent)[0]
    assert (run["status"], run["stop_reason"]) == ("failed", "llm_api_error")
    assert history(http, agent) == [("user_message", "are you there?", run["id"])]
    takes_the_next_message(fake_llm, http, agent)


def test_a_turn_out_of_time_stops_cancels_the_model_call_and_keeps_what_it_committed(fake_llm, limited):
    """Streamed: a model that keeps answering, slowly (never silent for a
    whole per-call timeout), in a turn that already took a step. In the
    background and in a sync request: a model that calls tool after tool, each
    answer quick enough. The budget stops them all."""
    _, http = limited
    fg_model, bg_model, sync_model = f"m-{uid()}", f"m-{uid()}", f"m-{uid()}"
    fg_agent = http.post("/v1/agents", json={"model": f"openai/{fg_model}", "include_base_tools": False,
                                             "tools": ["conversation_search"]}).json()["id"]
    bg_agent = http.post("/v1/agents", json={"model": f"openai/{bg_model}", "include_base_tools": False,
                                             "tools": ["conversation_search"]}).json()["id"]
    # Step one: a tool call (committed); step two: a trickle that would take 24 s.
    slow = Reply(text="word " * 60, stream_chunks=60, chunk_delay_s=0.4)
    fake_llm.script(Reply(tool_calls=[ToolCall("conversation_search", {"query": "x"})]), slow, model=fg_model)
    sync_agent = http.post("/v1/agents", json={"model": f"openai/{sync_model}", "include_base_tools": False,
                                               "tools": ["conversation_search"]}).json()["id"]
    for model in (bg_model, sync_model):
        fake_llm.script(*[Reply(tool_calls=[ToolCall("conversation_search", {"query": "y"})], delay_s=0.6)] * 40,
                        model=model)

    bg_run = http.post(f"/v1/agents/{bg_agent}/messages/async", json={"input": "work slowly"}).json()
    sync_reply = []
    sync = threading.Thread(target=lambda: sync_reply.append(
        http.post(f"/v1/agents/{sync_agent}/messages", json={"input": "take it all"})))
    sync.start()
    started = time.monotonic()
    events = stream(http, fg_agent, "take your time", stream_tokens=True)
    took = time.monotonic() - started
    assert TURN_TIMEOUT_S - 0.5 <= took < TURN_TIMEOUT_S + 5
    assert stop_of(events) == ["error"]
    errors = [e for e in events if e["message_type"] == "error_message"]
    assert len(errors) == 1 and errors[0]["error_type"] == "turn_timeout"
    assert "MNEMO_TURN_TIMEOUT_S" in errors[0]["message"]
    assert any(e["message_type"] == "assistant_message" for e in events)  # the trickle was streamed meanwhile
    # The model call in flight was cancelled, not left to run on.
    wait_for(lambda: calls_to(fake_llm, fg_model)[-1].disconnected or None, timeout=5)

    run = ended(http, runs_of(http, fg_agent)[0]["id"])
    assert (run["status"], run["stop_reason"]) == ("failed", "error")
    assert [s["status"] for s in steps_of(http, run["id"])] == ["success", "failed"]
    # The first step stays (tool call and return); the second left nothing but its failed step row.
    kinds = [(kind, run_id) for kind, _, run_id in history(http, fg_agent)]
    assert kinds == [("user_message", run["id"]), ("tool_call_message", run["id"]),
                     ("tool_return_message", run["id"])]
    takes_the_next_message(fake_llm, http, fg_agent)

    run = ended(http, bg_run["id"], timeout=TURN_TIMEOUT_S + 10)
    assert (run["status"], run["stop_reason"]) == ("failed", "error")
    with http.stream("POST", f"/v1/runs/{bg_run['id']}/stream", json={}) as r:
        replayed = [p for _, p in sse_events(r) if p != "[DONE]"]
    assert stop_of(replayed) == ["error"]
    assert [e["error_type"] for e in replayed if e["message_type"] == "error_message"] == ["turn_timeout"]
    steps = [s["status"] for s in steps_of(http, bg_run["id"])]
    done = len(steps) - 1
    assert done >= 3 and steps == ["success"] * done + ["failed"]  # every step but the one out of time
    found = history(http, bg_agent)
    assert found[0] == ("user_message", "work slowly", bg_run["id"])
    kinds = [kind for kind, _, _ in found[1:] if kind != "summary_message"]  # compactions on the way
    assert kinds == ["tool_call_message", "tool_return_message"] * done  # whole steps only
    sync.join(timeout=30)
    reply = sync_reply[0]
    assert reply.status_code == 504 and "MNEMO_TURN_TIMEOUT_S" in reply.json()["detail"], reply.text
    run = ended(http, runs_of(http, sync_agent)[0]["id"])
    assert (run["status"], run["stop_reason"]) == ("failed", "error")
    assert steps_of(http, run["id"])[-1]["status"] == "failed"

    fake_llm.clear(requests=False)
    takes_the_next_message(fake_llm, http, bg_agent)
    takes_the_next_message(fake_llm, http, sync_agent)


# -- broken answers -----------------------------------------------------------------------------


def test_a_malformed_json_answer_ends_with_an_honest_stop_and_no_half_step(fake_llm, limited):
    _, http = limited
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    broken = Reply(raw_body='{"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"message": {"rol')
    fake_llm.script(broken, model=model)
    reply = http.post(f"/v1/agents/{agent}/messages", json={"input": "parse this"})
    assert reply.status_code == 503 and "invalid_llm_response" in reply.json()["detail"], reply.text
    run = runs_of(http, agent)[0]
    assert (run["status"], run["stop_reason"]) == ("failed", "invalid_llm_response")
    assert [s["status"] for s in steps_of(http, run["id"])] == ["failed"]
    assert len(calls_to(fake_llm, model)) == 1  # answered (and billed): not asked again
    assert history(http, agent) == [("user_message", "parse this", run["id"])]
    # A well-formed JSON answer of the wrong shape is no better.
    fake_llm.script(Reply(raw_body='{"choices": "none", "usage": 7}'), model=model)
    events = stream(http, agent, "and this")
    assert stop_of(events) == ["invalid_llm_response"]
    takes_the_next_message(fake_llm, http, agent)
    sent = [m["content"] for m in calls_to(fake_llm, model)[-1].messages if m["role"] == "user"]
    assert sent[-3:] == ["parse this", "and this", "still there?"]


def test_garbage_sse_ends_with_an_honest_stop_and_no_half_step(fake_llm, limited):
    _, http = limited
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(raw_body="data: {this is not json\n\ndata: [DONE]\n\n"), model=model)
    events = stream(http, agent, "stream garbage", stream_tokens=True)
    assert stop_of(events) == ["invalid_llm_response"]
    errors = [e for e in events if e["message_type"] == "error_message"]
    assert len(errors) == 1 and errors[0]["error_type"] == "llm_error"
    run = runs_of(http, agent)[0]
    assert (run["status"], run["stop_reason"]) == ("failed", "invalid_llm_response")
    assert history(http, agent) == [("user_message", "stream garbage", run["id"])]
    takes_the_next_message(fake_llm, http, agent)


def test_a_stream_dropped_after_a_visible_delta_is_not_retried(fake_llm, limited):
    _, http = limited
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(text="a partial answer that never ends", stream_chunks=6, drop_after_events=3),
                    Reply(text="a second attempt would repeat it"), model=model)
    events = stream(http, agent, "tell me", stream_tokens=True)
    partial = [e for e in events if e["message_type"] == "assistant_message"]
    assert partial, events  # the client saw part of the answer ...
    assert stop_of(events) == ["llm_api_error"]  # ... and then a clean stop, not a retry
    assert len(calls_to(fake_llm, model)) == 1
    run = runs_of(http, agent)[0]
    assert (run["status"], run["stop_reason"]) == ("failed", "llm_api_error")
    assert [s["status"] for s in steps_of(http, run["id"])] == ["failed"]
    assert history(http, agent) == [("user_message", "tell me", run["id"])]  # nothing half-written
    fake_llm.clear(requests=False)
    takes_the_next_message(fake_llm, http, agent)


def test_a_stream_dropped_before_any_delta_is_retried(fake_llm, limited):
    _, http = limited
    model = f"m-{uid()}"
    agent = new_agent(http, model)
    fake_llm.script(Reply(text="lost", drop_after_events=0), Reply(text="second try"), model=model)
    events = stream(http, agent, "again", stream_tokens=True)
    assert stop_of(events) == ["end_turn"]
    assert "".join(e["content"] for e in events if e["message_type"] == "assistant_message") == "second try"
    assert len(calls_to(fake_llm, model)) == 2


def test_the_turn_budget_and_provider_timeout_are_settings_with_one_policy_for_bad_values():
    for name in ("MNEMO_TURN_TIMEOUT_S", "MNEMO_PROVIDER_TIMEOUT_S"):
        for bad in ("soon", "0", "-3", "inf"):
            done = subprocess.run([sys.executable, "-c", "from mnemo_server.config import Settings; "
                                   "Settings.from_env()"], env={name: bad}, capture_output=True, text=True)
            assert done.returncode != 0 and name in done.stderr, (name, bad, done.stderr)
    done = subprocess.run([sys.executable, "-c", "from mnemo_server.config import Settings; s = Settings.from_env(); "
                           "print(s.turn_timeout_s, s.provider_timeout_s)"],
                          env={"MNEMO_TURN_TIMEOUT_S": "90", "MNEMO_PROVIDER_TIMEOUT_S": "2.5"},
                          capture_output=True, text=True)
    assert done.stdout.split() == ["90.0", "2.5"]

