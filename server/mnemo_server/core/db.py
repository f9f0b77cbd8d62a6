"""Transactions and the translation of database constraint errors."""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..errors import AlreadyExists, InvalidArgument, NotFound

T = TypeVar("T")


def constraint_of(exc: IntegrityError) -> str:
    cause = getattr(exc.orig, "__cause__", None) or exc.orig
    return getattr(cause, "constraint_name", None) or ""


# Constraint name -> the error the caller should see.
CONSTRAINT_ERRORS = {
    "agent_blocks_agent_label": lambda: AlreadyExists("the agent already has a block with this label"),
    "agent_blocks_pkey": lambda: AlreadyExists("the block is already attached to the agent"),
    "tools_name_key": lambda: AlreadyExists("a tool with this name already exists"),
    "identities_project_key": lambda: AlreadyExists("an identity with this identifier_key already exists"),
    "blocks_value_within_limit": lambda: InvalidArgument("value", "is longer than the block's limit"),
}


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One transaction; known constraint violations become MnemoErrors."""
    try:
        async with engine.begin() as conn:
            yield conn
    except IntegrityError as exc:
        make = CONSTRAINT_ERRORS.get(constraint_of(exc))
        if make is None:
            raise
        raise make() from None


async def get_or_not_found(engine: AsyncEngine, kind: str, field: str, key: str,
                           getter: Callable[[AsyncConnection, str], Awaitable[T | None]]) -> T:
    """One resource by id: INVALID_ARGUMENT naming `field` when the id is
    empty, NOT_FOUND naming `kind` when there is no such resource."""
    if not key or not key.strip():
        raise InvalidArgument(field, "is required")
    async with engine.connect() as conn:
        found = await getter(conn, key)
    if found is None:
        raise NotFound(kind, key)
    return found
