"""Cursor pagination: every List* RPC takes `after` (an item id) and `limit`.

`paginate` / `apaginate` turn "fetch the page after this id" into one iterator over
all items. The clients use them for `iter_agents`, `iter_blocks`, `iter_tools`,
`iter_identities` and `iter_messages`.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["DEFAULT_PAGE_SIZE", "apaginate", "paginate"]

DEFAULT_PAGE_SIZE = 100


def _id(item: Any) -> str | None:
    value = getattr(item, "id", None)
    return value if isinstance(value, str) and value else None


def paginate(fetch: Callable[[str | None], Sequence[T]], *, page_size: int | None = None,
             cursor: Callable[[T], str | None] = _id) -> Iterator[T]:
    """Yields every item of `fetch(None)`, `fetch(<id of the last item>)`, ... until a page is
    empty, shorter than `page_size` (when given), or the cursor stops moving."""
    after: str | None = None
    while True:
        page = fetch(after)
        yield from page
        if not page or (page_size is not None and len(page) < page_size):
            return
        last = cursor(page[-1])
        if last is None or last == after:
            return
        after = last


async def apaginate(fetch: Callable[[str | None], Awaitable[Sequence[T]]], *, page_size: int | None = None,
                    cursor: Callable[[T], str | None] = _id) -> AsyncIterator[T]:
    """The asyncio form of `paginate`."""
    after: str | None = None
    while True:
        page = await fetch(after)
        for item in page:
            yield item
        if not page or (page_size is not None and len(page) < page_size):
            return
        last = cursor(page[-1])
        if last is None or last == after:
            return
        after = last
