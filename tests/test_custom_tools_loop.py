"""Custom tools called by the agent loop: run in the sandbox, their results
(or failures) go back to the model, and the agent continues."""
from __future__ import annotations

import json

from letta_client import Letta

from tests.fakes.fake_llm import Reply, ToolCall
from tests.util import ROLL_DICE, uid

FLAKY = '''
def read_setting(name: str) -> str:
    """Reads a setting.

    Args:
        name: The setting to read.
    """
    import os
    if name == "crash":
        raise RuntimeError("the setting store is down")
    return f"{name}={os.getenv(name)}"
'''


def test_seeds_roll_dice_called_by_the_agent(stack, fake_llm):
    client = Letta(base_url=stack.http_base, max_retries=0)
    tool = client.tools.create(source_code=ROLL_DICE)
    assert tool.name == "roll_dice" and tool.json_schema["parameters"]["properties"] == {}
    model = f"m-{uid()}"
    agent = client.agents.create(model=f"openai/{model}", memory_blocks=[{"label": "human", "value": "Ann"}],
                                 tools=["roll_dice"])
    fake_llm.script(Reply(tool_calls=[ToolCall("roll_dice", {})]), Reply(text="Rolled!"), model=model)
    response = client.agents.messages.create(agent_id=agent.id, input="roll a die for me")
    kinds = [m.message_type for m in response.messages]
    assert kinds == ["tool_call_message", "tool_return_message", "assistant_message"]
    result = response.messages[1]
    assert result.status == "success" and result.tool_return.startswith("You rolled a ")
    assert 1 <= int(result.tool_return.rsplit(" ", 1)[1]) <= 20
    sent = json.loads(fake_llm.last_request(model=model).body["messages"][-1]["content"])
    assert sent["status"] == "OK" and sent["message"] == result.tool_return


def test_tool_failures_go_back_to_the_model_and_secrets_are_visible(stack, fake_llm, http):
    tool = http.post("/v1/tools", json={"source_code": FLAKY}).json()
    model = f"m-{uid()}"
    agent = http.post("/v1/agents", json={"model": f"openai/{model}", "tool_ids": [tool["id"]],
                                          "secrets": {"REGION": "eu-west"}}).json()
    fake_llm.script(
        Reply(tool_calls=[ToolCall("read_setting", {"name": "crash"})]),
        Reply(tool_calls=[ToolCall("read_setting", {"name": "REGION"})]),
        Reply(text="The region is eu-west."),
        model=model,
    )
    r = http.post(f"/v1/agents/{agent['id']}/messages", json={"input": "which region?"}).json()
    returns = [m for m in r["messages"] if m["message_type"] == "tool_return_message"]
    assert returns[0]["status"] == "error" and "the setting store is down" in returns[0]["tool_return"]
    # The tool read the secret; its value is redacted from what is returned and stored.
    assert returns[1]["status"] == "success" and returns[1]["tool_return"] == "REGION=[REDACTED:REGION]"
    assert r["messages"][-1]["content"] == "The region is eu-west."
    assert r["stop_reason"]["stop_reason"] == "end_turn"
