"""Errors the core raises; the API layer maps them to gRPC status codes.

Each error carries a message meant for the caller. Messages name the field or
the resource at fault, e.g. "memory_blocks[1].label: must not be empty".
"""
from __future__ import annotations


class MnemoError(Exception):
    """Base class. `code` is the name of the matching grpc.StatusCode."""

    code = "INTERNAL"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidArgument(MnemoError):
    code = "INVALID_ARGUMENT"

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field


class NotFound(MnemoError):
    code = "NOT_FOUND"

    def __init__(self, kind: str, key: str, *, by: str = "id"):
        super().__init__(f"{kind} with {by} '{key}' not found")
        self.kind = kind
        self.key = key


class AlreadyExists(MnemoError):
    code = "ALREADY_EXISTS"


class FailedPrecondition(MnemoError):
    code = "FAILED_PRECONDITION"


class PermissionDenied(MnemoError):
    code = "PERMISSION_DENIED"


class Unauthenticated(MnemoError):
    code = "UNAUTHENTICATED"


class Unavailable(MnemoError):
    """A dependency (e.g. an embedding provider) failed; the call may succeed later."""

    code = "UNAVAILABLE"
