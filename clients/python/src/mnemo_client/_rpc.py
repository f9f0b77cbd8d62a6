"""Call policy shared by the sync and async clients, and the method table.

The method table is read from the generated betterproto2 stubs (never written
by hand): each stub method is run once against a recording channel, which
captures the method path, the response type and whether it streams.
"""
from __future__ import annotations

import inspect
import random
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import betterproto2

from ._proto import contract
from ._proto.mnemo import v1 as pb

# gRPC status names on which a call is retried, if it is safe to repeat.
RETRYABLE = frozenset({"UNAVAILABLE"})
# Unary calls that run the agent loop and so may take minutes.
LONG_RUNNING = frozenset({"/mnemo.v1.MessageService/SendMessage"})


@dataclass(frozen=True)
class Options:
    """How calls are made. See Client for the meaning of each."""

    timeout: float | None = 30.0
    send_message_timeout: float | None = 600.0
    stream_timeout: float | None = None
    max_retries: int = 3
    retry_backoff: float = 0.1
    retry_backoff_max: float = 2.0
    metadata: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def timeout_for(self, path: str, *, streaming: bool) -> float | None:
        if streaming:
            return self.stream_timeout
        return self.send_message_timeout if path in LONG_RUNNING else self.timeout

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry `attempt` (1-based): exponential, capped, with jitter."""
        base: float = min(self.retry_backoff * (2 ** (attempt - 1)), self.retry_backoff_max)
        return base * (0.5 + random.random() / 2)


def is_idempotent(path: str) -> bool:
    """Whether the contract declares the RPC at `path` safe to repeat
    (idempotency_level NO_SIDE_EFFECTS or IDEMPOTENT)."""
    return path in contract.REPEATABLE


def auth_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


@dataclass(frozen=True)
class Method:
    """One RPC: `path` like "/mnemo.v1.AgentService/CreateAgent"."""

    name: str  # python name on the stub: "create_agent"
    path: str
    request_type: type[betterproto2.Message]
    response_type: type[betterproto2.Message]
    server_streaming: bool

    @property
    def idempotent(self) -> bool:
        return is_idempotent(self.path)


class _Seen(Exception):
    def __init__(self, path: str, deserializer: Any, streaming: bool) -> None:
        self.path, self.deserializer, self.streaming = path, deserializer, streaming


class _RecordingChannel:
    def unary_unary(self, path: str, request_serializer: Any = None, response_deserializer: Any = None,
                    **_: Any) -> Any:
        raise _Seen(path, response_deserializer, False)

    def unary_stream(self, path: str, request_serializer: Any = None, response_deserializer: Any = None,
                     **_: Any) -> Any:
        raise _Seen(path, response_deserializer, True)


def _request_type(function: Callable[..., Any]) -> type[betterproto2.Message]:
    hint = typing.get_type_hints(function, vars(pb))["message"]
    for candidate in typing.get_args(hint) or (hint,):  # "X | None" for requests that may be omitted
        if isinstance(candidate, type) and issubclass(candidate, betterproto2.Message):
            return candidate
    raise TypeError(f"cannot tell the request type of {function.__qualname__}")


def methods_of(stub_class: type) -> dict[str, Method]:
    """The methods of one generated stub class, by python name."""
    table: dict[str, Method] = {}
    for name, function in inspect.getmembers(stub_class, inspect.isfunction):
        if name.startswith("_"):
            continue
        request_type = _request_type(function)
        stub = stub_class(_RecordingChannel())
        try:
            result = getattr(stub, name)(request_type())
            if inspect.isgenerator(result):
                next(result)
        except _Seen as seen:
            response_type = seen.deserializer.__self__
            table[name] = Method(name, seen.path, request_type, response_type, seen.streaming)
        else:  # pragma: no cover - the generated code always calls the channel
            raise TypeError(f"{stub_class.__name__}.{name} made no call")
    return table


# Every generated stub class, by client attribute (one naming rule for the three
# clients: see scripts/client_services.py).
SERVICES: dict[str, type] = {attribute: getattr(pb, stub) for attribute, stub in contract.SERVICES.items()}

METHODS: dict[str, dict[str, Method]] = {attr: methods_of(stub) for attr, stub in SERVICES.items()}
