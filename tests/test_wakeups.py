"""Bounded background work: queued runs and stream readers are woken by
NOTIFY, only the ones concerned, with polling set so slow here (600 s) that a
test passes only if the notifications do the work; and the sweep's periodic
deletes go through indexes. Real server, real PostgreSQL, real Envoy."""
from __future__ import annotations

import asyncio
import re
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from mnemo_server.storage import runs as run_store
from mnemo_server.storage.database import EmbeddedPostgres, make_engine
from sqlalchemy import text

from tests.fakes.fake_llm import Reply
from tests.harness import make_stack
from tests.test_runs import new_agent, sse_events, wait_for
from tests.util import uid

SLOW_POLL_S = "600"
STALE_S = "2"
LOOK = re.compile(r"queued run (\S+) looks at agent (\S+) \((\w+)\)")


@pytest.fixture(scope="module")
def database():
    folder = Path(tempfile.mkdtemp(prefix="mnemo-wakeups-db-"))
    db = EmbeddedPostgres(folder)
    url = db.start()
    yield url
    db.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def env(database):
    return {"MNEMO_DATABASE_URL": database, "MNEMO_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "MNEMO_SERVER_STALE_AFTER_S": STALE_S, "MNEMO_QUEUE_POLL_S": SLOW_POLL_S,
            "MNEMO_STREAM_POLL_S": SLOW_POLL_S, "MNEMO_LOG_LEVEL": "DEBUG"}


@pytest.fixture(scope="module")
def slow_poll_stack(fake_llm, env):
    stack = make_stack(llm_base_url=fake_llm.base_url, extra_env=env).start()
    yield stack
    stack.stop()
    shutil.rmtree(stack.data_dir, ignore_errors=True)


def sql(url: str, statement, params: dict | None = None, *, setup: tuple[str, ...] = ()) -> list:
    """Runs one statement on the test database (in a transaction rolled back)."""
    async def run():
        engine = make_engine(url, pool_size=1)
        try:
            async with engine.connect() as conn:
                for s in setup:
                    await conn.execute(text(s))
                rows = (await conn.execute(statement if not isinstance(statement, str) else text(statement),
                                           params or {})).all()
                await conn.rollback()
                return rows
        finally:
            await engine.dispose()
    return asyncio.run(run())


def looks(stack, since: int) -> list[tuple[str, str, str]]:
    """(run, agent, cause) of every look a queued run took at its agent, in
    the server's log lines from `since` on."""
    return [m.groups() for line in stack.log_lines[since:] if (m := LOOK.search(line))]


# -- 1. a release wakes the waiters of that agent only ---------------------------------------------


def test_releasing_one_agent_wakes_only_its_own_queued_runs(slow_poll_stack, fake_llm):
    stack = slow_poll_stack
    with stack.http() as http:
        agents, first, second = [], [], []
        for _ in range(50):
            model = f"m-{uid()}"
            agent = new_agent(http, model)
            fake_llm.script(Reply(text="too slow", delay_s=120), model=model)
            agents.append(agent)
            first.append(http.post(f"/v1/agents/{agent}/messages/async", json={"input": "hold on"}).json()["id"])
            queued = http.post(f"/v1/agents/{agent}/messages/async", json={"input": "then me"}).json()
            assert queued["status"] == "created", queued
            second.append(queued["id"])
        try:
            # Every queued run has looked once, when it arrived, and waits.
            wait_for(lambda: {r for r, _, _ in looks(stack, 0)} >= set(second))
            assert {cause for _, _, cause in looks(stack, 0)} == {"arrival"}
            mark = len(stack.log_lines)
            # Agent 0 is released (its run cancelled): its queued run runs at once.
            assert http.post(f"/v1/agents/{agents[0]}/messages/cancel",
                             json={"run_ids": [first[0]]}).json() == {first[0]: "cancelled"}
            done = wait_for(lambda: (r := http.get(f"/v1/runs/{second[0]}").json())["status"] == "completed" and r,
                            timeout=10)
            assert done["stop_reason"] == "end_turn"
            # Longer than the poll of old (every 3 s): none of the 49 other
            # queued runs looked at its agent meanwhile.
            time.sleep(4)
            woken = looks(stack, mark)
            assert woken and {(run, agent) for run, agent, _ in woken} == {(second[0], agents[0])}, woken
            assert {cause for _, _, cause in woken} == {"notify"}
            assert all(http.get(f"/v1/runs/{r}").json()["status"] == "created" for r in second[1:])
        finally:
            for agent in agents:
                http.post(f"/v1/agents/{agent}/messages/cancel", json={})


# -- 2. stream readers of background runs are fed by NOTIFY ------------------------------------------


def test_a_background_stream_gets_each_event_promptly_without_polling(slow_poll_stack, fake_llm, database):
    stack = slow_poll_stack
    model = f"m-{uid()}"
    with stack.http() as http:
        agent = new_agent(http, model)
        # Streamed in small pieces, spread over time: the reader waits between events.
        fake_llm.script(Reply(text="one two three four five six", delay_s=1.0, stream_chunks=6,
                              chunk_delay_s=0.3), model=model)
        with http.stream("POST", f"/v1/agents/{agent}/messages/stream",
                         json={"input": "tell me slowly", "stream_tokens": True, "background": True}) as first:
            run_id = next(payload["run_id"] for _, payload in sse_events(first) if isinstance(payload, dict))
        # The stream was left at its first event; resume it while the run goes on.
        received: dict[int, float] = {}
        opened = time.time()
        with http.stream("POST", f"/v1/runs/{run_id}/stream", json={}) as r:
            for _, payload in sse_events(r):
                if isinstance(payload, dict):
                    received[payload["seq_id"]] = time.time()
    assert received and received[max(received)] - opened < 30  # not the 600 s poll
    written = {seq: at.timestamp() for seq, at in sql(
        database, "SELECT seq, created_at FROM run_events WHERE run_id = :r", {"r": run_id})}
    assert set(received) == set(written)
    late = {seq: round(received[seq] - written[seq], 3) for seq in written if written[seq] > opened + 0.05}
    assert len(late) >= 3, (late, written, opened)  # events written while the reader waited
    assert max(late.values()) < 0.2, late


def test_a_reader_learns_at_once_that_a_dead_servers_run_was_failed(slow_poll_stack, fake_llm, env):
    """The sweep that fails a dead server's run wakes its stream readers."""
    other = make_stack(llm_base_url=fake_llm.base_url, extra_env=env).start()
    model = f"m-{uid()}"
    try:
        with other.http() as http_other, slow_poll_stack.http() as http:
            agent = new_agent(http, model)
            fake_llm.script(Reply(text="never", delay_s=60), model=model)
            run = http_other.post(f"/v1/agents/{agent}/messages/async", json={"input": "doomed"}).json()
            wait_for(lambda: fake_llm.last_request(model=model) is not None)
            other.process.send_signal(signal.SIGSTOP)  # past the stale threshold: dead to the sweep
            try:
                started = time.monotonic()
                with http.stream("POST", f"/v1/runs/{run['id']}/stream", json={}, timeout=120) as r:
                    events = [p for _, p in sse_events(r) if isinstance(p, dict)]
                took = time.monotonic() - started
            finally:
                other.process.send_signal(signal.SIGCONT)
        assert [e["message_type"] for e in events] == ["stop_reason", "error_message", "usage_statistics"]
        assert events[1]["error_type"] == "stream_incomplete" and "stopped" in events[1]["message"]
        # stale (2 s) + a beat + the wait for late events (2 s), about 5 s; far below the
        # 600 s poll even on a loaded machine.
        assert took < 60, took
    finally:
        other.stop()
        shutil.rmtree(other.data_dir, ignore_errors=True)


def test_deleting_an_agent_wakes_its_queued_runs_and_stream_readers(slow_poll_stack, fake_llm):
    stack = slow_poll_stack
    model = f"m-{uid()}"
    with stack.http() as http:
        agent = new_agent(http, model)
        fake_llm.script(Reply(text="never", delay_s=60), model=model)
        running = http.post(f"/v1/agents/{agent}/messages/async", json={"input": "busy"}).json()
        queued = http.post(f"/v1/agents/{agent}/messages/async", json={"input": "waiting"}).json()
        assert queued["status"] == "created"
        wait_for(lambda: any(r == queued["id"] for r, _, _ in looks(stack, 0)))
        mark = len(stack.log_lines)
        outcome: dict = {}

        def read():
            started = time.monotonic()
            with stack.http() as reader, reader.stream("POST", f"/v1/runs/{running['id']}/stream", json={}) as r:
                outcome["events"] = [p for _, p in sse_events(r) if isinstance(p, dict)]
            outcome["took"] = time.monotonic() - started

        thread = threading.Thread(target=read)
        thread.start()
        time.sleep(0.5)  # the reader waits for events
        assert http.delete(f"/v1/agents/{agent}").status_code == 200
        thread.join(timeout=20)
        assert not thread.is_alive() and outcome["took"] < 5, outcome
        assert outcome["events"][1]["error_type"] == "stream_incomplete"
        assert "deleted" in outcome["events"][1]["message"]
        # The queued run looked once more, woken by the deletion, and gave up.
        wait_for(lambda: (queued["id"], agent, "notify") in looks(stack, mark), timeout=5)


# -- 3. the sweep's periodic deletes use indexes -------------------------------------------------------


@pytest.mark.parametrize(("statement", "params", "indexes"), [
    (run_store.FORGET_DEAD_SERVERS, {}, ["servers_heartbeat_at"]),
    (run_store.EXPIRE_RUN_EVENTS, {"hours": 24.0}, ["run_events_created_at", "runs_pkey"]),
    (run_store.FAIL_DEAD_RUNS, {"stale": 15.0}, ["runs_active"]),
], ids=["forget-servers", "expire-run-events", "fail-dead-runs"])
def test_the_sweeps_statements_use_indexes(slow_poll_stack, database, statement, params, indexes):
    """With sequential scans priced out, the plan shows which index serves
    each table; without the index, PostgreSQL would still (have to) scan."""
    plan = "\n".join(row[0] for row in sql(database, "EXPLAIN " + statement.text, params,
                                           setup=("SET LOCAL enable_seqscan = off",)))
    assert "Seq Scan" not in plan, plan
    for index in indexes:
        assert re.search(rf"Index (Only )?Scan (using|on) {index}\b", plan), plan
