"""Mnemo's Python client: typed gRPC, sync (`Client`) and asyncio (`AsyncClient`).

Message types are in `mnemo_client.types`; errors in `mnemo_client.errors`.
"""
from importlib.metadata import PackageNotFoundError, version

from . import types
from .aio import AsyncClient, AsyncMessageStream
from .client import Client, MessageStream
from .errors import (
    AlreadyExistsError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    MnemoError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
)
from .helpers import (
    KNOWN_MESSAGE_TYPES,
    is_known_message_type,
    message_text,
    send_request,
    streamed_text,
    to_value,
    user_message,
    value_text,
)
from .pagination import apaginate, paginate

try:
    __version__ = version("mnemo-client")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "KNOWN_MESSAGE_TYPES",
    "AlreadyExistsError",
    "AsyncClient",
    "AsyncMessageStream",
    "Client",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "InternalError",
    "InvalidArgumentError",
    "MessageStream",
    "MnemoError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "UnauthenticatedError",
    "UnavailableError",
    "__version__",
    "apaginate",
    "is_known_message_type",
    "message_text",
    "paginate",
    "send_request",
    "streamed_text",
    "to_value",
    "types",
    "user_message",
    "value_text",
]
