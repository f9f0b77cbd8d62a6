"""The quickstart with the asyncio client (same steps and output as quickstart.py)."""
from __future__ import annotations

import asyncio
import os

from mnemo_client import AsyncClient, message_text
from mnemo_client.types import (
    Agent,
    CreateAgentRequest,
    CreateBlockRequest,
    DeleteAgentRequest,
    GetHealthRequest,
    GetHealthResponse,
)


async def main() -> None:
    address = os.environ.get("MNEMO_ADDRESS", "127.0.0.1:50051")
    model = os.environ.get("MNEMO_MODEL", "mnemo/offline-dev")
    async with AsyncClient(address, token=os.environ.get("MNEMO_TOKEN")) as client:
        health: GetHealthResponse = await client.health.get_health(GetHealthRequest())
        print(f"server: {health.status} {health.version}")

        agent: Agent = await client.agents.create_agent(CreateAgentRequest(
            name="quickstart", model=model,
            memory_blocks=[
                CreateBlockRequest(label="human", value="The human's name is Bob."),
                CreateBlockRequest(label="persona", value="I am Sam, a helpful agent."),
            ],
        ))
        print(f"agent: {agent.id}")

        response = await client.send_message(agent.id, "Hello! Who am I?")
        answer = " ".join(message_text(m) for m in response.messages if m.message_type == "assistant_message")
        print(f"reply: {answer}")

        print("streamed: ", end="", flush=True)
        stop = None
        async with client.stream_messages(agent.id, "Tell me something short.", stream_tokens=True) as stream:
            async for event in stream:
                if event.message_type == "assistant_message":
                    print(message_text(event), end="", flush=True)
                elif event.message_type == "stop_reason":
                    stop = event.stop_reason
        print()
        print(f"stop: {stop}")

        block = await client.get_block(agent.id, "human")
        print(f"human block: {block.value}")

        listed = False
        async for listed_agent in client.iter_agents(page_size=20):
            listed = listed or listed_agent.id == agent.id
        print(f"listed: {str(listed).lower()}")

        await client.agents.delete_agent(DeleteAgentRequest(agent_id=agent.id))
        print(f"deleted: {agent.id}")


if __name__ == "__main__":
    asyncio.run(main())
