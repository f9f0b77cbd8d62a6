"""The interface between the agent loop and language models.

The loop speaks only these types. Each provider module (openai_chat,
anthropic_messages, offline) turns an LLMRequest into its wire format through
the official SDK, and turns the answer back into an LLMResponse, reporting
Deltas while it streams. Errors surface as LLMError with a `kind` the loop maps
to a stop reason.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCallOut:
    """A complete tool call made by the model."""

    id: str
    name: str
    arguments: str  # JSON text, exactly as the model produced it


@dataclass
class ChatMessage:
    """One message of the prompt, provider-neutral.

    - system/user: `text`.
    - assistant: `text` (the visible answer), optional `reasoning` (+ provider
      `reasoning_signature`, needed to replay Anthropic thinking), and
      `tool_calls`.
    - tool: `text` is the result, `tool_call_id` the call it answers, `name`
      the tool's name.
    """

    role: Role
    text: str = ""
    reasoning: str | None = None
    reasoning_signature: str | None = None
    tool_calls: list[ToolCallOut] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the model (OpenAI-style function schema parts)."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass
class LLMRequest:
    model: str
    messages: list[ChatMessage]
    tools: list[ToolSpec] = field(default_factory=list)
    # "auto", "required" (must call some tool), "none", or a tool name (must call it).
    tool_choice: str = "auto"
    max_tokens: int | None = None
    temperature: float | None = None
    parallel_tool_calls: bool = False
    # Ask for native reasoning where the model supports it.
    reasoning: bool = False
    # How hard to reason (OpenAI's reasoning_effort: "none" … "xhigh"), when set.
    reasoning_effort: str | None = None
    # Tokens the model may spend reasoning (Anthropic's and Gemini's thinking budget), when set.
    reasoning_budget: int | None = None


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.total_tokens += other.total_tokens
        self.cached_input_tokens += other.cached_input_tokens
        self.reasoning_tokens += other.reasoning_tokens


@dataclass
class LLMResponse:
    text: str = ""
    reasoning: str | None = None
    reasoning_signature: str | None = None
    tool_calls: list[ToolCallOut] = field(default_factory=list)
    # "stop", "tool_calls" or "length" (OpenAI's vocabulary, for every provider).
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class Delta:
    """A piece of a streamed answer.

    kind "text" / "reasoning": `text` is the new fragment.
    kind "tool_call": `index` tells calls apart; `tool_call_id` and `name`
    come with the first fragment of a call, `arguments` is a JSON fragment.
    """

    kind: Literal["text", "reasoning", "tool_call"]
    text: str = ""
    index: int = 0
    tool_call_id: str | None = None
    name: str | None = None
    arguments: str = ""


OnDelta = Callable[[Delta], Awaitable[None]]

ErrorKind = Literal[
    "rate_limit", "timeout", "connection", "auth", "bad_request", "not_found", "server",
    "context_window_exceeded", "empty_response", "invalid_response",
]


class LLMError(Exception):
    """A model call that failed. `retryable` errors were already retried."""

    def __init__(self, kind: ErrorKind, message: str, *, status: int | None = None, provider: str = ""):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.provider = provider
        self.message = message
        # Seconds the provider asked to wait, when it said so in the body
        # (Gemini's RetryInfo); headers are read from the cause (registry.py).
        self.retry_after: float | None = None


class LLMClient(Protocol):
    """A configured model endpoint."""

    async def generate(self, request: LLMRequest, on_delta: OnDelta | None = None) -> LLMResponse:
        """Calls the model. With `on_delta` the answer is streamed and each
        fragment is reported as it arrives; the full answer is returned either
        way."""
        ...

    async def aclose(self) -> None:
        """Releases connections."""
        ...
