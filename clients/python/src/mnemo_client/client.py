"""The synchronous client.

    from mnemo_client import Client
    from mnemo_client.types import CreateAgentRequest, CreateBlockRequest

    with Client("127.0.0.1:50051", token=None) as client:
        agent = client.agents.create_agent(CreateAgentRequest(
            model="mnemo/offline-dev",
            memory_blocks=[CreateBlockRequest(label="human", value="Name: Bob")]))
        reply = client.send_message(agent.id, "Hi!")
        for event in client.stream_messages(agent.id, "Hello again", stream_tokens=True):
            ...

`client.agents`, `.blocks`, `.tools`, `.identities`, `.tags`, `.models`, `.messages`,
`.runs`, `.passages`, `.providers`, `.chat_completions`, `.jobs`, `.batches`, `.mcp_servers` and `.health` (one attribute per
service of the contract) are the generated stubs (every RPC, typed), running over a
channel that adds the token, timeouts, retries and typed errors.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import grpc

from . import _rpc
from ._proto.mnemo import v1 as pb
from .errors import MnemoError, error_from_rpc
from .helpers import send_request
from .pagination import DEFAULT_PAGE_SIZE, paginate

__all__ = ["Client", "MessageStream"]

R = TypeVar("R")
S = TypeVar("S")


def call_with_retries(call: Callable[[], R], *, retry: bool, options: _rpc.Options) -> R:
    """Runs `call`, retrying it on UNAVAILABLE when `retry`; raises MnemoError on failure."""
    attempt = 0
    while True:
        try:
            return call()
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else None
            if retry and attempt < options.max_retries and getattr(code, "name", "") in _rpc.RETRYABLE:
                attempt += 1
                time.sleep(options.backoff(attempt))
                continue
            raise error_from_rpc(error) from error


class MessageStream(Iterator[pb.LettaMessage]):
    """A server stream of LettaMessages: iterate it, and `cancel()` it (or leave its `with`
    block) to stop early. gRPC errors are raised as MnemoError while iterating."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def __iter__(self) -> MessageStream:
        return self

    def __next__(self) -> pb.LettaMessage:
        try:
            message: pb.LettaMessage = next(self._call)
            return message
        except grpc.RpcError as error:
            raise error_from_rpc(error) from error

    def cancel(self) -> None:
        self._call.cancel()

    close = cancel  # `yield from` in the generated stubs closes the stream when abandoned

    def __enter__(self) -> MessageStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.cancel()


class _Channel:
    """What the generated stubs see as their grpc.Channel: it applies the client's options."""

    def __init__(self, inner: grpc.Channel, options: _rpc.Options) -> None:
        self.inner = inner
        self.options = options

    def unary_unary(self, path: str, request_serializer: Any = None, response_deserializer: Any = None,
                    **kwargs: Any) -> Callable[..., Any]:
        call = self.inner.unary_unary(path, request_serializer=request_serializer,
                                      response_deserializer=response_deserializer, **kwargs)
        options = self.options

        def invoke(request: Any) -> Any:
            return call_with_retries(
                lambda: call(request, timeout=options.timeout_for(path, streaming=False),
                             metadata=options.metadata),
                retry=_rpc.is_idempotent(path), options=options)

        return invoke

    def unary_stream(self, path: str, request_serializer: Any = None, response_deserializer: Any = None,
                     **kwargs: Any) -> Callable[..., MessageStream]:
        call = self.inner.unary_stream(path, request_serializer=request_serializer,
                                       response_deserializer=response_deserializer, **kwargs)
        options = self.options

        def invoke(request: Any) -> MessageStream:
            return MessageStream(call(request, timeout=options.timeout_for(path, streaming=True),
                                      metadata=options.metadata))

        return invoke


class Client:
    """A connection to a Mnemo server.

    address: "host:port" of the gRPC server (default port 50051).
    token: sent as `authorization: Bearer <token>` (the server's MNEMO_SERVER_PASSWORD).
    timeout: seconds for each unary call (default 30); None waits forever.
    send_message_timeout: seconds for SendMessage, which runs the agent loop (default 600).
    stream_timeout: seconds for a whole server stream; None (default) means no limit.
    max_retries: how often the RPCs the contract declares safe to repeat (idempotency_level:
        reads, upserts, updates) are retried on UNAVAILABLE, with exponential backoff. Other
        writes are never retried: they may have been applied.
    secure / credentials: TLS (grpc.ssl_channel_credentials() when `secure` and no credentials).
    channel: use this grpc.Channel instead of opening one (the client will not close it).
    """

    agents: pb.AgentServiceStub
    blocks: pb.BlockServiceStub
    tools: pb.ToolServiceStub
    identities: pb.IdentityServiceStub
    tags: pb.TagServiceStub
    models: pb.ModelServiceStub
    messages: pb.MessageServiceStub
    health: pb.HealthServiceStub
    runs: pb.RunServiceStub
    passages: pb.PassageServiceStub
    providers: pb.ProviderServiceStub
    chat_completions: pb.ChatCompletionServiceStub
    jobs: pb.JobServiceStub
    batches: pb.BatchServiceStub
    mcp_servers: pb.McpServerServiceStub

    def __init__(self, address: str = "127.0.0.1:50051", token: str | None = None, *,
                 timeout: float | None = 30.0, send_message_timeout: float | None = 600.0,
                 stream_timeout: float | None = None, max_retries: int = 3, secure: bool = False,
                 credentials: grpc.ChannelCredentials | None = None,
                 channel_options: Sequence[tuple[str, Any]] = (), channel: grpc.Channel | None = None,
                 ) -> None:
        options = _rpc.Options(timeout=timeout, send_message_timeout=send_message_timeout,
                               stream_timeout=stream_timeout, max_retries=max_retries,
                               metadata=_rpc.auth_metadata(token))
        self._owns_channel = channel is None
        if channel is None:
            if secure or credentials is not None:
                channel = grpc.secure_channel(address, credentials or grpc.ssl_channel_credentials(),
                                              options=list(channel_options))
            else:
                channel = grpc.insecure_channel(address, options=list(channel_options))
        self._setup(channel, options)

    def _setup(self, channel: grpc.Channel, options: _rpc.Options) -> None:
        self._inner = channel
        self._channel = _Channel(channel, options)
        for attribute, stub_class in _rpc.SERVICES.items():
            setattr(self, attribute, stub_class(self._channel))

    def service(self, stub_class: type[S]) -> S:
        """Any generated stub (e.g. one for a service added to the contract after this
        layer was written) over this client's channel, token and call options."""
        return stub_class(self._channel)  # type: ignore[call-arg]

    @property
    def options(self) -> _rpc.Options:
        return self._channel.options

    def with_options(self, *, timeout: float | None | object = ..., send_message_timeout: float | None | object = ...,
                     stream_timeout: float | None | object = ..., max_retries: int | object = ...,
                     metadata: Sequence[tuple[str, str]] | None = None) -> Client:
        """A client sharing this connection with other call options (e.g. a longer timeout).
        `metadata` is added to the token header."""
        changes: dict[str, Any] = {name: value for name, value in (
            ("timeout", timeout), ("send_message_timeout", send_message_timeout),
            ("stream_timeout", stream_timeout), ("max_retries", max_retries)) if value is not ...}
        if metadata:
            changes["metadata"] = self.options.metadata + tuple(metadata)
        clone = object.__new__(Client)
        clone._owns_channel = False
        clone._setup(self._inner, dataclasses.replace(self.options, **changes))
        return clone

    # --------------------------------------------------------------- messages

    def send_message(self, agent_id: str, text: str | None = None, *,
                     messages: list[pb.MessageCreate] | None = None, **fields: Any) -> pb.SendMessageResponse:
        """Sends `text` (and/or `messages`) to an agent and waits for its whole turn. Other
        SendMessageRequest fields (max_steps, ...) may be given by name."""
        return self.messages.send_message(send_request(agent_id, text, messages=messages, **fields))

    def stream_messages(self, agent_id: str, text: str | None = None, *,
                        messages: list[pb.MessageCreate] | None = None, stream_tokens: bool = False,
                        **fields: Any) -> MessageStream:
        """Sends `text` and streams the agent's messages as they happen; with `stream_tokens`,
        text arrives in deltas (same `id`). Ends with `stop_reason` and `usage_statistics`."""
        method = _rpc.METHODS["messages"]["stream_messages"]
        call = self._channel.unary_stream(method.path, method.request_type.SerializeToString,
                                          method.response_type.FromString)
        return call(send_request(agent_id, text, messages=messages, stream_tokens=stream_tokens, **fields))

    # --------------------------------------------------------------- blocks

    def get_block(self, agent_id: str, label: str) -> pb.Block:
        """An agent's memory block, by label."""
        return self.agents.get_agent_block(pb.GetAgentBlockRequest(agent_id=agent_id, block_label=label))

    # --------------------------------------------------------------- pagination

    def iter_agents(self, request: pb.ListAgentsRequest | None = None, *,
                    page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[pb.Agent]:
        """Every agent matching `request`'s filters, page by page."""
        base = request or pb.ListAgentsRequest()
        return paginate(lambda after: self.agents.list_agents(
            dataclasses.replace(base, after=after, limit=page_size)).agents, page_size=page_size)

    def iter_blocks(self, request: pb.ListBlocksRequest | None = None, *,
                    page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[pb.Block]:
        base = request or pb.ListBlocksRequest()
        return paginate(lambda after: self.blocks.list_blocks(
            dataclasses.replace(base, after=after, limit=page_size)).blocks, page_size=page_size)

    def iter_tools(self, request: pb.ListToolsRequest | None = None, *,
                   page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[pb.Tool]:
        base = request or pb.ListToolsRequest()
        return paginate(lambda after: self.tools.list_tools(
            dataclasses.replace(base, after=after, limit=page_size)).tools, page_size=page_size)

    def iter_identities(self, request: pb.ListIdentitiesRequest | None = None, *,
                        page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[pb.Identity]:
        base = request or pb.ListIdentitiesRequest()
        return paginate(lambda after: self.identities.list_identities(
            dataclasses.replace(base, after=after, limit=page_size)).identities, page_size=page_size)

    def iter_messages(self, agent_id: str, request: pb.ListMessagesRequest | None = None, *,
                      page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[pb.LettaMessage]:
        """Every message of an agent (newest first unless `request.order == "asc"`). A page
        holds `page_size` stored messages, each shown as one or more LettaMessages."""
        base = dataclasses.replace(request or pb.ListMessagesRequest(), agent_id=agent_id)
        return paginate(lambda after: self.messages.list_messages(
            dataclasses.replace(base, after=after, limit=page_size)).messages)

    # --------------------------------------------------------------- lifecycle

    def close(self) -> None:
        if self._owns_channel:
            self._inner.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


_ = MnemoError  # re-exported by the package
