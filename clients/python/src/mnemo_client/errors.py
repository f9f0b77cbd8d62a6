"""Errors: every failed call raises a `MnemoError` subclass that carries the gRPC status.

    try:
        client.agents.get_agent(GetAgentRequest(agent_id="agent-nope"))
    except NotFoundError as e:
        print(e.code, e.details)   # StatusCode.NOT_FOUND "agent 'agent-nope' not found"

Catch `MnemoError` for any failure. The original `grpc.RpcError` is kept as `__cause__`.
"""
from __future__ import annotations

from typing import Any

import grpc

__all__ = [
    "AlreadyExistsError",
    "CancelledError",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "InternalError",
    "InvalidArgumentError",
    "MnemoError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "error_from_rpc",
]


class MnemoError(Exception):
    """A call failed. `code` is the gRPC status code, `details` the server's message."""

    def __init__(self, code: grpc.StatusCode, details: str, *, trailing_metadata: Any = None) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata

    @property
    def status(self) -> int:
        """The numeric gRPC status (5 for NOT_FOUND, ...)."""
        value: int = self.code.value[0]
        return value


class CancelledError(MnemoError):
    """CANCELLED: the call was cancelled, usually by the client."""


class InvalidArgumentError(MnemoError):
    """INVALID_ARGUMENT: the request is malformed or a value is not allowed."""


class DeadlineExceededError(MnemoError):
    """DEADLINE_EXCEEDED: the call did not finish within its timeout."""


class NotFoundError(MnemoError):
    """NOT_FOUND: the agent, block, tool, ... does not exist."""


class AlreadyExistsError(MnemoError):
    """ALREADY_EXISTS: a resource with that name or id exists."""


class PermissionDeniedError(MnemoError):
    """PERMISSION_DENIED."""


class ResourceExhaustedError(MnemoError):
    """RESOURCE_EXHAUSTED: a limit was reached (e.g. a block's character limit)."""


class FailedPreconditionError(MnemoError):
    """FAILED_PRECONDITION: the resource is not in a state that allows the call."""


class UnimplementedError(MnemoError):
    """UNIMPLEMENTED: the server does not know this method (it is older than the client)."""


class InternalError(MnemoError):
    """INTERNAL (and UNKNOWN, DATA_LOSS): the server failed."""


class UnavailableError(MnemoError):
    """UNAVAILABLE: the server cannot be reached. Reads are retried on it automatically."""


class UnauthenticatedError(MnemoError):
    """UNAUTHENTICATED: no or wrong token (see MNEMO_SERVER_PASSWORD on the server)."""


_BY_CODE: dict[grpc.StatusCode, type[MnemoError]] = {
    grpc.StatusCode.CANCELLED: CancelledError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgumentError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.ABORTED: FailedPreconditionError,
    grpc.StatusCode.UNIMPLEMENTED: UnimplementedError,
    grpc.StatusCode.INTERNAL: InternalError,
    grpc.StatusCode.UNKNOWN: InternalError,
    grpc.StatusCode.DATA_LOSS: InternalError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
}


def error_from_rpc(error: grpc.RpcError) -> MnemoError:
    """The typed error for a failed grpcio (sync or asyncio) call."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = (error.details() if hasattr(error, "details") else None) or str(error)
    metadata = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    if not isinstance(code, grpc.StatusCode):
        code = grpc.StatusCode.UNKNOWN
    return _BY_CODE.get(code, MnemoError)(code, details, trailing_metadata=metadata)
