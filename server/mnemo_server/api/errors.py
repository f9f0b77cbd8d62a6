"""Maps core errors to gRPC status codes, for every RPC of a servicer."""
from __future__ import annotations

import functools
import inspect
import logging
import os
import uuid

import asyncpg
import grpc
from google.protobuf.message import Message

from ..errors import MnemoError

log = logging.getLogger("mnemo.api")

# PostgreSQL refuses text it cannot store (a NUL character, or one outside the
# database encoding): SQLSTATE untranslatable_character, character_not_in_repertoire.
_UNSTORABLE_TEXT = frozenset({"22P05", "22021"})
# The database is away (restarting, shutting down, unreachable): SQLSTATE class 08
# (connection exception), admin_shutdown, crash_shutdown, cannot_connect_now.
_DATABASE_AWAY = frozenset({"57P01", "57P02", "57P03"})


def _chain(exc: BaseException):
    """`exc`, its causes and contexts, and the driver errors SQLAlchemy wraps."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([getattr(current, "orig", None), current.__cause__, current.__context__])


def _sqlstate(exc: BaseException) -> str | None:
    for current in _chain(exc):
        code = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def _raised_in_driver(exc: BaseException) -> bool:
    """Whether `exc` was raised while the database driver (asyncpg) was running."""
    tb = exc.__traceback__
    while tb is not None:
        if f"{os.sep}asyncpg{os.sep}" in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False


def database_away(exc: BaseException) -> bool:
    """Whether `exc` comes from the database being unreachable, not from the request."""
    for current in _chain(exc):
        if isinstance(current, (asyncpg.PostgresConnectionError, asyncpg.ConnectionDoesNotExistError)):
            return True
        if isinstance(current, OSError) and _raised_in_driver(current):  # refused, no socket file, reset
            return True
        if getattr(current, "connection_invalidated", False):  # SQLAlchemy saw the connection die
            return True
        code = getattr(current, "sqlstate", None)
        if isinstance(code, str) and (code.startswith("08") or code in _DATABASE_AWAY):
            return True
    return False


def _nul_field(value: object, path: str = "") -> str | None:
    """The first field of a request holding a NUL character, as `a.b[2]`; "" for the root."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, Message):
        for field, item in value.ListFields():
            found = _nul_field(item, f"{path}.{field.name}" if path else field.name)
            if found is not None:
                return found
        return None
    if hasattr(value, "items"):  # maps and Struct fields
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                return f"{path}.{key!r}" if path else repr(key)
            found = _nul_field(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__.startswith("Repeated"):
        for i, item in enumerate(value):
            found = _nul_field(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


async def _abort(context: grpc.aio.ServicerContext, exc: BaseException, method: str, request: object = None):
    if isinstance(exc, MnemoError):
        await context.abort(getattr(grpc.StatusCode, exc.code), exc.message)
    if _sqlstate(exc) in _UNSTORABLE_TEXT:
        field = _nul_field(request) or "request"
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                            f"{field}: text must not contain NUL characters (\\u0000), which cannot be stored")
    if database_away(exc):
        log.warning("%s: the database is unavailable (%s: %s)", method, type(exc).__name__, exc)
        await context.abort(grpc.StatusCode.UNAVAILABLE,
                            "the database is unavailable (restarting or unreachable); retry shortly")
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
                await _abort(context, exc, name, request)
        return stream

    @functools.wraps(method)
    async def unary(self, request, context):
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001
            await _abort(context, exc, name, request)
    return unary


def rpc_errors(cls):
    """Class decorator: every RPC method maps MnemoError to its status code and
    anything unexpected to INTERNAL (logged with an incident id)."""
    for name, member in list(vars(cls).items()):
        if name[:1].isupper() and (inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member)):
            setattr(cls, name, _guard(member, f"{cls.__name__}.{name}"))
    return cls
