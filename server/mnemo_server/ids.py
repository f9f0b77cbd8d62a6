"""Resource identifiers: "<prefix>-<uuid4>", as Letta clients expect."""
from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


def has_prefix(value: str, prefix: str) -> bool:
    return value.startswith(prefix + "-")
