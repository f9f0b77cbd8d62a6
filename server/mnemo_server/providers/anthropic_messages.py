"""Anthropic Messages API, through the official `anthropic` SDK.

Anthropic differs from Chat Completions in ways the conversion below absorbs:
the system prompt is a request field, not a message; tool results travel as
`tool_result` blocks inside a user message (so consecutive results are merged
into one); tool calls are `tool_use` blocks whose input is a JSON object;
thinking is replayed only with the signature the API issued for it; and
`max_tokens` is mandatory. Sampling parameters (temperature) are not sent:
the API version the pinned SDK speaks refuses them.
"""
from __future__ import annotations

import json
import logging
import ssl
from collections.abc import AsyncIterator
from typing import Any

import anthropic

from .base import (
    ChatMessage,
    Delta,
    ErrorKind,
    LLMError,
    LLMRequest,
    LLMResponse,
    OnDelta,
    ToolCallOut,
    ToolSpec,
    Usage,
)

__all__ = ["DEFAULT_MAX_TOKENS", "DEFAULT_TIMEOUT", "AnthropicMessagesClient", "map_anthropic_error"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = anthropic.Timeout(600, connect=10)
DEFAULT_MAX_TOKENS = 4096  # Anthropic requires a limit; used when the request has none
MIN_THINKING_BUDGET = 1024  # the smallest budget_tokens the API accepts

_STOP_REASONS = {
    "end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length",
    "model_context_window_exceeded": "length", "pause_turn": "stop", "refusal": "stop",
}
_CONTEXT_MARKERS = ("prompt is too long", "context window", "context length", "maximum context length",
                    "exceed context limit", "too many tokens")
# Error types Anthropic sends inside an event stream (where the HTTP status is already 200).
_STREAM_ERROR_KINDS: dict[str, ErrorKind] = {
    "rate_limit_error": "rate_limit", "overloaded_error": "server", "api_error": "server",
    "invalid_request_error": "bad_request", "authentication_error": "auth", "permission_error": "auth",
    "not_found_error": "not_found", "request_too_large": "context_window_exceeded",
    "timeout_error": "timeout",
}


def _transport_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(timeouts, other transport failures) the SDK lets escape from a stream it is reading.

    The SDK wraps failures of the request itself, but a connection that breaks
    while events are being read surfaces as the HTTP library's own exception.
    """
    try:
        import httpx2 as http  # what these SDK versions run on
    except ImportError:  # pragma: no cover - SDK versions built on plain httpx
        import httpx as http  # type: ignore[no-redef]
    import anyio

    timeouts = (http.TimeoutException, TimeoutError)
    transport = (http.TransportError, anyio.EndOfStream, anyio.BrokenResourceError, ssl.SSLError,
                 ConnectionError)
    return timeouts, transport


_TIMEOUT_ERRORS, _TRANSPORT_ERRORS = _transport_errors()


class AnthropicMessagesClient:
    """An `LLMClient` for the Anthropic Messages API (or a compatible endpoint)."""

    provider = "anthropic"

    def __init__(self, *, api_key: str, base_url: str | None = None,
                 timeout: float | anthropic.Timeout = DEFAULT_TIMEOUT,
                 sdk: anthropic.AsyncAnthropic | anthropic.AsyncAnthropicBedrock | None = None,
                 provider: str = "anthropic", extra_body: dict[str, Any] | None = None):
        self.provider = provider
        # Body fields the endpoint needs besides the Messages API's (Bedrock's anthropic_version).
        self._extra_body = extra_body
        # Retries are the RetryingClient's job (registry.py); the SDK must not add its own.
        self._sdk = sdk or anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, timeout=timeout,
                                                    max_retries=0)

    async def aclose(self) -> None:
        await self._sdk.close()

    # -- request ------------------------------------------------------------

    def build_params(self, request: LLMRequest) -> dict[str, Any]:
        """The Messages API arguments for `request` (without `stream`)."""
        system, messages = to_anthropic_messages(request.messages)
        max_tokens = request.max_tokens or DEFAULT_MAX_TOKENS
        params: dict[str, Any] = {"model": request.model, "max_tokens": max_tokens, "messages": messages}
        if system:
            params["system"] = system
        forced = bool(request.tools) and request.tool_choice not in ("auto", "none")
        if request.tools:
            params["tools"] = [_tool(spec) for spec in request.tools]
            params["tool_choice"] = _tool_choice(request.tool_choice, request.parallel_tool_calls)
        # Extended thinking needs room beside the answer, and the API refuses it
        # together with forced tool use; then the answer goes without thinking.
        thinking = request.reasoning and not forced and max_tokens > MIN_THINKING_BUDGET
        if thinking:
            wanted = request.reasoning_budget or max_tokens // 2
            budget = max(MIN_THINKING_BUDGET, min(wanted, max_tokens - 1))
            params["thinking"] = {"type": "enabled", "budget_tokens": budget}
        elif request.reasoning:
            log.debug("thinking left off for %s (forced tool use or max_tokens %d too small)",
                      request.model, max_tokens)
        # No temperature: the API version this SDK speaks rejects every sampling
        # parameter (temperature, top_p, top_k), and the SDK no longer has them.
        if self._extra_body:
            params["extra_body"] = self._extra_body
        return params

    async def generate(self, request: LLMRequest, on_delta: OnDelta | None = None) -> LLMResponse:
        params = self.build_params(request)
        if on_delta is None:
            try:
                message = await self._sdk.messages.create(**params)
            except anthropic.APIError as exc:
                raise map_anthropic_error(exc, self.provider) from exc
            response = _from_message(message)
        else:
            response = await self._stream(params, on_delta)
        if not response.text and not response.tool_calls:
            raise LLMError("empty_response", f"{request.model} answered with neither text nor a tool call",
                           provider=self.provider)
        return response

    # -- streamed answers ---------------------------------------------------

    async def _stream(self, params: dict[str, Any], on_delta: OnDelta) -> LLMResponse:
        try:
            stream = await self._sdk.messages.create(**params, stream=True)
        except anthropic.APIError as exc:
            raise map_anthropic_error(exc, self.provider) from exc

        text: list[str] = []
        reasoning: list[str] = []
        signature: str | None = None
        # content block index -> (tool-call ordinal, id, name, JSON fragments)
        tools: dict[int, tuple[int, str, str, list[str]]] = {}
        stop_reason: str | None = None
        counts: dict[str, int] = {}
        async with stream:
            # on_delta runs here, outside the SDK error mapping: its own failures pass through as they are.
            async for event in self._events(stream):
                kind = event.type
                if kind == "message_start":
                    counts = _counts(event.message.usage, counts)
                elif kind == "content_block_start":
                    block = event.content_block
                    if block.type == "tool_use":
                        ordinal = len(tools)
                        tools[event.index] = (ordinal, block.id, block.name, [])
                        await on_delta(Delta(kind="tool_call", index=ordinal, tool_call_id=block.id,
                                             name=block.name))
                    elif block.type == "text" and block.text:
                        text.append(block.text)
                        await on_delta(Delta(kind="text", text=block.text))
                    elif block.type == "thinking" and block.thinking:
                        reasoning.append(block.thinking)
                        await on_delta(Delta(kind="reasoning", text=block.thinking))
                elif kind == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta":
                        text.append(delta.text)
                        await on_delta(Delta(kind="text", text=delta.text))
                    elif delta.type == "thinking_delta":
                        reasoning.append(delta.thinking)
                        await on_delta(Delta(kind="reasoning", text=delta.thinking))
                    elif delta.type == "signature_delta":
                        signature = delta.signature
                    elif delta.type == "input_json_delta" and event.index in tools:
                        ordinal, _, _, fragments = tools[event.index]
                        fragments.append(delta.partial_json)
                        await on_delta(Delta(kind="tool_call", index=ordinal, arguments=delta.partial_json))
                elif kind == "message_delta":
                    stop_reason = event.delta.stop_reason or stop_reason
                    counts = _counts(event.usage, counts)

        tool_calls = [ToolCallOut(id=call_id, name=name, arguments="".join(fragments) or "{}")
                      for _, call_id, name, fragments in sorted(tools.values())]
        return LLMResponse(text="".join(text), reasoning="".join(reasoning) or None,
                           reasoning_signature=signature if reasoning else None, tool_calls=tool_calls,
                           finish_reason=_finish_reason(stop_reason, bool(tool_calls)),
                           usage=_to_usage(counts))

    async def _events(self, stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """The stream's events, with SDK and transport failures turned into LLMErrors."""
        iterator = aiter(stream)
        while True:
            try:
                event = await anext(iterator)
            except StopAsyncIteration:
                return
            except anthropic.APIError as exc:
                raise map_anthropic_error(exc, self.provider) from exc
            except _TIMEOUT_ERRORS as exc:
                raise LLMError("timeout", "the answer stream timed out", provider=self.provider) from exc
            except _TRANSPORT_ERRORS as exc:
                raise LLMError("connection", f"the answer stream broke off ({exc!r})",
                               provider=self.provider) from exc
            yield event


# --------------------------------------------------------------------------- conversions


def to_anthropic_messages(messages: list[ChatMessage]) -> tuple[str, list[dict[str, Any]]]:
    """(system prompt, messages) in Messages API form.

    Leading system messages form the system prompt. A system message later in
    the conversation has no place in the Messages API and goes in as user text.
    Consecutive messages of the same role are merged into one, which is how
    several tool results become a single user message.
    """
    system: list[str] = []
    out: list[dict[str, Any]] = []

    def append(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for message in messages:
        if message.role == "system":
            if not out:
                if message.text:
                    system.append(message.text)
            else:
                append("user", _text_block(message.text))
        elif message.role == "user":
            append("user", _text_block(message.text))
        elif message.role == "tool":
            block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id or ""}
            if message.text:
                block["content"] = message.text
            append("user", [block])
        else:
            append("assistant", _assistant_blocks(message))
    # The conversation has to open with a user turn.
    if out and out[0]["role"] != "user":
        out.insert(0, {"role": "user", "content": [{"type": "text", "text": "(conversation start)"}]})
    return "\n\n".join(system), out


def _text_block(text: str) -> list[dict[str, Any]]:
    # The API rejects empty text blocks.
    return [{"type": "text", "text": text}] if text else []


def _assistant_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    # Thinking can only be replayed with the signature that vouches for it.
    if message.reasoning and message.reasoning_signature:
        blocks.append({"type": "thinking", "thinking": message.reasoning,
                       "signature": message.reasoning_signature})
    blocks.extend(_text_block(message.text))
    for call in message.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": _tool_input(call)})
    return blocks


def _tool_input(call: ToolCallOut) -> dict[str, Any]:
    """A tool call's arguments as the JSON object Anthropic requires.

    Arguments that are not a JSON object (a model can produce broken JSON)
    are sent as {} so the conversation can still be replayed; the tool result
    that follows already says what went wrong.
    """
    try:
        value = json.loads(call.arguments) if call.arguments else {}
    except ValueError:
        log.debug("tool call %s has invalid JSON arguments; replaying them as {}", call.id)
        return {}
    return value if isinstance(value, dict) else {}


def _tool(spec: ToolSpec) -> dict[str, Any]:
    schema = spec.parameters or {"type": "object", "properties": {}}
    return {"name": spec.name, "description": spec.description, "input_schema": schema}


def _tool_choice(choice: str, parallel: bool) -> dict[str, Any]:
    if choice == "none":
        return {"type": "none"}
    if choice == "auto":
        out: dict[str, Any] = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    else:
        out = {"type": "tool", "name": choice}
    if not parallel:
        out["disable_parallel_tool_use"] = True
    return out


def _finish_reason(stop_reason: str | None, has_tool_calls: bool) -> str:
    reason = _STOP_REASONS.get(stop_reason or "", "stop")
    if has_tool_calls and reason == "stop":
        return "tool_calls"
    return reason


def _from_message(message: Any) -> LLMResponse:
    text: list[str] = []
    reasoning: list[str] = []
    signature: str | None = None
    calls: list[ToolCallOut] = []
    for block in message.content:
        if block.type == "text":
            text.append(block.text)
        elif block.type == "thinking":
            reasoning.append(block.thinking)
            signature = block.signature or signature
        elif block.type == "tool_use":
            arguments = block.input if isinstance(block.input, str) else json.dumps(block.input)
            calls.append(ToolCallOut(id=block.id, name=block.name, arguments=arguments))
    return LLMResponse(text="".join(text), reasoning="".join(reasoning) or None,
                       reasoning_signature=signature if reasoning else None, tool_calls=calls,
                       finish_reason=_finish_reason(message.stop_reason, bool(calls)),
                       usage=_to_usage(_counts(message.usage)))


_COUNT_FIELDS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")


def _counts(raw: Any, into: dict[str, int] | None = None) -> dict[str, int]:
    """The token counts `raw` (a usage object) reports, over those already known.

    A stream reports usage twice: message_start carries the input side, and
    message_delta the final output count (and, lately, the input side again).
    Fields a report leaves out keep their earlier values.
    """
    counts = dict(into or {})
    if raw is None:
        return counts
    for name in _COUNT_FIELDS:
        value = getattr(raw, name, None)
        if value is not None:
            counts[name] = value
    details = getattr(raw, "output_tokens_details", None)
    thinking = getattr(details, "thinking_tokens", None)
    if thinking is not None:
        counts["thinking_tokens"] = thinking
    return counts


def _to_usage(counts: dict[str, int]) -> Usage:
    """Anthropic counts cache reads and writes apart from `input_tokens`; the
    prompt total includes both, and cache reads count as cached input."""
    cached = counts.get("cache_read_input_tokens", 0)
    prompt = counts.get("input_tokens", 0) + cached + counts.get("cache_creation_input_tokens", 0)
    completion = counts.get("output_tokens", 0)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                 cached_input_tokens=cached, reasoning_tokens=counts.get("thinking_tokens", 0))


# --------------------------------------------------------------------------- errors


def map_anthropic_error(exc: anthropic.APIError, provider: str = "anthropic") -> LLMError:
    """The LLMError for an `anthropic` SDK exception (the original stays as __cause__)."""
    message, error_type = _error_details(exc)
    status = getattr(exc, "status_code", None)
    kind: ErrorKind
    if isinstance(exc, anthropic.APITimeoutError):  # before APIConnectionError, its base class
        kind = "timeout"
    elif isinstance(exc, anthropic.APIConnectionError):
        kind = "connection"
    elif isinstance(exc, anthropic.RateLimitError):
        kind = "rate_limit"
    elif isinstance(exc, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
        kind = "auth"
    elif isinstance(exc, anthropic.NotFoundError):
        kind = "not_found"
    elif isinstance(exc, anthropic.BadRequestError):
        overflow = any(m in message.lower() for m in _CONTEXT_MARKERS)
        kind = "context_window_exceeded" if overflow else "bad_request"
    elif isinstance(exc, anthropic.APIStatusError):
        code = exc.status_code
        if code == 413:  # request too large: the prompt has to shrink either way
            kind = "context_window_exceeded"
        elif code == 408:
            kind = "timeout"
        elif code >= 500:
            kind = "server"
        elif code >= 400:
            kind = "bad_request"
        else:  # an error event inside a stream that had started fine
            kind = _STREAM_ERROR_KINDS.get(error_type or "", "server")
            if kind == "bad_request" and any(m in message.lower() for m in _CONTEXT_MARKERS):
                kind = "context_window_exceeded"
            status = None
    else:
        kind = "server"
    # The provider's own words; callers add the provider name (`provider`) and status (`status`).
    return LLMError(kind, message, status=status, provider=provider)


def _error_details(exc: anthropic.APIError) -> tuple[str, str | None]:
    """(message, Anthropic error type) from the error body when it has them."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            error_type = inner.get("type")
            return inner["message"], error_type if isinstance(error_type, str) else None
    if isinstance(exc, anthropic.APITimeoutError):
        return "request timed out", None
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__
        return (f"connection failed ({cause!r})" if cause else "connection failed"), None
    return exc.message, None
