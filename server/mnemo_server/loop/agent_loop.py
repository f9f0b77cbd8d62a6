"""The agent loop: one request ("turn") to one agent, step by step.

    load state -> rebuild the system message if memory changed -> for each step:
        compact if the prompt is too large -> ask the model (streaming deltas)
        -> run the tools it called (memory tools in-process) -> commit the step
        (one transaction) -> emit the step's messages -> decide whether to go on

Two loop styles:
- letta_v1_agent (default): the model answers in plain text; a turn ends when
  it replies without calling a tool.
- memgpt_agent / memgpt_v2_agent: the model must call a tool; it answers
  through send_message (a terminal tool) and asks for another step with
  `request_heartbeat`.

Every request ends with a stop reason. A model error ends it cleanly
(`llm_api_error`): the failed step writes nothing but its step row, and the
input messages of the request are kept. A turn has a wall-clock budget
(MNEMO_TURN_TIMEOUT_S): once it is spent, the model call in flight is cancelled
and the turn stops (`error`, with an error_message of type `turn_timeout`),
keeping what its earlier steps committed and its input.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf import struct_pb2
from mnemo.v1 import messages_pb2, models_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from ..core import blocks as block_rules
from ..core.db import transaction
from ..errors import FailedPrecondition, InvalidArgument, MnemoError, NotFound
from ..ids import new_id
from ..providers.base import Delta, LLMError, LLMRequest, LLMResponse, ToolSpec, Usage
from ..providers.registry import ProviderRegistry
from ..sandbox import execute_custom_tool
from ..storage import blocks as block_store
from ..storage import convert, turns
from ..storage import passages as passage_store
from ..storage.driver import DriverPool
from ..storage.messages import Message
from . import context
from .archival_tools import ARCHIVAL_TOOLS  # noqa: F401 - importing it registers their executors
from .compaction import CompactionError, Compactor
from .inputs import Answers
from .memory_edits import MEMORY_TOOLS, BlockState, MemoryEditError, dispatch
from .rules import ToolRulesSolver
from .tool_exec import EXECUTORS, StepWrite, ToolContext, ToolFailure
from .views import SEND_MESSAGE, ViewOptions, otid, views

log = logging.getLogger(__name__)

MEMGPT_TYPES = ("memgpt_agent", "memgpt_v2_agent")
HEARTBEAT = "request_heartbeat"
# Run status for each stop reason.
RUN_STATUS = {"end_turn": "completed", "max_steps": "completed", "tool_rule": "completed",
              "requires_approval": "completed", "cancelled": "cancelled"}
HEARTBEAT_SCHEMA = {"type": "boolean", "description": "Set to true to take another step after this call "
                    "(for example to call another tool); false ends your turn."}

Sink = Callable[[messages_pb2.LettaMessage], Awaitable[None]]


@dataclass
class TurnRequest:
    agent_id: str
    inputs: list[Message]
    max_steps: int = 50
    stream_tokens: bool = False
    use_assistant_message: bool = True
    assistant_tool_name: str = SEND_MESSAGE
    assistant_tool_kwarg: str = "message"
    include_types: list[str] = field(default_factory=list)
    include_compaction_messages: bool = False
    override_system: str | None = None
    run_id: str = field(default_factory=lambda: new_id("run"))
    # Set by the run's coordinator when the run is cancelled.
    cancel: asyncio.Event | None = None
    # Why, when it was not a cancel request (e.g. "the client went away").
    cancel_reason: str | None = None
    # Whether this turn's last commit also ends its run and releases the agent.
    owns_run: bool = True
    # The answer to a pending approval request, if this request is one.
    answers: Answers | None = None
    # Tools the client runs itself (calls to them wait for the client's result).
    client_tools: list[turns.ToolInfo] = field(default_factory=list)
    # The agent's state, when it was read together with taking the agent.
    state: turns.TurnState | None = None
    # Whether `inputs` were stored with the run's start (core.runs); the first
    # step commit writes them again, in their processing order.
    inputs_stored: bool = False
    # Whether the run waited in the agent's queue (its stored inputs then move
    # to where the run is processed, see storage/turns.py _COMMIT).
    inputs_queued: bool = False
    # The id of the turn's first step, which the stored input carries.
    first_step_id: str = field(default_factory=lambda: new_id("step"))
    # Set for a turn that only compacts the context instead of asking the model.
    summarize: SummarizeRequest | None = None


@dataclass(frozen=True)
class SummarizeRequest:
    """A turn that only compacts the agent's context (POST /v1/agents/{id}/summarize)."""

    mode: str = "sliding_window"  # or "all"
    keep: int | None = None  # most messages left in context, system and summary included
    keep_share: float = 0.5  # sliding window: share of the context window the kept tail may use
    instructions: str | None = None  # the summariser's prompt, instead of the default
    clip_chars: int | None = None  # longest summary, in characters


@dataclass
class TurnResult:
    run_id: str
    messages: list[messages_pb2.LettaMessage]
    stop_reason: str
    usage: Usage
    step_count: int
    context_tokens: int = 0
    error: messages_pb2.LettaMessage | None = None
    # For a summarize turn: num_messages_before, num_messages_after, summary.
    compaction: dict[str, Any] | None = None


@dataclass
class _Step:
    """What one step produced, before it is committed."""

    id: str
    assistant: Message | None = None
    tool_messages: list[Message] = field(default_factory=list)
    edited_blocks: dict[str, BlockState] = field(default_factory=dict)
    writes: list[StepWrite] = field(default_factory=list)  # tools' side effects, committed with the step
    tool_ms: float = 0.0


# A turn's wall-clock budget when none is configured (Settings.turn_timeout_s).
DEFAULT_TURN_TIMEOUT_S = 1800.0


class AgentLoop:
    def __init__(self, engine: AsyncEngine, registry: ProviderRegistry, secret_box: Any = None,
                 driver: DriverPool | None = None, *, turn_timeout_s: float = DEFAULT_TURN_TIMEOUT_S,
                 tool_packages: Any = None):
        self.engine = engine
        self.tool_packages = tool_packages  # custom tools' installed requirements (sandbox/packages.py)
        self.driver = driver  # the hot statements' pool (storage/driver.py)
        self.registry = registry
        self.secret_box = secret_box  # decrypts agent secrets for custom tools
        self.mcp: Any = None  # core.mcp_servers.McpServers: runs tools of type external_mcp
        self.turn_timeout_s = turn_timeout_s  # MNEMO_TURN_TIMEOUT_S

    async def run(self, request: TurnRequest, sink: Sink | None = None) -> TurnResult:
        return await _Turn(self, request, sink).run()


class _Turn:
    """The state of one request while it runs."""

    def __init__(self, loop: AgentLoop, request: TurnRequest, sink: Sink | None):
        self.loop = loop
        self.request = request
        self.sink = sink
        self.usage = Usage()
        self.emitted: list[messages_pb2.LettaMessage] = []
        self.step_count = 0
        self.context_tokens = 0
        self.started = time.monotonic()
        self.deadline = self.started + loop.turn_timeout_s
        self.first_event_ms: float | None = None
        self.stored_inputs = {m.id for m in request.inputs} if request.inputs_stored else set()

    # -- setup ----------------------------------------------------------------

    async def _load(self) -> None:
        state = self.request.state
        if state is None:
            async with self.loop.driver.acquire() as conn:
                state = await turns.load(conn, self.request.agent_id)
        if state is None:
            raise NotFound("agent", self.request.agent_id)
        self.state = state
        agent = state.agent
        self.agent_type = agent["agent_type"]
        self.memgpt = self.agent_type in MEMGPT_TYPES
        self.llm_config = convert.dict_to_message(agent["llm_config"], models_pb2.LlmConfig())
        self.blocks = {b.label: BlockState(id=b.id, label=b.label, value=b.value, limit=b.limit,
                                           read_only=b.read_only, description=b.description) for b in state.blocks}
        self.tools = {t.name: t for t in state.tools}
        for tool in self.request.client_tools:
            self.tools[tool.name] = tool  # a client tool shadows a server tool of the same name
        self.client_tool_names = {t.name for t in self.request.client_tools}
        approval = {t.name for t in state.tools if t.default_requires_approval} | self.client_tool_names
        self.rules = ToolRulesSolver(agent["tool_rules"] or [], list(self.tools), approval_tools=approval)
        self.view_options = ViewOptions(
            text_is_reasoning=self.memgpt, use_assistant_message=self.request.use_assistant_message,
            assistant_tool_name=self.request.assistant_tool_name,
            assistant_tool_kwarg=self.request.assistant_tool_kwarg,
            include_compaction_messages=self.request.include_compaction_messages,
        )
        self.in_context: list[Message] = list(state.in_context)
        self.message_count = int(agent.get("message_count") or 0)
        try:
            self.client = self.loop.registry.client_for(self.llm_config)
        except LLMError as exc:  # e.g. the provider's key is not configured
            self.client = _Unavailable(exc)
        self.tool_context = ToolContext(engine=self.loop.engine, agent_id=self.request.agent_id,
                                        run_id=self.request.run_id, agent=agent)

    def _line_numbers(self) -> bool:
        return self.llm_config.model_endpoint_type == "anthropic"

    async def _system_message(self) -> tuple[Message, bool]:
        """The system message for this turn, rebuilt if what it shows changed.
        Returns (message, changed). Rebuilding also refreshes the memory
        metadata (recall and archival counts), read only then."""
        base = self.state.agent["system"]
        section = context.memory_section(list(self.blocks.values()), self.rules.usage_rules_text(),
                                         line_numbers=self._line_numbers())
        current = self.in_context[0] if self.in_context and self.in_context[0].role == "system" else None
        if current is not None and context.system_is_current(current.text, base, section):
            return current, False
        async with self.loop.engine.connect() as conn:
            archival_count, archival_tags = await passage_store.stats(conn, self.request.agent_id)
        metadata = context.render_metadata(
            agent_id=self.request.agent_id, timezone=self.state.agent.get("timezone"),
            recall_count=max(0, self.message_count - len(self.in_context)),
            archival_count=archival_count, archival_tags=archival_tags,
        )
        text = context.compile_system(base, section, metadata)
        now = datetime.now(UTC)
        if current is None:
            return Message(id=new_id("message"), agent_id=self.request.agent_id, role="system",
                           content=[{"type": "text", "text": text}], created_at=now), True
        current.content = [{"type": "text", "text": text}]
        current.created_at = now
        return current, True

    # -- tools offered ----------------------------------------------------------

    def _tool_specs(self) -> list[ToolSpec]:
        allowed = set(self.rules.allowed_tools())
        specs = []
        for name, tool in self.tools.items():
            if name not in allowed:
                continue
            parameters = tool.parameters
            if self.memgpt and not self.rules.is_terminal(name):
                parameters = json.loads(json.dumps(parameters))
                parameters.setdefault("properties", {})[HEARTBEAT] = HEARTBEAT_SCHEMA
                parameters.setdefault("required", [])
                if HEARTBEAT not in parameters["required"]:
                    parameters["required"].append(HEARTBEAT)
            specs.append(ToolSpec(name=name, description=tool.description, parameters=parameters))
        return specs

    # -- events -------------------------------------------------------------------

    def _mark_first_event(self) -> None:
        if self.first_event_ms is None:
            self.first_event_ms = (time.monotonic() - self.started) * 1000

    async def _emit(self, message: messages_pb2.LettaMessage, *, keep: bool = True) -> None:
        self._mark_first_event()
        if keep:
            self.emitted.append(message)
        if self.sink is not None:
            await self.sink(message)

    async def _emit_views(self, messages: list[Message], *, skip_types: set[str] = frozenset()) -> None:
        for view in views(messages, self.view_options, self.request.include_types):
            if view.message_type in skip_types:
                self.emitted.append(view)
                continue
            await self._emit(view)

    def _delta_sink(self, step: _Step):
        """Turns provider deltas into LettaMessage deltas (token streaming)."""
        message_id = step.assistant.id if step.assistant else None
        kinds: dict[str, int] = {}
        call_names: dict[int, str] = {}
        hide_calls = self.memgpt and self.request.use_assistant_message

        def view_index(kind: str) -> int:
            return kinds.setdefault(kind, len(kinds))

        async def on_delta(delta: Delta) -> None:
            if self.sink is None or message_id is None:
                return
            view = messages_pb2.LettaMessage(id=message_id, run_id=self.request.run_id, step_id=step.id)
            view.date.FromDatetime(datetime.now(UTC))
            if delta.kind == "reasoning" or (delta.kind == "text" and self.memgpt):
                view.message_type = "reasoning_message"
                view.reasoning = delta.text
                view.source = "reasoner_model" if delta.kind == "reasoning" else "non_reasoner_model"
                view.otid = otid(message_id, view_index("reasoning" if delta.kind == "reasoning" else "text"))
            elif delta.kind == "text":
                view.message_type = "assistant_message"
                view.content.CopyFrom(struct_pb2.Value(string_value=delta.text))
                view.otid = otid(message_id, view_index("text"))
            else:
                if delta.name:
                    call_names[delta.index] = delta.name
                if hide_calls and call_names.get(delta.index) == self.request.assistant_tool_name:
                    return  # sent whole as an assistant_message after the step
                view.message_type = "tool_call_message"
                call = messages_pb2.ToolCall(arguments=delta.arguments)
                if delta.name:
                    call.name = delta.name
                if delta.tool_call_id:
                    call.tool_call_id = delta.tool_call_id
                view.tool_call.CopyFrom(call)
                view.otid = otid(message_id, view_index("tool_call"))
            if self.request.include_types and view.message_type not in self.request.include_types:
                return
            self._mark_first_event()
            await self.sink(view)
            # Let the stream writer run: a provider's burst of buffered deltas
            # would otherwise all be parsed before the first reaches the client.
            await asyncio.sleep(0)

        return on_delta

    # -- the turn -------------------------------------------------------------------

    async def run(self) -> TurnResult:
        await self._load()
        system, system_changed = await self._system_message()
        new_system = system_changed and not self.in_context
        if new_system:
            self.in_context = [system]
        elif system_changed:
            self.in_context[0] = system
        if self.request.summarize is not None:
            return await self._summarize(system if system_changed else None, new_system)
        pending_approval = next((m for m in reversed(self.in_context) if m.role in ("approval", "approval_response",
                                 "user", "assistant")), None)
        pending_approval = pending_approval if pending_approval and pending_approval.role == "approval" else None
        if pending_approval is not None and self.request.answers is None:
            raise PendingApproval(
                f"agent '{self.request.agent_id}' is waiting for approval of tool calls "
                f"({', '.join(c['name'] for c in pending_approval.tool_calls or [])}, request "
                f"'{pending_approval.id}'); answer with a message of type 'approval' first"
            )
        if pending_approval is None and self.request.answers is not None:
            raise FailedPrecondition(f"{self.request.answers.field}: no tool call of agent "
                                     f"'{self.request.agent_id}' is waiting for approval")
        pending_inputs = [self._stamp(m) for m in self.request.inputs]
        answered: list[Message] = []
        pending_system = system if system_changed else None
        stop_reason: str | None = None
        error_view = None
        for step_index in range(self.request.max_steps):
            # The first step's id was given to the input stored with the run's start.
            step = _Step(id=self.request.first_step_id if step_index == 0 else new_id("step"))
            for m in pending_inputs:
                m.step_id = step.id
            if step_index == 0 and pending_approval is not None:
                answered = await self._answer(step, pending_approval)
                pending_inputs = [*answered, *pending_inputs]
            if self._cancelled():
                stop_reason = "cancelled"
                await self._commit_failure(step, pending_inputs, pending_system, new_system, stop_reason,
                                           "cancelled", status="cancelled")
                break
            if time.monotonic() >= self.deadline:  # a tool of the last step used up the budget
                stop_reason, error_view = "error", self._out_of_time_view()
                await self._commit_failure(step, pending_inputs, pending_system, new_system, stop_reason,
                                           error_view.message, error_type="turn_timeout")
                break
            prompt = self.in_context + pending_inputs
            specs = self._tool_specs()  # what the rules allow at this step
            try:
                prompt, compaction = await self._bounded(self._maybe_compact(prompt, pending_inputs, specs))
            except CompactionError as exc:
                stop_reason = "context_window_overflow"
                error_view = self._error_view("context_window_overflow", str(exc))
                await self._commit_failure(step, pending_inputs, pending_system, new_system, stop_reason, str(exc))
                break
            except _Cancelled:
                stop_reason = "cancelled"
                await self._commit_failure(step, pending_inputs, pending_system, new_system, stop_reason,
                                           "cancelled while compacting the context", status="cancelled")
                break
            except _OutOfTime:
                stop_reason, error_view = "error", self._out_of_time_view()
                await self._commit_failure(step, pending_inputs, pending_system, new_system, stop_reason,
                                           error_view.message, error_type="turn_timeout")
                break
            if compaction is not None:
                pending_inputs = [*compaction.new_messages, *pending_inputs]
                pending_system = prompt[0]
                self.in_context = [prompt[0], *compaction.kept]
            step.assistant = Message(id=new_id("message"), agent_id=self.request.agent_id, role="assistant",
                                     step_id=step.id, run_id=self.request.run_id, model=self.llm_config.model)
            started = time.monotonic()
            try:
                response = await self._generate(prompt, specs, step)
            except _Cancelled:
                stop_reason = "cancelled"
                await self._commit_failure(step, pending_inputs, pending_system, new_system, stop_reason,
                                           f"cancelled while waiting for the model"
                                           f"{': ' + self.request.cancel_reason if self.request.cancel_reason else ''}",
                                           status="cancelled")
                break
            except _OutOfTime:
                stop_reason, error_view = "error", self._out_of_time_view()
                await self._commit_failure(step, pending_inputs, pending_system, new_system, stop_reason,
                                           error_view.message, error_type="turn_timeout")
                break
            except LLMError as exc:
                log.warning("model call failed for %s: %s (%s)", self.request.agent_id, exc.message, exc.kind)
                stop_reason = {"context_window_exceeded": "context_window_overflow",
                               "invalid_response": "invalid_llm_response"}.get(exc.kind, "llm_api_error")
                error_view = self._error_view("llm_error", f"{exc.provider or 'model'}: {exc.message}")
                await self._commit_failure(step, pending_inputs, pending_system, new_system, stop_reason,
                                           exc.message, error_type=exc.kind)
                break
            llm_ms = (time.monotonic() - started) * 1000
            self.step_count += 1
            self.usage.add(response.usage)
            self.context_tokens = response.usage.total_tokens or self.context_tokens
            stop_reason = await self._handle_response(step, response)
            if stop_reason is None and step_index == self.request.max_steps - 1:
                stop_reason = "max_steps"
            produced = [*([step.assistant] if step.assistant else []), *step.tool_messages]
            await self._commit(step, [*pending_inputs, *produced], pending_system, new_system, response, llm_ms,
                               stop_reason)
            await self._emit_views([*answered, *produced], skip_types=self._streamed_types())
            pending_inputs, pending_system, new_system, answered = [], None, False, []
            if stop_reason is not None:
                break
        stop_reason = stop_reason or "max_steps"
        return TurnResult(self.request.run_id, self.emitted, stop_reason, self.usage, self.step_count,
                          self.context_tokens, error_view)

    async def _summarize(self, pending_system: Message | None, new_system: bool) -> TurnResult:
        """Compacts the context on request, in one step of its own (no model answer)."""
        assert self.request.summarize is not None
        step = _Step(id=self.request.first_step_id)
        before = len(self.in_context)
        compactor = Compactor(self.client, self.llm_config, self.request.agent_id, self.request.run_id)
        ask = self.request.summarize
        result = await compactor.compact_now(list(self.in_context), keep=ask.keep, mode=ask.mode,
                                             keep_share=ask.keep_share, instructions=ask.instructions,
                                             clip_chars=ask.clip_chars)
        messages: list[Message] = []
        if result is not None:
            self.in_context = [self.in_context[0], *result.kept]
            messages = result.new_messages
        row = self._step_row(step, "success", "end_turn")
        await asyncio.shield(self._write(step, messages, pending_system, new_system, row, "end_turn"))
        if result is not None and self.request.include_compaction_messages:
            await self._emit(result.event)
        return TurnResult(self.request.run_id, self.emitted, "end_turn", self.usage, 0, self.context_tokens,
                          compaction={"num_messages_before": before, "num_messages_after": len(self.in_context),
                                      "summary": result.summary if result is not None else ""})

    def _cancelled(self) -> bool:
        return self.request.cancel is not None and self.request.cancel.is_set()

    async def _generate(self, prompt: list[Message], specs: list[ToolSpec], step: _Step) -> LLMResponse:
        """The model call, abandoned (nothing written) if the run is cancelled
        or the turn runs out of time."""
        return await self._bounded(self.client.generate(
            self._llm_request(prompt, specs), on_delta=self._delta_sink(step) if self.request.stream_tokens else None
        ))

    async def _bounded(self, call: Awaitable[Any]) -> Any:
        """Awaits `call` (a model call, with its retries) until the run is
        cancelled (_Cancelled) or the turn's budget is spent (_OutOfTime); then
        the call is cancelled: its provider request must not run on (and be billed)."""
        answer = asyncio.ensure_future(call)
        waiters: set[asyncio.Future[Any]] = {answer}
        cancelled = asyncio.ensure_future(self.request.cancel.wait()) if self.request.cancel is not None else None
        if cancelled is not None:
            waiters.add(cancelled)
        try:
            await asyncio.wait(waiters, timeout=max(0.0, self.deadline - time.monotonic()),
                               return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            answer.cancel()
            raise
        finally:
            if cancelled is not None:
                cancelled.cancel()
        if answer.done():
            return answer.result()
        answer.cancel()
        if self._cancelled():
            raise _Cancelled()
        raise _OutOfTime()

    def _out_of_time_view(self) -> messages_pb2.LettaMessage:
        return self._error_view(
            "turn_timeout", f"the turn ran out of time: it took longer than {self.loop.turn_timeout_s:g} s "
            "(MNEMO_TURN_TIMEOUT_S); the model call in flight was cancelled")

    def _streamed_types(self) -> set[str]:
        """Views already sent as deltas in token streaming (not re-sent whole).
        send_message replies of memgpt-style agents are sent whole."""
        if not self.request.stream_tokens:
            return set()
        if self.memgpt and self.request.use_assistant_message:
            return {"reasoning_message", "tool_call_message"}
        return {"reasoning_message", "assistant_message", "tool_call_message"}

    def _stamp(self, message: Message) -> Message:
        message.run_id = self.request.run_id
        return message

    def _llm_request(self, prompt: list[Message], specs: list[ToolSpec]) -> LLMRequest:
        chat = context.to_chat(prompt, system_override=self.request.override_system)
        if self.memgpt or self.rules.must_call_tool():
            tool_choice = "required" if specs else "auto"
        else:
            tool_choice = "auto"
        if len(specs) == 1 and tool_choice == "required":
            tool_choice = specs[0].name
        return LLMRequest(
            model=self.llm_config.model, messages=chat, tools=specs, tool_choice=tool_choice if specs else "none",
            max_tokens=self.llm_config.max_tokens if self.llm_config.HasField("max_tokens") else None,
            temperature=self.llm_config.temperature if self.llm_config.HasField("temperature") else None,
            parallel_tool_calls=bool(self.llm_config.parallel_tool_calls) and not self.state.agent["tool_rules"],
            reasoning=bool(self.llm_config.enable_reasoner),
            reasoning_effort=self.llm_config.reasoning_effort if self.llm_config.HasField("reasoning_effort") else None,
            reasoning_budget=(self.llm_config.max_reasoning_tokens
                              if self.llm_config.HasField("max_reasoning_tokens") else None),
        )

    # -- a model answer -----------------------------------------------------------

    async def _handle_response(self, step: _Step, response: LLMResponse) -> str | None:
        """Fills the step's messages and runs tools. Returns the stop reason, or
        None to take another step."""
        assistant = step.assistant
        assert assistant is not None
        if response.reasoning:
            part: dict[str, Any] = {"type": "reasoning", "reasoning": response.reasoning}
            if response.reasoning_signature:
                part["signature"] = response.reasoning_signature
            assistant.content.append(part)
        if response.text:
            assistant.content.append({"type": "text", "text": response.text})
        assistant.created_at = datetime.now(UTC)
        calls = response.tool_calls
        if not calls:
            if not assistant.content:
                step.assistant = None
            if self.memgpt:
                return "no_tool_call"
            missing = self.rules.uncalled_required()
            if missing:
                step.tool_messages.append(self._system_note(
                    step, f"You must call {', '.join(missing)} before ending your turn."))
                return None
            if response.finish_reason == "length":
                return "max_tokens_exceeded" if not response.text else "end_turn"
            return "end_turn"
        assistant.tool_calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls]
        waiting = [c for c in assistant.tool_calls if self.rules.requires_approval(c["name"])]
        started = time.monotonic()
        keep_going = False
        stop: str | None = None
        for call in calls:
            if any(w["id"] == call.id for w in waiting):
                continue
            result, args = await self._call_tool(step, call.id, call.name, call.arguments)
            step.tool_messages.append(result)
            status = (result.tool_returns or [{}])[0].get("status")
            self.rules.record_call(call.name, (result.tool_returns or [{}])[0].get("func_response"))
            if status == "error":
                keep_going = True
                continue
            if self.rules.is_terminal(call.name):
                stop = "end_turn" if (self.memgpt and call.name == SEND_MESSAGE) else "tool_rule"
                continue
            if self.memgpt:
                keep_going = keep_going or bool(args.get(HEARTBEAT)) or self.rules.forces_continue(call.name)
            else:
                keep_going = True
        step.tool_ms = (time.monotonic() - started) * 1000
        if waiting:
            for entry in waiting:
                entry["requires_approval"] = True
            step.tool_messages.append(Message(
                id=new_id("message"), agent_id=self.request.agent_id, role="approval", step_id=step.id,
                run_id=self.request.run_id, created_at=datetime.now(UTC),
                tool_calls=[{k: v for k, v in c.items() if k != "requires_approval"} for c in waiting],
            ))
            return "requires_approval"
        if stop is not None and not self.rules.uncalled_required():
            return stop
        if self.rules.uncalled_required():
            return None
        return None if keep_going else "end_turn"

    def _system_note(self, step: _Step, text: str) -> Message:
        return Message(id=new_id("message"), agent_id=self.request.agent_id, role="user", step_id=step.id,
                       run_id=self.request.run_id, created_at=datetime.now(UTC),
                       content=[{"type": "text", "text": f"[automated message, hidden from the user] {text}"}])

    async def _call_tool(self, step: _Step, call_id: str, name: str, arguments: str,
                         *, approved: bool = False) -> tuple[Message, dict[str, Any]]:
        args: dict[str, Any] = {}
        status, output = "success", ""
        try:
            parsed = json.loads(arguments or "{}")
            if not isinstance(parsed, dict):
                raise ValueError("arguments must be a JSON object")
            args = parsed
        except ValueError as exc:
            status, output = "error", f"Your arguments for {name} are not valid JSON ({exc}). Call it again."
        if status == "success":
            violation = self.rules.violation(name) if name in self.tools and not approved else None
            if name not in self.tools:
                status, output = "error", (f"There is no tool named '{name}'. "
                                           f"Available tools: {', '.join(self.tools) or 'none'}.")
            elif violation:
                status, output = "error", violation
            else:
                status, output, stdout, stderr = await self._execute(
                    step, name, {k: v for k, v in args.items() if k != HEARTBEAT})
                return self._tool_message(step, call_id, name, status, output, stdout, stderr), args
        return self._tool_message(step, call_id, name, status, output), args

    def _tool_message(self, step: _Step, call_id: str, name: str, status: str, output: str,
                      stdout: list[str] | None = None, stderr: list[str] | None = None) -> Message:
        limit = self.tools[name].return_char_limit if name in self.tools else 50_000
        if len(output) > limit:
            output = output[:limit] + f"... [cut at {limit} characters]"
        ret: dict[str, Any] = {"tool_call_id": call_id, "status": status, "func_response": output}
        if stdout:
            ret["stdout"] = stdout
        if stderr:
            ret["stderr"] = stderr
        return Message(
            id=new_id("message"), agent_id=self.request.agent_id, role="tool", name=name, tool_call_id=call_id,
            step_id=step.id, run_id=self.request.run_id, created_at=datetime.now(UTC),
            content=[{"type": "text", "text": output}], tool_returns=[ret], is_err=status == "error",
        )

    async def _answer(self, step: _Step, request: Message) -> list[Message]:
        """Applies the client's answer to a pending approval request: runs the
        approved calls, refuses the denied ones, records client tool results."""
        answers = self.request.answers
        assert answers is not None
        calls = request.tool_calls or []
        pending = [c["id"] for c in calls]
        if answers.approve_all is not None:
            if answers.request_id and answers.request_id != request.id:
                raise InvalidArgument(f"{answers.field}.approval_request_id",
                                      f"the pending approval request is '{request.id}'")
            items = [{"type": "approval", "tool_call_id": c, "approve": answers.approve_all,
                      **({"reason": answers.reason} if answers.reason else {})} for c in pending]
        else:
            items = answers.items
            given = [i["tool_call_id"] for i in items]
            if sorted(given) != sorted(pending) or len(set(given)) != len(given):
                raise InvalidArgument(f"{answers.field}.approvals",
                                      f"must answer each pending tool call exactly once: {', '.join(pending)}")
        by_id = {i["tool_call_id"]: i for i in items}
        out = [Message(id=new_id("message"), agent_id=self.request.agent_id, role="approval_response",
                       step_id=step.id, run_id=self.request.run_id, created_at=datetime.now(UTC),
                       content=[{"type": "approvals", "approvals": items}])]
        for call in calls:
            item = by_id[call["id"]]
            if item["type"] == "tool":
                value = item.get("tool_return")
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                out.append(self._tool_message(step, call["id"], call["name"], item["status"], text,
                                              item.get("stdout"), item.get("stderr")))
            elif not item["approve"]:
                reason = f" Reason: {item['reason']}" if item.get("reason") else ""
                out.append(self._tool_message(step, call["id"], call["name"], "error",
                                              f"The user refused this call to {call['name']}.{reason}"))
            elif call["name"] in self.client_tool_names or call["name"] not in self.tools:
                out.append(self._tool_message(
                    step, call["id"], call["name"], "error",
                    f"{call['name']} runs on the client: answer with its result (type 'tool'), not an approval"))
            else:
                message, _ = await self._call_tool(step, call["id"], call["name"], call["arguments"], approved=True)
                out.append(message)
            self.rules.record_call(call["name"], out[-1].tool_returns[0]["func_response"])
        return out

    async def _execute(self, step: _Step, name: str,
                       args: dict[str, Any]) -> tuple[str, str, list[str], list[str]]:
        """(status, text for the model, stdout, stderr) of one tool call."""
        try:
            if name in MEMORY_TOOLS:
                before = {label: b.value for label, b in self.blocks.items()}
                output = dispatch(name, args, self.blocks)
                for label, block in self.blocks.items():
                    if block.value != before.get(label):
                        step.edited_blocks[label] = block
                return "success", output, [], []
            run = EXECUTORS.get(name)
            if run is not None:
                try:
                    return "success", await run(self.tool_context, args), [], []
                finally:
                    step.writes.extend(self.tool_context.writes)
                    self.tool_context.writes.clear()
            tool = self.tools[name]
            if tool.tool_type == "external_mcp" and self.loop.mcp is not None and tool.mcp_server_id:
                # On its MCP server, within MNEMO_MCP_TIMEOUT_S and the turn's own deadline.
                status, output = await self.loop.mcp.call(
                    tool.mcp_server_id, {"name": name, "json_schema": {"parameters": tool.parameters},
                                         "metadata": tool.metadata}, args)
                return status, output, [], []
            if tool.tool_type == "custom":
                # In a separate, sandboxed process (see sandbox/).
                return await execute_custom_tool(self.tool_context, name, args, secret_box=self.loop.secret_box,
                                                 packages=self.loop.tool_packages)
            return "error", f"Tool '{name}' is not available on this server.", [], []
        except (MemoryEditError, ToolFailure) as exc:
            return "error", str(exc), [], []

    # -- compaction -------------------------------------------------------------------

    async def _maybe_compact(self, prompt: list[Message], pending: list[Message], specs: list[ToolSpec]):
        compactor = Compactor(self.client, self.llm_config, self.request.agent_id, self.request.run_id)
        result = await compactor.maybe_compact(prompt, pending, tools=specs,
                                               last_prompt_tokens=self.context_tokens)
        if result is None:
            return prompt, None
        # Rebuild the system message: the recall count changed.
        self.message_count += len(result.new_messages)
        system = prompt[0]
        metadata = context.render_metadata(
            agent_id=self.request.agent_id, timezone=self.state.agent.get("timezone"),
            recall_count=max(0, self.message_count - (len(result.kept) + 2)),
        )
        base, section, _ = context.split_system(system.text)
        system.content = [{"type": "text", "text": context.compile_system(base, section, metadata)}]
        await self._emit(result.event)
        if self.request.include_compaction_messages:
            for view in views(result.new_messages, self.view_options):
                await self._emit(view)
        return [system, *result.new_messages, *result.kept, *pending], result

    # -- persistence ----------------------------------------------------------------

    def _step_row(self, step: _Step, status: str, stop_reason: str | None, usage: Usage | None = None,
                  llm_ms: float | None = None, error_type: str | None = None, error: str | None = None):
        usage = usage or Usage()
        return {
            "id": step.id, "agent_id": self.request.agent_id, "run_id": self.request.run_id, "status": status,
            "stop_reason": stop_reason, "provider": self.llm_config.provider_name or None,
            "model": self.llm_config.model, "model_handle": self.llm_config.handle or None,
            "context_window_limit": self.llm_config.context_window, "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens, "total_tokens": usage.total_tokens,
            "cached_input_tokens": usage.cached_input_tokens, "reasoning_tokens": usage.reasoning_tokens,
            "llm_ms": llm_ms, "tool_ms": step.tool_ms, "step_ms": (time.monotonic() - self.started) * 1000,
            "error_type": error_type, "error_data": {"message": error} if error else None,
        }

    def _final_values(self, stop_reason: str) -> dict[str, Any]:
        """What the request's last commit records: the agent's last stop reason
        and, when this turn owns its run, the run's end."""
        values: dict[str, Any] = {
            "stop_reason": stop_reason, "duration_ms": int((time.monotonic() - self.started) * 1000),
            "usage": {"prompt_tokens": self.usage.prompt_tokens, "completion_tokens": self.usage.completion_tokens,
                      "total_tokens": self.usage.total_tokens, "step_count": self.step_count},
            "ttft_ms": self.first_event_ms,
        }
        if self.request.owns_run:
            values["status"] = RUN_STATUS.get(stop_reason, "failed")
        return values

    async def _write(self, step: _Step, messages: list[Message], system: Message | None, new_system: bool,
                     step_row: dict[str, Any], stop_reason: str | None) -> None:
        to_insert = list(messages)
        first_system = new_system and system is not None
        if first_system:
            to_insert.insert(0, system)
            system = None
        known = {m.id for m in self.in_context}
        in_context = [*self.in_context, *[m for m in messages if m.id not in known]]
        in_context_ids = [m.id for m in in_context]
        final = self._final_values(stop_reason) if stop_reason is not None else None
        if final is not None and self.state.agent.get("message_buffer_autoclear"):
            in_context_ids = in_context_ids[:1]
        stored = [m.id for m in to_insert if m.id in self.stored_inputs]
        # Written again, to move to where they are processed: after the runs
        # they waited for, and after the agent's first system message.
        if self.request.inputs_queued or first_system:
            adopted, kept = stored, []
        else:  # in place already, with the first step's id
            adopted, kept = [], stored
            to_insert = [m for m in to_insert if m.id not in self.stored_inputs]
        write = dict(agent_id=self.request.agent_id, run_id=self.request.run_id, new_messages=to_insert,
                     step=step_row, message_ids=in_context_ids, system_update=system, final=final,
                     adopted_ids=adopted, kept=len(kept))
        if not step.edited_blocks and not step.writes:
            async with self.loop.driver.acquire() as conn:  # one statement: its own transaction
                await turns.commit_step(conn, **write)
        else:
            async with transaction(self.loop.engine) as conn:
                for side_effect in step.writes:
                    await side_effect.write(conn)
                for label, block in step.edited_blocks.items():
                    current = await block_store.get(conn, block.id, for_update=True)
                    if current is None:
                        continue
                    try:
                        await block_rules.apply_changes(conn, current, {"value": block.value}, by_agent=True)
                    except MnemoError as exc:  # validated already; a concurrent change may conflict
                        log.warning("block %s edit by %s not saved: %s", label, self.request.agent_id, exc)
                await turns.commit_step(await turns.driver_of(conn), **write)
        for side_effect in step.writes:
            if side_effect.after is not None:
                side_effect.after()
        self.in_context = in_context
        self.message_count += len(to_insert) + len(kept)
        self.stored_inputs.difference_update(stored)

    async def _commit(self, step: _Step, messages: list[Message], system: Message | None, new_system: bool,
                      response: LLMResponse, llm_ms: float, stop_reason: str | None) -> None:
        row = self._step_row(step, "success", stop_reason, response.usage, llm_ms)
        # Once the model has answered, the step is saved even if the client leaves.
        await asyncio.shield(self._write(step, messages, system, new_system, row, stop_reason))

    async def _commit_failure(self, step: _Step, inputs: list[Message], system: Message | None, new_system: bool,
                              stop_reason: str, error: str, error_type: str = "error", status: str = "failed") -> None:
        row = self._step_row(step, status, stop_reason, error_type=error_type, error=error)
        # The request's input is kept even though the step failed.
        await asyncio.shield(self._write(step, inputs, system, new_system, row, stop_reason))

    def _error_view(self, error_type: str, message: str) -> messages_pb2.LettaMessage:
        return messages_pb2.LettaMessage(message_type="error_message", run_id=self.request.run_id,
                                         error_type=error_type, message=message)


class PendingApproval(MnemoError):
    """A new message while tool calls wait for the client's approval."""

    code = "ABORTED"


class _Cancelled(Exception):
    """The run was cancelled while the model was answering."""


class _OutOfTime(Exception):
    """The turn's wall-clock budget (MNEMO_TURN_TIMEOUT_S) ran out."""


class _Unavailable:
    """Stands in for a model that cannot be reached at all; every call fails
    with the reason, so the turn ends with a clean llm_api_error."""

    def __init__(self, error: LLMError):
        self.error = error

    async def generate(self, request, on_delta=None):
        raise self.error

    async def aclose(self) -> None:
        return None
