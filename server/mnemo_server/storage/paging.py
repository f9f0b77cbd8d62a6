"""Cursor pagination shared by the list queries.

Letta clients page with `after`/`before` (an item id), `limit` and `order`,
and stop at the first empty page. Items are ordered by a sort column and then
by id, so the order is total and a cursor names an exact position.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from ..errors import InvalidArgument

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Page:
    after: str | None = None
    before: str | None = None
    limit: int = DEFAULT_LIMIT
    descending: bool = True


def page_from(request, *, default_descending: bool = True, limit_default: int = DEFAULT_LIMIT) -> Page:
    """Reads after/before/limit/order (and the older `ascending`) off a request."""
    has = request.HasField
    limit = request.limit if has("limit") else limit_default
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidArgument("limit", f"must be between 1 and {MAX_LIMIT}, got {limit}")
    descending = default_descending
    if has("order"):
        if request.order not in ("asc", "desc"):
            raise InvalidArgument("order", f"must be 'asc' or 'desc', got '{request.order}'")
        descending = request.order == "desc"
    elif "ascending" in request.DESCRIPTOR.fields_by_name and has("ascending"):
        descending = not request.ascending
    return Page(
        after=request.after if has("after") and request.after else None,
        before=request.before if has("before") and request.before else None,
        limit=limit,
        descending=descending,
    )


async def apply_page(
    conn: AsyncConnection,
    stmt: Select,
    page: Page,
    sort: ColumnElement,
    ident: ColumnElement,
    *,
    cursor_scope: ColumnElement | None = None,
) -> tuple[Select, bool]:
    """Adds cursor bounds, order and limit to `stmt`.

    Returns the statement and whether its rows come back reversed (a `before`
    page is read towards the cursor and must be flipped by the caller).
    `cursor_scope` restricts the cursor lookup (e.g. to one agent's rows).
    """
    for cursor, after in ((page.after, True), (page.before, False)):
        if cursor is None:
            continue
        lookup = select(sort).where(ident == cursor)
        if cursor_scope is not None:
            lookup = lookup.where(cursor_scope)
        cursor_sort = (await conn.execute(lookup.limit(1))).scalar_one_or_none()
        if cursor_sort is None:
            raise InvalidArgument("after" if after else "before", f"no item with id '{cursor}' in this list")
        forward = after != page.descending  # True: the bound is "greater than the cursor"
        if forward:
            stmt = stmt.where(or_(sort > cursor_sort, and_(sort == cursor_sort, ident > cursor)))
        else:
            stmt = stmt.where(or_(sort < cursor_sort, and_(sort == cursor_sort, ident < cursor)))
    reversed_read = page.before is not None and page.after is None
    read_descending = page.descending != reversed_read
    if read_descending:
        stmt = stmt.order_by(sort.desc(), ident.desc())
    else:
        stmt = stmt.order_by(sort.asc(), ident.asc())
    return stmt.limit(page.limit), reversed_read
