"""Compaction: keeping the prompt inside the context window.

Before each model call the prompt is measured. Over TRIGGER of the window,
the oldest in-context messages are summarised by the agent's own model into
one summary message, which takes their place. The newest messages (the tail)
stay verbatim, and a tool call is never separated from its results. The
evicted messages are not deleted: they stay in recall memory, searchable with
conversation_search. If the model cannot summarise, a clipped transcript is
used instead, so the agent keeps working.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mnemo.v1 import messages_pb2, models_pb2

from ..ids import new_id
from ..providers.base import ChatMessage, LLMClient, LLMError, LLMRequest, ToolSpec
from ..storage import convert
from ..storage.messages import Message
from .context import transcript_line
from .tokens import TokenCounter, tables_ready

log = logging.getLogger(__name__)

TRIGGER = 0.8  # compact when the prompt would use more than this share of the window
TARGET = 0.5  # after compaction, the prompt should use at most this share
CLIP_CHARS = 60_000  # largest transcript sent to the summariser
SUMMARY_PROMPT = (
    "You maintain the long-term continuity of an AI agent. Below is the oldest part of its conversation, "
    "which is about to leave its context window. Write a concise summary (at most 300 words) that keeps what "
    "the agent needs to continue: who the user is, facts and preferences learned, decisions, open tasks and "
    "commitments, and results of tool calls that still matter. Write in the third person, plain text only."
)


class CompactionError(Exception):
    """The prompt cannot be made to fit."""


@dataclass
class CompactionResult:
    new_messages: list[Message]  # the summary message
    kept: list[Message]  # the in-context tail that stays verbatim
    event: messages_pb2.LettaMessage
    evicted: int
    summary: str = ""


def transcript(messages: Sequence[Message]) -> str:
    role_names = {"user": "User", "assistant": "Agent", "tool": "Tool", "summary": "Earlier summary"}
    return "\n".join(f"{role_names.get(m.role, m.role)}: {transcript_line(m)}" for m in messages)


class Compactor:
    def __init__(self, client: LLMClient, config: models_pb2.LlmConfig, agent_id: str, run_id: str):
        self.client = client
        self.config = config
        self.agent_id = agent_id
        self.run_id = run_id
        self.window = config.context_window or 32_000

    def _tokens(self, counter: TokenCounter, messages: Sequence[Message]) -> int:
        return sum(counter.count_message(m.id, transcript_line(m)) + 4 for m in messages)

    async def maybe_compact(self, prompt: list[Message], pending: list[Message], *, tools: Sequence[ToolSpec],
                            last_prompt_tokens: int = 0) -> CompactionResult | None:
        rough = sum(len(transcript_line(m)) for m in prompt) // 4 + sum(len(json.dumps(t.parameters)) for t in tools) // 4
        if rough < TRIGGER * self.window * 0.5 and last_prompt_tokens < TRIGGER * self.window:
            return None  # far from the limit: skip exact counting
        if not tables_ready(self.config) and rough < TRIGGER * self.window:
            return None  # the tables are still loading (in a thread); the estimate says there is room
        counter = await asyncio.to_thread(TokenCounter, self.config)  # may load the tables
        tool_tokens = sum(counter.count_json({"name": t.name, "description": t.description,
                                              "parameters": t.parameters}) for t in tools)
        total = self._tokens(counter, prompt) + tool_tokens
        if total <= TRIGGER * self.window:
            return None
        system, history = prompt[0], prompt[1:len(prompt) - len(pending)]
        fixed = self._tokens(counter, [system, *pending]) + tool_tokens
        budget = TARGET * self.window - fixed
        cut = len(history)
        used = 0
        while cut > 0:
            cost = self._tokens(counter, [history[cut - 1]])
            if used + cost > budget:
                break
            used += cost
            cut -= 1
        # Never start the kept tail with tool results: keep them with their call.
        while cut < len(history) and history[cut].role == "tool":
            cut += 1
        evicted, kept = history[:cut], history[cut:]
        if not evicted:
            if total > self.window:
                raise CompactionError(
                    f"the prompt needs about {total} tokens but the context window is {self.window}, and nothing "
                    "older can be summarised: shorten the system prompt or memory blocks, or raise "
                    "context_window_limit"
                )
            return None
        summary, message = await self._summary_message(evicted)
        after = self._tokens(counter, [system, message, *kept, *pending]) + tool_tokens
        if after > self.window:
            raise CompactionError(
                f"even after summarising, the prompt needs about {after} tokens and the context window is "
                f"{self.window}: shorten the system prompt or memory blocks, or raise context_window_limit"
            )
        log.info("compacted %s: %d messages summarised, %d -> %d tokens", self.agent_id, len(evicted), total, after)
        return self._result(message, kept, len(evicted), summary, {
            "trigger": "context_window_threshold", "context_tokens_before": total, "context_tokens_after": after})

    async def compact_now(self, prompt: list[Message], *, keep: int | None = None, mode: str = "sliding_window",
                          keep_share: float = TARGET, instructions: str | None = None,
                          clip_chars: int | None = None) -> CompactionResult | None:
        """Compaction on request (POST /v1/agents/{id}/summarize), whatever the prompt's size:
        `mode` "all" summarises every message but the system message; "sliding_window" keeps
        the tail that fits in `keep_share` of the window (TARGET, as automatic compaction
        does). `keep`, when given, caps the messages left after it (system and summary
        included); `instructions` replaces the summariser's prompt, `clip_chars` caps the
        summary. None when there is nothing to summarise."""
        system, history = prompt[0], prompt[1:]
        counter = await asyncio.to_thread(TokenCounter, self.config)
        if mode == "all":
            cut = len(history)
        else:
            budget = keep_share * self.window - self._tokens(counter, [system])
            cut, used = len(history), 0
            while cut > 0:
                cost = self._tokens(counter, [history[cut - 1]])
                if used + cost > budget:
                    break
                used += cost
                cut -= 1
        if keep is not None:
            cut = max(cut, len(history) - max(0, keep - 2))
        while cut < len(history) and history[cut].role == "tool":  # a call stays with its results
            cut += 1
        evicted, kept = history[:cut], history[cut:]
        if not evicted:
            return None
        before = self._tokens(counter, prompt)
        summary, message = await self._summary_message(evicted, instructions, clip_chars)
        after = self._tokens(counter, [system, message, *kept])
        log.info("compacted %s on request: %d messages summarised, %d -> %d tokens", self.agent_id, len(evicted),
                 before, after)
        return self._result(message, kept, len(evicted), summary, {
            "trigger": "requested", "mode": mode, "context_tokens_before": before, "context_tokens_after": after})

    async def _summary_message(self, evicted: Sequence[Message], instructions: str | None = None,
                               clip_chars: int | None = None) -> tuple[str, Message]:
        """The summary of `evicted`, and the message that takes their place."""
        summary = await self._summarise(evicted, instructions)
        # A summary may take at most a sixth of the window, however verbose the model was.
        most = clip_chars if clip_chars is not None else max(800, self.window * 4 // 6)
        if len(summary) > most:
            summary = summary[:most] + " [summary cut]"
        text = (f"Note: {len(evicted)} earlier messages were moved out of your context window to make room. "
                "They are still searchable with conversation_search. Summary of them:\n" + summary)
        return summary, Message(id=new_id("message"), agent_id=self.agent_id, role="summary", run_id=self.run_id,
                                content=[{"type": "text", "text": text}], created_at=datetime.now(UTC))

    def _result(self, message: Message, kept: Sequence[Message], evicted: int, summary: str,
                data: dict) -> CompactionResult:
        event = messages_pb2.LettaMessage(message_type="event_message", event_type="compaction", run_id=self.run_id,
                                          id=message.id)
        event.date.FromDatetime(message.created_at)
        event.event_data.CopyFrom(convert.struct({**data, "messages_evicted": evicted,
                                                  "context_window": self.window}))
        return CompactionResult(new_messages=[message], kept=list(kept), event=event, evicted=evicted,
                                summary=summary)

    async def _summarise(self, evicted: Sequence[Message], instructions: str | None = None) -> str:
        text = transcript(evicted)
        if len(text) > CLIP_CHARS:
            text = "[...]\n" + text[-CLIP_CHARS:]
        request = LLMRequest(
            model=self.config.model,
            messages=[ChatMessage(role="system", text=instructions or SUMMARY_PROMPT),
                      ChatMessage(role="user", text=text)],
            tool_choice="none", max_tokens=1024,
        )
        try:
            response = await self.client.generate(request)
            if response.text.strip():
                return response.text.strip()
        except LLMError as exc:
            log.warning("summarising for %s failed (%s); keeping a clipped transcript", self.agent_id, exc.message)
        clipped = transcript(evicted)
        return clipped[-4000:]
