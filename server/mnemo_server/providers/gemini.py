"""Google Gemini (the Gemini API, provider type "google_ai"), through the
official `google-genai` SDK.

What the conversion below absorbs:
- The system prompt is `system_instruction`, not a message; a system message
  later in the conversation goes in as user text.
- Roles are "user" and "model". Tool calls are `function_call` parts of a model
  turn with their arguments as a JSON object; tool results are
  `function_response` parts of a user turn, matched by name and order (their
  `response` must be a JSON object: a result that is not one is sent as
  {"result": <text>}). Consecutive turns of one role are merged.
- Gemini gives tool calls no id (or one of its own): calls without one get a
  "call_…" id here, and ids are never sent back.
- Tools are declared with `parameters_json_schema`, so the full JSON Schema of
  a tool goes through as it is.
- Thinking ("reasoning") is asked for with `thinking_config.include_thoughts`;
  thought parts come back marked `thought`. Gemini 3 models require the
  `thought_signature` of a turn's first function call when the turn is
  replayed: it is kept as the response's reasoning_signature and sent back.
- Rate limits carry the wait in a google.rpc.RetryInfo detail ("retryDelay");
  it is honoured like a Retry-After header.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

from .base import (
    ChatMessage,
    Delta,
    ErrorKind,
    LLMError,
    LLMRequest,
    LLMResponse,
    OnDelta,
    ToolCallOut,
    Usage,
)

__all__ = ["EMBED", "GENERATE", "GeminiClient", "gemini_sdk", "map_gemini_error", "transport_error"]

log = logging.getLogger(__name__)

GENERATE = "generateContent"
EMBED = "embedContent"
API_VERSION = "v1beta"
DEFAULT_TIMEOUT_S = 600.0
# Gemini 3 refuses a replayed function call without a signature; this value is
# the one Google documents for calls whose signature was not kept.
SKIP_SIGNATURE = b"skip_thought_signature_validator"

_FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}
_CONTEXT_MARKERS = ("exceeds the maximum number of tokens", "input token count", "context window",
                    "too many tokens", "context length")
_AUTH_MARKERS = ("api_key_invalid", "api key not valid", "api key expired", "permission_denied")


def gemini_sdk(api_key: str, base_url: str | None, timeout_s: float = DEFAULT_TIMEOUT_S) -> Any:
    """A google-genai client for the Gemini API at `base_url` (the SDK's
    retries stay off: RetryingClient in registry.py is the only retry policy)."""
    from google import genai
    from google.genai import types

    options = types.HttpOptions(base_url=base_url, api_version=API_VERSION, timeout=int(timeout_s * 1000))
    return genai.Client(api_key=api_key, vertexai=False, http_options=options)


class GeminiClient:
    """An `LLMClient` for the Gemini API."""

    provider = "google_ai"

    def __init__(self, *, api_key: str, base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                 sdk: Any = None):
        self._sdk = sdk or gemini_sdk(api_key, base_url, timeout)

    async def aclose(self) -> None:
        await self._sdk.aio.aclose()

    # -- request ------------------------------------------------------------

    def build_params(self, request: LLMRequest) -> dict[str, Any]:
        """generate_content's arguments (model, contents, config) for `request`."""
        system, contents = to_gemini_contents(request.messages, request.model)
        from google.genai import types

        config: dict[str, Any] = {"automatic_function_calling": {"disable": True}}
        if system:
            config["system_instruction"] = system
        if request.tools:
            config["tools"] = [types.Tool(function_declarations=[
                types.FunctionDeclaration(name=spec.name, description=spec.description,
                                          parameters_json_schema=spec.parameters
                                          or {"type": "object", "properties": {}})
                for spec in request.tools])]
            config["tool_config"] = types.ToolConfig(
                function_calling_config=types.FunctionCallingConfig(**_calling_config(request.tool_choice)))
        if request.max_tokens is not None:
            config["max_output_tokens"] = request.max_tokens
        if request.temperature is not None:
            config["temperature"] = request.temperature
        if request.reasoning:
            config["thinking_config"] = types.ThinkingConfig(include_thoughts=True,
                                                             thinking_budget=request.reasoning_budget)
        elif request.reasoning_budget == 0:
            config["thinking_config"] = types.ThinkingConfig(thinking_budget=0)
        return {"model": request.model, "contents": contents, "config": types.GenerateContentConfig(**config)}

    async def generate(self, request: LLMRequest, on_delta: OnDelta | None = None) -> LLMResponse:
        params = self.build_params(request)
        assembler = _Assembler()
        if on_delta is None:
            try:
                answer = await self._sdk.aio.models.generate_content(**params)
            except Exception as exc:  # noqa: BLE001 - SDK and transport errors, mapped
                raise _mapped(exc) from exc
            assembler.add(answer)
        else:
            try:
                stream = await self._sdk.aio.models.generate_content_stream(**params)
            except Exception as exc:  # noqa: BLE001
                raise _mapped(exc) from exc
            # on_delta runs here, outside the SDK error mapping: its own failures pass through as they are.
            async for chunk in _chunks(stream):
                for delta in assembler.add(chunk):
                    await on_delta(delta)
        result = assembler.result()
        if not result.text and not result.tool_calls:
            why = assembler.block_reason or (assembler.finish if assembler.finish not in _FINISH_REASONS else None)
            raise LLMError("empty_response", f"{request.model} answered with neither text nor a tool call"
                           + (f" (finish reason {why})" if why else ""), provider=self.provider)
        return result


async def _chunks(stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """The stream's chunks, with SDK and transport failures turned into LLMErrors."""
    iterator = aiter(stream)
    while True:
        try:
            chunk = await anext(iterator)
        except StopAsyncIteration:
            return
        except Exception as exc:  # noqa: BLE001
            raise _mapped(exc) from exc
        yield chunk


class _Assembler:
    """Collects an answer from one response or from streamed chunks, returning
    the Deltas each chunk adds."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[ToolCallOut] = []
        self.signature: bytes | None = None
        self.finish: str | None = None
        self.usage = Usage()
        self.block_reason: str | None = None

    def add(self, chunk: Any) -> list[Delta]:
        deltas: list[Delta] = []
        if chunk.usage_metadata is not None:
            self.usage = _usage(chunk.usage_metadata)
        feedback = getattr(chunk, "prompt_feedback", None)
        if feedback is not None and getattr(feedback, "block_reason", None):
            self.block_reason = str(_enum_name(feedback.block_reason))
        for candidate in (chunk.candidates or [])[:1]:
            if candidate.finish_reason:
                self.finish = _enum_name(candidate.finish_reason)
            content = candidate.content
            for part in (content.parts if content is not None and content.parts else []):
                if part.thought_signature and self.signature is None:
                    self.signature = part.thought_signature
                if part.function_call is not None:
                    call = part.function_call
                    arguments = json.dumps(call.args or {})
                    out = ToolCallOut(id=call.id or _call_id(), name=call.name or "", arguments=arguments)
                    deltas.append(Delta(kind="tool_call", index=len(self.calls), tool_call_id=out.id,
                                        name=out.name, arguments=arguments))
                    self.calls.append(out)
                elif part.text:
                    if part.thought:
                        self.reasoning.append(part.text)
                        deltas.append(Delta(kind="reasoning", text=part.text))
                    else:
                        self.text.append(part.text)
                        deltas.append(Delta(kind="text", text=part.text))
        return deltas

    def result(self) -> LLMResponse:
        reason = _FINISH_REASONS.get(self.finish or "", "stop")
        if self.calls and reason == "stop":
            reason = "tool_calls"
        signature = base64.b64encode(self.signature).decode() if self.signature else None
        return LLMResponse(text="".join(self.text), reasoning="".join(self.reasoning) or None,
                           reasoning_signature=signature, tool_calls=list(self.calls), finish_reason=reason,
                           usage=self.usage)


# --------------------------------------------------------------------------- conversions


def to_gemini_contents(messages: list[ChatMessage], model: str = "") -> tuple[str, list[dict[str, Any]]]:
    """(system instruction, contents) in the Gemini API's form."""
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name, for results without a name
    needs_signature = model.startswith("gemini-3")

    def append(role: str, parts: list[dict[str, Any]]) -> None:
        if not parts:
            return
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})

    for message in messages:
        if message.role == "system":
            if not contents:
                if message.text:
                    system.append(message.text)
            elif message.text:
                append("user", [{"text": message.text}])
        elif message.role == "user":
            if message.text:
                append("user", [{"text": message.text}])
        elif message.role == "tool":
            name = message.name or names.get(message.tool_call_id or "", "")
            append("user", [{"function_response": {"name": name, "response": _tool_response(message.text)}}])
        else:
            parts: list[dict[str, Any]] = []
            if message.text:
                parts.append({"text": message.text})
            signature = _signature(message.reasoning_signature)
            for i, call in enumerate(message.tool_calls):
                names[call.id] = call.name
                part: dict[str, Any] = {"function_call": {"name": call.name, "args": _arguments(call)}}
                if i == 0 and (signature or needs_signature):
                    part["thought_signature"] = signature or SKIP_SIGNATURE
                parts.append(part)
            append("model", parts)
    # A conversation has to open with a user turn.
    if contents and contents[0]["role"] != "user":
        contents.insert(0, {"role": "user", "parts": [{"text": "(conversation start)"}]})
    return "\n\n".join(system), contents


def _signature(value: str | None) -> bytes | None:
    if not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        return None  # a signature from another provider (Anthropic's): not Gemini's


def _arguments(call: ToolCallOut) -> dict[str, Any]:
    try:
        value = json.loads(call.arguments) if call.arguments else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _tool_response(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"result": text}
    return value if isinstance(value, dict) else {"result": value}


def _calling_config(choice: str) -> dict[str, Any]:
    if choice == "auto":
        return {"mode": "AUTO"}
    if choice == "none":
        return {"mode": "NONE"}
    if choice == "required":
        return {"mode": "ANY"}
    return {"mode": "ANY", "allowed_function_names": [choice]}


def _enum_name(value: Any) -> str:
    return getattr(value, "value", None) or str(value)


def _usage(raw: Any) -> Usage:
    prompt = raw.prompt_token_count or 0
    thoughts = raw.thoughts_token_count or 0
    completion = (raw.candidates_token_count or 0) + thoughts
    return Usage(prompt_tokens=prompt, completion_tokens=completion,
                 total_tokens=raw.total_token_count or prompt + completion,
                 cached_input_tokens=raw.cached_content_token_count or 0, reasoning_tokens=thoughts)


def _call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


# --------------------------------------------------------------------------- errors


def _mapped(exc: BaseException) -> BaseException:
    mapped = map_gemini_error(exc) or transport_error(exc, "google_ai")
    return mapped if mapped is not None else exc


def map_gemini_error(exc: BaseException) -> LLMError | None:
    """The LLMError for a google-genai APIError (None for other exceptions)."""
    from google.genai import errors

    if not isinstance(exc, errors.APIError):
        return None
    code = exc.code if isinstance(exc.code, int) else None
    status = str(exc.status or "")
    message = str(exc.message or exc)
    details = json.dumps(exc.details, default=str).lower() if exc.details else ""
    lowered = message.lower()
    kind: ErrorKind
    if code == 429 or status == "RESOURCE_EXHAUSTED":
        kind = "rate_limit"
    elif code in (401, 403) or status in ("UNAUTHENTICATED", "PERMISSION_DENIED") or any(
            m in lowered or m in details for m in _AUTH_MARKERS):
        kind = "auth"
    elif code == 404 or status == "NOT_FOUND":
        kind = "not_found"
    elif code in (408, 504) or status == "DEADLINE_EXCEEDED":
        kind = "timeout"
    elif code is not None and code >= 500:
        kind = "server"
    elif code == 413 or any(m in lowered for m in _CONTEXT_MARKERS):
        kind = "context_window_exceeded"
    else:
        kind = "bad_request"
    err = LLMError(kind, message, status=code, provider="google_ai")
    err.retry_after = _retry_delay(exc.details)
    return err


def _retry_delay(details: Any) -> float | None:
    """The google.rpc.RetryInfo retryDelay ("12s", "0.5s") of an error body."""
    body = details.get("error", details) if isinstance(details, dict) else None
    for detail in (body or {}).get("details") or []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = re.fullmatch(r"\s*([0-9.]+)s\s*", str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def transport_error(exc: BaseException, provider: str) -> LLMError | None:
    """The LLMError for a broken or timed-out connection (None for others)."""
    from .anthropic_messages import _TIMEOUT_ERRORS, _TRANSPORT_ERRORS

    timeouts: tuple[type[BaseException], ...] = _TIMEOUT_ERRORS
    transport: tuple[type[BaseException], ...] = _TRANSPORT_ERRORS
    try:
        import httpx

        timeouts += (httpx.TimeoutException,)
        transport += (httpx.TransportError,)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(exc, timeouts):
        return LLMError("timeout", "the request timed out", provider=provider)
    if isinstance(exc, transport):
        return LLMError("connection", f"connection failed ({exc!r})", provider=provider)
    return None
