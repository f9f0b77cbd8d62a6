"""An agent's custom tools: loading one with what it needs, running it in the
sandbox, and turning the outcome into the text the model reads.

:func:`execute_custom_tool` is the agent loop's entry point; the RunAgentTool
RPC (core/tools.py) uses :func:`prepare_agent_tool` and :func:`run_agent_tool`,
so both paths run the same code.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from typing import Any

from mnemo.v1 import agents_pb2, tools_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import FailedPrecondition, MnemoError, NotFound
from ..storage import agents as agent_store
from ..storage import convert
from .packages import RequirementError, ToolPackages, npm_specs, pip_specs
from .process import SandboxLimits, ToolRun, run_tool
from .redact import Redactor
from .typescript import run_typescript_tool

# Parameters the server fills in; a caller (or a model) cannot set them.
SERVER_PARAMS = frozenset({"agent_state"})
ERROR_CHAR_LIMIT = 1000


@dataclass
class AgentToolCall:
    """A custom tool of an agent, ready to run."""

    tool: tools_pb2.Tool
    function_name: str
    env: dict[str, str]
    agent_state: dict[str, Any]
    # Replaces the values of all of the agent's secrets (not only those this
    # tool receives) in what the call returns and prints.
    redactor: Redactor = field(default_factory=lambda: Redactor({}))


def agent_snapshot(agent: agents_pb2.Agent) -> dict[str, Any]:
    """What a tool's ``agent_state`` parameter shows of the agent (read-only).

    In the tool: ``agent_state.id``, ``.name``, ``.tags``, ``.metadata``,
    ``.memory.get_block("human").value``, ``.memory.blocks``, ``.blocks["human"]``
    (label to value), ``.tool_names``...
    """
    blocks = [{
        "id": b.id, "label": b.label, "value": b.value, "limit": b.limit,
        "description": b.description if b.HasField("description") else None, "read_only": b.read_only,
    } for b in agent.blocks]
    return {
        "id": agent.id,
        "name": agent.name,
        "description": agent.description if agent.HasField("description") else None,
        "agent_type": agent.agent_type,
        "model": agent.model if agent.HasField("model") else None,
        "tags": list(agent.tags),
        "metadata": convert.struct_to_dict(agent.metadata),
        "project_id": agent.project_id if agent.HasField("project_id") else None,
        "memory": {"blocks": blocks},
        "blocks": {b["label"]: b["value"] for b in blocks},
        "tools": [{"id": t.id, "name": t.name, "tool_type": t.tool_type} for t in agent.tools],
        "tool_names": [t.name for t in agent.tools],
    }


def function_name(source_code: str, tool_name: str) -> str:
    """The function to call: the one named like the tool, else the last
    top-level function (a tool whose schema was given explicitly may be named
    differently from its function)."""
    try:
        module = ast.parse(source_code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return tool_name  # the sandbox reports the syntax error
    names = [n.name for n in module.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if tool_name in names or not names:
        return tool_name
    return names[-1]


def _pairs(items: Any) -> list[tuple[str, str | None]]:
    return [(p.name, p.version if p.HasField("version") and p.version else None) for p in items]


def pip_requirement_strings(tool: tools_pb2.Tool) -> list[str]:
    """The tool's pip_requirements as pip specs (RequirementError naming one
    that is not a plain name and version)."""
    return pip_specs(_pairs(tool.pip_requirements))


def npm_requirement_strings(tool: tools_pb2.Tool) -> list[str]:
    return npm_specs(_pairs(tool.npm_requirements))


def is_typescript(tool: tools_pb2.Tool) -> bool:
    return tool.HasField("source_type") and tool.source_type == "typescript"


async def prepare_agent_tool(engine: AsyncEngine, secret_box: Any, agent_id: str, tool_name: str) -> AgentToolCall:
    """Loads an attached custom tool, the agent's decrypted secrets and its
    snapshot. The tool receives the secrets its agent's ``tool_secrets`` lists
    for it, or all of them when it is not listed. Raises NotFound (agent, or
    tool not attached) or FailedPrecondition (a built-in tool; undecryptable
    secrets)."""
    async with engine.connect() as conn:
        found = await agent_store.load(conn, [agent_id])
        if not found:
            raise NotFound("agent", agent_id)
        agent = found[0]
        tool = next((t for t in agent.tools if t.name == tool_name), None)
        if tool is None:
            raise NotFound(f"tool attached to agent '{agent_id}'", tool_name, by="name")
        if tool.tool_type != "custom":
            raise FailedPrecondition(
                f"'{tool_name}' is a built-in tool ({tool.tool_type}); built-in tools run only inside the agent loop"
            )
        sealed = await agent_store.secrets(conn, agent_id)
    secrets = {key: secret_box.open(value) for key, value in sealed.items()} if sealed else {}
    allowed = tool_secret_names(agent, tool.name)
    env = dict(secrets) if allowed is None else {k: v for k, v in secrets.items() if k in allowed}
    env.update(LETTA_AGENT_ID=agent.id, MNEMO_AGENT_ID=agent.id, LETTA_TOOL_ID=tool.id, MNEMO_TOOL_ID=tool.id)
    if agent.HasField("project_id"):
        env["LETTA_PROJECT_ID"] = agent.project_id
    function = tool.name if is_typescript(tool) else function_name(tool.source_code, tool.name)
    return AgentToolCall(tool=tool, function_name=function, env=env,
                         agent_state=agent_snapshot(agent), redactor=Redactor(secrets))


def tool_secret_names(agent: agents_pb2.Agent, tool_name: str) -> set[str] | None:
    """The secrets `tool_name` may receive, or None for all of them."""
    if not agent.HasField("tool_secrets"):
        return None
    names = convert.struct_to_dict(agent.tool_secrets).get(tool_name)
    if names is None:
        return None
    return {str(n) for n in names} if isinstance(names, list) else set()


async def run_agent_tool(call: AgentToolCall, arguments: dict[str, Any], *,
                         limits: SandboxLimits | None = None, packages: ToolPackages | None = None) -> ToolRun:
    """One call (Python, or TypeScript under Node), with the tool's
    requirements installed (once per set) when `packages` is given, and every
    secret value of the agent redacted from the outcome (return value, stdout,
    stderr, error)."""
    arguments = {k: v for k, v in arguments.items() if k not in SERVER_PARAMS}
    tool = call.tool
    try:
        if is_typescript(tool):
            if packages is None:
                raise RequirementError("source_type", "TypeScript tools need the server's package cache")
            run = await run_typescript_tool(
                packages, tool.source_code, call.function_name, arguments,
                json_schema=convert.struct_to_dict(tool.json_schema), env=call.env,
                npm_requirements=npm_requirement_strings(tool), limits=limits, tool_name=tool.name)
        else:
            run = await run_tool(tool.source_code, call.function_name, arguments, env=call.env,
                                 agent_state=call.agent_state, limits=limits,
                                 pip_requirements=pip_requirement_strings(tool), tool_name=tool.name,
                                 packages=packages)
    except RequirementError as exc:
        run = ToolRun(status="error", func_return=f"Error executing function {call.function_name}: "
                      f"RequirementError: {exc}", error=f"RequirementError: {exc}")
    return call.redactor.run(run)


def return_text(value: Any) -> str:
    """A function's return value as the model reads it (as Letta does: strings
    as they are, objects and lists as JSON, the rest with str())."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def truncate(text: str, limit: int) -> str:
    if limit > 0 and len(text) > limit:
        return (f"{text[:limit]}... [NOTE: function output was truncated since it exceeded the character limit "
                f"({len(text)} > {limit})]")
    return text


def model_text(run: ToolRun, return_char_limit: int) -> str:
    """The tool message's content: the return value cut at the tool's
    return_char_limit, or for an error the message ("Error executing function
    f: ValueError: ...") with the line of the tool's code it came from, so the
    model can correct its call; errors are cut at 1000 characters (as Letta
    does), whatever the return limit."""
    if run.status == "success":
        return truncate(return_text(run.func_return), return_char_limit)
    text = str(run.func_return)
    where = _last_tool_line(run.error or "")
    if where:
        text = f"{text} ({where})"
    return truncate(text, ERROR_CHAR_LIMIT)


def _last_tool_line(error: str) -> str | None:
    lines = [line.strip() for line in error.splitlines() if line.strip().startswith('File "<tool ')]
    if not lines:
        return None
    # 'File "<tool f>", line 3, in f' -> 'line 3, in f'
    return lines[-1].split(",", 1)[1].strip() if "," in lines[-1] else None


async def execute_custom_tool(ctx: Any, tool_name: str, arguments: dict[str, Any], *,
                              secret_box: Any = None, packages: ToolPackages | None = None,
                              ) -> tuple[str, str, list[str], list[str]]:
    """Runs one call of an agent's custom tool in the sandbox; for the agent loop.

    Args:
        ctx: The loop's ToolContext: ``ctx.engine``, ``ctx.agent_id`` and
            ``ctx.services`` (whose ``secrets`` SecretBox decrypts the agent's
            secrets, unless `secret_box` is given).
        packages: The server's package cache (the tool's requirements,
            compiled TypeScript).
        tool_name: Name of the tool the model called.
        arguments: The call's arguments, as the model sent them.

    Returns:
        ``(status, text, stdout, stderr)``: "success" or "error"; the text the
        model reads (the return value, or a readable error, cut at the tool's
        return_char_limit); what the tool printed. Never raises for a failure of
        the tool or of its lookup; those come back as "error".
    """
    box = secret_box if secret_box is not None else getattr(getattr(ctx, "services", None), "secrets", None)
    if box is None:
        return "error", f"Error executing function {tool_name}: the server cannot decrypt the agent's secrets", [], []
    try:
        call = await prepare_agent_tool(ctx.engine, box, ctx.agent_id, tool_name)
    except MnemoError as exc:
        return "error", f"Error executing function {tool_name}: {exc.message}", [], []
    if not isinstance(arguments, dict):
        return "error", f"Error executing function {tool_name}: the arguments must be a JSON object", [], []
    run = await run_agent_tool(call, arguments, packages=packages)
    return run.status, model_text(run, call.tool.return_char_limit), run.stdout, run.stderr
