"""The asyncio client, over grpc.aio.

    from mnemo_client.aio import AsyncClient

    async with AsyncClient("127.0.0.1:50051") as client:
        agent = await client.agents.create_agent(CreateAgentRequest(model="mnemo/offline-dev"))
        async for event in client.stream_messages(agent.id, "Hello", stream_tokens=True):
            ...

`client.agents`, `.blocks`, ... have the same methods as the sync client's generated
stubs (same names, same request and response types), as coroutines; server-streaming
methods return an `AsyncMessageStream` for `async for`. They are built at import time
from the generated stubs (betterproto2 generates grpcio stubs for sync code only).
"""
from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import grpc
import grpc.aio

from . import _rpc
from ._proto.mnemo import v1 as pb
from .errors import error_from_rpc
from .helpers import send_request
from .pagination import DEFAULT_PAGE_SIZE, apaginate

__all__ = ["AsyncClient", "AsyncMessageStream", "AsyncService"]

R = TypeVar("R")


async def acall_with_retries(call: Callable[[], Awaitable[R]], *, retry: bool, options: _rpc.Options) -> R:
    """Awaits `call()`, retrying it on UNAVAILABLE when `retry`; raises MnemoError on failure."""
    attempt = 0
    while True:
        try:
            return await call()
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else None
            if retry and attempt < options.max_retries and getattr(code, "name", "") in _rpc.RETRYABLE:
                attempt += 1
                await asyncio.sleep(options.backoff(attempt))
                continue
            raise error_from_rpc(error) from error


class AsyncMessageStream(AsyncIterator[pb.LettaMessage]):
    """A server stream of LettaMessages for `async for`; `cancel()` (or leaving its
    `async with` block) stops it. gRPC errors are raised as MnemoError while iterating."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._iterator: AsyncIterator[Any] = call.__aiter__()

    def __aiter__(self) -> AsyncMessageStream:
        return self

    async def __anext__(self) -> pb.LettaMessage:
        try:
            message: pb.LettaMessage = await self._iterator.__anext__()
            return message
        except grpc.RpcError as error:
            raise error_from_rpc(error) from error

    def cancel(self) -> None:
        self._call.cancel()

    async def __aenter__(self) -> AsyncMessageStream:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.cancel()


class AsyncService:
    """The methods of one service as coroutines (and streams), from the generated stub."""

    def __init__(self, channel: grpc.aio.Channel, methods: dict[str, _rpc.Method],
                 options: _rpc.Options) -> None:
        self._methods = methods
        for name, method in methods.items():
            setattr(self, name, self._bind(channel, method, options))

    @staticmethod
    def _bind(channel: grpc.aio.Channel, method: _rpc.Method, options: _rpc.Options) -> Callable[..., Any]:
        timeout = options.timeout_for(method.path, streaming=method.server_streaming)
        serializer = method.request_type.SerializeToString
        if method.server_streaming:
            stream = channel.unary_stream(method.path, request_serializer=serializer,
                                          response_deserializer=method.response_type.FromString)

            def open_stream(message: Any = None) -> AsyncMessageStream:
                request = method.request_type() if message is None else message
                return AsyncMessageStream(stream(request, timeout=timeout, metadata=options.metadata))

            open_stream.__name__ = method.name
            return open_stream
        unary = channel.unary_unary(method.path, request_serializer=serializer,
                                    response_deserializer=method.response_type.FromString)

        async def call(message: Any = None) -> Any:
            request = method.request_type() if message is None else message
            return await acall_with_retries(lambda: unary(request, timeout=timeout, metadata=options.metadata),
                                            retry=method.idempotent, options=options)

        call.__name__ = method.name
        return call

    def __getattr__(self, name: str) -> Callable[..., Any]:  # for type checkers: methods are set in __init__
        known = sorted(self.__dict__.get("_methods", {}))
        raise AttributeError(f"{type(self).__name__} has no method {name!r}; known: {known}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._methods))


class AsyncClient:
    """An asyncio connection to a Mnemo server. Same arguments as `mnemo_client.Client`
    (address, token, timeout=30, send_message_timeout=600, stream_timeout=None,
    max_retries=3, secure, credentials, channel_options, channel)."""

    agents: AsyncService
    blocks: AsyncService
    tools: AsyncService
    identities: AsyncService
    tags: AsyncService
    models: AsyncService
    messages: AsyncService
    health: AsyncService

    def __init__(self, address: str = "127.0.0.1:50051", token: str | None = None, *,
                 timeout: float | None = 30.0, send_message_timeout: float | None = 600.0,
                 stream_timeout: float | None = None, max_retries: int = 3, secure: bool = False,
                 credentials: grpc.ChannelCredentials | None = None,
                 channel_options: Sequence[tuple[str, Any]] = (), channel: grpc.aio.Channel | None = None,
                 ) -> None:
        options = _rpc.Options(timeout=timeout, send_message_timeout=send_message_timeout,
                               stream_timeout=stream_timeout, max_retries=max_retries,
                               metadata=_rpc.auth_metadata(token))
        self._owns_channel = channel is None
        if channel is None:
            if secure or credentials is not None:
                channel = grpc.aio.secure_channel(address, credentials or grpc.ssl_channel_credentials(),
                                                  options=list(channel_options))
            else:
                channel = grpc.aio.insecure_channel(address, options=list(channel_options))
        self._setup(channel, options)

    def _setup(self, channel: grpc.aio.Channel, options: _rpc.Options) -> None:
        self._inner = channel
        self.options = options
        for attribute, methods in _rpc.METHODS.items():
            setattr(self, attribute, AsyncService(channel, methods, options))

    def service(self, stub_class: type) -> AsyncService:
        """The async form of any generated stub class (e.g. a service added to the contract
        after this layer was written), over this client's channel and options."""
        return AsyncService(self._inner, _rpc.methods_of(stub_class), self.options)

    def with_options(self, *, timeout: float | None | object = ..., send_message_timeout: float | None | object = ...,
                     stream_timeout: float | None | object = ..., max_retries: int | object = ...,
                     metadata: Sequence[tuple[str, str]] | None = None) -> AsyncClient:
        """A client sharing this connection with other call options."""
        changes: dict[str, Any] = {name: value for name, value in (
            ("timeout", timeout), ("send_message_timeout", send_message_timeout),
            ("stream_timeout", stream_timeout), ("max_retries", max_retries)) if value is not ...}
        if metadata:
            changes["metadata"] = self.options.metadata + tuple(metadata)
        clone = object.__new__(AsyncClient)
        clone._owns_channel = False
        clone._setup(self._inner, dataclasses.replace(self.options, **changes))
        return clone

    # --------------------------------------------------------------- messages

    async def send_message(self, agent_id: str, text: str | None = None, *,
                           messages: list[pb.MessageCreate] | None = None, **fields: Any) -> pb.SendMessageResponse:
        """Sends `text` (and/or `messages`) to an agent and waits for its whole turn."""
        response: pb.SendMessageResponse = await self.messages.send_message(
            send_request(agent_id, text, messages=messages, **fields))
        return response

    def stream_messages(self, agent_id: str, text: str | None = None, *,
                        messages: list[pb.MessageCreate] | None = None, stream_tokens: bool = False,
                        **fields: Any) -> AsyncMessageStream:
        """Sends `text` and streams the agent's messages (`async for`)."""
        stream: AsyncMessageStream = self.messages.stream_messages(
            send_request(agent_id, text, messages=messages, stream_tokens=stream_tokens, **fields))
        return stream

    async def get_block(self, agent_id: str, label: str) -> pb.Block:
        """An agent's memory block, by label."""
        block: pb.Block = await self.agents.get_agent_block(
            pb.GetAgentBlockRequest(agent_id=agent_id, block_label=label))
        return block

    # --------------------------------------------------------------- pagination

    def iter_agents(self, request: pb.ListAgentsRequest | None = None, *,
                    page_size: int = DEFAULT_PAGE_SIZE) -> AsyncIterator[pb.Agent]:
        base = request or pb.ListAgentsRequest()

        async def fetch(after: str | None) -> list[pb.Agent]:
            page: pb.ListAgentsResponse = await self.agents.list_agents(
                dataclasses.replace(base, after=after, limit=page_size))
            return page.agents

        return apaginate(fetch, page_size=page_size)

    def iter_blocks(self, request: pb.ListBlocksRequest | None = None, *,
                    page_size: int = DEFAULT_PAGE_SIZE) -> AsyncIterator[pb.Block]:
        base = request or pb.ListBlocksRequest()

        async def fetch(after: str | None) -> list[pb.Block]:
            page: pb.ListBlocksResponse = await self.blocks.list_blocks(
                dataclasses.replace(base, after=after, limit=page_size))
            return page.blocks

        return apaginate(fetch, page_size=page_size)

    def iter_tools(self, request: pb.ListToolsRequest | None = None, *,
                   page_size: int = DEFAULT_PAGE_SIZE) -> AsyncIterator[pb.Tool]:
        base = request or pb.ListToolsRequest()

        async def fetch(after: str | None) -> list[pb.Tool]:
            page: pb.ListToolsResponse = await self.tools.list_tools(
                dataclasses.replace(base, after=after, limit=page_size))
            return page.tools

        return apaginate(fetch, page_size=page_size)

    def iter_identities(self, request: pb.ListIdentitiesRequest | None = None, *,
                        page_size: int = DEFAULT_PAGE_SIZE) -> AsyncIterator[pb.Identity]:
        base = request or pb.ListIdentitiesRequest()

        async def fetch(after: str | None) -> list[pb.Identity]:
            page: pb.ListIdentitiesResponse = await self.identities.list_identities(
                dataclasses.replace(base, after=after, limit=page_size))
            return page.identities

        return apaginate(fetch, page_size=page_size)

    def iter_messages(self, agent_id: str, request: pb.ListMessagesRequest | None = None, *,
                      page_size: int = DEFAULT_PAGE_SIZE) -> AsyncIterator[pb.LettaMessage]:
        base = dataclasses.replace(request or pb.ListMessagesRequest(), agent_id=agent_id)

        async def fetch(after: str | None) -> list[pb.LettaMessage]:
            page: pb.ListMessagesResponse = await self.messages.list_messages(
                dataclasses.replace(base, after=after, limit=page_size))
            return page.messages

        return apaginate(fetch)

    # --------------------------------------------------------------- lifecycle

    async def close(self) -> None:
        if self._owns_channel:
            await self._inner.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
