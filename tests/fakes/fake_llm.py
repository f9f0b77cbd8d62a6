"""A protocol-faithful fake LLM provider for tests and benchmarks.

`FakeLLM` is a real HTTP/1.1 server (stdlib asyncio, keep-alive, chunked SSE) that
speaks enough of the OpenAI and Anthropic wire formats for the official ``openai``
and ``anthropic`` SDKs -- and any OpenAI-compatible client -- to use it unchanged:

* OpenAI:    ``POST /v1/chat/completions`` (plain and SSE), ``POST /v1/embeddings``,
             ``GET /v1/models``
* Anthropic: ``POST /v1/messages`` (plain and SSE), ``GET /v1/models``
* Gemini:    ``POST /v1beta/models/{model}:generateContent``,
             ``:streamGenerateContent?alt=sse``, ``:batchEmbedContents``,
             ``:embedContent``, ``GET /v1beta/models`` (the google-genai SDK)
* Azure:     ``POST /openai/deployments/{deployment}/chat/completions|embeddings``
             (``api-version`` query, ``api-key`` header), ``GET /openai/deployments``
* Bedrock:   ``POST /model/{model}/invoke`` and ``/invoke-with-response-stream``
             (AWS event-stream binary framing), ``GET /foundation-models`` (the
             anthropic SDK's Bedrock client and boto3)

Paths work with or without the ``/v1`` prefix, so the openai SDK
(``base_url=server.base_url + "/v1"``) and the anthropic SDK
(``base_url=server.base_url``) both work. ``GET /v1/models`` answers in the
Anthropic shape when the request carries an ``anthropic-version`` header.

    server = FakeLLM().start()
    server.script(Reply(text="hi"), model="gpt-4o-mini")
    ...  # drive the code under test against server.base_url
    assert server.last_request(model="gpt-4o-mini").messages[-1]["role"] == "user"
    server.stop()

Gemini, Azure and Bedrock name the model in the path; ``RecordedRequest.model``
reports it from there. With ``valid_keys`` set, a request whose key (bearer
token, ``x-api-key``, ``x-goog-api-key``, ``api-key``, or an AWS access key id
in a SigV4 signature) is not among them gets the provider's 401.

Scripted replies are consumed only by generation endpoints (chat completions and
messages); embeddings and model listing never take them. When no scripted reply
matches, the server answers ``"echo: <last user text>"`` (see ``FakeLLM.default``).

Foreground mode for manual testing: ``python -m tests.fakes.fake_llm --port 8999``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import math
import re
import signal
import struct
import threading
import time
import urllib.parse
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from http import HTTPStatus
from itertools import pairwise
from typing import Any, Self

__all__ = ["Error", "FakeLLM", "RecordedRequest", "Reply", "ToolCall", "embed"]

DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "claude-haiku-4-5", "text-embedding-3-small")
DEFAULT_STREAM_CHUNKS = 4  # deltas a streamed string is split into unless told otherwise
DEFAULT_EMBEDDING_DIM = 1536

# HTTP status -> (OpenAI error type, Anthropic error type); others: invalid_request_error
# below 500, server_error / api_error from 500 up.
_ERROR_TYPES = {401: ("invalid_request_error", "authentication_error"),
                403: ("permission_error", "permission_error"),
                404: ("invalid_request_error", "not_found_error"),
                413: ("invalid_request_error", "request_too_large"),
                429: ("requests", "rate_limit_error"),
                529: ("server_error", "overloaded_error")}
# HTTP status -> google.rpc status name, for Gemini's error bodies.
_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                  409: "ABORTED", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                  503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
# HTTP status -> Bedrock's x-amzn-ErrorType.
_AWS_ERROR = {400: "ValidationException", 401: "UnrecognizedClientException", 403: "AccessDeniedException",
              404: "ResourceNotFoundException", 429: "ThrottlingException", 500: "InternalServerException",
              503: "ServiceUnavailableException"}
# finish_reason (OpenAI vocabulary) -> Gemini finishReason.
_GEMINI_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"}
_GEMINI_PATH = re.compile(r"^/(v1beta|v1|v1alpha)/models/([^/:]+):(generateContent|streamGenerateContent|"
                          r"batchEmbedContents|embedContent)$")
_AZURE_PATH = re.compile(r"^/openai/deployments/([^/]+)/(chat/completions|embeddings)$")
_BEDROCK_PATH = re.compile(r"^/model/([^/]+)/(invoke|invoke-with-response-stream)$")
# finish_reason (OpenAI vocabulary) -> stop_reason (Anthropic vocabulary).
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens",
                 "tool_calls": "tool_use", "content_filter": "refusal"}


# --------------------------------------------------------------------------- scripting API


@dataclass
class ToolCall:
    """A tool call made by the fake model. ``arguments`` is a dict (JSON-encoded on
    the wire) or a raw string sent verbatim (e.g. to test malformed JSON handling)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None  # generated as call_<hex> / toolu_<hex> when omitted

    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else _dumps(self.arguments)


@dataclass
class Error:
    """An HTTP error in the provider's error JSON shape. The reply carrying it is served
    ``times`` times before the queue moves on (handy for scripting retry paths)."""

    status: int = 500
    message: str = "fake provider error"
    times: int = 1
    type: str | None = None  # provider error type; derived from status when omitted
    retry_after: float | None = None  # seconds; sent as retry-after and retry-after-ms


@dataclass
class Reply:
    """One scripted model answer. Every field is optional (empty Reply = empty text)."""

    text: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    reasoning: str | None = None  # OpenAI: reasoning_content; Anthropic: thinking block
    error: Error | None = None
    delay_s: float = 0.0  # wait before answering (never blocks other requests); a stall
    drop_after_events: int | None = None  # streamed: hang up (no end) after this many SSE events
    stream_chunks: int | None = None  # deltas per streamed string (default 4)
    chunk_delay_s: float = 0.0  # wait between streamed events
    finish_reason: str | None = None  # override, OpenAI vocabulary (mapped for Anthropic)
    prompt_tokens: int | None = None  # usage overrides; estimated when omitted
    completion_tokens: int | None = None
    # A broken provider: answer 200 with this body instead of a well-formed one, as it is (with the
    # JSON content type for a plain call, as an SSE stream for a streamed one; e.g. malformed JSON,
    # or SSE events that are not JSON). Served after any delay, with any drop_after_events.
    raw_body: str | None = None


@dataclass
class RecordedRequest:
    """A request the server received; ``body`` is the parsed JSON (None if absent)."""

    method: str
    path: str  # as sent, without the query string
    # "chat.completions" | "messages" | "embeddings" | "models" | "generate" (Gemini, Bedrock) | "unknown"
    endpoint: str
    api: str  # "openai" | "anthropic" | "gemini" | "bedrock" (Azure speaks "openai")
    headers: dict[str, str]  # lower-cased names
    body: Any
    received_at: float = field(default_factory=time.time)
    query: dict[str, str] = field(default_factory=dict)
    path_model: str | None = None  # the model (or deployment) named in the path
    # The client hung up before the answer was sent (e.g. it cancelled the call while the reply was delayed).
    disconnected: bool = False

    @property
    def model(self) -> str | None:
        if self.path_model is not None:
            return self.path_model
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", []) if isinstance(self.body, dict) else []


@dataclass
class _Scripted:
    """A queued reply, its scope, and how many more times it may be served."""

    reply: Reply
    model: str | None
    match: Callable[[dict[str, Any]], bool] | None
    remaining: int


class _HTTPError(Exception):
    """Raised inside request handling to answer with a provider-shaped error."""

    def __init__(self, error: Error) -> None:
        super().__init__(error.message)
        self.error = error


# --------------------------------------------------------------------------- helpers


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _split(text: str, n: int) -> list[str]:
    """Split ``text`` into at most ``n`` contiguous, non-empty, near-equal pieces."""
    n = max(1, min(n, len(text)))
    bounds = [len(text) * i // n for i in range(n + 1)]
    return [text[a:b] for a, b in pairwise(bounds)] if text else []


def _last_user_text(body: dict[str, Any]) -> str:
    """Text of the last user message (string content or text parts/blocks;
    Gemini's `contents` too)."""
    for content in reversed(body.get("contents") or []):
        if isinstance(content, dict) and content.get("role", "user") == "user":
            texts = [p.get("text", "") for p in content.get("parts") or [] if isinstance(p, dict) and "text" in p]
            if texts:
                return "".join(texts)
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content
                               if isinstance(p, dict) and p.get("type") in ("text", "input_text"))
            return content if isinstance(content, str) else ""
    return ""


def _usage(body: dict[str, Any], reply: Reply) -> tuple[int, int]:
    """(prompt, completion) tokens: overrides, else ~4 characters per token."""
    prompt = reply.prompt_tokens
    if prompt is None:
        prompt = max(1, len(_dumps([body.get("system"), body.get("messages"), body.get("tools"),
                                    body.get("contents"), body.get("systemInstruction")])) // 4)
    completion = reply.completion_tokens
    if completion is None:
        produced = [reply.text or "", reply.reasoning or ""]
        produced += [t.name + t.arguments_json() for t in reply.tool_calls]
        completion = max(1, len("".join(produced)) // 4)
    return prompt, completion


@lru_cache(maxsize=65536)
def _word_slot(word: str, dim: int) -> tuple[int, float]:
    """Stable (index, sign) feature of a word (process-independent hash)."""
    value = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
    return value % dim, (1.0 if value >> 63 else -1.0)


_WORD = re.compile(r"\w+")


def embed(text: str, dim: int = DEFAULT_EMBEDDING_DIM) -> list[float]:
    """Deterministic unit-norm embedding: a signed hashed bag of words.

    Texts sharing words have high cosine similarity; identical texts score 1.0.
    Texts without words map to a fixed basis vector, so the norm is always 1.
    """
    vec = [0.0] * dim
    for word in _WORD.findall(text.lower()):
        idx, sign = _word_slot(word, dim)
        vec[idx] += sign
    norm = math.sqrt(sum(v * v for v in vec))
    if norm == 0.0:
        vec[0] = 1.0
        return vec
    return [v / norm for v in vec]


# --------------------------------------------------------------------------- the server


class FakeLLM:
    """Fake OpenAI + Anthropic server running its own event loop in a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 models: tuple[str, ...] | list[str] = DEFAULT_MODELS) -> None:
        self.host, self.port, self.models = host, port, list(models)
        # Answer when no scripted reply matches: a Reply, a callable taking the parsed
        # request body and returning a Reply, or None for the "echo: ..." reply.
        self.default: Reply | Callable[[dict[str, Any]], Reply] | None = None
        # Keys the server accepts; None accepts any (see the module docstring).
        self.valid_keys: set[str] | None = None
        # Embedding requests whose input contains a key stall that many seconds.
        self.embedding_stalls: dict[str, float] = {}
        self._lock = threading.RLock()  # re-entrant: `match` callables may inspect the server
        self._script: list[_Scripted] = []
        self._requests: list[RecordedRequest] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """``http://host:port``; the openai SDK wants ``base_url + "/v1"``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns once the port is known.

        Binding happens on the server thread, so this is safe to call from inside a
        running event loop (e.g. an async pytest fixture) as well as from sync code.
        """
        if self._thread is not None:
            raise RuntimeError("FakeLLM already started")
        ready, failure = threading.Event(), []
        self._thread = threading.Thread(target=self._run, args=(ready, failure),
                                        name="fake-llm", daemon=True)
        self._thread.start()
        ready.wait()
        if failure or self._loop is None:
            self._thread.join()
            self._thread = None
            raise failure[0] if failure else RuntimeError("FakeLLM failed to start")
        return self

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(asyncio.start_server(
                self._serve_connection, self.host, self.port,
                limit=1 << 20, backlog=1024, reuse_address=True))
            self.port = self._server.sockets[0].getsockname()[1]
            self._loop = loop
        except OSError as exc:  # e.g. port in use: re-raised by start()
            failure.append(exc)
        finally:
            ready.set()  # never leave start() waiting, whatever happened
        try:
            if self._loop is loop:
                loop.run_forever()
        finally:
            loop.close()

    def stop(self) -> None:
        """Close the listener and every open connection, then join the thread."""
        if self._thread is None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._thread.join(timeout=10)
        self._thread = self._loop = self._server = None

    async def _shutdown(self) -> None:
        assert self._server is not None and self._loop is not None
        self._server.close()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)
        self._loop.call_soon(self._loop.stop)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ scripting & recording

    def script(self, *replies: Reply, model: str | None = None,
               match: Callable[[dict[str, Any]], bool] | None = None) -> None:
        """Queue replies, served in order. With ``model`` and/or ``match`` they are
        served only to requests whose ``model`` field equals ``model`` and for which
        ``match(parsed_body)`` is true. The first matching queued reply wins."""
        with self._lock:
            for reply in replies:
                times = max(1, reply.error.times) if reply.error else 1
                self._script.append(_Scripted(reply, model, match, times))

    @property
    def pending(self) -> int:
        """Number of scripted replies not yet fully consumed."""
        with self._lock:
            return len(self._script)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def last_request(self, model: str | None = None,
                     endpoint: str | None = None) -> RecordedRequest | None:
        """Most recent request, optionally filtered by model and endpoint; None if none."""
        with self._lock:
            for req in reversed(self._requests):
                if model in (None, req.model) and endpoint in (None, req.endpoint):
                    return req
        return None

    def clear(self, requests: bool = True, script: bool = True) -> None:
        """Forget recorded requests and/or pending scripted replies."""
        with self._lock:
            if requests:
                self._requests.clear()
            if script:
                self._script.clear()

    def _next_reply(self, body: dict[str, Any], model: str | None = None) -> Reply:
        model = model if model is not None else body.get("model")
        with self._lock:
            for i, item in enumerate(self._script):
                if item.model not in (None, model):
                    continue
                if item.match is not None and not item.match(body):
                    continue
                item.remaining -= 1
                if item.remaining <= 0:
                    del self._script[i]
                return item.reply
        default = self.default
        if callable(default):
            return default(body)
        return default if default is not None else Reply(text="echo: " + _last_user_text(body))

    # ------------------------------------------------------------------ HTTP/1.1 plumbing

    async def _serve_connection(self, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            while await self._serve_one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass  # client went away or sent a malformed request: drop the connection
        except asyncio.CancelledError:
            pass  # server shutdown
        finally:
            self._conns.discard(task)
            writer.close()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Handle one request; return whether the connection stays open."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # clean EOF between requests
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raw = await self._read_chunked(reader)
        else:
            raw = await reader.readexactly(int(headers.get("content-length") or 0))
        conn = headers.get("connection", "").lower()
        keep_alive = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
        path, _, query = target.partition("?")
        await self._dispatch(writer, method, urllib.parse.unquote(path), headers, raw, keep_alive,
                             dict(urllib.parse.parse_qsl(query)), reader)
        await writer.drain()
        return keep_alive

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        body = bytearray()
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            body += await reader.readexactly(size)
            await reader.readexactly(2)  # CRLF after each chunk
        while await reader.readuntil(b"\r\n") != b"\r\n":
            pass  # skip trailers
        return bytes(body)

    @staticmethod
    def _head(status: int, api: str, keep_alive: bool, headers: dict[str, str]) -> bytes:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        headers = {**headers, "connection": "keep-alive" if keep_alive else "close",
                   ("request-id" if api == "anthropic" else "x-request-id"): _new_id("req_")}
        lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send_json(self, writer: asyncio.StreamWriter, status: int, payload: Any, api: str,
                   keep_alive: bool, extra: dict[str, str] | None = None) -> None:
        data = _dumps(payload).encode()
        headers = {"content-type": "application/json", "content-length": str(len(data)), **(extra or {})}
        writer.write(self._head(status, api, keep_alive, headers) + data)

    def _send_error(self, writer: asyncio.StreamWriter, err: Error, api: str, keep_alive: bool) -> None:
        extra = {}
        if err.retry_after is not None:
            extra = {"retry-after": f"{err.retry_after:g}", "retry-after-ms": str(int(err.retry_after * 1000))}
        fallback = ("server_error", "api_error") if err.status >= 500 else ("invalid_request_error",) * 2
        openai_type, anthropic_type = _ERROR_TYPES.get(err.status, fallback)
        if api == "gemini":
            details: list[dict[str, Any]] = []
            if err.retry_after is not None:
                details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                "retryDelay": f"{err.retry_after:g}s"})
            payload: dict[str, Any] = {"error": {
                "code": err.status, "message": err.message, "details": details,
                "status": err.type or _GOOGLE_STATUS.get(err.status, "INTERNAL" if err.status >= 500 else "UNKNOWN")}}
        elif api == "bedrock":
            extra["x-amzn-errortype"] = err.type or _AWS_ERROR.get(
                err.status, "InternalServerException" if err.status >= 500 else "ValidationException")
            payload = {"message": err.message}
        elif api == "anthropic":
            payload = {"type": "error", "error": {
                "type": err.type or anthropic_type, "message": err.message}}
        else:
            payload = {"error": {"message": err.message, "type": err.type or openai_type, "param": None,
                                 "code": "rate_limit_exceeded" if err.status == 429 else None}}
        self._send_json(writer, err.status, payload, api, keep_alive, extra)

    async def _send_sse(self, writer: asyncio.StreamWriter, events: list[bytes], reply: Reply,
                        api: str, keep_alive: bool, content_type: str = "text/event-stream; charset=utf-8",
                        record: RecordedRequest | None = None) -> None:
        """Stream pre-encoded SSE events, one HTTP chunk each.

        Without an inter-event delay the whole response goes out in a single write:
        one syscall, and an in-process client wakes up once instead of per event
        (which matters under the GIL when client and fake share a process).
        """
        head = self._head(200, api, keep_alive, {
            "content-type": content_type,
            "cache-control": "no-cache", "transfer-encoding": "chunked"})
        chunks = [b"%x\r\n%s\r\n" % (len(event), event) for event in events]
        if reply.drop_after_events is not None:
            writer.write(b"".join([head, *chunks[:reply.drop_after_events]]))
            await writer.drain()
            raise ConnectionError("hanging up mid-stream, as scripted")
        if not reply.chunk_delay_s:
            writer.write(b"".join([head, *chunks, b"0\r\n\r\n"]))
            return
        writer.write(head)
        for chunk in chunks:
            writer.write(chunk)
            try:
                await writer.drain()  # raises ConnectionError if the client hung up
            except ConnectionError:
                if record is not None:
                    record.disconnected = True
                raise
            await asyncio.sleep(reply.chunk_delay_s)
            if writer.is_closing() or writer.transport.get_extra_info("socket") is None:
                if record is not None:
                    record.disconnected = True
                raise ConnectionError("the client hung up mid-stream")
        writer.write(b"0\r\n\r\n")

    # ------------------------------------------------------------------ routing & endpoints

    async def _dispatch(self, writer: asyncio.StreamWriter, method: str, path: str,
                        headers: dict[str, str], raw: bytes, keep_alive: bool,
                        query: dict[str, str] | None = None,
                        reader: asyncio.StreamReader | None = None) -> None:
        query = query or {}
        route = path.rstrip("/")
        if route.startswith(("/v1beta/", "/v1alpha/")) or route in ("/v1beta/models", "/v1alpha/models") \
                or _GEMINI_PATH.match(route) or route.startswith(("/openai/", "/model/", "/foundation-models")):
            await self._dispatch_path_model(writer, method, route, headers, raw, keep_alive, query)
            return
        while route == "/v1" or route.startswith("/v1/"):  # accept /v1, /v1/v1 or no prefix
            route = route[3:]
        endpoint = {"/chat/completions": "chat.completions", "/messages": "messages",
                    "/embeddings": "embeddings", "/models": "models"}.get(route, "unknown")
        if route.startswith("/models/"):
            endpoint = "models"
        api = {"chat.completions": "openai", "embeddings": "openai", "messages": "anthropic"}.get(
            endpoint, "anthropic" if "anthropic-version" in headers else "openai")
        try:
            body, bad_json = (json.loads(raw) if raw else None), False
        except ValueError:
            body, bad_json = None, True
        record = RecordedRequest(method, path, endpoint, api, headers, body)
        with self._lock:
            self._requests.append(record)

        try:
            if bad_json:
                raise _HTTPError(Error(400, "request body is not valid JSON"))
            self._check_key(headers)
            if endpoint == "unknown":
                raise _HTTPError(Error(404, f"unknown path {path}"))
            if method != ("GET" if endpoint == "models" else "POST"):
                raise _HTTPError(Error(405, f"{method} not allowed on {path}"))
            if endpoint == "models":
                self._send_json(writer, 200, self._models(route, api), api, keep_alive)
            elif not isinstance(body, dict):
                raise _HTTPError(Error(400, "request body must be a JSON object"))
            elif endpoint == "embeddings":
                text = json.dumps(body.get("input"))
                stall = max((s for key, s in dict(self.embedding_stalls).items() if key in text), default=0.0)
                if stall:
                    await asyncio.sleep(stall)
                self._send_json(writer, 200, self._embeddings(body), api, keep_alive)
            else:
                await self._generate(writer, api, body, keep_alive, reader, record)
        except _HTTPError as exc:
            self._send_error(writer, exc.error, api, keep_alive)
        except ConnectionError:
            raise  # the client hung up mid-stream: nothing left to answer
        except Exception as exc:  # noqa: BLE001 -- a bug in the fake or a bad script: answer, don't hang
            self._send_error(writer, Error(500, f"fake LLM failure: {exc!r}"), api, keep_alive)

    def _check_key(self, headers: dict[str, str]) -> None:
        """Refuses a request whose key is not in `valid_keys` (when set)."""
        if self.valid_keys is None:
            return
        auth = headers.get("authorization", "")
        given = None
        if auth.startswith("AWS4-HMAC-SHA256"):
            match = re.search(r"Credential=([^/]+)/", auth)
            given = match.group(1) if match else ""
        elif auth.lower().startswith("bearer "):
            given = auth[7:]
        for name in ("x-api-key", "x-goog-api-key", "api-key"):
            given = headers.get(name, given)
        if given not in self.valid_keys:
            raise _HTTPError(Error(401, "invalid api key", type=None))

    async def _dispatch_path_model(self, writer: asyncio.StreamWriter, method: str, route: str,
                                   headers: dict[str, str], raw: bytes, keep_alive: bool,
                                   query: dict[str, str]) -> None:
        """Gemini, Azure and Bedrock: the model is in the path."""
        gemini, azure, bedrock = _GEMINI_PATH.match(route), _AZURE_PATH.match(route), _BEDROCK_PATH.match(route)
        api, endpoint, model = "openai", "unknown", None
        if gemini:
            api, model = "gemini", gemini.group(2)
            endpoint = "embeddings" if "Embed" in gemini.group(3) else "generate"
        elif route.startswith(("/v1beta", "/v1alpha")):
            api, endpoint = "gemini", "models" if route.endswith("/models") else "unknown"
        elif azure:
            model = azure.group(1)
            endpoint = "chat.completions" if azure.group(2) == "chat/completions" else "embeddings"
        elif route == "/openai/deployments":
            endpoint = "models"
        elif bedrock:
            api, endpoint, model = "bedrock", "generate", bedrock.group(1)
        elif route == "/foundation-models":
            api, endpoint = "bedrock", "models"
        try:
            body, bad_json = (json.loads(raw) if raw else None), False
        except ValueError:
            body, bad_json = None, True
        with self._lock:
            self._requests.append(RecordedRequest(method, route, endpoint, api, headers, body, query=query,
                                                  path_model=model))
        try:
            if bad_json:
                raise _HTTPError(Error(400, "request body is not valid JSON"))
            self._check_key(headers)
            if azure or route == "/openai/deployments":
                if not query.get("api-version"):
                    raise _HTTPError(Error(404, "Resource not found (no api-version)"))
            if endpoint == "unknown":
                raise _HTTPError(Error(404, f"unknown path {route}"))
            if method != ("GET" if endpoint == "models" else "POST"):
                raise _HTTPError(Error(405, f"{method} not allowed on {route}"))
            if endpoint == "models":
                self._send_json(writer, 200, self._path_models(api), api, keep_alive)
                return
            if not isinstance(body, dict):
                raise _HTTPError(Error(400, "request body must be a JSON object"))
            if api == "gemini" and endpoint == "embeddings":
                self._send_json(writer, 200, self._gemini_embeddings(gemini.group(3), body), api, keep_alive)
            elif api == "gemini":
                await self._generate_gemini(writer, model, body, gemini.group(3) == "streamGenerateContent",
                                            keep_alive)
            elif api == "bedrock":
                await self._generate_bedrock(writer, model, body, bedrock.group(2) != "invoke", keep_alive)
            elif endpoint == "embeddings":
                self._send_json(writer, 200, self._embeddings(body), api, keep_alive)
            else:
                await self._generate(writer, api, {"model": model, **body}, keep_alive)
        except _HTTPError as exc:
            self._send_error(writer, exc.error, api, keep_alive)
        except ConnectionError:
            raise
        except Exception as exc:  # noqa: BLE001
            self._send_error(writer, Error(500, f"fake LLM failure: {exc!r}"), api, keep_alive)

    def _path_models(self, api: str) -> dict[str, Any]:
        if api == "gemini":
            return {"models": [{
                "name": f"models/{m}", "version": "001", "displayName": m,
                "inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536,
                "supportedGenerationMethods": (["embedContent"] if "embedding" in m
                                               else ["generateContent", "countTokens"])} for m in self.models]}
        if api == "bedrock":
            return {"modelSummaries": [{
                "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{m}", "modelId": m, "modelName": m,
                "providerName": "Anthropic", "inputModalities": ["TEXT"], "outputModalities": ["TEXT"],
                "responseStreamingSupported": True, "inferenceTypesSupported": ["ON_DEMAND"]}
                for m in self.models]}
        return {"object": "list", "data": [{
            "id": m, "model": m, "object": "deployment", "owner": "organization-owner", "status": "succeeded",
            "created_at": 1735689600, "scale_settings": {"scale_type": "standard"}} for m in self.models]}

    def _gemini_embeddings(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        def one(request: dict[str, Any]) -> dict[str, Any]:
            parts = (request.get("content") or {}).get("parts") or []
            text = "".join(p.get("text", "") for p in parts if isinstance(p, dict))
            dim = request.get("outputDimensionality") or 768
            return {"values": embed(text, dim)}

        if method == "batchEmbedContents":
            requests = body.get("requests")
            if not isinstance(requests, list) or not requests:
                raise _HTTPError(Error(400, "requests: must be a non-empty list"))
            return {"embeddings": [one(r) for r in requests]}
        return {"embedding": one(body)}

    async def _generate_gemini(self, writer: asyncio.StreamWriter, model: str, body: dict[str, Any],
                               stream: bool, keep_alive: bool) -> None:
        if not body.get("contents"):
            raise _HTTPError(Error(400, "contents: field required"))
        reply = self._next_reply(body, model)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.error is not None:
            raise _HTTPError(reply.error)
        render = _GeminiReply(model, body, reply)
        if stream:
            await self._send_sse(writer, render.stream(), reply, "gemini", keep_alive,
                                 content_type="text/event-stream")
        else:
            self._send_json(writer, 200, render.complete(), "gemini", keep_alive)

    async def _generate_bedrock(self, writer: asyncio.StreamWriter, model: str, body: dict[str, Any],
                                stream: bool, keep_alive: bool) -> None:
        for name in ("messages", "max_tokens", "anthropic_version"):
            if body.get(name) in (None, "", []):
                raise _HTTPError(Error(400, f"{name}: field required"))
        if "model" in body or "stream" in body:
            raise _HTTPError(Error(400, "model and stream are not body fields on Bedrock"))
        if not str(body["anthropic_version"]).startswith("bedrock-"):
            raise _HTTPError(Error(400, f"anthropic_version: {body['anthropic_version']!r} is not a Bedrock version"))
        reply = self._next_reply(body, model)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.error is not None:
            raise _HTTPError(reply.error)
        render = _AnthropicReply({**body, "model": model}, reply)
        if stream:
            events = [_aws_event(payload) for payload in render.events()]
            await self._send_sse(writer, events, reply, "bedrock", keep_alive,
                                 content_type="application/vnd.amazon.eventstream")
        else:
            self._send_json(writer, 200, render.complete(), "bedrock", keep_alive)

    def _models(self, route: str, api: str) -> dict[str, Any]:
        def entry(name: str) -> dict[str, Any]:
            if api == "anthropic":
                return {"type": "model", "id": name, "display_name": name,
                        "created_at": "2025-01-01T00:00:00Z"}
            return {"id": name, "object": "model", "created": 1735689600, "owned_by": "fake-llm"}

        if route.startswith("/models/"):  # retrieve one model
            name = route[len("/models/"):]
            if name not in self.models:
                raise _HTTPError(Error(404, f"model {name!r} not found"))
            return entry(name)
        data = [entry(m) for m in self.models]
        if api == "anthropic":
            return {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
                    "last_id": data[-1]["id"] if data else None}
        return {"object": "list", "data": data}

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body.get("input")
        if isinstance(inputs, str) or (isinstance(inputs, list) and inputs and isinstance(inputs[0], int)):
            inputs = [inputs]  # a single string or a single token array
        if not isinstance(inputs, list) or not inputs:
            raise _HTTPError(Error(400, "'input' must be a non-empty string or array"))
        dim = body.get("dimensions") or DEFAULT_EMBEDDING_DIM
        if not isinstance(dim, int) or dim < 1:
            raise _HTTPError(Error(400, "'dimensions' must be a positive integer"))
        as_base64 = body.get("encoding_format") == "base64"
        data, tokens = [], 0
        for i, item in enumerate(inputs):
            text = item if isinstance(item, str) else " ".join(f"tok{t}" for t in item)
            tokens += len(item) if isinstance(item, list) else max(1, len(text) // 4)
            vec: Any = embed(text, dim)
            if as_base64:  # little-endian float32, which is what the openai SDK decodes
                vec = base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": vec})
        return {"object": "list", "data": data, "model": body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    async def _generate(self, writer: asyncio.StreamWriter, api: str, body: dict[str, Any],
                        keep_alive: bool, reader: asyncio.StreamReader | None = None,
                        record: RecordedRequest | None = None) -> None:
        required = ("model", "messages", "max_tokens") if api == "anthropic" else ("model", "messages")
        for name in required:
            if body.get(name) in (None, "", []):
                raise _HTTPError(Error(400, f"{name}: field required"))
        reply = self._next_reply(body)
        if reply.delay_s and reader is not None:
            # Stall, noticing a client that hangs up meanwhile (it sends
            # nothing else on this connection until it has the answer).
            eof = asyncio.ensure_future(reader.read(1))
            done, _ = await asyncio.wait({eof}, timeout=reply.delay_s)
            if eof in done:
                if record is not None:
                    record.disconnected = True
                raise ConnectionError("the client hung up while the reply was delayed")
            eof.cancel()
            try:
                await eof  # the reader must be free before the next request is read
            except asyncio.CancelledError:
                pass
        elif reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.error is not None:
            raise _HTTPError(reply.error)
        if reply.raw_body is not None:
            await self._send_raw(writer, reply, api, keep_alive, stream=bool(body.get("stream")))
            return
        render = (_AnthropicReply if api == "anthropic" else _OpenAIReply)(body, reply)
        if body.get("stream"):
            await self._send_sse(writer, render.stream(), reply, api, keep_alive, record=record)
        else:
            self._send_json(writer, 200, render.complete(), api, keep_alive)

    async def _send_raw(self, writer: asyncio.StreamWriter, reply: Reply, api: str, keep_alive: bool,
                        *, stream: bool) -> None:
        """A 200 whose body is `reply.raw_body` as it is (a broken provider)."""
        assert reply.raw_body is not None
        data = reply.raw_body.encode()
        if stream:
            # One SSE event per blank-line-separated block, as a real server flushes them.
            events = [block.encode() + b"\n\n" for block in reply.raw_body.split("\n\n") if block]
            await self._send_sse(writer, events, reply, api, keep_alive)
        else:
            writer.write(self._head(200, api, keep_alive, {"content-type": "application/json",
                                                           "content-length": str(len(data))}) + data)


# --------------------------------------------------------------------------- wire formats


class _OpenAIReply:
    """Renders a Reply as an OpenAI chat completion (object or SSE chunks)."""

    def __init__(self, body: dict[str, Any], reply: Reply) -> None:
        self.body, self.reply, self.text = body, reply, reply.text or ""
        self.id, self.created, self.model = _new_id("chatcmpl-"), int(time.time()), body["model"]
        self.calls = [(t, t.id or _new_id("call_")) for t in reply.tool_calls]
        self.finish = reply.finish_reason or ("tool_calls" if self.calls else "stop")
        prompt, completion = _usage(body, reply)
        self.usage = {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion}

    def _envelope(self, obj: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model,
                "system_fingerprint": "fp_fake", "choices": choices}

    def complete(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "refusal": None,
                                   "content": self.text if self.text or not self.calls else None}
        if self.reply.reasoning:
            message["reasoning_content"] = self.reply.reasoning  # OpenAI-compatible servers' field
        if self.calls:
            message["tool_calls"] = [{"id": cid, "type": "function", "function": {
                "name": t.name, "arguments": t.arguments_json()}} for t, cid in self.calls]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish}
        return {**self._envelope("chat.completion", [choice]), "usage": self.usage}

    def stream(self) -> list[bytes]:
        n = self.reply.stream_chunks or DEFAULT_STREAM_CHUNKS
        include_usage = bool((self.body.get("stream_options") or {}).get("include_usage"))
        events: list[bytes] = []

        def send(payload: dict[str, Any]) -> None:
            events.append(b"data: " + _dumps(payload).encode() + b"\n\n")

        def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            payload = self._envelope("chat.completion.chunk", [choice])
            if include_usage:
                payload["usage"] = None  # the real API sends null until the final chunk
            send(payload)

        chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in _split(self.reply.reasoning or "", n):
            chunk({"reasoning_content": piece})
        for piece in _split(self.text, n):
            chunk({"content": piece})
        for index, (tool, cid) in enumerate(self.calls):
            # The first delta announces id and name; the arguments follow in fragments.
            chunk({"tool_calls": [{"index": index, "id": cid, "type": "function",
                                   "function": {"name": tool.name, "arguments": ""}}]})
            for frag in _split(tool.arguments_json(), n):
                chunk({"tool_calls": [{"index": index, "function": {"arguments": frag}}]})
        chunk({}, self.finish)
        if include_usage:
            send({**self._envelope("chat.completion.chunk", []), "usage": self.usage})
        events.append(b"data: [DONE]\n\n")
        return events


class _AnthropicReply:
    """Renders a Reply as an Anthropic message (object or SSE event sequence)."""

    def __init__(self, body: dict[str, Any], reply: Reply) -> None:
        self.reply, self.text = reply, reply.text or ""
        self.id, self.model = _new_id("msg_"), body["model"]
        self.calls = [(t, t.id or _new_id("toolu_")) for t in reply.tool_calls]
        finish = reply.finish_reason
        self.stop_reason = _STOP_REASONS.get(finish, finish) if finish else (
            "tool_use" if self.calls else "end_turn")
        self.input_tokens, self.output_tokens = _usage(body, reply)

    def _usage(self, output_tokens: int) -> dict[str, Any]:
        return {"input_tokens": self.input_tokens, "output_tokens": output_tokens,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}

    def complete(self) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = []
        if self.reply.reasoning:
            blocks.append({"type": "thinking", "thinking": self.reply.reasoning, "signature": "fake-sig"})
        if self.text or not self.calls:
            blocks.append({"type": "text", "text": self.text})
        for tool, cid in self.calls:
            args: Any = tool.arguments
            if isinstance(args, str):  # parse when possible; malformed JSON goes out verbatim
                try:
                    args = json.loads(args)
                except ValueError:
                    pass
            blocks.append({"type": "tool_use", "id": cid, "name": tool.name, "input": args})
        return {"id": self.id, "type": "message", "role": "assistant", "model": self.model,
                "content": blocks, "stop_reason": self.stop_reason, "stop_sequence": None,
                "usage": self._usage(self.output_tokens)}

    def stream(self) -> list[bytes]:
        return [f"event: {p['type']}\ndata: {_dumps(p)}\n\n".encode() for p in self.events()]

    def events(self) -> list[dict[str, Any]]:
        """The stream's events, in order (SSE frames for Anthropic, event-stream
        chunks for Bedrock)."""
        n = self.reply.stream_chunks or DEFAULT_STREAM_CHUNKS
        events: list[dict[str, Any]] = []

        def emit(kind: str, **payload: Any) -> None:
            events.append({"type": kind, **payload})

        def block(start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
            index = len(blocks)
            blocks.append(start)
            emit("content_block_start", index=index, content_block=start)
            for delta in deltas:
                emit("content_block_delta", index=index, delta=delta)
            emit("content_block_stop", index=index)

        blocks: list[dict[str, Any]] = []
        emit("message_start", message={
            "id": self.id, "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": self._usage(1)})
        emit("ping")
        if self.reply.reasoning:
            block({"type": "thinking", "thinking": "", "signature": ""},
                  [{"type": "thinking_delta", "thinking": p} for p in _split(self.reply.reasoning, n)]
                  + [{"type": "signature_delta", "signature": "fake-sig"}])
        if self.text or not self.calls:
            block({"type": "text", "text": ""},
                  [{"type": "text_delta", "text": p} for p in _split(self.text, n)])
        for tool, cid in self.calls:
            block({"type": "tool_use", "id": cid, "name": tool.name, "input": {}},
                  [{"type": "input_json_delta", "partial_json": p}
                   for p in _split(tool.arguments_json(), n)])
        emit("message_delta", delta={"stop_reason": self.stop_reason, "stop_sequence": None},
             usage={"input_tokens": self.input_tokens, "output_tokens": self.output_tokens})
        emit("message_stop")
        return events


class _GeminiReply:
    """Renders a Reply as a Gemini GenerateContentResponse (object or SSE chunks)."""

    def __init__(self, model: str, body: dict[str, Any], reply: Reply) -> None:
        self.model, self.reply, self.text = model, reply, reply.text or ""
        self.id = _new_id("")
        finish = reply.finish_reason or "stop"
        self.finish = _GEMINI_FINISH.get(finish, finish.upper())
        self.prompt, self.completion = _usage(body, reply)

    def _usage(self, final: bool) -> dict[str, Any]:
        usage: dict[str, Any] = {"promptTokenCount": self.prompt}
        if final:
            thoughts = max(1, len(self.reply.reasoning) // 4) if self.reply.reasoning else 0
            usage.update(candidatesTokenCount=self.completion, totalTokenCount=self.prompt + self.completion + thoughts)
            if thoughts:
                usage["thoughtsTokenCount"] = thoughts
        else:
            usage["totalTokenCount"] = self.prompt
        return usage

    def _call_parts(self) -> list[dict[str, Any]]:
        parts = []
        for i, tool in enumerate(self.reply.tool_calls):
            args: Any = tool.arguments
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except ValueError:
                    args = {}
            call: dict[str, Any] = {"name": tool.name, "args": args}
            if tool.id:
                call["id"] = tool.id
            part: dict[str, Any] = {"functionCall": call}
            if i == 0:
                part["thoughtSignature"] = base64.b64encode(b"fake-signature").decode()
            parts.append(part)
        return parts

    def _response(self, parts: list[dict[str, Any]], final: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if final:
            candidate["finishReason"] = self.finish
        return {"candidates": [candidate], "usageMetadata": self._usage(final), "modelVersion": self.model,
                "responseId": self.id}

    def complete(self) -> dict[str, Any]:
        parts: list[dict[str, Any]] = []
        if self.reply.reasoning:
            parts.append({"text": self.reply.reasoning, "thought": True})
        if self.text:
            parts.append({"text": self.text})
        parts += self._call_parts()
        return self._response(parts, True)

    def stream(self) -> list[bytes]:
        n = self.reply.stream_chunks or DEFAULT_STREAM_CHUNKS
        chunks = [[{"text": p, "thought": True}] for p in _split(self.reply.reasoning or "", n)]
        chunks += [[{"text": p}] for p in _split(self.text, n)]
        chunks += [[part] for part in self._call_parts()]
        if not chunks:
            chunks = [[]]
        out = [self._response(parts, i == len(chunks) - 1) for i, parts in enumerate(chunks)]
        return [b"data: " + _dumps(c).encode() + b"\r\n\r\n" for c in out]


def _aws_event(payload: dict[str, Any]) -> bytes:
    """One AWS event-stream message carrying a Bedrock `chunk` event whose
    `bytes` are the Anthropic event's JSON (prelude, headers, payload, CRCs)."""
    body = _dumps({"bytes": base64.b64encode(_dumps(payload).encode()).decode()}).encode()
    headers = b""
    for name, value in ((":event-type", "chunk"), (":content-type", "application/json"),
                        (":message-type", "event")):
        raw_name, raw_value = name.encode(), value.encode()
        headers += struct.pack(">B", len(raw_name)) + raw_name + struct.pack(">BH", 7, len(raw_value)) + raw_value
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack(">I", zlib.crc32(message))


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> None:
    """Run the fake in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description="Fake OpenAI/Anthropic-compatible LLM server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8999)
    args = parser.parse_args(argv)
    server = FakeLLM(host=args.host, port=args.port).start()
    print(f"fake LLM on {server.base_url}  (openai base_url {server.base_url}/v1, "
          f"anthropic base_url {server.base_url}); Ctrl-C to stop", flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill <pid>` stops cleanly too
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
