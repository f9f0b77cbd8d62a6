"""Providers stored in the database (bring your own key): CRUD, keys never
returned, and agents using a stored provider's models through its own key."""
from __future__ import annotations

from tests.fakes.fake_llm import Reply
from tests.util import uid


def test_stored_provider_serves_agents_with_its_own_key(fake_llm, http):
    name = f"byok-{uid()}"
    created = http.post("/v1/providers", json={"name": name, "provider_type": "openai", "api_key": "sk-secret-123",
                                               "base_url": f"{fake_llm.base_url}/v1"})
    assert created.status_code == 200, created.text
    provider = created.json()
    assert provider["provider_category"] == "byok" and provider["has_api_key"] is True
    assert "sk-secret-123" not in created.text
    assert "sk-secret-123" not in http.get(f"/v1/providers/{provider['id']}").text
    assert [p["name"] for p in http.get("/v1/providers", params={"name": name}).json()] == [name]
    # Its models are listed under its name, and agents use it through its key.
    handles = [m["handle"] for m in http.get("/v1/models", params={"provider_name": name}).json()]
    assert f"{name}/gpt-4o-mini" in handles
    model = f"m-{uid()}"
    agent = http.post("/v1/agents", json={"model": f"{name}/{model}"}).json()
    assert agent["llm_config"]["provider_name"] == name and agent["llm_config"]["provider_category"] == "byok"
    fake_llm.script(Reply(text="via my own key"), model=model)
    reply = http.post(f"/v1/agents/{agent['id']}/messages", json={"input": "hi"}).json()
    assert reply["messages"][-1]["content"] == "via my own key"
    assert fake_llm.last_request(model=model).headers["authorization"] == "Bearer sk-secret-123"
    # Rotating the key takes effect at once.
    http.patch(f"/v1/providers/{provider['id']}", json={"api_key": "sk-rotated"}).raise_for_status()
    fake_llm.script(Reply(text="rotated"), model=model)
    http.post(f"/v1/agents/{agent['id']}/messages", json={"input": "again"}).raise_for_status()
    assert fake_llm.last_request(model=model).headers["authorization"] == "Bearer sk-rotated"
    # Deleted: the agent's next call fails cleanly.
    assert http.delete(f"/v1/providers/{provider['id']}").status_code == 200
    r = http.post(f"/v1/agents/{agent['id']}/messages", json={"input": "still there?"})
    assert r.status_code == 503 and name in r.json()["detail"]


def test_provider_validation(http):
    name = f"byok-{uid()}"
    cases = [
        ({"name": "", "provider_type": "openai"}, 400, "name"),
        ({"name": "bad name!", "provider_type": "openai"}, 400, "name"),
        ({"name": name, "provider_type": "martian"}, 400, "provider_type"),
        ({"name": name, "provider_type": "openai"}, 400, "api_key"),
        ({"name": name, "provider_type": "groq", "base_url": "not a url"}, 400, "base_url"),
        ({"name": "openai", "provider_type": "openai", "api_key": "k"}, 409, "openai"),
    ]
    for body, status, field in cases:
        r = http.post("/v1/providers", json=body)
        assert r.status_code == status and field in r.json()["detail"], (body, r.text)
    ok = http.post("/v1/providers", json={"name": name, "provider_type": "ollama",
                                          "base_url": "http://127.0.0.1:9/v1"}).json()
    assert ok["has_api_key"] is False
    again = http.post("/v1/providers", json={"name": name, "provider_type": "ollama"})
    assert again.status_code == 409
    assert http.get("/v1/providers/provider-00000000-0000-0000-0000-000000000000").status_code == 404
