"""OpenAI Chat Completions, through the official `openai` SDK.

One client serves OpenAI itself and every OpenAI-compatible server (vLLM,
Ollama, LM Studio, Groq, Together, DeepSeek, xAI, OpenRouter, ...): only the
base URL, the key and a couple of request details differ.

Compatible servers often stream the model's reasoning as `reasoning_content`
(DeepSeek, vLLM) or `reasoning` (OpenRouter); both are read, and neither is
sent back, since most servers reject it in the prompt.
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import openai
from openai import AsyncStream

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

__all__ = ["DEFAULT_TIMEOUT", "OpenAIChatClient", "map_openai_error"]

# Long reads (a slow model can think for minutes), quick failure to connect.
DEFAULT_TIMEOUT = openai.Timeout(600, connect=10)

# Phrases OpenAI and the common compatible servers use when the prompt does not fit.
_CONTEXT_MARKERS = (
    "context_length_exceeded", "maximum context length", "context length", "context window",
    "prompt is too long", "input is too long", "too many tokens", "reduce the length",
)
_FINISH_REASONS = {"stop": "stop", "length": "length", "tool_calls": "tool_calls",
                   "function_call": "tool_calls"}


class OpenAIChatClient:
    """An `LLMClient` for one OpenAI or OpenAI-compatible endpoint.

    `endpoint_type` is the LlmConfig's model_endpoint_type ("openai", "ollama",
    "vllm", ...). It decides the name of the output limit: OpenAI wants
    `max_completion_tokens` (its reasoning models reject `max_tokens`), while
    compatible servers mostly only know `max_tokens`.
    """

    def __init__(self, *, api_key: str, base_url: str | None = None, endpoint_type: str = "openai",
                 timeout: float | openai.Timeout = DEFAULT_TIMEOUT, sdk: openai.AsyncOpenAI | None = None):
        self.endpoint_type = endpoint_type
        # Retries are the RetryingClient's job (registry.py); the SDK must not add its own.
        self._sdk = sdk or openai.AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout,
                                              max_retries=0)

    async def aclose(self) -> None:
        await self._sdk.close()

    # -- request ------------------------------------------------------------

    def build_params(self, request: LLMRequest) -> dict[str, Any]:
        """The Chat Completions arguments for `request` (without streaming options)."""
        params: dict[str, Any] = {"model": request.model, "messages": to_openai_messages(request.messages)}
        if request.tools:
            params["tools"] = [_tool(spec) for spec in request.tools]
            params["tool_choice"] = _tool_choice(request.tool_choice)
            # Only meaningful (and only accepted by some servers) alongside tools.
            params["parallel_tool_calls"] = request.parallel_tool_calls
        if request.max_tokens is not None:
            limit = "max_completion_tokens" if self.endpoint_type in ("openai", "azure") else "max_tokens"
            params[limit] = request.max_tokens
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.reasoning_effort is not None:
            params["reasoning_effort"] = request.reasoning_effort
        return params

    async def _post(self, body: dict[str, Any], *, stream: bool) -> Any:
        """POST /chat/completions through the SDK (its transport, auth, and
        error types). `chat.completions.create` would first walk the whole body
        through the SDK's typed-parameter transform, about a millisecond per
        prompt message, and build typed objects for the answer and for every
        streamed chunk; `body` is already in wire format (build_params), and
        the answer is read as plain JSON through `_Json`."""
        answer = await self._sdk.post(
            "/chat/completions", body=body, cast_to=object, stream=stream, stream_cls=AsyncStream[object],
        )
        return answer if stream else _Json(answer)

    async def generate(self, request: LLMRequest, on_delta: OnDelta | None = None) -> LLMResponse:
        params = self.build_params(request)
        if on_delta is None:
            try:
                completion = await self._post(params, stream=False)
            except openai.APIError as exc:
                raise map_openai_error(exc, self.endpoint_type) from exc
            response = self._from_completion(completion)
        else:
            response = await self._stream(params, on_delta)
        if not response.text and not response.tool_calls:
            raise LLMError("empty_response", f"{request.model} answered with neither text nor a tool call",
                           provider=self.endpoint_type)
        return response

    # -- plain answers ------------------------------------------------------

    @staticmethod
    def _from_completion(completion: Any) -> LLMResponse:
        response = LLMResponse(usage=_usage(completion.usage))
        if not completion.choices:
            return response
        choice = completion.choices[0]
        message = choice.message
        response.text = message.content or ""
        response.reasoning = _reasoning_of(message) or None
        for call in message.tool_calls or []:
            function = getattr(call, "function", None)
            if function is None:  # a custom (non-function) tool call: not something we offer
                continue
            response.tool_calls.append(
                ToolCallOut(id=call.id or _call_id(), name=function.name,
                            arguments=function.arguments or "{}"))
        response.finish_reason = _finish_reason(choice.finish_reason, bool(response.tool_calls))
        return response

    # -- streamed answers ---------------------------------------------------

    async def _stream(self, params: dict[str, Any], on_delta: OnDelta) -> LLMResponse:
        try:
            stream = await self._post({**params, "stream": True, "stream_options": {"include_usage": True}},
                                      stream=True)
        except openai.APIError as exc:
            raise map_openai_error(exc, self.endpoint_type) from exc

        text: list[str] = []
        reasoning: list[str] = []
        calls = _CallAssembler()
        finish: str | None = None
        usage = Usage()
        async with stream:
            # on_delta runs here, outside the SDK error mapping: its own failures pass through as they are.
            async for chunk in self._chunks(stream):
                if chunk.usage is not None:
                    usage = _usage(chunk.usage)
                for choice in chunk.choices:
                    if choice.index != 0:
                        continue
                    delta = choice.delta
                    if piece := _reasoning_of(delta):
                        reasoning.append(piece)
                        await on_delta(Delta(kind="reasoning", text=piece))
                    if delta.content:
                        text.append(delta.content)
                        await on_delta(Delta(kind="text", text=delta.content))
                    for fragment in delta.tool_calls or []:
                        if (out := calls.add(fragment)) is not None:
                            await on_delta(out)
                    if choice.finish_reason:
                        finish = choice.finish_reason

        tool_calls = calls.result()
        return LLMResponse(text="".join(text), reasoning="".join(reasoning) or None, tool_calls=tool_calls,
                           finish_reason=_finish_reason(finish, bool(tool_calls)), usage=usage)

    async def _chunks(self, stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """The stream's chunks, with SDK failures (mid-stream too) turned into LLMErrors."""
        iterator = aiter(stream)
        while True:
            try:
                chunk = await anext(iterator)
            except StopAsyncIteration:
                return
            except openai.APIError as exc:
                raise map_openai_error(exc, self.endpoint_type) from exc
            yield _Json(chunk)


# --------------------------------------------------------------------------- conversions


class _Json:
    """Attribute access over a decoded JSON object, None for absent keys:
    the answer is read with the same code as the SDK's typed objects, without
    building them."""

    __slots__ = ("_data",)

    def __init__(self, data: Any):
        self._data = data if isinstance(data, dict) else {}

    def __getattr__(self, name: str) -> Any:
        value = self._data.get(name)
        if isinstance(value, dict):
            return _Json(value)
        if isinstance(value, list):
            return [_Json(v) if isinstance(v, dict) else v for v in value]
        return value


def to_openai_messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Provider-neutral messages in Chat Completions form."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            out.append({"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.text})
        elif message.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": message.text}
            if message.tool_calls:
                entry["content"] = message.text or None
                entry["tool_calls"] = [
                    {"id": call.id, "type": "function",
                     "function": {"name": call.name, "arguments": call.arguments or "{}"}}
                    for call in message.tool_calls
                ]
            out.append(entry)
        else:
            out.append({"role": message.role, "content": message.text})
    return out


def _tool(spec: ToolSpec) -> dict[str, Any]:
    parameters = spec.parameters or {"type": "object", "properties": {}}
    return {"type": "function",
            "function": {"name": spec.name, "description": spec.description, "parameters": parameters}}


def _tool_choice(choice: str) -> str | dict[str, Any]:
    if choice in ("auto", "required", "none"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def _finish_reason(raw: str | None, has_tool_calls: bool) -> str:
    reason = _FINISH_REASONS.get(raw or "", "stop")
    # Some compatible servers say "stop" even when the answer is a tool call.
    if has_tool_calls and reason == "stop":
        return "tool_calls"
    return reason


def _reasoning_of(message: Any) -> str:
    """Reasoning text a compatible server put next to the content, if any."""
    for name in ("reasoning_content", "reasoning"):
        value = getattr(message, name, None)
        if isinstance(value, str) and value:
            return value
    return ""


def _usage(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    prompt = raw.prompt_tokens or 0
    completion = raw.completion_tokens or 0
    prompt_details = getattr(raw, "prompt_tokens_details", None)
    completion_details = getattr(raw, "completion_tokens_details", None)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=raw.total_tokens or prompt + completion,
        cached_input_tokens=(getattr(prompt_details, "cached_tokens", None) or 0),
        reasoning_tokens=(getattr(completion_details, "reasoning_tokens", None) or 0),
    )


def _call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


@dataclass
class _PartialCall:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class _CallAssembler:
    """Puts streamed tool-call fragments back together.

    OpenAI numbers the calls with `index`; a few compatible servers leave the
    index out or reuse index 0 for every call, so a fragment carrying a new id
    always starts a new call. Calls are numbered 0, 1, ... in arrival order.
    """

    def __init__(self) -> None:
        self._calls: list[_PartialCall] = []
        self._by_index: dict[int, int] = {}

    def add(self, fragment: Any) -> Delta | None:
        function = getattr(fragment, "function", None)
        name = (getattr(function, "name", None) or "") if function is not None else ""
        arguments = (getattr(function, "arguments", None) or "") if function is not None else ""
        slot = self._slot(fragment.index, fragment.id)
        call = self._calls[slot]
        new_id = new_name = None
        if fragment.id and call.id is None:
            call.id = new_id = fragment.id
        if name and not call.name:
            call.name = new_name = name
        if arguments:
            call.arguments.append(arguments)
        if new_id is None and new_name is None and not arguments:
            return None
        return Delta(kind="tool_call", index=slot, tool_call_id=new_id, name=new_name, arguments=arguments)

    def _slot(self, index: int | None, call_id: str | None) -> int:
        """The position of the call a fragment belongs to, starting a new call if needed."""
        if index is not None:
            slot = self._by_index.get(index)
        else:  # no index: it continues the latest call
            slot = len(self._calls) - 1 if self._calls else None
        if slot is not None and (not call_id or self._calls[slot].id in (None, call_id)):
            return slot
        self._calls.append(_PartialCall())
        slot = len(self._calls) - 1
        if index is not None:
            self._by_index[index] = slot
        return slot

    def result(self) -> list[ToolCallOut]:
        return [ToolCallOut(id=call.id or _call_id(), name=call.name,
                            arguments="".join(call.arguments) or "{}")
                for call in self._calls if call.name]


# --------------------------------------------------------------------------- errors


def map_openai_error(exc: openai.APIError, provider: str = "openai") -> LLMError:
    """The LLMError for an `openai` SDK exception (the original stays as __cause__)."""
    message = _error_message(exc)
    status = getattr(exc, "status_code", None)
    kind: ErrorKind
    if isinstance(exc, openai.APITimeoutError):  # before APIConnectionError, its base class
        kind = "timeout"
    elif isinstance(exc, openai.APIConnectionError):
        kind = "connection"
    elif isinstance(exc, openai.RateLimitError):
        kind = "rate_limit"
    elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        kind = "auth"
    elif isinstance(exc, openai.NotFoundError):
        kind = "not_found"
    elif isinstance(exc, openai.BadRequestError):
        code = str(getattr(exc, "code", "") or "")
        overflow = code == "context_length_exceeded" or any(m in message.lower() for m in _CONTEXT_MARKERS)
        kind = "context_window_exceeded" if overflow else "bad_request"
    elif isinstance(exc, openai.APIStatusError):
        if exc.status_code == 413:  # request too large: the prompt has to shrink either way
            kind = "context_window_exceeded"
        elif exc.status_code == 408:
            kind = "timeout"
        else:
            kind = "server" if exc.status_code >= 500 else "bad_request"
    else:  # an error event inside a stream, or an unreadable answer
        kind = "server"
    # The provider's own words; callers add the provider name (`provider`) and status (`status`).
    return LLMError(kind, message, status=status, provider=provider)


def _error_message(exc: openai.APIError) -> str:
    """The provider's own message when the body has one, else the SDK's."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(body.get("message"), str):
            return body["message"]
    if isinstance(exc, openai.APITimeoutError):
        return "request timed out"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        return f"connection failed ({cause!r})" if cause else "connection failed"
    return exc.message
