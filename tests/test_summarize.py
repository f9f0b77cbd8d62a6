"""POST /v1/agents/{agent_id}/summarize (Letta's agents.messages.compact): the
agent's own model summarizes its context on request, in a run of its own on
the agent's queue; nothing leaves recall memory."""
from __future__ import annotations

import json

import letta_client
import pytest
from letta_client import Letta

from tests.fakes.fake_llm import Reply
from tests.util import Rest, uid

CUSTOM = "Summarize for a pirate captain, in one line."


def is_summary(body) -> bool:
    first = json.dumps(body["messages"][0])
    return "continuity" in first or CUSTOM in first


@pytest.fixture(scope="module")
def rest(http):
    return Rest(http)


def chatty_agent(rest, fake_llm, exchanges: int = 5) -> tuple[str, str]:
    model = f"m-{uid()}"
    agent = rest.post("/v1/agents", {"model": f"openai/{model}", "include_base_tools": False,
                                     "memory_blocks": [{"label": "human", "value": "Bob"}]})
    for i in range(exchanges):
        fake_llm.script(Reply(text=f"noted {i}"), model=model, match=lambda b: not is_summary(b))
        rest.post(f"/v1/agents/{agent['id']}/messages", {"input": f"fact {i}: the code is {1000 + i}"})
    return agent["id"], model


def test_summarize_all_keeps_recall_and_the_agent_working(rest, fake_llm):
    agent_id, model = chatty_agent(rest, fake_llm)
    before = len(rest.get(f"/v1/agents/{agent_id}")["message_ids"])
    fake_llm.script(Reply(text="Bob gave five codes, 1000 to 1004."), model=model, match=is_summary)
    done = rest.post(f"/v1/agents/{agent_id}/summarize", {"compaction_settings": {"mode": "all"}})
    assert done == {"num_messages_before": before, "num_messages_after": 2,
                    "summary": "Bob gave five codes, 1000 to 1004."}
    assert len(rest.get(f"/v1/agents/{agent_id}")["message_ids"]) == 2
    # The summarizer saw the old exchanges; the agent's next call sees the summary, not them.
    assert "fact 0" in json.dumps(fake_llm.last_request(model=model).body)
    fake_llm.script(Reply(text="still here"), model=model, match=lambda b: not is_summary(b))
    reply = rest.post(f"/v1/agents/{agent_id}/messages", {"input": "what did I tell you?"})
    assert reply["messages"][-1]["content"] == "still here"
    sent = json.dumps(fake_llm.last_request(model=model).body)
    assert "Bob gave five codes" in sent and "fact 0" not in sent
    # Nothing left recall memory, and the summarize is a run of its own.
    listed = rest.get(f"/v1/agents/{agent_id}/messages", params={"limit": 100})
    assert sum(1 for m in listed if m["message_type"] == "user_message"
               and str(m.get("content", "")).startswith("fact ")) == 5
    runs = rest.get("/v1/runs", params={"agent_id": agent_id, "limit": 20})
    assert all(r["status"] == "completed" for r in runs) and len(runs) == 7


def test_older_max_message_length_and_a_custom_prompt(rest, fake_llm):
    agent_id, model = chatty_agent(rest, fake_llm)
    fake_llm.script(Reply(text="Arr, codes."), model=model, match=is_summary)
    r = rest.http.post(f"/v1/agents/{agent_id}/summarize", params={"max_message_length": 4},
                       json={"compaction_settings": {"prompt": CUSTOM, "clip_chars": 200}})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["num_messages_after"] <= 4 and done["summary"] == "Arr, codes."
    summarizer = fake_llm.last_request(model=model).body
    assert summarizer["messages"][0]["content"] == CUSTOM
    # The newest exchange stays verbatim.
    kept = rest.get(f"/v1/agents/{agent_id}/messages", params={"limit": 3})
    assert any("fact 4" in str(m.get("content", "")) for m in kept)


def test_nothing_to_summarize(rest):
    agent = rest.post("/v1/agents", {"include_base_tools": False})
    done = rest.post(f"/v1/agents/{agent['id']}/summarize", {})
    assert done["summary"] == "" and done["num_messages_after"] == done["num_messages_before"]


@pytest.mark.parametrize(("settings", "field"), [
    ({"mode": "self_compact_all"}, "compaction_settings.mode"),
    ({"model": "openai/gpt-4o"}, "compaction_settings.model"),
    ({"sliding_window_percentage": 1.5}, "compaction_settings.sliding_window_percentage"),
    ({"clip_chars": 5}, "compaction_settings.clip_chars"),
    ({"prompt_acknowledgement": True}, "compaction_settings.prompt_acknowledgement"),
])
def test_refused_settings_are_named(rest, settings, field):
    agent = rest.post("/v1/agents", {"include_base_tools": False})
    rest.post(f"/v1/agents/{agent['id']}/summarize", {"compaction_settings": settings}, expect=400, contains=field)
    rest.post("/v1/agents/agent-00000000-0000-0000-0000-000000000000/summarize", {}, expect=404)


def test_strict_sdk_compact(stack, rest, fake_llm):
    agent_id, model = chatty_agent(rest, fake_llm, exchanges=2)
    fake_llm.script(Reply(text="Two codes."), model=model, match=is_summary)
    with Letta(base_url=stack.http_base, max_retries=0, _strict_response_validation=True) as sdk:
        done = sdk.agents.messages.compact(agent_id, compaction_settings={"mode": "all"})
        assert done.summary == "Two codes." and done.num_messages_after == 2
        with pytest.raises(letta_client.BadRequestError):
            sdk.agents.messages.compact(agent_id, compaction_settings={"mode": "self_compact_all"})
