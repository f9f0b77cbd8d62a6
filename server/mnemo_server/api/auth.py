"""Password check: with MNEMO_SERVER_PASSWORD (or LETTA_SERVER_PASSWORD) set, every call needs
`authorization: Bearer <password>`. Only the health checks stay open: `grpc.health.v1.Health/Check`
and mnemo's own `HealthService/GetHealth` (REST `/v1/health`). Reflection and `Health/Watch` need
the password like everything else."""
from __future__ import annotations

import hmac

import grpc

OPEN_METHODS = frozenset({
    "/grpc.health.v1.Health/Check",
    "/mnemo.v1.HealthService/GetHealth",
})

DENIED_MESSAGE = "missing or wrong password: send 'authorization: Bearer <MNEMO_SERVER_PASSWORD>'"


async def _deny_unary(request, context):
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, DENIED_MESSAGE)


async def _deny_stream(request, context):
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, DENIED_MESSAGE)
    yield  # pragma: no cover - makes this an async generator


class PasswordAuth(grpc.aio.ServerInterceptor):
    def __init__(self, password: str):
        self._expected = f"Bearer {password}".encode()

    def _allowed(self, metadata) -> bool:
        for key, value in metadata or ():
            if key == "authorization":
                given = value.encode() if isinstance(value, str) else value
                return hmac.compare_digest(given, self._expected)
        return False

    async def intercept_service(self, continuation, details):
        if details.method in OPEN_METHODS or self._allowed(details.invocation_metadata):
            return await continuation(details)
        handler = await continuation(details)
        if handler is None:
            return None
        args = (handler.request_deserializer, handler.response_serializer)
        if handler.request_streaming and handler.response_streaming:
            return grpc.stream_stream_rpc_method_handler(_deny_stream, *args)
        if handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(_deny_unary, *args)
        if handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(_deny_stream, *args)
        return grpc.unary_unary_rpc_method_handler(_deny_unary, *args)
