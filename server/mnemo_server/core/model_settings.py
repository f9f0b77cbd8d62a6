"""An agent's `model_settings` (Letta's per-provider model options) applied to
its LlmConfig, which is what every model call reads.

Each key is honoured or refused by name, never stored and ignored:

| key | becomes |
| --- | --- |
| `provider_type` | checked against the agent's model |
| `temperature` | `llm_config.temperature` (not for Anthropic: the API version Mnemo speaks takes none) |
| `max_output_tokens` | `llm_config.max_tokens` |
| `parallel_tool_calls` | `llm_config.parallel_tool_calls` |
| `reasoning.reasoning_effort` (OpenAI) | `llm_config.reasoning_effort`, reasoning on unless "none" |
| `thinking` {type, budget_tokens} (Anthropic) | reasoning on/off, `llm_config.max_reasoning_tokens` |
| `thinking_config` {include_thoughts, thinking_budget} (Gemini) | reasoning on/off, `max_reasoning_tokens` |
| `response_format` other than `{"type": "text"}`, `response_schema`, `strict: true`, `effort`, `verbosity` | refused (not supported yet) |
"""
from __future__ import annotations

from typing import Any

from mnemo.v1 import models_pb2

from ..errors import InvalidArgument
from .catalog import OFFLINE_PROVIDER_TYPE, is_offline

REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
MIN_THINKING_BUDGET = 1024  # the smallest budget Anthropic accepts
UNSUPPORTED = {
    "response_format": "structured output is not supported yet; leave it null",
    "response_schema": "structured output is not supported yet; leave it null",
    "effort": "not supported yet; leave it null",
    "verbosity": "not supported yet; leave it null",
}


def _number(field: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidArgument(field, f"must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _count(field: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < low:
        raise InvalidArgument(field, f"must be a whole number of at least {low}, got {value!r}")
    return int(value)


def _flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgument(field, f"must be true or false, got {value!r}")
    return value


def _object(field: str, value: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidArgument(field, "must be an object")
    for key in value:
        if key not in keys:
            raise InvalidArgument(f"{field}.{key}", f"is not a known setting; known: {', '.join(keys)}")
    return value


def is_plain_text(response_format: Any) -> bool:
    """Letta's default response format, `{"type": "text"}`: plain answers, as always."""
    return isinstance(response_format, dict) and response_format == {"type": "text"}


def check_response_format(response_format: dict[str, Any], field: str = "response_format") -> None:
    """An agent's own `response_format`: only plain text until structured output lands."""
    if response_format and not is_plain_text(response_format):
        raise InvalidArgument(field, "structured output (json_object, json_schema) is not supported yet; "
                                     'use {"type": "text"} or leave it out')


def apply(settings: dict[str, Any], config: models_pb2.LlmConfig,
          field: str = "model_settings") -> models_pb2.LlmConfig:
    """A copy of `config` with `settings` applied; INVALID_ARGUMENT naming the key
    for anything unknown, malformed or not supported."""
    out = models_pb2.LlmConfig()
    out.CopyFrom(config)
    etype = config.model_endpoint_type
    for key, value in settings.items():
        name = f"{field}.{key}"
        if key in UNSUPPORTED:
            if value is not None and not (key == "response_format" and is_plain_text(value)):
                raise InvalidArgument(name, UNSUPPORTED[key])
        elif key == "provider_type":
            accepted = {etype, OFFLINE_PROVIDER_TYPE} if is_offline(config) else {etype}
            if value not in accepted:
                raise InvalidArgument(name, f"'{value}' does not match the agent's model "
                                            f"({config.handle or config.model}, provider type '{etype}')")
        elif key == "temperature":
            if etype == "anthropic" or etype == "bedrock":
                raise InvalidArgument(name, "the Anthropic API version Mnemo speaks takes no temperature")
            out.temperature = _number(name, value, 0, 2)
        elif key == "max_output_tokens":
            out.max_tokens = _count(name, value, 1)
        elif key == "parallel_tool_calls":
            out.parallel_tool_calls = _flag(name, value)
        elif key == "strict":
            if _flag(name, value):
                raise InvalidArgument(name, "strict tool calling is not supported yet; leave it false")
        elif key == "reasoning":
            effort = _object(name, value, ("reasoning_effort",)).get("reasoning_effort")
            if effort is not None:
                if effort not in REASONING_EFFORTS:
                    raise InvalidArgument(f"{name}.reasoning_effort",
                                          f"must be one of {', '.join(REASONING_EFFORTS)}, got {effort!r}")
                out.reasoning_effort = effort
                out.enable_reasoner = effort != "none"
        elif key == "thinking":
            thinking = _object(name, value, ("type", "budget_tokens"))
            kind = thinking.get("type", "enabled")
            if kind not in ("enabled", "disabled"):
                raise InvalidArgument(f"{name}.type", f"must be 'enabled' or 'disabled', got {kind!r}")
            out.enable_reasoner = kind == "enabled"
            if "budget_tokens" in thinking:
                out.max_reasoning_tokens = _count(f"{name}.budget_tokens", thinking["budget_tokens"],
                                                  MIN_THINKING_BUDGET)
        elif key == "thinking_config":
            thinking = _object(name, value, ("include_thoughts", "thinking_budget"))
            if "include_thoughts" in thinking:
                out.enable_reasoner = _flag(f"{name}.include_thoughts", thinking["include_thoughts"])
            if "thinking_budget" in thinking:
                budget = _count(f"{name}.thinking_budget", thinking["thinking_budget"], 0)
                out.max_reasoning_tokens = budget
                out.enable_reasoner = out.enable_reasoner or budget > 0
        else:
            known = ("provider_type", "temperature", "max_output_tokens", "parallel_tool_calls", "reasoning",
                     "thinking", "thinking_config", "strict", *UNSUPPORTED)
            raise InvalidArgument(name, f"is not a known setting; known: {', '.join(known)}")
    return out
