"""Agents and what is attached to them: blocks, tools, identities, secrets."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnemo.v1 import agents_pb2, blocks_pb2, models_pb2, tools_pb2
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from ..ids import new_id
from ..storage import agents as store
from ..storage import blocks as block_store
from ..storage import convert
from ..storage import identities as identity_store
from ..storage import passages as passage_store
from ..storage import tools as tool_store
from ..storage.paging import page_from
from ..tools.builtin import TERMINAL_BASE_TOOLS, base_tool_names
from . import blocks as block_rules
from . import model_settings as settings_rules
from . import validate
from .catalog import OFFLINE_ENDPOINT_TYPE, OFFLINE_PROVIDER, Catalog
from .db import transaction
from .endpoints import check_embedding_endpoint, check_llm_endpoint
from .passages import same_space
from .prompts import DEFAULT_SYSTEM, generated_name
from .secrets import SecretBox

AGENT_TYPES = ("letta_v1_agent", "memgpt_agent", "memgpt_v2_agent")
RULE_TYPES = (
    "run_first", "exit_loop", "continue_loop", "constrain_child_tools", "conditional", "max_count_per_step",
    "parent_last_tool", "required_before_exit", "requires_approval",
)
ORDER_BY = ("created_at", "updated_at", "last_run_completion")


def tool_rules_from(field: str, rules: Sequence[tools_pb2.ToolRule | dict]) -> list[dict[str, Any]]:
    """Validated tool rules as JSON-able dicts (stored as JSONB)."""
    out = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, (dict, tools_pb2.ToolRule)):
            raise InvalidArgument(f"{field}[{i}]", f"must be a tool rule object, got {type(rule).__name__}")
        if isinstance(rule, dict):
            try:
                rule = convert.dict_to_message(rule, tools_pb2.ToolRule())
            except Exception as exc:  # json_format.ParseError and type errors
                raise InvalidArgument(f"{field}[{i}]", f"is not a valid tool rule: {exc}") from None
        where = f"{field}[{i}]"
        validate.one_of(f"{where}.type", rule.type, RULE_TYPES)
        validate.required(f"{where}.tool_name", rule.tool_name)
        if rule.type in ("constrain_child_tools", "parent_last_tool") and not rule.children:
            raise InvalidArgument(f"{where}.children", f"is required for '{rule.type}' rules")
        if rule.type == "max_count_per_step" and (not rule.HasField("max_count_limit") or rule.max_count_limit < 1):
            raise InvalidArgument(f"{where}.max_count_limit", "must be a positive number for 'max_count_per_step'")
        if rule.type == "conditional" and not rule.child_output_mapping and not rule.HasField("default_child"):
            raise InvalidArgument(f"{where}.child_output_mapping", "or default_child is required for 'conditional'")
        out.append(convert.message_to_dict(rule))
    return out


def base_tool_rules(agent_type: str, tool_names: Sequence[str]) -> list[dict[str, Any]]:
    """Default rules of memgpt-style agents: send_message ends the turn."""
    if agent_type == "letta_v1_agent":
        return []
    return [{"type": "exit_loop", "tool_name": name} for name in tool_names if name in TERMINAL_BASE_TOOLS]


class Agents:
    def __init__(self, engine: AsyncEngine, catalog: Catalog, box: SecretBox):
        self.engine = engine
        self.catalog = catalog
        self.box = box

    # -- helpers --------------------------------------------------------------

    async def _require_agent(self, conn: AsyncConnection, agent_id: str, *, lock: bool = False) -> None:
        validate.required("agent_id", agent_id)
        if not await store.exists(conn, agent_id, lock=lock):
            raise NotFound("agent", agent_id)

    async def _load(self, conn: AsyncConnection, agent_id: str) -> agents_pb2.Agent:
        (agent,) = await store.load(conn, [agent_id])
        return agent

    def _llm(self, has, request, *, current: models_pb2.LlmConfig | None = None) -> tuple[str | None, models_pb2.LlmConfig | None]:
        window = request.context_window_limit if has("context_window_limit") else None
        max_tokens = request.max_tokens if has("max_tokens") else None
        if has("llm_config"):
            config = models_pb2.LlmConfig()
            config.CopyFrom(request.llm_config)
            validate.required("llm_config.model", config.model)
            validate.required("llm_config.model_endpoint_type", config.model_endpoint_type)
            if config.model_endpoint_type == OFFLINE_PROVIDER:  # the offline model's former spelling
                config.model_endpoint_type, config.provider_name = OFFLINE_ENDPOINT_TYPE, OFFLINE_PROVIDER
            if window is not None:
                config.context_window = window
            validate.positive("llm_config.context_window", config.context_window or 0)
            check_llm_endpoint(self.catalog.providers, config)
            return (config.handle if config.HasField("handle") else None), config
        if has("model"):
            return request.model, self.catalog.llm_config(request.model, context_window_limit=window, max_tokens=max_tokens)
        if current is None:
            handle = self.catalog.default_model_handle()
            return handle, self.catalog.llm_config(handle, context_window_limit=window, max_tokens=max_tokens)
        if window is None and max_tokens is None:
            return None, None
        config = models_pb2.LlmConfig()
        config.CopyFrom(current)
        if window is not None:
            if window < 1000:
                raise InvalidArgument("context_window_limit", f"must be at least 1000 tokens, got {window}")
            if config.HasField("handle"):
                # As at creation: at most the model's own window.
                try:
                    window = self.catalog.llm_config(config.handle, context_window_limit=window).context_window
                except InvalidArgument:
                    pass  # a configuration the catalog does not know: take the limit as given
            config.context_window = window
        if max_tokens is not None:
            config.max_tokens = max_tokens
        return None, config

    def _embedding(self, has, request) -> tuple[str | None, models_pb2.EmbeddingConfig | None]:
        # UpdateAgentRequest has no embedding_chunk_size field.
        chunk = (request.embedding_chunk_size
                 if "embedding_chunk_size" in request.DESCRIPTOR.fields_by_name and has("embedding_chunk_size")
                 else None)
        if has("embedding_config"):
            config = request.embedding_config
            validate.required("embedding_config.embedding_model", config.embedding_model)
            validate.positive("embedding_config.embedding_dim", config.embedding_dim)
            check_embedding_endpoint(self.catalog.providers, config)
            return (config.handle if config.HasField("handle") else None), config
        if has("embedding"):
            return request.embedding, self.catalog.embedding_config(request.embedding, chunk_size=chunk)
        return None, None

    async def _check_embedding_change(self, conn, agent_id: str, new: models_pb2.EmbeddingConfig) -> None:
        """Refuses a new embedding model once the agent's archival memory has
        vectors made by another one: the two vector spaces must never mix."""
        await store.exists(conn, agent_id, lock=True)  # archival writes hold this row (FOR SHARE)
        current = await store.row(conn, agent_id)
        data = current["embedding_config"] if current else None
        old = convert.dict_to_message(data, models_pb2.EmbeddingConfig()) if data else None
        if same_space(old, new):
            return
        if await passage_store.has_vectors(conn, agent_id):
            was = (old.handle or f"{old.embedding_endpoint_type}/{old.embedding_model}") if old else "another model"
            raise FailedPrecondition(
                f"embedding: the agent's archival memory is embedded with {was}; changing its embedding model "
                "would mix vector spaces. Delete its archival passages first, or create a new agent.")

    async def _resolve_tools(self, conn, names: Sequence[str], ids: Sequence[str]) -> list[str]:
        found = await tool_store.ids_by_names(conn, names)
        for name in names:
            if name not in found:
                raise NotFound("tool", name, by="name")
        missing = set(ids) - await tool_store.existing_ids(conn, ids)
        if missing:
            raise NotFound("tool", sorted(missing)[0])
        return convert.unique([*(found[n] for n in names), *ids])

    async def _attach_existing_blocks(self, conn, agent_id: str, block_ids: Sequence[str], taken: set[str]) -> None:
        items = []
        for block_id in block_ids:
            block = await block_store.get(conn, block_id)
            if block is None:
                raise NotFound("block", block_id)
            if block.label in taken:
                raise AlreadyExists(f"block_ids: the agent already has a block labelled '{block.label}'")
            taken.add(block.label)
            items.append((block.id, block.label))
        await block_store.attach_many(conn, agent_id, items)

    async def _check_identities(self, conn, identity_ids: Sequence[str]) -> None:
        missing = set(identity_ids) - await identity_store.existing_ids(conn, identity_ids)
        if missing:
            raise NotFound("identity", sorted(missing)[0])

    def _seal(self, secrets: dict[str, Any], field: str) -> dict[str, bytes]:
        sealed = {}
        for key, value in secrets.items():
            if not key:
                raise InvalidArgument(field, "secret names must not be empty")
            if not isinstance(value, str):
                raise InvalidArgument(f"{field}.{key}", "must be a string")
            sealed[key] = self.box.seal(value)
        return sealed

    @staticmethod
    def _tool_secrets(value: dict[str, Any], agent: agents_pb2.Agent) -> dict[str, list[str]] | None:
        """Checks `tool_secrets` against what the agent has once the request
        is applied: each name an attached custom tool, each list made of the
        agent's secret names. None (no tool narrowed) for {}."""
        tools = {t.name: t for t in agent.tools}
        keys = {s.key for s in agent.secrets}
        out: dict[str, list[str]] = {}
        for name, names in value.items():
            field = f"tool_secrets.{name}"
            tool = tools.get(name)
            if tool is None:
                raise InvalidArgument(field, f"'{name}' is not a tool attached to this agent")
            if tool.tool_type != "custom":
                raise InvalidArgument(field, f"'{name}' is a built-in tool; only custom tools receive secrets")
            if not isinstance(names, list):
                raise InvalidArgument(field, "must be a list of secret names")
            for i, key in enumerate(names):
                if not isinstance(key, str) or key not in keys:
                    raise InvalidArgument(f"{field}[{i}]", f"{key!r} is not one of the agent's secrets "
                                          f"({', '.join(sorted(keys)) or 'it has none'})")
            out[name] = convert.unique(names)
        return out or None

    # -- agents ---------------------------------------------------------------

    async def create(self, request: agents_pb2.CreateAgentRequest) -> agents_pb2.Agent:
        if request.HasField("llm"):  # the older spelling of `model`
            if request.HasField("model") and request.model != request.llm:
                raise InvalidArgument("llm", f"is the older spelling of `model`; got both, and they differ "
                                      f"('{request.llm}' and '{request.model}')")
            request.model = request.llm
        has = request.HasField
        agent_type = request.agent_type if has("agent_type") else "letta_v1_agent"
        validate.one_of("agent_type", agent_type, AGENT_TYPES)
        name = request.name if has("name") and request.name.strip() else generated_name()
        model, llm_config = self._llm(has, request)
        if has("model_settings"):
            llm_config = settings_rules.apply(convert.struct_to_dict(request.model_settings), llm_config)
        if has("response_format"):
            settings_rules.check_response_format(convert.struct_to_dict(request.response_format))
        embedding, embedding_config = self._embedding(has, request)
        if embedding_config is None and self.catalog.default_embedding_handle():
            embedding = self.catalog.default_embedding_handle()
            embedding_config = self.catalog.embedding_config(embedding)
        new_blocks = [block_rules.new_block_values(b, f"memory_blocks[{i}].") for i, b in enumerate(request.memory_blocks)]
        labels: set[str] = set()
        for i, values in enumerate(new_blocks):
            if values["label"] in labels:
                raise InvalidArgument(f"memory_blocks[{i}].label", f"'{values['label']}' is used twice")
            labels.add(values["label"])
        rules = tool_rules_from("tool_rules", list(request.tool_rules))
        secrets = {**dict(request.tool_exec_environment_variables), **dict(request.secrets)}
        sealed = self._seal(secrets, "secrets")
        agent_id = new_id("agent")
        async with transaction(self.engine) as conn:
            tool_names = list(request.tools)
            include_base = request.include_base_tools if has("include_base_tools") else True
            base_names = base_tool_names(agent_type, request.enable_sleeptime) if include_base else []
            tool_ids = await self._resolve_tools(conn, convert.unique([*base_names, *tool_names]), list(request.tool_ids))
            include_base_rules = request.include_base_tool_rules if has("include_base_tool_rules") else True
            if include_base_rules:
                ruled = {r["tool_name"] for r in rules}
                rules += [r for r in base_tool_rules(agent_type, base_names) if r["tool_name"] not in ruled]
            identity_ids = convert.unique(request.identity_ids)
            await self._check_identities(conn, identity_ids)
            await store.insert_agent(conn, {
                "id": agent_id, "name": name, "agent_type": agent_type,
                "system": request.system if has("system") else DEFAULT_SYSTEM[agent_type],
                "description": request.description if has("description") else None,
                "metadata": convert.struct_to_dict(request.metadata), "tags": convert.unique(request.tags),
                "model": model, "llm_config": convert.message_to_dict(llm_config),
                "embedding": embedding,
                "embedding_config": convert.message_to_dict(embedding_config) if embedding_config else None,
                "model_settings": convert.struct_to_dict(request.model_settings) if has("model_settings") else None,
                "response_format": convert.struct_to_dict(request.response_format) if has("response_format") else None,
                "compaction_settings": (convert.struct_to_dict(request.compaction_settings)
                                        if has("compaction_settings") else None),
                "tool_rules": rules, "message_buffer_autoclear": request.message_buffer_autoclear,
                "timezone": request.timezone if has("timezone") else None,
                "project_id": request.project_id if has("project_id") else None,
                "hidden": request.hidden, "enable_sleeptime": request.enable_sleeptime,
            })
            created = await block_store.insert_blocks(conn, new_blocks)
            await block_store.attach_many(conn, agent_id, [(b.id, b.label) for b in created])
            await self._attach_existing_blocks(conn, agent_id, convert.unique(request.block_ids), labels)
            await tool_store.attach(conn, agent_id, tool_ids)
            await identity_store.link_agent(conn, identity_ids, agent_id)
            await store.replace_secrets(conn, agent_id, sealed)
            agent = await self._load(conn, agent_id)
            if has("tool_secrets") and request.tool_secrets.fields:
                narrowed = self._tool_secrets(convert.struct_to_dict(request.tool_secrets), agent)
                await store.update_fields(conn, agent_id, {"tool_secrets": narrowed})
                agent = await self._load(conn, agent_id)
            return agent

    async def get(self, agent_id: str) -> agents_pb2.Agent:
        validate.required("agent_id", agent_id)
        async with self.engine.connect() as conn:
            found = await store.load(conn, [agent_id])
        if not found:
            raise NotFound("agent", agent_id)
        return found[0]

    @staticmethod
    def _filters(request: agents_pb2.ListAgentsRequest) -> dict[str, Any]:
        opt = lambda name: getattr(request, name) if request.HasField(name) else None  # noqa: E731
        return dict(
            name=opt("name"), tags=list(request.tags), match_all_tags=request.match_all_tags,
            query_text=opt("query_text"), identity_id=opt("identity_id"),
            identifier_keys=list(request.identifier_keys), project_id=opt("project_id"),
            last_stop_reason=opt("last_stop_reason"),
        )

    async def list(self, request: agents_pb2.ListAgentsRequest) -> list[agents_pb2.Agent]:
        page = page_from(request)
        order_by = request.order_by if request.HasField("order_by") else "created_at"
        validate.one_of("order_by", order_by, ORDER_BY)
        async with self.engine.connect() as conn:
            return await store.list_agents(conn, page, order_by=order_by, **self._filters(request))

    async def count(self, request: agents_pb2.ListAgentsRequest) -> int:
        async with self.engine.connect() as conn:
            return await store.count(conn, **self._filters(request))

    async def update(self, request: agents_pb2.UpdateAgentRequest) -> agents_pb2.Agent:
        has = request.HasField
        lists = lambda name: convert.list_value_to_list(getattr(request, name))  # noqa: E731
        changes: dict[str, Any] = {}
        for name in ("name", "system", "description", "timezone", "project_id", "message_buffer_autoclear",
                     "hidden", "enable_sleeptime"):
            if has(name):
                changes[name] = getattr(request, name)
        if "name" in changes:
            validate.required("name", changes["name"])
        for name in ("metadata", "model_settings", "response_format", "compaction_settings"):
            if has(name):
                changes[name] = convert.struct_to_dict(getattr(request, name))
        if has("tags"):
            changes["tags"] = convert.unique(validate.strings("tags", lists("tags")))
        if has("tool_rules"):
            changes["tool_rules"] = tool_rules_from("tool_rules", lists("tool_rules"))
        if has("message_ids"):
            changes["message_ids"] = validate.strings("message_ids", lists("message_ids"))
        embedding, embedding_config = self._embedding(has, request)
        if embedding_config is not None:
            changes.update(embedding=embedding, embedding_config=convert.message_to_dict(embedding_config))
        secrets = None
        for name in ("tool_exec_environment_variables", "secrets"):
            if has(name):
                secrets = {**(secrets or {}), **convert.struct_to_dict(getattr(request, name))}
        sealed = self._seal(secrets, "secrets") if secrets is not None else None
        async with transaction(self.engine) as conn:
            current = await store.row(conn, request.agent_id) if request.agent_id else None
            if current is None:
                validate.required("agent_id", request.agent_id)
                raise NotFound("agent", request.agent_id)
            if embedding_config is not None:
                await self._check_embedding_change(conn, request.agent_id, embedding_config)
            current_llm = convert.dict_to_message(current["llm_config"], models_pb2.LlmConfig())
            model, llm_config = self._llm(has, request, current=current_llm)
            if has("model_settings"):
                llm_config = settings_rules.apply(convert.struct_to_dict(request.model_settings),
                                                  llm_config or current_llm)
            if has("response_format"):
                settings_rules.check_response_format(convert.struct_to_dict(request.response_format))
            if llm_config is not None:
                changes["llm_config"] = convert.message_to_dict(llm_config)
                if model is not None or has("llm_config"):
                    changes["model"] = model
            if changes:
                await store.update_fields(conn, request.agent_id, changes)
            else:
                await store.touch(conn, [request.agent_id])
            if has("block_ids"):
                block_ids = convert.unique(validate.strings("block_ids", lists("block_ids")))
                for block_id in [b.id for b in (await block_store.for_agents(conn, [request.agent_id]))[request.agent_id]]:
                    await block_store.detach(conn, request.agent_id, block_id)
                await self._attach_existing_blocks(conn, request.agent_id, block_ids, set())
            if has("tool_ids"):
                tool_ids = await self._resolve_tools(conn, [], convert.unique(validate.strings("tool_ids", lists("tool_ids"))))
                await tool_store.detach(conn, request.agent_id)
                await tool_store.attach(conn, request.agent_id, tool_ids)
            if has("identity_ids"):
                identity_ids = convert.unique(validate.strings("identity_ids", lists("identity_ids")))
                await self._check_identities(conn, identity_ids)
                await identity_store.unlink_agent(conn, request.agent_id)
                await identity_store.link_agent(conn, identity_ids, request.agent_id)
            if sealed is not None:
                await store.replace_secrets(conn, request.agent_id, sealed)
            agent = await self._load(conn, request.agent_id)
            if has("tool_secrets"):
                narrowed = self._tool_secrets(convert.struct_to_dict(request.tool_secrets), agent)
                await store.update_fields(conn, request.agent_id, {"tool_secrets": narrowed})
                agent = await self._load(conn, request.agent_id)
            return agent

    async def delete(self, agent_id: str) -> None:
        validate.required("agent_id", agent_id)
        async with transaction(self.engine) as conn:
            if not await store.delete_agent(conn, agent_id):
                raise NotFound("agent", agent_id)

    # -- blocks of an agent ---------------------------------------------------

    async def list_blocks(self, request: agents_pb2.ListAgentBlocksRequest) -> list[blocks_pb2.Block]:
        page = page_from(request, default_descending=False)
        async with self.engine.connect() as conn:
            await self._require_agent(conn, request.agent_id)
            return await block_store.list_for_agent(conn, request.agent_id, page)

    async def get_block(self, agent_id: str, label: str) -> blocks_pb2.Block:
        validate.required("block_label", label)
        async with self.engine.connect() as conn:
            await self._require_agent(conn, agent_id)
            block = await block_store.get_by_agent_label(conn, agent_id, label)
        if block is None:
            raise NotFound("block", label, by=f"label (on agent '{agent_id}')")
        return block

    async def update_block(self, request: agents_pb2.UpdateAgentBlockRequest) -> blocks_pb2.Block:
        validate.required("block_label", request.block_label)
        changes = block_rules.changes_from(request)
        async with transaction(self.engine) as conn:
            await self._require_agent(conn, request.agent_id)
            block = await block_store.get_by_agent_label(conn, request.agent_id, request.block_label, for_update=True)
            if block is None:
                raise NotFound("block", request.block_label, by=f"label (on agent '{request.agent_id}')")
            updated = await block_rules.apply_changes(conn, block, changes)
            await store.touch(conn, await block_store.agent_ids_of(conn, block.id))
            return updated

    async def attach_block(self, agent_id: str, block_id: str) -> agents_pb2.Agent:
        validate.required("block_id", block_id)
        async with transaction(self.engine) as conn:
            await self._require_agent(conn, agent_id, lock=True)
            block = await block_store.get(conn, block_id)
            if block is None:
                raise NotFound("block", block_id)
            await block_store.attach(conn, agent_id, block.id, block.label)
            await store.touch(conn, [agent_id])
            return await self._load(conn, agent_id)

    async def detach_block(self, agent_id: str, block_id: str) -> agents_pb2.Agent:
        validate.required("block_id", block_id)
        async with transaction(self.engine) as conn:
            await self._require_agent(conn, agent_id, lock=True)
            if not await block_store.detach(conn, agent_id, block_id):
                raise NotFound("block", block_id, by=f"id (attached to agent '{agent_id}')")
            await store.touch(conn, [agent_id])
            return await self._load(conn, agent_id)

    async def list_block_agents(self, request: agents_pb2.ListBlockAgentsRequest) -> list[agents_pb2.Agent]:
        validate.required("block_id", request.block_id)
        page = page_from(request)
        async with self.engine.connect() as conn:
            if await block_store.get(conn, request.block_id) is None:
                raise NotFound("block", request.block_id)
            return await store.list_agents(conn, page, block_id=request.block_id)

    # -- tools of an agent ----------------------------------------------------

    async def list_tools(self, request: agents_pb2.ListAgentToolsRequest) -> list[tools_pb2.Tool]:
        page = page_from(request, default_descending=False)
        async with self.engine.connect() as conn:
            await self._require_agent(conn, request.agent_id)
            return await tool_store.list_for_agent(conn, request.agent_id, page)

    async def attach_tool(self, agent_id: str, tool_id: str) -> agents_pb2.Agent:
        validate.required("tool_id", tool_id)
        async with transaction(self.engine) as conn:
            await self._require_agent(conn, agent_id, lock=True)
            await self._resolve_tools(conn, [], [tool_id])
            await tool_store.attach(conn, agent_id, [tool_id])
            await store.touch(conn, [agent_id])
            return await self._load(conn, agent_id)

    async def detach_tool(self, agent_id: str, tool_id: str) -> agents_pb2.Agent:
        validate.required("tool_id", tool_id)
        async with transaction(self.engine) as conn:
            await self._require_agent(conn, agent_id, lock=True)
            await tool_store.detach(conn, agent_id, [tool_id])
            await store.touch(conn, [agent_id])
            return await self._load(conn, agent_id)

    # -- identities of an agent -----------------------------------------------

    async def attach_identity(self, agent_id: str, identity_id: str) -> agents_pb2.Agent:
        validate.required("identity_id", identity_id)
        async with transaction(self.engine) as conn:
            await self._require_agent(conn, agent_id, lock=True)
            await self._check_identities(conn, [identity_id])
            await identity_store.link_agent(conn, [identity_id], agent_id)
            await store.touch(conn, [agent_id])
            return await self._load(conn, agent_id)

    async def detach_identity(self, agent_id: str, identity_id: str) -> agents_pb2.Agent:
        validate.required("identity_id", identity_id)
        async with transaction(self.engine) as conn:
            await self._require_agent(conn, agent_id, lock=True)
            if not await identity_store.unlink_agent(conn, agent_id, [identity_id]):
                raise NotFound("identity", identity_id, by=f"id (linked to agent '{agent_id}')")
            await store.touch(conn, [agent_id])
            return await self._load(conn, agent_id)

    # -- tags -------------------------------------------------------------------

    async def list_tags(self, request) -> list[str]:
        page = page_from(request, default_descending=False)
        contains = request.name if request.HasField("name") else (
            request.query_text if request.HasField("query_text") else None)
        async with self.engine.connect() as conn:
            return await store.distinct_tags(
                conn, contains=contains, after=page.after, before=page.before, limit=page.limit,
                descending=page.descending,
            )
