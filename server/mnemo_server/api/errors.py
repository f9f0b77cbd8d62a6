"""Maps core errors to gRPC status codes, for every RPC of a servicer."""
from __future__ import annotations

import functools
import inspect
import logging
import uuid

import grpc

from ..errors import MnemoError

log = logging.getLogger("mnemo.api")


async def _abort(context: grpc.aio.ServicerContext, exc: BaseException, method: str):
    if isinstance(exc, MnemoError):
        await context.abort(getattr(grpc.StatusCode, exc.code), exc.message)
    incident = uuid.uuid4().hex[:12]
    log.exception("unexpected error in %s (incident %s)", method, incident, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error (incident {incident}; see the server log)")


def _guard(method, name: str):
    if inspect.isasyncgenfunction(method):
        @functools.wraps(method)
        async def stream(self, request, context):
            try:
                async for item in method(self, request, context):
                    yield item
            except (grpc.aio.AbortError, grpc.aio.UsageError):
                raise
            except Exception as exc:  # noqa: BLE001 - every error becomes a status
                await _abort(context, exc, name)
        return stream

    @functools.wraps(method)
    async def unary(self, request, context):
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001
            await _abort(context, exc, name)
    return unary


def rpc_errors(cls):
    """Class decorator: every RPC method maps MnemoError to its status code and
    anything unexpected to INTERNAL (logged with an incident id)."""
    for name, member in list(vars(cls).items()):
        if name[:1].isupper() and (inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member)):
            setattr(cls, name, _guard(member, f"{cls.__name__}.{name}"))
    return cls
