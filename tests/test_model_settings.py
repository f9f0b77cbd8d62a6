"""An agent's `model_settings` is honoured (it reaches the provider's request)
or refused naming the key; never stored and ignored. Also the agent's own
`response_format`: plain text, or refused until structured output lands."""
from __future__ import annotations

import letta_client
import pytest
from letta_client import Letta

from tests.fakes.fake_llm import Reply
from tests.util import uid


@pytest.fixture(scope="module")
def client(stack) -> Letta:
    with Letta(base_url=stack.http_base, max_retries=0, timeout=30, _strict_response_validation=True) as sdk:
        yield sdk


def test_openai_settings_reach_the_request(client, fake_llm):
    model = f"m-{uid()}"
    agent = client.agents.create(
        model=f"openai/{model}",
        model_settings={"provider_type": "openai", "temperature": 0.3, "max_output_tokens": 321,
                        "parallel_tool_calls": True, "reasoning": {"reasoning_effort": "low"},
                        "response_format": {"type": "text"}, "strict": False},
    )
    config = agent.llm_config
    assert (config.temperature, config.max_tokens, config.parallel_tool_calls) == (0.3, 321, True)
    assert config.reasoning_effort == "low" and config.enable_reasoner is True
    fake_llm.script(Reply(text="fine"), Reply(text="again"), model=model)
    client.agents.messages.create(agent.id, messages=[{"role": "user", "content": "hi"}])
    body = fake_llm.last_request(model=model).body
    assert body["temperature"] == 0.3 and body["max_completion_tokens"] == 321
    assert body["reasoning_effort"] == "low"
    assert body.get("tools") and body["parallel_tool_calls"] is True

    # An update replaces the settings given and keeps the rest of the configuration.
    updated = client.agents.update(agent.id, model_settings={"max_output_tokens": 99})
    assert updated.llm_config.max_tokens == 99 and updated.llm_config.temperature == 0.3
    client.agents.messages.create(agent.id, messages=[{"role": "user", "content": "again"}])
    assert fake_llm.last_request(model=model).body["max_completion_tokens"] == 99


def test_anthropic_thinking_budget_reaches_the_request(client, fake_llm):
    model = f"claude-{uid()}"
    agent = client.agents.create(
        model=f"anthropic/{model}", include_base_tools=False,
        model_settings={"provider_type": "anthropic", "max_output_tokens": 8000,
                        "thinking": {"type": "enabled", "budget_tokens": 2048}},
    )
    assert agent.llm_config.enable_reasoner is True and agent.llm_config.max_reasoning_tokens == 2048
    fake_llm.script(Reply(text="thought about it", reasoning="hmm"), model=model)
    client.agents.messages.create(agent.id, messages=[{"role": "user", "content": "think"}])
    body = fake_llm.last_request(model=model).body
    assert body["max_tokens"] == 8000 and body["thinking"] == {"type": "enabled", "budget_tokens": 2048}


@pytest.mark.parametrize(("model", "settings", "field"), [
    ("openai/gpt-4o-mini", {"top_k": 3}, "model_settings.top_k"),
    ("openai/gpt-4o-mini", {"temperature": 5}, "model_settings.temperature"),
    ("openai/gpt-4o-mini", {"max_output_tokens": 0}, "model_settings.max_output_tokens"),
    ("openai/gpt-4o-mini", {"provider_type": "anthropic"}, "model_settings.provider_type"),
    ("openai/gpt-4o-mini", {"reasoning": {"reasoning_effort": "maximal"}}, "model_settings.reasoning.reasoning_effort"),
    ("openai/gpt-4o-mini", {"response_format": {"type": "json_object"}}, "model_settings.response_format"),
    ("openai/gpt-4o-mini", {"strict": True}, "model_settings.strict"),
    ("anthropic/claude-haiku-4-5", {"temperature": 0.5}, "model_settings.temperature"),
    ("anthropic/claude-haiku-4-5", {"thinking": {"type": "enabled", "budget_tokens": 10}},
     "model_settings.thinking.budget_tokens"),
])
def test_settings_not_honoured_are_refused_by_name(client, model, settings, field):
    with pytest.raises(letta_client.BadRequestError) as refused:
        client.agents.create(model=model, model_settings=settings, include_base_tools=False)
    assert refused.value.body["detail"].startswith(f"{field}:"), refused.value.body
    agent = client.agents.create(model=model, include_base_tools=False)
    with pytest.raises(letta_client.BadRequestError) as refused:
        client.agents.update(agent.id, model_settings=settings)
    assert refused.value.body["detail"].startswith(f"{field}:"), refused.value.body


def test_agent_response_format(client):
    agent = client.agents.create(include_base_tools=False, response_format={"type": "text"})
    assert agent.id
    with pytest.raises(letta_client.BadRequestError) as refused:
        client.agents.create(include_base_tools=False, response_format={"type": "json_object"})
    assert refused.value.body["detail"].startswith("response_format:")
    with pytest.raises(letta_client.BadRequestError) as refused:
        client.agents.update(agent.id, response_format={"type": "json_schema", "json_schema": {"name": "x"}})
    assert refused.value.body["detail"].startswith("response_format:")
