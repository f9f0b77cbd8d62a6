"""Small validators that raise InvalidArgument naming the field at fault."""
from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import InvalidArgument

LABEL_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
ID_RE = re.compile(r"^[a-z_]+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def required(field: str, value: str) -> str:
    if not value or not value.strip():
        raise InvalidArgument(field, "is required")
    return value


def label(field: str, value: str) -> str:
    required(field, value)
    if not LABEL_RE.match(value):
        raise InvalidArgument(field, f"'{value}' is not a valid label (letters, digits, '_', '-', '.'; at most 128)")
    return value


def one_of(field: str, value: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    if value not in allowed:
        raise InvalidArgument(field, f"must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}")
    return value


def positive(field: str, value: int) -> int:
    if value <= 0:
        raise InvalidArgument(field, f"must be positive, got {value}")
    return value


def resource_id(field: str, value: str, prefix: str) -> str:
    required(field, value)
    if not value.startswith(prefix + "-"):
        raise InvalidArgument(field, f"'{value}' is not a {prefix} id (expected '{prefix}-<uuid>')")
    return value


def strings(field: str, values: list) -> list[str]:
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise InvalidArgument(f"{field}[{i}]", f"must be a string, got {type(v).__name__}")
    return values
