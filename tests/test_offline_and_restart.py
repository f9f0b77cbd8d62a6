"""The README quickstart with no provider configured (the offline dev model),
a missing provider key giving a clean stop, and persistence across a restart."""
from __future__ import annotations

import shutil

import pytest

from tests.harness import make_stack


@pytest.fixture(scope="module")
def offline_stack():
    stack = make_stack(llm_base_url=None).start()
    yield stack
    stack.stop()
    shutil.rmtree(stack.data_dir, ignore_errors=True)


def test_readme_quickstart_offline(offline_stack):
    with offline_stack.http() as http:
        models = [m["handle"] for m in http.get("/v1/models/").json()]
        assert models == ["mnemo/offline-dev"]
        agent = http.post("/v1/agents/", json={
            "memory_blocks": [
                {"value": "The human's name is Bob the Builder.", "label": "human"},
                {"value": "My name is Sam, the all-knowing sentient AI.", "label": "persona"},
            ],
            "model": "mnemo/offline-dev", "context_window_limit": 16000,
        }).json()
        reply = http.post(f"/v1/agents/{agent['id']}/messages",
                          json={"messages": [{"role": "user", "content": "My name is actually Chad."}]})
        assert reply.status_code == 200, reply.text
        kinds = [m["message_type"] for m in reply.json()["messages"]]
        assert kinds[0] == "tool_call_message" and kinds[-1] == "assistant_message"
        block = http.get(f"/v1/agents/{agent['id']}/core-memory/blocks/human").json()
        assert "Chad" in block["value"]
        # Without "model", agents get the offline model when no provider is configured.
        default = http.post("/v1/agents/", json={}).json()
        assert default["model"] == "mnemo/offline-dev"


def test_missing_provider_key_is_a_clean_llm_api_error(offline_stack):
    with offline_stack.http() as http:
        agent = http.post("/v1/agents/", json={"model": "openai/gpt-4o-mini"}).json()
        r = http.post(f"/v1/agents/{agent['id']}/messages", json={"input": "hello"})
        assert r.status_code == 503
        assert "OPENAI_API_KEY" in r.json()["detail"]
        with http.stream("POST", f"/v1/agents/{agent['id']}/messages/stream", json={"input": "hello"}) as s:
            body = "".join(s.iter_text())
        assert '"stop_reason":"llm_api_error"' in body and "event: error" in body
        messages = http.get(f"/v1/agents/{agent['id']}/messages", params={"order": "asc"}).json()
        assert [m.get("content") for m in messages if m["message_type"] == "user_message"] == ["hello", "hello"]


def test_everything_survives_a_restart(fake_llm):
    stack = make_stack(llm_base_url=fake_llm.base_url).start()
    try:
        with stack.http() as http:
            agent = http.post("/v1/agents/", json={"model": "openai/restart-model",
                                                   "memory_blocks": [{"label": "human", "value": "Ann"}]}).json()
            http.post(f"/v1/agents/{agent['id']}/messages", json={"input": "remember me"}).raise_for_status()
            before = http.get(f"/v1/agents/{agent['id']}/messages").json()
        stack.stop()
        stack.start()
        with stack.http() as http:
            assert http.get(f"/v1/agents/{agent['id']}/messages").json() == before
            state = http.get(f"/v1/agents/{agent['id']}").json()
            assert state["blocks"][0]["value"] == "Ann" and len(state["message_ids"]) == 3
            again = http.post(f"/v1/agents/{agent['id']}/messages", json={"input": "still there?"})
            assert again.json()["messages"][-1]["content"] == "echo: still there?"
    finally:
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)
