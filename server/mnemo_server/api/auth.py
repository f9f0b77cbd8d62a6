"""Password check: with MNEMO_SERVER_PASSWORD set, every call needs
`authorization: Bearer <password>`. Health checks stay open."""
from __future__ import annotations

import hmac

import grpc

OPEN_METHODS = frozenset({
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/mnemo.v1.HealthService/GetHealth",
})
OPEN_PREFIXES = ("/grpc.reflection.",)


def _deny_unary(message: str):
    async def handler(request, context):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
    return handler


def _deny_stream(message: str):
    async def handler(request, context):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover - makes this an async generator
    return handler


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
        method = details.method
        if method in OPEN_METHODS or method.startswith(OPEN_PREFIXES) or self._allowed(details.invocation_metadata):
            return await continuation(details)
        handler = await continuation(details)
        if handler is None:
            return None
        message = "missing or wrong password: send 'authorization: Bearer <MNEMO_SERVER_PASSWORD>'"
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _deny_stream(message), handler.request_deserializer, handler.response_serializer)
        return grpc.unary_unary_rpc_method_handler(
            _deny_unary(message), handler.request_deserializer, handler.response_serializer)
