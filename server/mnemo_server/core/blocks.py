"""Memory blocks: one write path, with validation, for the API and for agents."""
from __future__ import annotations

from typing import Any

from mnemo.v1 import blocks_pb2
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..errors import InvalidArgument, NotFound, PermissionDenied
from ..ids import new_id
from ..storage import blocks as store
from ..storage import convert
from ..storage.paging import page_from
from . import validate
from .db import get_or_not_found, transaction

DEFAULT_LIMIT = 20_000
# The contract (CreateBlockRequest.limit): human and persona default to 5000.
DEFAULT_LIMITS = {"human": 5_000, "persona": 5_000}
DEFAULT_DESCRIPTIONS = {
    "persona": "Who you are: your identity, personality and the way you speak and behave. "
               "Stay consistent with it and refine it as you learn what works.",
    "human": "What you know about the person you are talking with: name, preferences, context. "
             "Keep it accurate and up to date as you learn more.",
}


def new_block_values(spec: blocks_pb2.CreateBlockRequest, field: str) -> dict[str, Any]:
    """Validated column values for a new block described by `spec`."""
    validate.label(f"{field}label" if field else "label", spec.label)
    limit = spec.limit if spec.HasField("limit") else DEFAULT_LIMITS.get(spec.label, DEFAULT_LIMIT)
    validate.positive(f"{field}limit", limit)
    if len(spec.value) > limit:
        raise InvalidArgument(f"{field}value", f"is {len(spec.value)} characters, over the limit of {limit}")
    description = spec.description if spec.HasField("description") else DEFAULT_DESCRIPTIONS.get(spec.label)
    return {
        "id": new_id("block"), "label": spec.label, "value": spec.value, "limit": limit,
        "description": description, "read_only": spec.read_only, "hidden": spec.hidden,
        "metadata": convert.struct_to_dict(spec.metadata), "tags": convert.unique(spec.tags),
        "project_id": spec.project_id if spec.HasField("project_id") else None,
    }


def changes_from(request) -> dict[str, Any]:
    """Column changes from an Update*BlockRequest (only the fields that are set)."""
    changes: dict[str, Any] = {}
    for name in ("label", "value", "limit", "description", "read_only", "hidden"):
        if request.HasField(name):
            changes[name] = getattr(request, name)
    if request.HasField("metadata"):
        changes["metadata"] = convert.struct_to_dict(request.metadata)
    if request.HasField("tags"):
        changes["tags"] = convert.unique(validate.strings("tags", convert.list_value_to_list(request.tags)))
    return changes


async def apply_changes(
    conn: AsyncConnection, block: blocks_pb2.Block, changes: dict[str, Any], *, by_agent: bool = False
) -> blocks_pb2.Block:
    """The one place a block changes. `block` must be locked by the caller."""
    if by_agent and block.read_only:
        raise PermissionDenied(f"block '{block.label}' is read-only; agents cannot change it")
    if "label" in changes:
        validate.label("label", changes["label"])
    limit = changes.get("limit", block.limit)
    validate.positive("limit", limit)
    value = changes.get("value", block.value)
    if len(value) > limit:
        field = "value" if "value" in changes else "limit"
        raise InvalidArgument(
            field, f"the value would be {len(value)} characters, over the block's limit of {limit}"
        )
    if not changes:
        return block
    return await store.update_fields(conn, block.id, changes)


class Blocks:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def create(self, request: blocks_pb2.CreateBlockRequest) -> blocks_pb2.Block:
        values = new_block_values(request, "")
        async with transaction(self.engine) as conn:
            (block,) = await store.insert_blocks(conn, [values])
        return block

    async def get(self, block_id: str) -> blocks_pb2.Block:
        return await get_or_not_found(self.engine, "block", "block_id", block_id, store.get)

    async def list(self, request: blocks_pb2.ListBlocksRequest) -> list[blocks_pb2.Block]:
        page = page_from(request)
        opt = lambda name: getattr(request, name) if request.HasField(name) else None  # noqa: E731
        async with self.engine.connect() as conn:
            return await store.list_blocks(
                conn, page, label=opt("label"), label_search=opt("label_search") or opt("name"),
                value_search=opt("value_search"), description_search=opt("description_search"),
                tags=list(request.tags), match_all_tags=request.match_all_tags, project_id=opt("project_id"),
                identity_id=opt("identity_id"), include_hidden=bool(opt("include_hidden")),
            )

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            return await store.count(conn)

    async def update(self, request: blocks_pb2.UpdateBlockRequest) -> blocks_pb2.Block:
        validate.required("block_id", request.block_id)
        changes = changes_from(request)
        async with transaction(self.engine) as conn:
            block = await store.get(conn, request.block_id, for_update=True)
            if block is None:
                raise NotFound("block", request.block_id)
            return await apply_changes(conn, block, changes)

    async def delete(self, block_id: str) -> None:
        validate.required("block_id", block_id)
        async with transaction(self.engine) as conn:
            if not await store.delete_block(conn, block_id):
                raise NotFound("block", block_id)
