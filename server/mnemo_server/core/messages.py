"""Talking to agents: send (whole or streamed), list, edit, reset, and the
context-window report."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from google.protobuf import json_format
from mnemo.v1 import agents_pb2, messages_pb2
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import FailedPrecondition, InvalidArgument, NotFound
from ..loop import context as ctx
from ..loop.agent_loop import AgentLoop, SummarizeRequest, TurnRequest, TurnResult, _Turn
from ..loop.inputs import _parts, answers_from_request, max_steps, messages_from_request
from ..loop.tokens import TokenCounter
from ..loop.views import ViewOptions, views, views_of
from ..providers.base import Usage
from ..storage import agents as agent_store
from ..storage import convert
from ..storage import messages as store
from ..storage import passages as passage_store
from ..storage import runs as run_store
from ..storage.paging import MAX_LIMIT, Page, page_from
from ..storage.schema import agents
from ..storage.turns import Fenced, ToolInfo
from . import validate
from .db import transaction
from .runs import PING_INTERVAL_S, Runs, closing_events, failure_events, ping

log = logging.getLogger(__name__)

MESSAGE_TYPES = (
    "system_message", "user_message", "assistant_message", "reasoning_message", "hidden_reasoning_message",
    "tool_call_message", "tool_return_message", "approval_request_message", "approval_response_message",
    "summary_message", "event_message",
)


class Messages:
    def __init__(self, engine: AsyncEngine, loop: AgentLoop, runs: Runs):
        self.engine = engine
        self.loop = loop
        self.runs = runs

    def turn_request(self, request: messages_pb2.SendMessageRequest) -> TurnRequest:
        validate.required("agent_id", request.agent_id)
        types = list(request.include_return_message_types)
        for i, t in enumerate(types):
            validate.one_of(f"include_return_message_types[{i}]", t, MESSAGE_TYPES)
        client_tools = []
        for i, tool in enumerate(request.client_tools):
            validate.required(f"client_tools[{i}].name", tool.name)
            parameters = convert.struct_to_dict(tool.parameters) if tool.HasField("parameters") else {
                "type": "object", "properties": {}}
            client_tools.append(ToolInfo(name=tool.name, tool_type="client", description=tool.description or "",
                                         parameters=parameters, return_char_limit=50_000,
                                         default_requires_approval=True))
        return TurnRequest(
            agent_id=request.agent_id, inputs=messages_from_request(request), max_steps=max_steps(request),
            answers=answers_from_request(request), client_tools=client_tools,
            stream_tokens=request.stream_tokens,
            use_assistant_message=request.use_assistant_message if request.HasField("use_assistant_message") else True,
            assistant_tool_name=request.assistant_message_tool_name or "send_message",
            assistant_tool_kwarg=request.assistant_message_tool_kwarg or "message",
            include_types=types, include_compaction_messages=request.include_compaction_messages,
            override_system=request.override_system if request.HasField("override_system") else None,
        )

    @staticmethod
    def _config(request: messages_pb2.SendMessageRequest, turn: TurnRequest) -> dict:
        """The request's options, recorded on its run."""
        return {"max_steps": turn.max_steps, "stream_tokens": turn.stream_tokens,
                "use_assistant_message": turn.use_assistant_message, "include_return_message_types": turn.include_types,
                "input_message_ids": [m.id for m in turn.inputs]}

    async def _start(self, request: messages_pb2.SendMessageRequest, *, background: bool):
        turn = self.turn_request(request)
        if_busy = request.if_busy if request.HasField("if_busy") else "queue"
        started = await self.runs.start(turn, background=background, if_busy=if_busy,
                                        config=self._config(request, turn))
        return turn, started

    async def send(self, request: messages_pb2.SendMessageRequest) -> messages_pb2.SendMessageResponse:
        turn, started = await self._start(request, background=False)
        turn.stream_tokens = False
        if started.duplicate:
            result = await self._outcome(started.run_id, turn)
        else:
            result = await self.runs.foreground(turn, started)
        if result.error is not None:
            raise TurnFailed(result)
        return messages_pb2.SendMessageResponse(
            messages=result.messages,
            stop_reason=messages_pb2.StopReason(message_type="stop_reason", stop_reason=result.stop_reason),
            usage=messages_pb2.UsageStatistics(
                message_type="usage_statistics", completion_tokens=result.usage.completion_tokens,
                prompt_tokens=result.usage.prompt_tokens, total_tokens=result.usage.total_tokens,
                step_count=result.step_count, run_ids=[result.run_id], context_tokens=result.context_tokens,
                cached_input_tokens=result.usage.cached_input_tokens,
                reasoning_tokens=result.usage.reasoning_tokens,
            ),
        )

    async def compact(self, request: messages_pb2.CompactMessagesRequest) -> messages_pb2.CompactionResponse:
        """A summarize run: queued on the agent like any run, it compacts the context and ends."""
        validate.required("agent_id", request.agent_id)
        ask = summarize_request(request)
        turn = TurnRequest(agent_id=request.agent_id, inputs=[], max_steps=1, summarize=ask)
        started = await self.runs.start(turn, background=False, if_busy="queue",
                                        config={"summarize": {"mode": ask.mode, "keep": ask.keep}})
        result = await self.runs.foreground(turn, started)
        if result.error is not None:
            raise TurnFailed(result)
        done = result.compaction or {}
        return messages_pb2.CompactionResponse(num_messages_before=done.get("num_messages_before", 0),
                                               num_messages_after=done.get("num_messages_after", 0),
                                               summary=done.get("summary", ""))

    async def send_async(self, request: messages_pb2.SendMessageRequest):
        turn, started = await self._start(request, background=True)
        if not started.duplicate:
            self.runs.spawn(turn, started)
        return await self.runs.get(started.run_id)

    async def _outcome(self, run_id: str, turn: TurnRequest) -> TurnResult:
        """What run `run_id` answered, once it has ended: the reply to a retried
        send (same otid) is the original run's, not a second run."""
        while True:
            async with self.engine.connect() as conn:
                run = await run_store.get(conn, run_id)
                if run is not None and run.status in run_store.TERMINAL:
                    row = await agent_store.row(conn, run.agent_id)
                    found = await store.page_of_run(conn, run_id, Page(limit=MAX_LIMIT, descending=False))
                    break
            if run is None:
                raise NotFound("run", run_id)
            await asyncio.sleep(0.25)
        config = convert.struct_to_dict(run.request_config)
        inputs = set(config.get("input_message_ids") or ())
        options = ViewOptions(
            text_is_reasoning=bool(row) and row["agent_type"] in ("memgpt_agent", "memgpt_v2_agent"),
            use_assistant_message=turn.use_assistant_message, assistant_tool_name=turn.assistant_tool_name,
            assistant_tool_kwarg=turn.assistant_tool_kwarg,
            include_compaction_messages=turn.include_compaction_messages,
        )
        shown = views([m for m in found if m.id not in inputs], options, turn.include_types)
        u = run.usage
        error = None
        if run.status == "failed":
            detail = convert.struct_to_dict(run.metadata).get("error") or {}
            error = messages_pb2.LettaMessage(message_type="error_message", run_id=run_id, error_type="run_failed",
                                              message=str(detail.get("message") or "the run failed"))
        return TurnResult(run_id, shown, run.stop_reason or run.status,
                          Usage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens,
                                total_tokens=u.total_tokens), u.step_count, error=error)

    async def stream(self, request: messages_pb2.SendMessageRequest) -> AsyncIterator[messages_pb2.LettaMessage]:
        """Events of one turn, each with the run id and a seq_id. Errors before
        the first event are raised; later ones arrive as an error_message event.
        With `background`, the run goes on if the client leaves, and this stream
        reads its event log (so it can be resumed with StreamRun)."""
        background = request.background
        turn, started = await self._start(request, background=background)
        include_pings = request.include_pings
        if started.duplicate:  # a retry: the original run's events
            original = await self.runs.get(started.run_id)
            if original.background:
                async for event in self.runs.replay(started.run_id, include_pings=include_pings):
                    yield event
                return
            result = await self._outcome(started.run_id, turn)
            for seq, event in enumerate([*result.messages, *closing_events(result)], start=1):
                event.seq_id = seq
                yield event
            return
        if background:
            self.runs.spawn(turn, started)
            async for event in self.runs.replay(turn.run_id, include_pings=include_pings):
                yield event
            return
        queue: asyncio.Queue[messages_pb2.LettaMessage] = asyncio.Queue()
        task = asyncio.create_task(self.runs.execute(turn, started, queue.put))
        interval = PING_INTERVAL_S if include_pings else None
        seq = 0

        def numbered(event: messages_pb2.LettaMessage) -> messages_pb2.LettaMessage:
            nonlocal seq
            seq += 1
            event.seq_id = seq
            return event

        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, task}, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield numbered(getter.result())
                    continue
                getter.cancel()
                if task in done:
                    break
                yield ping(turn.run_id, seq)
            while not queue.empty():
                yield numbered(queue.get_nowait())
            try:
                result = task.result()
            except Fenced as exc:  # another server took the agent over: this run wrote nothing more
                for event in failure_events(turn.run_id, "run_fenced", str(exc)):
                    yield numbered(event)
                return
            except Exception as exc:  # noqa: BLE001 - reported in the stream
                log.exception("turn failed mid-stream for %s", turn.agent_id)
                for event in failure_events(turn.run_id, "internal_error", str(exc) or type(exc).__name__):
                    yield numbered(event)
                return
            for event in closing_events(result):
                yield numbered(event)
        finally:
            if not task.done():
                # The client left: the run is cancelled, its model call first
                # (its input is stored already; see Runs.foreground).
                self.runs.abandon(turn, task)

    async def list(self, request: messages_pb2.ListMessagesRequest) -> list[messages_pb2.LettaMessage]:
        validate.required("agent_id", request.agent_id)
        page = page_from(request, limit_default=100)
        types = list(request.include_return_message_types)
        async with self.engine.connect() as conn:
            row = await agent_store.row(conn, request.agent_id)
            if row is None:
                raise NotFound("agent", request.agent_id)
            found = await store.page(conn, request.agent_id, page,
                                     include_err=request.include_err if request.HasField("include_err") else True)
        options = ViewOptions(
            text_is_reasoning=row["agent_type"] in ("memgpt_agent", "memgpt_v2_agent"),
            use_assistant_message=request.use_assistant_message if request.HasField("use_assistant_message") else True,
            assistant_tool_name=request.assistant_message_tool_name or "send_message",
            assistant_tool_kwarg=request.assistant_message_tool_kwarg or "message",
            include_compaction_messages=True,
        )
        if page.descending:  # newest first, and the views of one message in reverse too
            return views(found[::-1], options, types)[::-1]
        return views(found, options, types)

    async def list_run(self, request) -> list[messages_pb2.LettaMessage]:
        """The messages a run stored, oldest first by default."""
        validate.required("run_id", request.run_id)
        page = page_from(request, default_descending=False, limit_default=100)
        async with self.engine.connect() as conn:
            run = await run_store.get(conn, request.run_id)
            if run is None:
                raise NotFound("run", request.run_id)
            row = await agent_store.row(conn, run.agent_id)
            found = await store.page_of_run(conn, request.run_id, page)
        options = ViewOptions(text_is_reasoning=bool(row) and row["agent_type"] in ("memgpt_agent", "memgpt_v2_agent"),
                              include_compaction_messages=True)
        if page.descending:
            return views(found[::-1], options)[::-1]
        return views(found, options)

    async def update(self, request: messages_pb2.UpdateMessageRequest) -> messages_pb2.LettaMessage:
        validate.required("message_id", request.message_id)
        async with transaction(self.engine) as conn:
            row = await agent_store.row(conn, request.agent_id) if request.agent_id else None
            if row is None:
                raise NotFound("agent", request.agent_id)
            message = await store.get(conn, request.agent_id, request.message_id)
            if message is None:
                raise NotFound("message", request.message_id)
            kind = request.message_type if request.HasField("message_type") else {
                "user": "user_message", "system": "system_message", "assistant": "assistant_message",
            }.get(message.role, "")
            if kind == "reasoning_message":
                if not request.HasField("reasoning"):
                    raise InvalidArgument("reasoning", "is required to update a reasoning message")
                if message.role != "assistant":
                    raise FailedPrecondition(f"message '{message.id}' has no reasoning to update")
                others = [p for p in message.content if p.get("type") != "reasoning"]
                message.content = [{"type": "reasoning", "reasoning": request.reasoning}, *others]
            elif kind in ("user_message", "system_message", "assistant_message"):
                expected = kind.split("_")[0]
                if message.role != expected:
                    raise FailedPrecondition(f"message '{message.id}' is a {message.role} message, not {expected}")
                parts = _parts("content", request.content)
                others = [p for p in message.content if p.get("type") != "text"]
                message.content = [*others, *parts]
            else:
                raise InvalidArgument("message_type", "must be user_message, system_message, assistant_message "
                                      "or reasoning_message")
            await store.update_content(conn, message)
        options = ViewOptions(text_is_reasoning=row["agent_type"] in ("memgpt_agent", "memgpt_v2_agent"))
        for view in views_of(message, options):
            if view.message_type == kind:
                return view
        return views_of(message, options)[0]

    async def reset(self, request: messages_pb2.ResetMessagesRequest, agents_core) -> agents_pb2.Agent:
        validate.required("agent_id", request.agent_id)
        async with transaction(self.engine) as conn:
            row = await agent_store.row(conn, request.agent_id)
            if row is None:
                raise NotFound("agent", request.agent_id)
            keep = (row["message_ids"] or [])[:1]
            await conn.execute(update(agents).where(agents.c.id == request.agent_id).values(message_ids=keep))
        return await agents_core.get(request.agent_id)

    async def context_window(self, agent_id: str) -> messages_pb2.ContextWindowOverview:
        validate.required("agent_id", agent_id)
        turn = _Turn(self.loop, TurnRequest(agent_id=agent_id, inputs=[]), None)
        await turn._load()
        system, _ = await turn._system_message()
        async with self.engine.connect() as conn:
            archival_count, _ = await passage_store.stats(conn, agent_id)
        counter = await asyncio.to_thread(TokenCounter, turn.llm_config)  # may load the tables
        base, section, metadata = ctx.split_system(system.text)
        memory, _, rules = section.partition("\n\n<tool_usage_rules>")
        rules = ("<tool_usage_rules>" + rules) if rules else ""
        messages = turn.in_context[1:] if turn.in_context and turn.in_context[0].role == "system" else turn.in_context
        summary = next((m.text for m in messages if m.role == "summary"), None)
        specs = turn._tool_specs()
        functions = [{"name": s.name, "description": s.description, "parameters": s.parameters} for s in specs]
        n_system, n_memory, n_rules, n_meta = (counter.count(x) for x in (base, memory, rules, metadata))
        n_functions = sum(counter.count_json(f) for f in functions)
        n_messages = sum(counter.count(ctx.transcript_line(m)) for m in messages)
        overview = messages_pb2.ContextWindowOverview(
            context_window_size_max=turn.llm_config.context_window,
            context_window_size_current=n_system + n_memory + n_rules + n_meta + n_functions + n_messages,
            num_messages=len(messages) + 1, num_archival_memory=archival_count,
            num_recall_memory=max(0, turn.message_count - len(turn.in_context)),
            num_tokens_external_memory_summary=n_meta, external_memory_summary=metadata,
            num_tokens_system=n_system, system_prompt=base, num_tokens_core_memory=n_memory, core_memory=memory,
            num_tokens_summary_memory=counter.count(summary or ""), num_tokens_functions_definitions=n_functions,
            num_tokens_messages=n_messages, num_tokens_tool_usage_rules=n_rules, tokenizer=counter.name,
        )
        if summary:
            overview.summary_memory = summary
        for f in functions:
            json_format.ParseDict(f, overview.functions_definitions.add())
        return overview


COMPACTION_MODES = ("sliding_window", "all")


def summarize_request(request: messages_pb2.CompactMessagesRequest) -> SummarizeRequest:
    """The compaction a summarize request asks for; INVALID_ARGUMENT naming what cannot be honoured."""
    settings = convert.struct_to_dict(request.compaction_settings) if request.HasField("compaction_settings") else {}
    field = "compaction_settings"
    mode = settings.pop("mode", None) or "sliding_window"
    if mode not in COMPACTION_MODES:
        raise InvalidArgument(f"{field}.mode", f"must be one of {', '.join(COMPACTION_MODES)}, got {mode!r}")
    share = settings.pop("sliding_window_percentage", None)
    if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1):
        raise InvalidArgument(f"{field}.sliding_window_percentage", f"must be between 0 and 1, got {share!r}")
    prompt = settings.pop("prompt", None)
    if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
        raise InvalidArgument(f"{field}.prompt", "must be non-empty text")
    clip = settings.pop("clip_chars", None)
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, (int, float)) or clip < 100):
        raise InvalidArgument(f"{field}.clip_chars", f"must be at least 100 characters, got {clip!r}")
    for key, value in settings.items():
        if key in ("model", "model_settings") and value is None:
            continue
        if key == "prompt_acknowledgement" and value is False:
            continue
        raise InvalidArgument(f"{field}.{key}", "is not supported: the agent's own model summarizes")
    keep = None
    if request.HasField("max_message_length"):
        if request.max_message_length < 2:
            raise InvalidArgument("max_message_length", f"must be at least 2 (the system message and the summary), "
                                                        f"got {request.max_message_length}")
        keep = request.max_message_length
    return SummarizeRequest(mode=mode, keep=keep, keep_share=float(share) if share is not None else 0.5,
                            instructions=prompt, clip_chars=int(clip) if clip is not None else None)


class TurnFailed(Exception):
    """A whole-response request whose turn ended in an error."""

    def __init__(self, result: TurnResult):
        self.result = result
        error = result.error
        super().__init__(f"{result.stop_reason}: {error.message if error else 'failed'}")
