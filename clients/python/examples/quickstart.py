"""Quickstart: create an agent with memory blocks, send a message, stream tokens, read a block.

    make run                                  # in another terminal: a server on 127.0.0.1:50051
    python clients/python/examples/quickstart.py

Environment: MNEMO_ADDRESS (default 127.0.0.1:50051), MNEMO_TOKEN (if the server has
MNEMO_SERVER_PASSWORD), MNEMO_MODEL (default mnemo/offline-dev, which needs no provider).
"""
from __future__ import annotations

import os

from mnemo_client import Client, message_text
from mnemo_client.types import CreateAgentRequest, CreateBlockRequest, DeleteAgentRequest, GetHealthRequest


def main() -> None:
    address = os.environ.get("MNEMO_ADDRESS", "127.0.0.1:50051")
    model = os.environ.get("MNEMO_MODEL", "mnemo/offline-dev")
    with Client(address, token=os.environ.get("MNEMO_TOKEN")) as client:
        health = client.health.get_health(GetHealthRequest())
        print(f"server: {health.status} {health.version}")

        agent = client.agents.create_agent(CreateAgentRequest(
            name="quickstart", model=model,
            memory_blocks=[
                CreateBlockRequest(label="human", value="The human's name is Bob."),
                CreateBlockRequest(label="persona", value="I am Sam, a helpful agent."),
            ],
        ))
        print(f"agent: {agent.id}")

        # One turn: the agent answers (and may call tools) before this returns.
        response = client.send_message(agent.id, "Hello! Who am I?")
        answer = " ".join(message_text(m) for m in response.messages if m.message_type == "assistant_message")
        print(f"reply: {answer}")

        # The next turn, token by token: assistant text arrives in deltas.
        print("streamed: ", end="", flush=True)
        stop = None
        with client.stream_messages(agent.id, "Tell me something short.", stream_tokens=True) as stream:
            for event in stream:
                if event.message_type == "assistant_message":
                    print(message_text(event), end="", flush=True)
                elif event.message_type == "stop_reason":
                    stop = event.stop_reason
                # Any other type (reasoning, tool calls, usage, types added later) is skipped.
        print()
        print(f"stop: {stop}")

        block = client.get_block(agent.id, "human")
        print(f"human block: {block.value}")

        # Pagination: iterate every agent, page by page (after-cursors).
        listed = any(a.id == agent.id for a in client.iter_agents(page_size=20))
        print(f"listed: {str(listed).lower()}")

        client.agents.delete_agent(DeleteAgentRequest(agent_id=agent.id))
        print(f"deleted: {agent.id}")


if __name__ == "__main__":
    main()
