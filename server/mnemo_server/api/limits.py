"""Global limits on the gRPC server (and so on REST, which Envoy transcodes to gRPC).

- Concurrent RPCs: grpc.aio's `maximum_concurrent_rpcs` (MNEMO_MAX_CONCURRENT_RPCS), set in
  app.py; beyond it a call fails at once with RESOURCE_EXHAUSTED (REST 429 with Retry-After).
- Concurrent streams: server-streaming RPCs (StreamMessages, StreamRun, Health/Watch,
  reflection) hold a slot for as long as a run lasts, so they have their own, lower cap
  (MNEMO_MAX_CONCURRENT_STREAMS), counted here.
- Deadlines: a unary RPC whose client set no deadline gets MNEMO_RPC_TIMEOUT_S; past it the call
  is cancelled and fails with DEADLINE_EXCEEDED naming the setting. Clients that set a deadline
  keep theirs. Streams are exempt (a stream lasts as long as its run; the gateway bounds its
  silence with MNEMO_STREAM_IDLE_TIMEOUT_S).
"""
from __future__ import annotations

import asyncio
import inspect

import grpc

# Seconds a refused client should wait before retrying (gRPC trailing metadata `retry-after`;
# the gateway sends the HTTP header Retry-After with every 429).
RETRY_AFTER_S = 1


class Limits(grpc.aio.ServerInterceptor):
    def __init__(self, *, max_streams: int, rpc_timeout_s: float):
        self.max_streams = max_streams
        self.rpc_timeout_s = rpc_timeout_s
        self.streams = 0

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if handler is None:
            return None
        args = (handler.request_deserializer, handler.response_serializer)
        if handler.response_streaming:
            if handler.request_streaming:
                return grpc.stream_stream_rpc_method_handler(self._counted(handler.stream_stream), *args)
            return grpc.unary_stream_rpc_method_handler(self._counted(handler.unary_stream), *args)
        if handler.request_streaming:
            return handler
        return grpc.unary_unary_rpc_method_handler(self._bounded(handler.unary_unary), *args)

    def _counted(self, behaviour):
        """Wraps a streaming handler in one of the same kind: an async generator (yields its
        responses) or a coroutine (writes them with context.write, as grpc's Health/Watch does)."""
        limits = self

        async def enter(context) -> None:
            if limits.streams >= limits.max_streams:
                context.set_trailing_metadata((("retry-after", str(RETRY_AFTER_S)),))
                await context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"too many concurrent streams ({limits.max_streams}, MNEMO_MAX_CONCURRENT_STREAMS): "
                    f"retry in {RETRY_AFTER_S} s",
                )
            limits.streams += 1

        if inspect.isasyncgenfunction(behaviour):
            async def counted_generator(request, context):
                await enter(context)
                try:
                    async for item in behaviour(request, context):
                        yield item
                finally:
                    limits.streams -= 1

            return counted_generator

        async def counted(request, context):
            await enter(context)
            try:
                return await behaviour(request, context)
            finally:
                limits.streams -= 1

        return counted

    def _bounded(self, behaviour):
        limits = self

        async def bounded(request, context):
            if context.time_remaining() is not None:
                result = behaviour(request, context)
                return await result if inspect.isawaitable(result) else result
            scope = asyncio.timeout(limits.rpc_timeout_s)
            try:
                async with scope:
                    result = behaviour(request, context)
                    return await result if inspect.isawaitable(result) else result
            except TimeoutError:
                if not scope.expired():
                    raise  # the handler's own timeout, not ours
                await context.abort(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    f"the call took longer than {limits.rpc_timeout_s:g} s (MNEMO_RPC_TIMEOUT_S); "
                    "stream long turns (StreamMessages, or \"streaming\": true) or run them in the background",
                )

        return bounded
