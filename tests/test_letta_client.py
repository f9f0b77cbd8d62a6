"""The official Letta SDK (letta-client) against Mnemo's REST gateway."""
from __future__ import annotations

import itertools

import letta_client
import pytest
from letta_client import Letta

from tests.util import tool_source, uid


@pytest.fixture(scope="module")
def client(stack) -> Letta:
    with Letta(base_url=stack.http_base, max_retries=0, timeout=30, _strict_response_validation=True) as sdk:
        yield sdk


def all_items(page, cap: int = 200) -> list:
    """Every item of an auto-paginating page, failing instead of looping forever."""
    items = list(itertools.islice(page, cap + 1))
    assert len(items) <= cap, "auto-pagination did not terminate"
    return items


def test_health(client):
    health = client.health()
    assert health.status == "ok" and health.version


def test_quickstart_agent_lifecycle(client):
    tag = uid()
    agent = client.agents.create(
        name=f"sdk-{tag}",
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
        memory_blocks=[
            {"label": "human", "value": "The human's name is Chad. They like vibe coding."},
            {"label": "persona", "value": "My name is Sam, the all-knowing sentient AI."},
        ],
        tags=[tag],
        metadata={"origin": "sdk"},
    )
    assert agent.id.startswith("agent-") and agent.name == f"sdk-{tag}"
    assert [b.label for b in agent.memory.blocks] == ["human", "persona"]
    assert agent.llm_config.model == "gpt-4o-mini" and agent.llm_config.context_window > 0
    assert agent.embedding_config.embedding_model == "text-embedding-3-small"
    assert {t.name for t in agent.tools} == {"conversation_search", "memory_insert", "memory_replace"}
    assert agent.created_at is not None and agent.created_at.year >= 2024  # parsed into a datetime

    got = client.agents.retrieve(agent.id)
    assert got.id == agent.id and got.metadata == {"origin": "sdk"}
    assert got.memory.blocks[0].value.startswith("The human's name is Chad")

    updated = client.agents.update(agent.id, name=f"renamed-{tag}", tags=[tag, "second"],
                                   context_window_limit=8000)
    assert updated.name == f"renamed-{tag}" and sorted(updated.tags) == sorted([tag, "second"])
    assert updated.llm_config.context_window == 8000
    assert client.agents.retrieve(agent.id).name == f"renamed-{tag}"

    client.agents.delete(agent.id)
    with pytest.raises(letta_client.NotFoundError):
        client.agents.retrieve(agent.id)


def test_agents_list_auto_pagination(client):
    tag = uid()
    made = [client.agents.create(tags=[tag], include_base_tools=False).id for _ in range(5)]
    page = client.agents.list(tags=[tag], limit=2)
    assert len(page.items) == 2
    seen = [a.id for a in all_items(page)]
    assert seen == made[::-1]  # newest first, every agent once
    ascending = [a.id for a in all_items(client.agents.list(tags=[tag], limit=2, order="asc"))]
    assert ascending == made
    by_name = client.agents.list(name=client.agents.retrieve(made[0]).name, tags=[tag])
    assert [a.id for a in by_name] == [made[0]]


def test_blocks(client):
    tag = uid()
    block = client.blocks.create(label=f"notes_{tag}", value="first", limit=500, tags=[tag],
                                 description="sdk block", metadata={"k": 1})
    assert block.id.startswith("block-") and block.limit == 500 and block.tags == [tag]
    assert client.blocks.retrieve(block.id).value == "first"
    updated = client.blocks.update(block.id, value="second")
    assert updated.value == "second" and updated.description == "sdk block"

    more = [client.blocks.create(label=f"more_{tag}_{i}", value="", tags=[tag]).id for i in range(3)]
    listed = [b.id for b in all_items(client.blocks.list(tags=[tag], limit=2))]
    assert listed == [*more[::-1], block.id]
    assert [b.id for b in client.blocks.list(label=f"notes_{tag}")] == [block.id]

    client.blocks.delete(block.id)
    with pytest.raises(letta_client.NotFoundError):
        client.blocks.retrieve(block.id)


def test_agent_blocks(client):
    tag = uid()
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": "h"}], include_base_tools=False)
    extra = client.blocks.create(label=f"extra_{tag}", value="e")

    attached = client.agents.blocks.attach(extra.id, agent_id=agent.id)
    assert [b.label for b in attached.memory.blocks] == ["human", f"extra_{tag}"]
    assert client.agents.blocks.retrieve(f"extra_{tag}", agent_id=agent.id).id == extra.id
    labels = [b.label for b in all_items(client.agents.blocks.list(agent_id=agent.id, limit=1))]
    assert labels == ["human", f"extra_{tag}"]

    updated = client.agents.blocks.update("human", agent_id=agent.id, value="Name: Chad")
    assert updated.value == "Name: Chad"
    assert client.agents.retrieve(agent.id).memory.blocks[0].value == "Name: Chad"

    with pytest.raises(letta_client.ConflictError):
        client.agents.blocks.attach(client.blocks.create(label="human", value="").id, agent_id=agent.id)

    detached = client.agents.blocks.detach(extra.id, agent_id=agent.id)
    assert [b.label for b in detached.memory.blocks] == ["human"]
    with pytest.raises(letta_client.NotFoundError):
        client.agents.blocks.retrieve(f"extra_{tag}", agent_id=agent.id)
    assert client.blocks.retrieve(extra.id).value == "e"


def test_tools(client):
    name = f"roll_dice_{uid()}"
    source = tool_source(name, doc="Roll a die.", body="return '4'")
    tool = client.tools.create(source_code=source, tags=["dice"])
    assert tool.name == name and tool.tool_type == "custom"
    assert tool.json_schema["name"] == name and tool.json_schema["description"] == "Roll a die."
    assert client.tools.retrieve(tool.id).source_code == source

    again = client.tools.upsert(source_code=tool_source(name, doc="Roll a fair die."))
    assert again.id == tool.id and again.description == "Roll a fair die."
    assert [t.id for t in client.tools.list(name=name)] == [tool.id]
    builtins = all_items(client.tools.list(return_only_letta_tools=True, limit=3))
    assert {"send_message", "memory_insert"} <= {t.name for t in builtins}

    with pytest.raises(letta_client.ConflictError):
        client.tools.create(source_code=source)
    with pytest.raises(letta_client.BadRequestError):
        client.tools.create(source_code="def nope(:")

    agent = client.agents.create(include_base_tools=False)
    attached = client.agents.tools.attach(tool.id, agent_id=agent.id)
    assert [t.id for t in attached.tools] == [tool.id]
    send = client.tools.list(name="send_message").items[0]
    client.agents.tools.attach(send.id, agent_id=agent.id)
    assert [t.name for t in all_items(client.agents.tools.list(agent_id=agent.id, limit=1))] == [name, "send_message"]
    detached = client.agents.tools.detach(tool.id, agent_id=agent.id)
    assert [t.name for t in detached.tools] == ["send_message"]
    client.agents.tools.detach(send.id, agent_id=agent.id)
    assert list(client.agents.tools.list(agent_id=agent.id)) == []

    client.tools.delete(tool.id)
    with pytest.raises(letta_client.NotFoundError):
        client.tools.retrieve(tool.id)


def test_tags_and_models(client):
    tag = uid()
    client.agents.create(tags=[f"{tag}-b", f"{tag}-a"], include_base_tools=False)
    assert client.tags.list(name=tag) == [f"{tag}-a", f"{tag}-b"]
    handles = {m.handle for m in client.models.list()}
    assert {"openai/gpt-4o-mini", "mnemo/offline-dev"} <= handles
    assert [m.handle for m in client.models.list(provider_name="anthropic")] != []


def test_error_mapping(client):
    with pytest.raises(letta_client.NotFoundError) as missing:
        client.agents.retrieve("agent-00000000-0000-0000-0000-000000000000")
    assert missing.value.status_code == 404
    assert "not found" in missing.value.body["detail"]
    with pytest.raises(letta_client.BadRequestError) as bad:
        client.agents.create(agent_type="not_a_type")
    assert "agent_type" in bad.value.body["detail"]
    with pytest.raises(letta_client.BadRequestError):
        client.agents.create(model="no-slash")
    with pytest.raises(letta_client.BadRequestError):
        client.blocks.create(label="", value="x")
    with pytest.raises(letta_client.NotFoundError):
        client.blocks.update("block-nope", value="x")


def test_offline_model_validates_strictly(client, stack):
    """The client fixture validates every response against the SDK's own
    types (`_strict_response_validation`): the offline model's configuration,
    the model list and a finished run's timings all pass it."""
    offline = [m for m in client.models.list() if m.handle == "mnemo/offline-dev"]
    assert len(offline) == 1
    assert offline[0].provider_type == "letta" and offline[0].api_model_endpoint_type == "openai"
    agent = client.agents.create(model="mnemo/offline-dev", include_base_tools=False)
    assert agent.llm_config.api_model_endpoint_type == "openai" and agent.llm_config.provider_name == "mnemo"
    response = client.agents.messages.create(agent.id, messages=[{"role": "user", "content": "hello there"}])
    assert any(m.message_type == "assistant_message" for m in response.messages)
    runs = client.runs.list(agent_id=agent.id)
    run = client.runs.retrieve(next(iter(runs)).id)
    assert run.status == "completed"
    assert run.ttft_ns is None or isinstance(run.ttft_ns, int)
    assert isinstance(run.total_duration_ns, int) and run.total_duration_ns > 0
    assert client.agents.retrieve(agent.id).llm_config.api_model_endpoint_type == "openai"


def test_former_offline_endpoint_type_is_accepted(client):
    """An llm_config written with the offline model's former endpoint type
    ("mnemo") still selects it, and is answered in the current spelling."""
    agent = client.agents.create(
        llm_config={"model": "offline-dev", "model_endpoint_type": "mnemo", "context_window": 16000},
        include_base_tools=False,
    )
    assert agent.llm_config.api_model_endpoint_type == "openai" and agent.llm_config.provider_name == "mnemo"
    response = client.agents.messages.create(agent.id, messages=[{"role": "user", "content": "hi"}])
    assert any(m.message_type == "assistant_message" for m in response.messages)
