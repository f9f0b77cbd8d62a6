"""Tools: built-in tool seeding, custom tool CRUD, and running a custom tool
on request (RunToolFromSource, RunAgentTool) in the sandbox (see sandbox/)."""
from __future__ import annotations

import ast
import asyncio
import logging
import math
from typing import Any

from google.protobuf import json_format, struct_pb2
from mnemo.v1 import tools_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import FailedPrecondition, InvalidArgument, NotFound
from ..ids import new_id
from ..sandbox import ToolRun, default_limits, run_tool
from ..sandbox.agent_tools import SERVER_PARAMS, function_name, prepare_agent_tool, run_agent_tool
from ..sandbox.isolation import SandboxUnavailable
from ..sandbox.packages import RequirementError, ToolPackages, npm_spec, npm_specs, pip_spec, pip_specs
from ..sandbox.process import sandbox_status
from ..sandbox.redact import Redactor
from ..sandbox.typescript import TypeScriptError, compile_typescript, run_typescript_tool
from ..storage import convert
from ..storage import tools as store
from ..storage.paging import page_from
from ..tools.builtin import BUILTIN_TOOLS
from ..tools.schema import (
    ToolSourceError,
    check_source_limits,
    parse_tool_name_and_description,
    parse_tool_source,
    schema_from_args_json_schema,
    validate_json_schema,
)
from . import validate
from .db import get_or_not_found, transaction

log = logging.getLogger("mnemo.tools")

DEFAULT_RETURN_CHAR_LIMIT = 50_000
SOURCE_TYPES = ("python", "typescript")


def is_builtin(tool: tools_pb2.Tool) -> bool:
    return tool.tool_type.startswith("letta_")


def _requirements(field: str, items: list[Any]) -> list[dict[str, Any]]:
    """The requirements as stored ({"name", "version"}), each checked to be a
    registry package and a version or range (INVALID_ARGUMENT naming it)."""
    out = []
    for i, item in enumerate(items):
        if isinstance(item, tools_pb2.PackageRequirement):
            name, version = item.name, (item.version if item.HasField("version") else None)
        elif isinstance(item, dict):
            name, version = item.get("name"), item.get("version")
        else:
            raise InvalidArgument(f"{field}[{i}]", "must be an object with 'name' and optional 'version'")
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgument(f"{field}[{i}].name", "is required")
        if version is not None and not isinstance(version, str):
            raise InvalidArgument(f"{field}[{i}].version", "must be a string")
        try:
            (pip_spec if field == "pip_requirements" else npm_spec)(f"{field}[{i}]", name, version)
        except RequirementError as exc:
            raise InvalidArgument(exc.field, exc.detail) from None
        out.append({"name": name, **({"version": version} if version else {})})
    return out


def _check_requirement_kinds(source_type: str, pip: list[Any], npm: list[Any]) -> None:
    """A Python tool takes pip_requirements, a TypeScript tool npm_requirements."""
    if source_type == "typescript" and pip:
        raise InvalidArgument("pip_requirements", "a TypeScript tool takes npm_requirements, not pip_requirements")
    if source_type != "typescript" and npm:
        raise InvalidArgument("npm_requirements", "a Python tool takes pip_requirements; npm_requirements are for "
                                                  "TypeScript tools (source_type 'typescript')")


def _typescript_schema(source_code: str, json_schema: dict | None, args_schema: dict | None,
                       description: str | None) -> tuple[str, str | None, dict]:
    """(name, description, json_schema) of a TypeScript tool: its json_schema,
    which is required (nothing is derived from TypeScript types, as in Letta)."""
    _check_source(source_code)
    if args_schema:
        raise InvalidArgument("args_json_schema", "is not supported for TypeScript tools: give json_schema")
    if not json_schema:
        raise InvalidArgument("json_schema", "is required for a TypeScript tool (source_type 'typescript'): its "
                                             "name and parameters are not derived from the source")
    try:
        schema = validate_json_schema(json_schema)
    except ToolSourceError as exc:
        raise InvalidArgument("json_schema", str(exc)) from None
    if description:
        schema = {**schema, "description": description}
    return schema["name"], schema.get("description"), schema


def _check_source(source_code: str) -> None:
    """InvalidArgument("source_code") if the source exceeds a size limit."""
    try:
        check_source_limits(source_code)
    except ToolSourceError as exc:
        raise InvalidArgument("source_code", str(exc)) from None


def _schema(source_code: str, json_schema: dict | None, args_schema: dict | None,
            description: str | None) -> tuple[str, str | None, dict]:
    """(name, description, json_schema) from the source and any explicit schema.

    CPU-bound on user input: callers on the event loop run it in a worker
    thread (asyncio.to_thread)."""
    _check_source(source_code)
    field = "json_schema" if json_schema else "source_code"
    try:
        if json_schema:
            schema = validate_json_schema(json_schema)
        elif args_schema:
            # The arguments come from args_json_schema; the source gives only
            # the name and the description (its Args: section is not needed).
            name, doc = parse_tool_name_and_description(source_code)
            field = "args_json_schema"
            schema = schema_from_args_json_schema(name, doc, args_schema)
        else:
            schema = parse_tool_source(source_code).json_schema
    except ToolSourceError as exc:
        raise InvalidArgument(field, str(exc)) from None
    if description:
        schema = {**schema, "description": description}
    return schema["name"], schema.get("description"), schema


def create_values(request: tools_pb2.CreateToolRequest) -> dict[str, Any]:
    source_type = request.source_type if request.HasField("source_type") else "python"
    validate.one_of("source_type", source_type, SOURCE_TYPES)
    validate.required("source_code", request.source_code)
    json_schema = convert.struct_to_dict(request.json_schema) if request.HasField("json_schema") else None
    args_schema = convert.struct_to_dict(request.args_json_schema) if request.HasField("args_json_schema") else None
    build = _typescript_schema if source_type == "typescript" else _schema
    name, description, schema = build(
        request.source_code, json_schema, args_schema, request.description if request.HasField("description") else None
    )
    limit = request.return_char_limit if request.HasField("return_char_limit") else DEFAULT_RETURN_CHAR_LIMIT
    validate.positive("return_char_limit", limit)
    pip = _requirements("pip_requirements", list(request.pip_requirements))
    npm = _requirements("npm_requirements", list(request.npm_requirements))
    _check_requirement_kinds(source_type, pip, npm)
    return {
        "id": new_id("tool"), "name": name, "description": description, "tool_type": "custom",
        "source_type": source_type, "source_code": request.source_code, "json_schema": schema,
        "args_json_schema": args_schema, "tags": convert.unique(request.tags), "return_char_limit": limit,
        "pip_requirements": pip,
        "npm_requirements": npm,
        "metadata": convert.struct_to_dict(request.metadata_),
        "default_requires_approval": request.default_requires_approval,
        "enable_parallel_execution": request.enable_parallel_execution,
        "project_id": request.project_id if request.HasField("project_id") else None,
    }


def _json_numbers(value: Any) -> Any:
    """Struct numbers are doubles: give whole numbers back as ints, as JSON
    parsing would (3 -> 3, not 3.0), so `range(n)` works in a tool."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    return value


def _call_args(request: Any, required: list[str], function: str) -> dict[str, Any]:
    args = _json_numbers(convert.struct_to_dict(request.args)) if request.HasField("args") else {}
    for name in SERVER_PARAMS:
        if name in args:
            raise InvalidArgument(f"args.{name}", "is filled in by the server and cannot be given")
    missing = [name for name in required if name not in args]
    if missing:
        names = ", ".join(f"'{name}'" for name in missing)
        raise InvalidArgument(f"args.{missing[0]}", f"missing required argument {names} of {function}()")
    return args


def _required_params(source_code: str, function: str) -> list[str]:
    """Parameters without a default of a top-level function (the server's own
    parameters aside); raises InvalidArgument("name") if there is no such
    function."""
    module = ast.parse(source_code)
    for node in reversed(module.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            without_default = positional[: len(positional) - len(args.defaults)]
            without_default += [a for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
            return [a.arg for a in without_default if a.arg not in SERVER_PARAMS and a.arg != "self"]
    raise InvalidArgument("name", f"source_code defines no top-level function named '{function}'")


def _func_return_value(value: Any) -> struct_pb2.Value:
    out = struct_pb2.Value()
    try:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("not a JSON number")
        json_format.ParseDict(value, out)
    except (json_format.ParseError, TypeError, ValueError):
        out.string_value = str(value)
    return out


def execution_result(run: ToolRun) -> tools_pb2.ToolExecutionResult:
    result = tools_pb2.ToolExecutionResult(status=run.status, stdout=run.stdout, stderr=run.stderr)
    result.func_return.CopyFrom(_func_return_value(run.func_return))
    return result


def _parse_for_run(request: tools_pb2.RunToolFromSourceRequest) -> tuple[str, list[str]]:
    """(function to call, its required parameters) for RunToolFromSource.
    CPU-bound on user input: run in a worker thread."""
    json_schema = convert.struct_to_dict(request.json_schema) if request.HasField("json_schema") else None
    args_schema = convert.struct_to_dict(request.args_json_schema) if request.HasField("args_json_schema") else None
    schema_name, _, schema = _schema(request.source_code, json_schema, args_schema, None)
    try:
        parse_tool_name_and_description(request.source_code)  # the source must parse, whatever the schema
    except ToolSourceError as exc:
        raise InvalidArgument("source_code", str(exc)) from None
    function = (request.name if request.HasField("name") and request.name.strip()
                else function_name(request.source_code, schema_name))
    if function == schema_name and not json_schema:
        required = list(schema.get("parameters", {}).get("required", []))
        _required_params(request.source_code, function)  # the function exists
    else:
        required = _required_params(request.source_code, function)
    return function, required


class Tools:
    def __init__(self, engine: AsyncEngine, packages: ToolPackages | None = None):
        self.engine = engine
        self.packages = packages  # requirement sets and compiled TypeScript (sandbox/packages.py)

    async def _check_typescript(self, source_code: str, function: str) -> None:
        """Compiles a TypeScript tool (cached for its calls): INVALID_ARGUMENT
        naming source_code when it does not compile or lacks the function. When
        the compiler cannot run here (no sandbox, no Node, no registry), the
        tool is saved and its calls report why."""
        if self.packages is None:
            return
        try:
            await compile_typescript(self.packages, source_code, function, node=self.packages.node_setting)
        except TypeScriptError as exc:
            raise InvalidArgument("source_code", f"{exc.kind}: {exc}") from None
        except (SandboxUnavailable, RequirementError) as exc:
            log.warning("TypeScript tool %s saved without compiling it: %s", function, exc)

    async def seed_builtins(self) -> None:
        """Creates or refreshes the built-in tools (run at every start)."""
        async with transaction(self.engine) as conn:
            for tool in BUILTIN_TOOLS.values():
                await store.upsert_by_name(conn, {
                    "id": new_id("tool"), "name": tool.name, "description": tool.description,
                    "tool_type": tool.tool_type, "source_type": "python", "json_schema": tool.json_schema,
                    "return_char_limit": DEFAULT_RETURN_CHAR_LIMIT, "tags": [],
                })

    async def upsert_base_tools(self) -> list[tools_pb2.Tool]:
        """Restores every built-in tool and returns them, in registry order."""
        await self.seed_builtins()
        async with self.engine.connect() as conn:
            found = {t.name: t for t in await store.list_tools(
                conn, page_from(tools_pb2.ListToolsRequest(limit=1000)), names=list(BUILTIN_TOOLS))}
        return [found[name] for name in BUILTIN_TOOLS]

    async def create(self, request: tools_pb2.CreateToolRequest) -> tools_pb2.Tool:
        values = await asyncio.to_thread(create_values, request)
        if values["source_type"] == "typescript":
            await self._check_typescript(values["source_code"], values["name"])
        async with transaction(self.engine) as conn:
            return await store.insert_tool(conn, values)

    async def upsert(self, request: tools_pb2.CreateToolRequest) -> tools_pb2.Tool:
        values = await asyncio.to_thread(create_values, request)
        if values["source_type"] == "typescript":
            await self._check_typescript(values["source_code"], values["name"])
        async with transaction(self.engine) as conn:
            existing = await store.get_by_name(conn, values["name"])
            if existing is not None and is_builtin(existing):
                raise FailedPrecondition(f"'{existing.name}' is a built-in tool and cannot be replaced")
            if existing is not None and existing.tool_type == "external_mcp":
                raise FailedPrecondition(f"'{existing.name}' is a tool of an MCP server and cannot be replaced")
            return await store.upsert_by_name(conn, values)

    async def get(self, tool_id: str) -> tools_pb2.Tool:
        return await get_or_not_found(self.engine, "tool", "tool_id", tool_id, store.get)

    async def list(self, request: tools_pb2.ListToolsRequest) -> list[tools_pb2.Tool]:
        page = page_from(request)
        async with self.engine.connect() as conn:
            return await store.list_tools(
                conn, page, name=request.name if request.HasField("name") else None, names=list(request.names),
                tool_ids=list(request.tool_ids), search=request.search if request.HasField("search") else None,
                tool_types=list(request.tool_types), exclude_tool_types=list(request.exclude_tool_types),
                only_builtin=request.return_only_letta_tools,
            )

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            return await store.count(conn)

    async def update(self, request: tools_pb2.UpdateToolRequest) -> tools_pb2.Tool:
        validate.required("tool_id", request.tool_id)
        async with transaction(self.engine) as conn:
            tool = await store.get(conn, request.tool_id)
            if tool is None:
                raise NotFound("tool", request.tool_id)
            if is_builtin(tool):
                raise FailedPrecondition(f"'{tool.name}' is a built-in tool and cannot be changed")
            changes: dict[str, Any] = {}
            has = request.HasField
            if tool.tool_type == "external_mcp":
                for name in ("source_code", "source_type", "json_schema", "args_json_schema", "description"):
                    if has(name):
                        raise FailedPrecondition(f"'{tool.name}' comes from an MCP server: its {name} is the "
                                                 "server's (refresh the server to update it)")
            if has("source_type"):
                changes["source_type"] = validate.one_of("source_type", request.source_type, SOURCE_TYPES)
            source_type = changes.get("source_type") or tool.source_type or "python"
            typescript = source_type == "typescript"
            if has("source_code") or has("json_schema") or has("args_json_schema") or "source_type" in changes:
                source = request.source_code if has("source_code") else tool.source_code
                validate.required("source_code", source)
                args_schema = (convert.struct_to_dict(request.args_json_schema) if has("args_json_schema")
                               else None)
                json_schema = convert.struct_to_dict(request.json_schema) if has("json_schema") else None
                if typescript and json_schema is None:
                    json_schema = convert.struct_to_dict(tool.json_schema)  # a TypeScript tool keeps its schema
                name, description, schema = await asyncio.to_thread(
                    _typescript_schema if typescript else _schema, source, json_schema,
                    args_schema, request.description if has("description") else None,
                )
                if typescript:
                    await self._check_typescript(source, name)
                changes.update(source_code=source, name=name, description=description, json_schema=schema)
                if args_schema is not None:
                    changes["args_json_schema"] = args_schema
            elif has("description"):
                schema = {**convert.struct_to_dict(tool.json_schema), "description": request.description}
                changes.update(description=request.description, json_schema=schema)
            if has("tags"):
                changes["tags"] = convert.unique(validate.strings("tags", convert.list_value_to_list(request.tags)))
            if has("return_char_limit"):
                changes["return_char_limit"] = validate.positive("return_char_limit", request.return_char_limit)
            for name in ("pip_requirements", "npm_requirements"):
                if has(name):
                    changes[name] = _requirements(name, convert.list_value_to_list(getattr(request, name)))
            if {"pip_requirements", "npm_requirements", "source_type"} & changes.keys():
                _check_requirement_kinds(
                    source_type,
                    changes.get("pip_requirements", [p.name for p in tool.pip_requirements]),
                    changes.get("npm_requirements", [p.name for p in tool.npm_requirements]))
            for name in ("default_requires_approval", "enable_parallel_execution"):
                if has(name):
                    changes[name] = getattr(request, name)
            if has("metadata_"):
                changes["metadata"] = convert.struct_to_dict(request.metadata_)
            if not changes:
                return tool
            return await store.update_fields(conn, tool.id, changes)

    async def delete(self, tool_id: str) -> None:
        validate.required("tool_id", tool_id)
        async with transaction(self.engine) as conn:
            tool = await store.get(conn, tool_id)
            if tool is None:
                raise NotFound("tool", tool_id)
            if is_builtin(tool):
                raise FailedPrecondition(f"'{tool.name}' is a built-in tool and cannot be deleted")
            await store.delete_tool(conn, tool_id)

    async def run_from_source(self, request: tools_pb2.RunToolFromSourceRequest) -> tools_pb2.ToolExecutionResult:
        """Builds a tool from source (as CreateTool would, without saving it)
        and runs it once in the sandbox."""
        source_type = request.source_type if request.HasField("source_type") else "python"
        validate.one_of("source_type", source_type, SOURCE_TYPES)
        validate.required("source_code", request.source_code)
        pip = _requirements("pip_requirements", list(request.pip_requirements))
        npm = _requirements("npm_requirements", list(request.npm_requirements))
        _check_requirement_kinds(source_type, pip, npm)
        if source_type == "typescript":
            return await self._run_typescript_from_source(request, npm)
        function, required = await asyncio.to_thread(_parse_for_run, request)
        args = _call_args(request, required, function)
        limits = default_limits().with_timeout(
            request.timeout_seconds if request.HasField("timeout_seconds") else None)
        await _require_sandbox()
        # The tool gets the request's env_vars and nothing else (no agent's
        # secrets, nothing of the server's environment); their values are
        # redacted from what it returns.
        env = dict(request.env_vars)
        run = await run_tool(
            request.source_code, function, args, env=env, agent_state=None, limits=limits,
            pip_requirements=pip_specs([(r["name"], r.get("version")) for r in pip]), packages=self.packages,
        )
        return execution_result(Redactor(env).run(run))

    async def _run_typescript_from_source(self, request: tools_pb2.RunToolFromSourceRequest,
                                          npm: list[dict[str, Any]]) -> tools_pb2.ToolExecutionResult:
        json_schema = convert.struct_to_dict(request.json_schema) if request.HasField("json_schema") else None
        args_schema = convert.struct_to_dict(request.args_json_schema) if request.HasField("args_json_schema") else None
        name, _, schema = _typescript_schema(request.source_code, json_schema, args_schema, None)
        function = request.name if request.HasField("name") and request.name.strip() else name
        required = list((schema.get("parameters") or {}).get("required") or [])
        args = _call_args(request, required, function)
        limits = default_limits().with_timeout(
            request.timeout_seconds if request.HasField("timeout_seconds") else None)
        await _require_sandbox()
        if self.packages is None:
            raise FailedPrecondition("TypeScript tools need the server's package cache")
        await self._check_typescript(request.source_code, function)
        env = dict(request.env_vars)
        run = await run_typescript_tool(
            self.packages, request.source_code, function, args, json_schema=schema, env=env,
            npm_requirements=npm_specs([(r["name"], r.get("version")) for r in npm]), limits=limits)
        return execution_result(Redactor(env).run(run))

    async def run_for_agent(self, request: tools_pb2.RunAgentToolRequest, secret_box: Any,
                            ) -> tools_pb2.ToolExecutionResult:
        """Runs a custom tool attached to an agent, with its secrets and state."""
        validate.required("agent_id", request.agent_id)
        validate.required("tool_name", request.tool_name)
        call = await prepare_agent_tool(self.engine, secret_box, request.agent_id, request.tool_name)
        parameters = convert.struct_to_dict(call.tool.json_schema).get("parameters") or {}
        args = _call_args(request, list(parameters.get("required") or []), call.function_name)
        await _require_sandbox()
        return execution_result(await run_agent_tool(call, args, packages=self.packages))


async def _require_sandbox() -> None:
    """FAILED_PRECONDITION, naming the fix, when this server cannot sandbox
    custom tools (bubblewrap missing or unusable); never a silent downgrade."""
    problem = await asyncio.to_thread(sandbox_status)
    if problem:
        raise FailedPrecondition(problem)
