"""TypeScript tools (``source_type: "typescript"``), run with Node in the same
sandbox as Python tools.

A TypeScript tool is its source plus a ``json_schema`` (required, as in Letta:
nothing is derived from TypeScript types). The source defines a function named
like the tool (``export`` or not; ``async`` or not). Before its first call it is
compiled to an ES module with the pinned TypeScript compiler
(packages.TYPESCRIPT), itself run in the sandbox (no network), and the result is
cached by the source's hash. A call passes the arguments positionally, in the
order of the schema: its ``required`` parameters first, then the other
properties (Letta's order), an omitted optional argument as ``undefined``. The
tool's ``npm_requirements`` are installed once per set (``npm install
--ignore-scripts``) and mounted read-only at ``/node_modules``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .isolation import SandboxUnavailable
from .packages import RequirementError, ToolPackages
from .process import SandboxLimits, ToolRun, default_limits, run_node

TRANSPILER_SOURCE = (Path(__file__).resolve().parent / "transpile.mjs").read_text(encoding="utf-8")


class TypeScriptError(Exception):
    """The source does not compile: `kind` (SyntaxError, ReferenceError when
    the function is missing) and the compiler's message, which says where."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def argument_order(json_schema: dict[str, Any]) -> list[str]:
    parameters = json_schema.get("parameters") or {}
    properties = list((parameters.get("properties") or {}).keys())
    required = [name for name in parameters.get("required") or [] if name in properties]
    return required + [name for name in properties if name not in required]


def positional(json_schema: dict[str, Any], arguments: dict[str, Any]) -> list[Any]:
    """The call's arguments in the function's parameter order; unknown names
    are dropped, trailing omitted ones left out (undefined in the function)."""
    order = argument_order(json_schema)
    values: list[Any] = [arguments.get(name) for name in order]
    present = [name in arguments for name in order]
    while present and not present[-1]:
        present.pop()
        values.pop()
    return values


async def compile_typescript(packages: ToolPackages, source: str, function: str, *,
                             node: str | None = None) -> str:
    """The tool as an ES module exporting `function` (cached per source).
    Raises TypeScriptError with the compiler's message, RequirementError if the
    compiler cannot be installed."""
    cached = packages.load_compiled(source, function)
    if cached is not None:
        return cached["js"]
    compiler = await packages.typescript()
    limits = default_limits()
    run = await run_node(TRANSPILER_SOURCE, "compile", [source, function], env={}, limits=limits,
                         node_modules=compiler, node=node, network="none")
    if run.status != "success":
        first = (run.error or "").splitlines()[0] if run.error else "Error: the TypeScript compiler failed"
        kind, _, message = first.partition(": ")
        if kind in ("SandboxUnavailable", "SandboxError"):
            raise SandboxUnavailable(message)
        if kind not in ("SyntaxError", "ReferenceError"):
            raise TypeScriptError("CompileError", f"the TypeScript compiler failed: {first}")
        raise TypeScriptError(kind, message)
    compiled = run.func_return
    if not isinstance(compiled, dict) or not isinstance(compiled.get("js"), str):
        raise TypeScriptError("CompileError", "the TypeScript compiler returned nothing")
    packages.store_compiled(source, function, compiled)
    return compiled["js"]


async def run_typescript_tool(packages: ToolPackages, source: str, function: str, arguments: dict[str, Any], *,
                              json_schema: dict[str, Any], env: dict[str, str], npm_requirements: list[str],
                              limits: SandboxLimits | None = None, tool_name: str | None = None) -> ToolRun:
    """One call of a TypeScript tool. Never raises: a source that does not
    compile or a requirement that cannot be installed is the call's error."""
    try:
        module = await compile_typescript(packages, source, function, node=packages.node_setting)
        node_modules = await packages.node_modules(npm_requirements)
    except TypeScriptError as exc:
        return _error(function, exc.kind, str(exc))
    except SandboxUnavailable as exc:
        return _error(function, "SandboxUnavailable", str(exc))
    except RequirementError as exc:
        return _error(function, "RequirementError", str(exc))
    return await run_node(module, function, positional(json_schema, arguments), env=env, limits=limits,
                          tool_name=tool_name, node_modules=node_modules, node=packages.node_setting)


def _error(function: str, kind: str, message: str) -> ToolRun:
    return ToolRun(status="error", func_return=f"Error executing function {function}: {kind}: {message}",
                   error=f"{kind}: {message}")
