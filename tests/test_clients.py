"""The generated clients (clients/python, clients/ts, clients/go).

- Each quickstart runs against the live server (real Postgres and Envoy, the fake model),
  with the model's answers scripted so the output is exact.
- The TypeScript and Go unit tests (forward compatibility, errors, retries, pagination) run
  through their own runners (`npm test`, `go test`).
- The Python layer is tested in process against a small gRPC server that answers with
  bytes a newer server could send (unknown fields, an unknown message type), and live.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import mnemo_client
import pytest
from mnemo_client import (
    AsyncClient,
    Client,
    InvalidArgumentError,
    MnemoError,
    NotFoundError,
    UnavailableError,
    is_known_message_type,
    message_text,
    streamed_text,
    to_value,
)
from mnemo_client.types import (
    Agent,
    CreateAgentRequest,
    CreateBlockRequest,
    GetAgentRequest,
    LettaMessage,
    ListAgentsRequest,
    ListAgentsResponse,
    ListBlocksRequest,
    ListMessagesRequest,
)

from tests.fakes.fake_llm import Reply
from tests.util import uid

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ROOT / "clients"


# ----------------------------------------------------------------------------- quickstarts

QUICKSTARTS = {
    "python": ([sys.executable, "examples/quickstart.py"], CLIENTS / "python"),
    "python-async": ([sys.executable, "examples/quickstart_async.py"], CLIENTS / "python"),
    "typescript": (["npx", "--no-install", "tsx", "examples/quickstart.ts"], CLIENTS / "ts"),
    "go": (["go", "run", "./examples/quickstart"], CLIENTS / "go"),
}


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{' '.join(cmd)} exited {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
    return result.stdout


@pytest.mark.parametrize("language", list(QUICKSTARTS))
def test_quickstart_against_the_live_server(stack, fake_llm, language):
    model = f"qs-{uid()}"
    fake_llm.script(Reply(text=f"Hello Bob, this is {language}."),
                    Reply(text="Streamed to you, token by token.", stream_chunks=5), model=model)
    cmd, cwd = QUICKSTARTS[language]
    env = dict(os.environ, MNEMO_ADDRESS=stack.grpc_target, MNEMO_MODEL=f"openai/{model}")
    out = run(cmd, cwd, env)
    lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    assert lines["server"] == f"ok {mnemo_client.__version__}", out
    assert re.fullmatch(r"agent-[0-9a-f-]{36}", lines["agent"]), out
    assert lines["reply"] == f"Hello Bob, this is {language}.", out
    assert lines["streamed"] == "Streamed to you, token by token.", out
    assert lines["stop"] == "end_turn", out
    assert lines["human block"] == "The human's name is Bob.", out
    assert lines["listed"] == "true", out
    assert lines["deleted"] == lines["agent"], out
    # The second turn was token-streamed from the model.
    calls = [r for r in fake_llm.requests if r.model == model]
    assert len(calls) == 2 and calls[1].body.get("stream") is True


def test_typescript_unit_tests():
    """Forward compatibility, errors, retries and pagination of the TS layer (node --test)."""
    out = run(["npm", "test", "--silent"], CLIENTS / "ts")
    assert re.search(r"^# fail 0$", out, re.M) and re.search(r"^# pass [1-9]", out, re.M), out


def test_go_unit_tests():
    """Forward compatibility, errors, retries and pagination of the Go layer (go test)."""
    out = run(["go", "test", "-count=1", "-v", "./..."], CLIENTS / "go")
    assert "--- PASS: TestUnknownFieldsAreSkippedAndKept" in out, out
    assert "--- PASS: TestStreamIteratesUnknownTypesAndFields" in out, out
    assert "FAIL" not in out, out


def test_versions_are_tied_to_the_contract(stack):
    """One version string: the server's, on every client."""
    server = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    python = tomllib.loads((CLIENTS / "python" / "pyproject.toml").read_text())["project"]["version"]
    ts = json.loads((CLIENTS / "ts" / "package.json").read_text())["version"]
    ts_const = re.search(r'export const VERSION = "([^"]+)"', (CLIENTS / "ts" / "src" / "index.ts").read_text())
    go = re.search(r'const Version = "([^"]+)"', (CLIENTS / "go" / "version.go").read_text())
    assert {python, ts, ts_const and ts_const[1], go and go[1], mnemo_client.__version__} == {server}
    with Client(stack.grpc_target) as client:
        assert client.health.get_health().version == server


# ----------------------------------------------------------------------------- forward compatibility


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits, value = value & 0x7F, value >> 7
        out.append(bits | (0x80 if value else 0))
        if not value:
            return bytes(out)


def future_message_bytes(message_type: str = "hologram_message") -> bytes:
    """A LettaMessage as a newer server might send it: an unknown type, two unknown fields."""
    known = bytes(LettaMessage(id="message-1", message_type=message_type, content=to_value("still readable")))
    text = b"a field from the future"
    return (known + _varint(999 << 3 | 0) + _varint(42)
            + _varint(1000 << 3 | 2) + _varint(len(text)) + text)


def test_python_decodes_unknown_fields_and_keeps_them():
    message = LettaMessage.FromString(future_message_bytes())
    assert message.id == "message-1" and message.message_type == "hologram_message"
    assert message_text(message) == "still readable"
    again = bytes(message)
    assert again.endswith(b"a field from the future")  # kept, and written back
    assert LettaMessage.FromString(again).id == "message-1"


def test_python_helpers_pass_unknown_message_types_through():
    messages = [
        LettaMessage(message_type="assistant_message", content=to_value("Hel")),
        LettaMessage.FromString(future_message_bytes()),
        LettaMessage(message_type="brand_new_event"),
        LettaMessage(message_type="assistant_message", content=to_value([{"type": "text", "text": "lo"}])),
    ]
    assert is_known_message_type(messages[0]) and not is_known_message_type(messages[1])
    assert message_text(messages[2]) == ""
    assert streamed_text(messages) == "Hello"


class FakeMnemo:
    """An in-process gRPC server answering with raw bytes, as a newer server could."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.list_attempts = 0
        agents = [Agent(id=f"agent-{i}") for i in range(7)]

        def stream_messages(request: bytes, context) -> Iterator[bytes]:
            self.calls.append("stream")
            yield future_message_bytes()
            for text in ("Hi ", "there"):
                yield bytes(LettaMessage(message_type="assistant_message", content=to_value(text)))
            yield bytes(LettaMessage(message_type="stop_reason", stop_reason="end_turn"))

        def get_agent(request: bytes, context) -> bytes:
            self.calls.append("get")
            context.abort(grpc.StatusCode.NOT_FOUND, "agent agent-x not found")

        def create_agent(request: bytes, context) -> bytes:
            self.calls.append("create")
            context.abort(grpc.StatusCode.UNAVAILABLE, "down")

        def update_agent(request: bytes, context) -> bytes:
            self.calls.append("update")
            context.abort(grpc.StatusCode.UNAVAILABLE, "down")

        def delete_agent(request: bytes, context) -> bytes:
            self.calls.append("delete")
            context.abort(grpc.StatusCode.UNAVAILABLE, "down")

        def list_agents(request: bytes, context) -> bytes:
            req = ListAgentsRequest.FromString(request)
            self.calls.append(f"list after={req.after or ''} limit={req.limit}")
            self.list_attempts += 1
            if self.list_attempts in (1, 2):
                context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
            start = next((i + 1 for i, a in enumerate(agents) if a.id == req.after), 0)
            # Every agent carries an unknown field too.
            return bytes(ListAgentsResponse(agents=agents[start:start + (req.limit or 100)])) + \
                _varint(77 << 3 | 0) + _varint(1)

        raw = {"request_deserializer": None, "response_serializer": None}
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers([
            grpc.method_handlers_generic_handler("mnemo.v1.MessageService", {
                "StreamMessages": grpc.unary_stream_rpc_method_handler(stream_messages, **raw)}),
            grpc.method_handlers_generic_handler("mnemo.v1.AgentService", {
                "GetAgent": grpc.unary_unary_rpc_method_handler(get_agent, **raw),
                "CreateAgent": grpc.unary_unary_rpc_method_handler(create_agent, **raw),
                "UpdateAgent": grpc.unary_unary_rpc_method_handler(update_agent, **raw),
                "DeleteAgent": grpc.unary_unary_rpc_method_handler(delete_agent, **raw),
                "ListAgents": grpc.unary_unary_rpc_method_handler(list_agents, **raw)}),
        ])
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def fake_mnemo():
    server = FakeMnemo()
    yield server
    server.server.stop(None)


EXPECTED_LIST_CALLS = ["list after= limit=3"] * 3 + ["list after=agent-2 limit=3", "list after=agent-5 limit=3"]


def test_python_sync_client_against_a_newer_server(fake_mnemo):
    with Client(fake_mnemo.address) as client:
        with client.stream_messages("agent-1", "hello", stream_tokens=True) as stream:
            seen = list(stream)
        assert [m.message_type for m in seen] == ["hologram_message", "assistant_message", "assistant_message",
                                                   "stop_reason"]
        assert streamed_text(seen) == "Hi there"
        # The generated stub's own stream method works the same way.
        assert len(list(client.messages.stream_messages(mnemo_client.send_request("agent-1", "hi")))) == 4

        with pytest.raises(NotFoundError) as caught:
            client.agents.get_agent(GetAgentRequest(agent_id="agent-x"))
        assert caught.value.code == grpc.StatusCode.NOT_FOUND and caught.value.status == 5
        assert caught.value.details == "agent agent-x not found"
        assert isinstance(caught.value.__cause__, grpc.RpcError)

        fast = client.with_options(max_retries=3)
        ids = [a.id for a in fast.iter_agents(page_size=3)]
        assert ids == [f"agent-{i}" for i in range(7)]
        assert [c for c in fake_mnemo.calls if c.startswith("list")] == EXPECTED_LIST_CALLS
        fake_mnemo.calls.clear()
        with pytest.raises(UnavailableError):
            client.agents.create_agent(CreateAgentRequest(model="x"))
        assert fake_mnemo.calls == ["create"]  # writes are never retried


def test_python_retries_follow_the_contract(fake_mnemo):
    """Retries follow each RPC's idempotency_level in proto/, not its name: an
    update (IDEMPOTENT) is retried, a delete is not."""
    from mnemo_client.types import DeleteAgentRequest, UpdateAgentRequest

    with Client(fake_mnemo.address, max_retries=2) as client:
        with pytest.raises(UnavailableError):
            client.agents.update_agent(UpdateAgentRequest(agent_id="agent-1"))
        with pytest.raises(UnavailableError):
            client.agents.delete_agent(DeleteAgentRequest(agent_id="agent-1"))
    assert fake_mnemo.calls == ["update"] * 3 + ["delete"]


def _contract_services():
    """Every service of the contract, from the descriptor set the gateway serves."""
    from google.protobuf import descriptor_pb2

    fds = descriptor_pb2.FileDescriptorSet.FromString((ROOT / "gateway" / "gen" / "mnemo.binpb").read_bytes())
    return [(f.package, s) for f in fds.file if f.package == "mnemo.v1" for s in f.service]


def test_python_client_covers_every_service_and_rpc():
    from google.protobuf import descriptor_pb2
    from mnemo_client import _rpc

    snake = lambda name: re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()  # noqa: E731
    services = _contract_services()
    assert len(services) >= 12
    annotations = Client.__annotations__
    with Client("127.0.0.1:1") as client:
        for package, service in services:
            stub_name = f"{service.name}Stub"
            attribute = next((a for a, stub in _rpc.SERVICES.items() if stub.__name__ == stub_name), None)
            assert attribute, f"no client attribute for {package}.{service.name}"
            assert annotations.get(attribute) == f"pb.{stub_name}", f"Client.{attribute} is not typed"
            for method in service.method:
                assert callable(getattr(getattr(client, attribute), snake(method.name), None)), \
                    f"client.{attribute}.{snake(method.name)} is missing"
                path = f"/{package}.{service.name}/{method.name}"
                level = method.options.idempotency_level
                assert _rpc.is_idempotent(path) == (level in (descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS,
                                                              descriptor_pb2.MethodOptions.IDEMPOTENT)), path


async def test_python_async_client_covers_every_service():
    from mnemo_client import _rpc
    from mnemo_client.aio import AsyncService

    async with AsyncClient("127.0.0.1:1") as client:
        for attribute in _rpc.SERVICES:
            service = getattr(client, attribute, None)
            assert isinstance(service, AsyncService), attribute
            assert all(callable(getattr(service, name, None)) for name in _rpc.METHODS[attribute]), attribute


async def test_python_async_client_against_a_newer_server(fake_mnemo):
    async with AsyncClient(fake_mnemo.address) as client:
        seen = [m async for m in client.stream_messages("agent-1", "hello", stream_tokens=True)]
        assert [m.message_type for m in seen][0] == "hologram_message"
        assert streamed_text(seen) == "Hi there"
        with pytest.raises(NotFoundError):
            await client.agents.get_agent(GetAgentRequest(agent_id="agent-x"))
        ids = [a.id async for a in client.iter_agents(page_size=3)]
        assert ids == [f"agent-{i}" for i in range(7)]
        fake_mnemo.calls.clear()
        with pytest.raises(UnavailableError):
            await client.agents.create_agent(CreateAgentRequest(model="x"))
        assert fake_mnemo.calls == ["create"]


# ----------------------------------------------------------------------------- live: errors, pagination


def test_python_client_live_errors_pagination_and_messages(stack, fake_llm):
    tag = f"t-{uid()}"
    with Client(stack.grpc_target) as client:
        with pytest.raises(NotFoundError):
            client.agents.get_agent(GetAgentRequest(agent_id="agent-00000000-0000-0000-0000-000000000000"))
        with pytest.raises(MnemoError) as caught:
            client.blocks.create_block(CreateBlockRequest(label="", value="x"))
        assert isinstance(caught.value, InvalidArgumentError), caught.value

        created = {client.blocks.create_block(CreateBlockRequest(label=f"l{i}", value=f"v{i}", tags=[tag])).id
                   for i in range(5)}
        listed = [b.id for b in client.iter_blocks(ListBlocksRequest(tags=[tag]), page_size=2)]
        assert sorted(listed) == sorted(created) and len(listed) == 5

        model = f"m-{uid()}"
        agent = client.agents.create_agent(CreateAgentRequest(model=f"openai/{model}"))
        fake_llm.script(*(Reply(text=f"answer {i}") for i in range(3)), model=model)
        for i in range(3):
            client.send_message(agent.id, f"question {i}")
        history = list(client.iter_messages(agent.id, ListMessagesRequest(order="asc"), page_size=2))
        texts = [message_text(m) for m in history if m.message_type in ("user_message", "assistant_message")]
        assert [t for t in texts if t.startswith("answer")] == ["answer 0", "answer 1", "answer 2"]
        assert len({m.id for m in history}) == len(history)


async def test_python_async_client_live(stack, fake_llm):
    model = f"m-{uid()}"
    fake_llm.script(Reply(text="async hello"), model=model)
    async with AsyncClient(stack.grpc_target) as client:
        agent = await client.agents.create_agent(CreateAgentRequest(model=f"openai/{model}"))
        seen = [m async for m in client.stream_messages(agent.id, "hi", stream_tokens=True)]
        assert streamed_text(seen) == "async hello"
        assert seen[-1].message_type == "usage_statistics"
        with pytest.raises(NotFoundError):
            await client.get_block(agent.id, "no-such-label")
