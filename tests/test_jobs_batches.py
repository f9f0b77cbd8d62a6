"""Jobs and message batches: a batch is one job whose requests run as ordinary
background runs; it ends when they all have, with an honest status; it can be
cancelled; its messages can be listed; it survives a restart of the server."""
from __future__ import annotations

import http.server
import json
import shutil
import signal
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import grpc
import pytest
from cryptography.fernet import Fernet
from google.protobuf import struct_pb2
from letta_client import Letta
from letta_client._models import BaseModel
from letta_client.types.agents.internal_message import InternalMessage
from letta_client.types.agents.job_status import JobStatus
from letta_client.types.agents.job_type import JobType
from mnemo.v1 import jobs_pb2, jobs_pb2_grpc, messages_pb2
from mnemo_server.storage.database import EmbeddedPostgres

from tests.fakes.fake_llm import Error, Reply
from tests.harness import make_stack
from tests.util import Rest, uid

TERMINAL = ("completed", "failed", "cancelled")


# Letta's Job / BatchJob and LettaBatchMessages schemas (letta/schemas/job.py,
# letta/schemas/letta_response.py), written with the SDK's own model base and
# its JobStatus / JobType / InternalMessage types: letta-client 1.12.1 has no
# jobs or batches resource, so the strict client casts to these.
class LettaJob(BaseModel):
    id: str
    status: JobStatus | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    updated_at: datetime | None = None
    metadata: dict | None = None
    job_type: JobType | None = None
    callback_url: str | None = None
    callback_sent_at: datetime | None = None
    callback_status_code: int | None = None
    callback_error: str | None = None
    ttft_ns: int | None = None
    total_duration_ns: int | None = None
    user_id: str | None = None


class LettaBatchMessages(BaseModel):
    messages: list[InternalMessage]


@pytest.fixture(scope="module")
def rest(http):
    return Rest(http)


@pytest.fixture(scope="module")
def sdk(stack):
    with Letta(base_url=stack.http_base, max_retries=0, timeout=30, _strict_response_validation=True) as client:
        yield client


def new_agent(rest, model: str) -> str:
    return rest.post("/v1/agents", {"model": f"openai/{model}", "include_base_tools": False})["id"]


def wait_for(predicate, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def ended(rest, path: str) -> dict:
    return wait_for(lambda: (j := rest.get(path))["status"] in TERMINAL and j)


def user(text: str) -> dict:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


# -- batches ---------------------------------------------------------------------------


def test_batch_of_three_agents_runs_to_completion_and_lists_its_messages(fake_llm, rest):
    models = [f"m-{uid()}" for _ in range(3)]
    agents = [new_agent(rest, m) for m in models]
    for i, m in enumerate(models):
        fake_llm.script(Reply(text=f"answer {i}", delay_s=0.2), model=m)
    job = rest.post("/v1/messages/batches", {"requests": [
        {"agent_id": a, "messages": [user(f"question {i}")]} for i, a in enumerate(agents)]})
    assert job["id"].startswith("job-") and job["job_type"] == "batch" and job["status"] == "running"
    assert job["metadata"]["job_type"] == "batch_messages" and job["progress"]["total"] == 3
    assert [(it["index"], it["agent_id"]) for it in job["items"]] == list(enumerate(agents))
    runs = [it["run_id"] for it in job["items"]]
    assert all(r.startswith("run-") for r in runs)
    # Each request is an ordinary background run on its agent, which names its batch.
    for agent, run in zip(agents, runs, strict=True):
        got = rest.get(f"/v1/runs/{run}")
        assert got["agent_id"] == agent and got["background"] and got["metadata"]["job_id"] == job["id"]

    done = ended(rest, f"/v1/messages/batches/{job['id']}")
    assert done["status"] == "completed" and done["completed_at"] and done["total_duration_ns"] > 0
    assert done["progress"] == {"total": 3, "created": 0, "running": 0, "completed": 3, "failed": 0,
                                "cancelled": 0}
    assert [it["status"] for it in done["items"]] == ["completed"] * 3
    assert all(it["stop_reason"] == "end_turn" for it in done["items"])
    assert done["metadata"]["failed_items"] == []
    assert rest.get(f"/v1/jobs/{job['id']}") == done
    for run in runs:
        assert rest.get(f"/v1/runs/{run}")["status"] == "completed"

    # Messages of all its runs, newest first by default, in the stored shape.
    listed = rest.get(f"/v1/messages/batches/{job['id']}/messages")
    msgs = listed["messages"]
    assert len(msgs) == 6 and {m["run_id"] for m in msgs} == set(runs)
    texts = {(m["agent_id"], m["role"], m["content"][0]["text"]) for m in msgs}
    for i, agent in enumerate(agents):
        assert (agent, "user", f"question {i}") in texts and (agent, "assistant", f"answer {i}") in texts
    for run in runs:  # storage order, newest first
        assert [m["role"] for m in msgs if m["run_id"] == run] == ["assistant", "user"]
    assert {m["batch_item_id"] for m in msgs} == {f"{job['id']}:{i}" for i in range(3)}
    oldest = rest.get(f"/v1/messages/batches/{job['id']}/messages", params={"order": "asc"})["messages"]
    assert [m["id"] for m in oldest] == [m["id"] for m in msgs][::-1]
    # Filtered by agent; paged with a cursor (Letta's reference calls it `cursor`).
    only = rest.get(f"/v1/messages/batches/{job['id']}/messages", params={"agent_id": agents[1]})["messages"]
    assert [m["agent_id"] for m in only] == [agents[1]] * 2
    first = rest.get(f"/v1/messages/batches/{job['id']}/messages", params={"limit": 4})["messages"]
    rest_page = rest.get(f"/v1/messages/batches/{job['id']}/messages",
                         params={"limit": 4, "cursor": first[-1]["id"]})["messages"]
    assert [m["id"] for m in first + rest_page] == [m["id"] for m in msgs]
    ascending = rest.get(f"/v1/messages/batches/{job['id']}/messages",
                         params={"sort_descending": "false", "limit": 2})["messages"]
    assert [m["id"] for m in ascending] == [m["id"] for m in oldest[:2]]
    # The batch is listed with the batches and the jobs, and is no longer active.
    assert job["id"] in [b["id"] for b in rest.get("/v1/messages/batches", params={"limit": 1000})]
    assert job["id"] in [j["id"] for j in rest.get("/v1/jobs/", params={"limit": 1000})]
    assert job["id"] not in [j["id"] for j in rest.get("/v1/jobs/active")]


def test_batch_through_the_strict_letta_client(fake_llm, rest, sdk):
    """The seeds' Python example shape (requests of MessageCreate with
    TextContent), every answer validated against the SDK's types."""
    models = [f"m-{uid()}" for _ in range(3)]
    agents = [new_agent(rest, m) for m in models]
    for m in models:
        fake_llm.script(Reply(text="ok from the sdk"), model=m)
    body = {"requests": [{"messages": [{"role": "user", "content": [{"type": "text", "text": "text"}]}],
                          "agent_id": a} for a in agents]}
    job = sdk.post("/v1/messages/batches", body=body, cast_to=LettaJob)
    assert job.job_type == "batch" and job.status in ("running", "completed")
    done = wait_for(lambda: (j := sdk.get(f"/v1/messages/batches/{job.id}", cast_to=LettaJob)).status in TERMINAL
                    and j)
    assert done.status == "completed" and isinstance(done.total_duration_ns, int)
    listed = sdk.get("/v1/messages/batches", cast_to=list[LettaJob])
    assert job.id in [j.id for j in listed]
    messages = sdk.get(f"/v1/messages/batches/{job.id}/messages", cast_to=LettaBatchMessages)
    assert len(messages.messages) == 6
    assert {m.role for m in messages.messages} == {"user", "assistant"}
    assert all(m.content and m.content[0].text for m in messages.messages)
    assert sdk.get(f"/v1/jobs/{job.id}", cast_to=LettaJob).status == "completed"
    assert job.id in [j.id for j in sdk.get("/v1/jobs/", cast_to=list[LettaJob])]
    assert isinstance(sdk.get("/v1/jobs/active", cast_to=list[LettaJob]), list)
    cancelled = sdk.patch(f"/v1/messages/batches/{job.id}/cancel", cast_to=LettaJob)
    assert cancelled.status == "completed"  # an ended batch stays as it ended
    deleted = sdk.delete(f"/v1/jobs/{job.id}", cast_to=LettaJob)
    assert deleted.id == job.id


def test_a_failed_request_fails_the_batch_and_is_reported(fake_llm, rest):
    good, bad = f"m-{uid()}", f"m-{uid()}"
    agents = [new_agent(rest, good), new_agent(rest, bad)]
    fake_llm.script(Reply(text="fine"), model=good)
    fake_llm.script(Reply(error=Error(status=500, message="model down", times=3)), model=bad)
    job = rest.post("/v1/messages/batches", {"requests": [
        {"agent_id": agents[0], "input": "hello"}, {"agent_id": agents[1], "input": "hello"}]})
    done = ended(rest, f"/v1/messages/batches/{job['id']}")
    assert done["status"] == "failed"
    assert done["progress"]["completed"] == 1 and done["progress"]["failed"] == 1
    assert done["metadata"]["failed_items"] == [1]
    first, second = done["items"]
    assert first["status"] == "completed" and "error" not in first
    assert second["status"] == "failed" and second["stop_reason"] == "llm_api_error" and second["error"]
    assert rest.get(f"/v1/runs/{second['run_id']}")["status"] == "failed"


def test_cancel_stops_the_unfinished_runs(fake_llm, rest):
    fast, slow = f"m-{uid()}", f"m-{uid()}"
    quick_agent, busy_agent = new_agent(rest, fast), new_agent(rest, slow)
    fake_llm.script(Reply(text="quick"), model=fast)
    # Two requests on the same agent: the second waits in the agent's queue
    # (and, cancelled there, never calls the model).
    fake_llm.script(Reply(text="slow 1", delay_s=20), model=slow)
    job = rest.post("/v1/messages/batches", {"requests": [
        {"agent_id": quick_agent, "input": "now"}, {"agent_id": busy_agent, "input": "first"},
        {"agent_id": busy_agent, "input": "second"}]})
    runs = [it["run_id"] for it in job["items"]]
    wait_for(lambda: rest.get(f"/v1/runs/{runs[0]}")["status"] == "completed"
             and rest.get(f"/v1/runs/{runs[1]}")["status"] == "running")
    assert rest.get(f"/v1/runs/{runs[2]}")["status"] == "created"
    started = time.monotonic()
    cancelled = rest("PATCH", f"/v1/messages/batches/{job['id']}/cancel", {})
    assert cancelled["cancel_requested"] and cancelled["id"] == job["id"]
    done = ended(rest, f"/v1/messages/batches/{job['id']}")
    assert time.monotonic() - started < 10, "the slow model call was not interrupted"
    assert done["status"] == "cancelled"
    assert [it["status"] for it in done["items"]] == ["completed", "cancelled", "cancelled"]
    assert done["progress"]["cancelled"] == 2 and done["progress"]["completed"] == 1
    assert [rest.get(f"/v1/runs/{r}")["status"] for r in runs] == ["completed", "cancelled", "cancelled"]
    # The agent is free again.
    fake_llm.script(Reply(text="after"), model=slow)
    reply = rest.post(f"/v1/agents/{busy_agent}/messages", {"input": "still there?"}, params=None)
    assert reply["messages"][-1]["content"] == "after"


def test_jobs_list_active_retrieve_and_delete(fake_llm, rest):
    model = f"m-{uid()}"
    agent = new_agent(rest, model)
    fake_llm.script(Reply(text="eventually", delay_s=2.0), model=model)
    job = rest.post("/v1/messages/batches", {"requests": [{"agent_id": agent, "input": "go"}]})
    active = rest.get("/v1/jobs/active")
    assert job["id"] in [j["id"] for j in active] and all(j["status"] in ("created", "running") for j in active)
    assert job["id"] in [j["id"] for j in rest.get("/v1/jobs", params={"job_type": "batch", "active": "true"})]
    assert rest.get(f"/v1/jobs/{job['id']}")["status"] == "running"
    # An active job cannot be deleted.
    rest("DELETE", f"/v1/jobs/{job['id']}", expect=400, contains="has not ended")
    done = ended(rest, f"/v1/jobs/{job['id']}")
    assert done["status"] == "completed"
    assert job["id"] not in [j["id"] for j in rest.get("/v1/jobs/active")]
    completed = rest.get("/v1/jobs", params={"statuses": "completed", "limit": 1000})
    assert job["id"] in [j["id"] for j in completed] and {j["status"] for j in completed} == {"completed"}
    # Paging: newest first; `after` continues.
    page = rest.get("/v1/jobs", params={"limit": 1})
    assert len(page) == 1
    deleted = rest("DELETE", f"/v1/jobs/{job['id']}")
    assert deleted["id"] == job["id"] and deleted["status"] == "completed"
    rest.get(f"/v1/jobs/{job['id']}", expect=404, contains=job["id"])
    rest.get(f"/v1/messages/batches/{job['id']}", expect=404)
    # Its run and messages stay.
    run = rest.get(f"/v1/runs/{done['items'][0]['run_id']}")
    assert run["status"] == "completed"


def test_unknown_ids_and_bad_bodies(fake_llm, rest):
    missing = "job-00000000-0000-4000-8000-000000000000"
    for method, path in [("GET", f"/v1/jobs/{missing}"), ("DELETE", f"/v1/jobs/{missing}"),
                         ("PATCH", f"/v1/jobs/{missing}/cancel"), ("GET", f"/v1/messages/batches/{missing}"),
                         ("PATCH", f"/v1/messages/batches/{missing}/cancel"),
                         ("GET", f"/v1/messages/batches/{missing}/messages")]:
        rest(method, path, {} if method == "PATCH" else None, expect=404, contains=missing)
    model = f"m-{uid()}"
    agent = new_agent(rest, model)
    rest.post("/v1/messages/batches", {"requests": []}, expect=400, contains="requests")
    rest.post("/v1/messages/batches", {}, expect=400, contains="requests")
    rest.post("/v1/messages/batches", {"requests": [{"agent_id": agent, "input": "x"}, {"input": "x"}]},
              expect=400, contains="requests[1].agent_id")
    rest.post("/v1/messages/batches", {"requests": [
        {"agent_id": agent, "input": "x"}, {"agent_id": "agent-00000000-0000-4000-8000-000000000000", "input": "x"}]},
        expect=404, contains="requests[1].agent_id")
    rest.post("/v1/messages/batches", {"requests": [
        {"agent_id": agent, "messages": [{"role": "wizard", "content": "x"}]}]},
        expect=400, contains="requests[0].messages[0].role")
    rest.post("/v1/messages/batches", {"requests": [{"agent_id": agent, "input": "x", "if_busy": "maybe"}]},
              expect=400, contains="requests[0].if_busy")
    rest.post("/v1/messages/batches", {"requests": [{"agent_id": agent, "input": "x"}],
                                       "callback_url": "ftp://example.com/x"}, expect=400, contains="callback_url")
    # The seeds' curl, verbatim: its empty content part is named.
    seed = {"requests": [{"messages": [{"role": "user", "content": [{}]}], "agent_id": "foo"}]}
    rest.post("/v1/messages/batches", seed, expect=400, contains="requests[0].messages[0].content[0].text")
    seed["requests"][0]["messages"][0]["content"] = [{"type": "text", "text": "text"}]
    rest.post("/v1/messages/batches", seed, expect=404, contains="requests[0].agent_id")
    rest.get("/v1/jobs", params={"statuses": "sleeping"}, expect=400, contains="statuses[0]")
    rest.get("/v1/jobs", params={"job_type": "laundry"}, expect=400, contains="job_type")
    rest.get("/v1/jobs", params={"limit": 0}, expect=400, contains="limit")
    # A refused batch started nothing.
    assert rest.get("/v1/runs", params={"agent_id": agent}) == []


class _Callbacks(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def callback_server():
    handler = type("Handler", (_Callbacks,), {"received": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/done", handler.received
    server.shutdown()


# Callbacks to this host are refused unless allowed (tests/test_jobs_batches.py::
# test_callbacks_cannot_reach_this_host_or_private_networks); the receiver here is local.
ALLOW_LOCAL_CALLBACKS = {"MNEMO_CALLBACK_ALLOW": "127.0.0.1"}


@pytest.fixture(scope="module")
def local_callbacks_rest(fake_llm):
    stack = make_stack(llm_base_url=fake_llm.base_url, extra_env=ALLOW_LOCAL_CALLBACKS).start()
    try:
        with stack.http() as client:
            yield Rest(client)
    finally:
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)


def test_callback_url_receives_the_end_of_the_batch(fake_llm, local_callbacks_rest, callback_server):
    rest = local_callbacks_rest
    url, received = callback_server
    model = f"m-{uid()}"
    agent = new_agent(rest, model)
    fake_llm.script(Reply(text="done"), model=model)
    job = rest.post("/v1/messages/batches", {"requests": [{"agent_id": agent, "input": "go"}], "callback_url": url})
    assert job["callback_url"] == url
    # The poller ends the job and calls back without anyone reading the job.
    wait_for(lambda: received)
    assert received == [{"job_id": job["id"], "status": "completed", "completed_at": received[0]["completed_at"]}]
    got = wait_for(lambda: (j := rest.get(f"/v1/jobs/{job['id']}")).get("callback_sent_at") and j)
    assert got["status"] == "completed" and got["callback_status_code"] == 204 and "callback_error" not in got
    time.sleep(1.5)
    assert len(received) == 1, "the callback must be sent once"


def test_a_batch_that_ended_while_unwatched_is_finalised_after_a_restart(fake_llm, callback_server):
    """The first server does not poll (and nobody reads the batch): its runs
    end, the server stops, and the next server finalises the batch from the
    database alone, calling back."""
    url, received = callback_server
    stack = make_stack(llm_base_url=fake_llm.base_url,
                       extra_env={"MNEMO_JOB_POLL_S": "3600", **ALLOW_LOCAL_CALLBACKS}).start()
    try:
        with stack.http() as client:
            rest = Rest(client)
            models = [f"m-{uid()}" for _ in range(2)]
            agents = [new_agent(rest, m) for m in models]
            for m in models:
                fake_llm.script(Reply(text="while unwatched", delay_s=1.0), model=m)
            job = rest.post("/v1/messages/batches", {
                "requests": [{"agent_id": a, "input": "go"} for a in agents], "callback_url": url})
            assert job["status"] == "running"
            for item in job["items"]:
                wait_for(lambda r=item["run_id"]: rest.get(f"/v1/runs/{r}")["status"] == "completed")
        time.sleep(0.5)
        assert received == []  # nobody finalised it
        stack.stop()
        stack.env["MNEMO_JOB_POLL_S"] = "0.2"
        stack.start()
        wait_for(lambda: received)
        assert received[0]["job_id"] == job["id"] and received[0]["status"] == "completed"
        with stack.http() as client:
            got = Rest(client).get(f"/v1/messages/batches/{job['id']}")
            assert got["status"] == "completed" and got["progress"]["completed"] == 2
            assert len(Rest(client).get(f"/v1/messages/batches/{job['id']}/messages")["messages"]) == 4
    finally:
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)


def test_a_batch_whose_server_is_killed_is_ended_by_another_server(fake_llm):
    """Server A starts a batch and is killed mid-run; server B (same database)
    fails A's lost run through the run sweeper and ends the batch "failed",
    naming the lost request, while the finished one keeps its result."""
    folder = Path(tempfile.mkdtemp(prefix="mnemo-jobs-db-"))
    db = EmbeddedPostgres(folder)
    url = db.start()
    env = {"MNEMO_DATABASE_URL": url, "MNEMO_ENCRYPTION_KEY": Fernet.generate_key().decode(),
           "MNEMO_SERVER_STALE_AFTER_S": "2", "MNEMO_JOB_POLL_S": "0.2"}
    a = make_stack(llm_base_url=fake_llm.base_url, extra_env=env).start()
    b = make_stack(llm_base_url=fake_llm.base_url, extra_env=env).start()
    try:
        fast, slow = f"m-{uid()}", f"m-{uid()}"
        with a.http() as client:
            rest_a = Rest(client)
            agents = [new_agent(rest_a, fast), new_agent(rest_a, slow)]
            fake_llm.script(Reply(text="made it"), model=fast)
            fake_llm.script(Reply(text="never delivered", delay_s=60), model=slow)
            job = rest_a.post("/v1/messages/batches", {"requests": [{"agent_id": x, "input": "go"} for x in agents]})
            runs = [it["run_id"] for it in job["items"]]
            wait_for(lambda: rest_a.get(f"/v1/runs/{runs[0]}")["status"] == "completed"
                     and rest_a.get(f"/v1/runs/{runs[1]}")["status"] == "running")
        wait_for(lambda: fake_llm.last_request(model=slow) is not None)
        a.process.send_signal(signal.SIGKILL)
        a.process.wait()
        with b.http() as client:
            rest_b = Rest(client)
            done = wait_for(lambda: (j := rest_b.get(f"/v1/jobs/{job['id']}"))["status"] in TERMINAL and j,
                            timeout=30)
            assert done["status"] == "failed" and done["metadata"]["failed_items"] == [1]
            assert [it["status"] for it in done["items"]] == ["completed", "failed"]
            assert "stopped" in done["items"][1]["error"]
            messages = rest_b.get(f"/v1/messages/batches/{job['id']}/messages",
                                  params={"agent_id": agents[0]})["messages"]
            assert [m["role"] for m in messages] == ["assistant", "user"]
    finally:
        for s in (a, b):
            s.stop()
            shutil.rmtree(s.data_dir, ignore_errors=True)
        db.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_the_grpc_contract(fake_llm, rest, channel):
    """The same services through gRPC: typed messages, status codes."""
    model = f"m-{uid()}"
    agent = new_agent(rest, model)
    fake_llm.script(Reply(text="typed"), model=model)
    jobs = jobs_pb2_grpc.JobServiceStub(channel)
    batches = jobs_pb2_grpc.BatchServiceStub(channel)
    job = batches.CreateBatch(jobs_pb2.CreateBatchRequest(requests=[
        messages_pb2.SendMessageRequest(agent_id=agent, messages=[messages_pb2.MessageCreate(
            role="user", content=struct_pb2.Value(string_value="hi"))])]))
    assert job.job_type == "batch" and job.progress.total == 1 and job.items[0].agent_id == agent
    done = wait_for(lambda: (j := jobs.GetJob(jobs_pb2.GetJobRequest(job_id=job.id))).status in TERMINAL and j)
    assert done.status == "completed" and done.items[0].HasField("run_id")
    listed = jobs.ListJobs(jobs_pb2.ListJobsRequest(job_type="batch", limit=1000))
    assert isinstance(listed, jobs_pb2.ListJobsResponse) and job.id in [j.id for j in listed.jobs]
    page = batches.ListBatchMessages(jobs_pb2.ListBatchMessagesRequest(batch_id=job.id, order="asc"))
    assert [(m.role, m.content[0]["text"]) for m in page.messages] == [("user", "hi"), ("assistant", "typed")]
    with pytest.raises(grpc.RpcError) as err:
        jobs.GetJob(jobs_pb2.GetJobRequest(job_id="job-nope"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        batches.CreateBatch(jobs_pb2.CreateBatchRequest())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "requests" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        jobs.GetJob(jobs_pb2.GetJobRequest())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "job_id" in err.value.details()


def test_batches_take_the_message_body_cap(rest):
    """A batch carries many agents' messages: it has the message routes' cap
    (MNEMO_MAX_MESSAGE_BODY_BYTES, 8 MiB), not the 1 MiB default."""
    missing = "agent-00000000-0000-4000-8000-000000000000"
    text = "x" * (2 * 1024 * 1024)
    rest.post("/v1/messages/batches", {"requests": [{"agent_id": missing, "input": text}]},
              expect=404, contains="requests[0].agent_id")  # got past the gateway to the server
    huge = "x" * (8 * 1024 * 1024 + 1)
    rest.post("/v1/messages/batches", {"requests": [{"agent_id": missing, "input": huge}]},
              expect=413, contains="MNEMO_MAX_MESSAGE_BODY_BYTES")


def test_a_run_cancelled_on_its_own_ends_the_batch_cancelled(fake_llm, rest):
    """Not a cancel of the batch (cancel_requested stays false) but of one of
    its runs, through the agent's cancel route: the batch did not complete."""
    fast, slow = f"m-{uid()}", f"m-{uid()}"
    agents = [new_agent(rest, fast), new_agent(rest, slow)]
    fake_llm.script(Reply(text="done"), model=fast)
    fake_llm.script(Reply(text="too slow", delay_s=20), model=slow)
    job = rest.post("/v1/messages/batches", {"requests": [{"agent_id": a, "input": "go"} for a in agents]})
    slow_run = job["items"][1]["run_id"]
    wait_for(lambda: rest.get(f"/v1/runs/{slow_run}")["status"] == "running")
    assert rest.post(f"/v1/agents/{agents[1]}/messages/cancel", {"run_ids": [slow_run]}) == {slow_run: "cancelled"}
    done = ended(rest, f"/v1/messages/batches/{job['id']}")
    assert done["status"] == "cancelled" and not done["cancel_requested"]
    assert [it["status"] for it in done["items"]] == ["completed", "cancelled"]
    assert done["metadata"]["failed_items"] == []


def test_a_request_that_cannot_start_is_a_failed_item_and_the_others_go_on(fake_llm, rest):
    busy_model, free_model = f"m-{uid()}", f"m-{uid()}"
    busy, free = new_agent(rest, busy_model), new_agent(rest, free_model)
    fake_llm.script(Reply(text="hogging", delay_s=3), model=busy_model)
    fake_llm.script(Reply(text="free to answer"), model=free_model)
    hog = rest.post(f"/v1/agents/{busy}/messages/async", {"input": "take your time"})
    wait_for(lambda: rest.get(f"/v1/runs/{hog['id']}")["status"] == "running")
    job = rest.post("/v1/messages/batches", {"requests": [
        {"agent_id": busy, "input": "now!", "if_busy": "reject"}, {"agent_id": free, "input": "hello"}]})
    first, second = job["items"]
    assert first["status"] == "failed" and "run_id" not in first and "busy" in first["error"]
    assert second["run_id"].startswith("run-")
    done = ended(rest, f"/v1/messages/batches/{job['id']}")
    assert done["status"] == "failed" and done["metadata"]["failed_items"] == [0]
    assert [it["status"] for it in done["items"]] == ["failed", "completed"]
    assert done["progress"]["failed"] == 1 and done["progress"]["completed"] == 1


def test_an_item_whose_agent_is_deleted_is_reported_failed(fake_llm, rest):
    """Deleting an agent deletes its runs; the batch keeps the item and says
    what happened instead of waiting for a run that no longer exists."""
    kept, doomed = f"m-{uid()}", f"m-{uid()}"
    agents = [new_agent(rest, kept), new_agent(rest, doomed)]
    fake_llm.script(Reply(text="kept"), model=kept)
    fake_llm.script(Reply(text="never seen", delay_s=5), model=doomed)
    job = rest.post("/v1/messages/batches", {"requests": [{"agent_id": a, "input": "go"} for a in agents]})
    wait_for(lambda: rest.get(f"/v1/runs/{job['items'][1]['run_id']}")["status"] == "running")
    rest("DELETE", f"/v1/agents/{agents[1]}")
    done = ended(rest, f"/v1/messages/batches/{job['id']}")
    assert done["status"] == "failed" and done["metadata"]["failed_items"] == [1]
    assert done["items"][0]["status"] == "completed"
    assert done["items"][1]["status"] == "failed" and "deleted" in done["items"][1]["error"]
    assert done["items"][1]["agent_id"] == agents[1]  # kept after the agent is gone


def test_callbacks_cannot_reach_this_host_or_private_networks(fake_llm, rest, callback_server):
    """A batch's callback is a request the server makes for an API caller: by default it
    may not reach this host, private networks or cloud metadata (server-side request forgery)."""
    url, received = callback_server
    model = f"m-{uid()}"
    agent = new_agent(rest, model)
    for target in ("http://127.0.0.1:9/x", "http://[::1]:9/x", "http://169.254.169.254/latest/meta-data",
                   "http://10.1.2.3/x", "http://192.168.0.1/x", "http://0.0.0.0:9/x"):
        rest.post("/v1/messages/batches", {"requests": [{"agent_id": agent, "input": "go"}],
                                           "callback_url": target}, expect=400, contains="callback_url")
    # A name that resolves to this host is refused when the callback would be sent.
    fake_llm.script(Reply(text="done"), model=model)
    named = url.replace("127.0.0.1", "localhost")
    job = rest.post("/v1/messages/batches", {"requests": [{"agent_id": agent, "input": "go"}], "callback_url": named})
    got = wait_for(lambda: (j := rest.get(f"/v1/jobs/{job['id']}")).get("callback_sent_at") and j)
    assert got["status"] == "completed" and "callback_status_code" not in got
    assert got["callback_error"].startswith("refused: localhost resolves to"), got
    time.sleep(0.5)
    assert received == [], "the local receiver must not have been called"
