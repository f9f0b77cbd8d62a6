"""The tool sandbox: custom tools run in a separate, limited process.

- :func:`run_tool` runs one call of a tool's source in a fresh interpreter
  (``process.py`` starts it, ``runner.py`` runs inside it);
- :func:`execute_custom_tool` (``agent_tools.py``) is what the agent loop calls
  for a custom tool: it loads the tool, the agent's secrets and a snapshot of
  the agent, runs the call and formats the result for the model.

See docs/sandbox.md for what the sandbox stops and what it does not.
"""
from .process import SandboxLimits, ToolRun, default_limits, run_tool

__all__ = ["SandboxLimits", "ToolRun", "default_limits", "execute_custom_tool", "run_tool"]


def __getattr__(name: str):
    # Imported lazily: agent_tools needs the storage layer, run_tool does not.
    if name == "execute_custom_tool":
        from .agent_tools import execute_custom_tool

        return execute_custom_tool
    raise AttributeError(name)
