"""What clients see of stored messages: LettaMessage views.

One stored message can give several views (an assistant message with
reasoning, text and tool calls gives a reasoning_message, an
assistant_message and a tool_call_message). Views share the stored id; each
has its own `otid`, derived from the id and the view's position, so token
stream deltas and the final views line up.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from google.protobuf import struct_pb2
from mnemo.v1 import messages_pb2

from ..storage import convert
from ..storage.messages import Message

SEND_MESSAGE = "send_message"


@dataclass(frozen=True)
class ViewOptions:
    # memgpt-style agents: assistant text is inner reasoning, and send_message
    # calls are the replies.
    text_is_reasoning: bool = False
    use_assistant_message: bool = True
    assistant_tool_name: str = SEND_MESSAGE
    assistant_tool_kwarg: str = "message"
    include_compaction_messages: bool = False


def otid(message_id: str, index: int) -> str:
    """A stable id per view: the message's UUID with its low 7 bits replaced."""
    raw = message_id.split("-", 1)[1] if "-" in message_id else message_id
    try:
        value = uuid.UUID(raw).int
    except ValueError:
        return f"{message_id}-{index}"
    return str(uuid.UUID(int=(value & ~0x7F) | (index & 0x7F)))


def content_value(parts: list[dict]) -> struct_pb2.Value:
    """A single text part prints as a plain string, as Letta clients expect."""
    texts = [p for p in parts if p.get("type") == "text"]
    if len(texts) == len(parts) and len(texts) <= 1:
        return struct_pb2.Value(string_value=texts[0]["text"] if texts else "")
    return convert.python_to_value(parts)


def _base(message: Message, message_type: str, index: int) -> messages_pb2.LettaMessage:
    view = messages_pb2.LettaMessage(message_type=message_type, id=message.id, otid=otid(message.id, index))
    if message.created_at is not None:
        view.date.FromDatetime(message.created_at)
    convert.set_optional(view, step_id=message.step_id, run_id=message.run_id, sender_id=message.sender_id,
                         name=message.name)
    if message.is_err:
        view.is_err = True
    return view


def _assistant_text_from_call(call: dict, kwarg: str) -> str | None:
    try:
        args = json.loads(call.get("arguments") or "{}")
    except json.JSONDecodeError:
        return None
    value = args.get(kwarg) if isinstance(args, dict) else None
    return value if isinstance(value, str) else None


def views_of(message: Message, options: ViewOptions) -> list[messages_pb2.LettaMessage]:
    out: list[messages_pb2.LettaMessage] = []
    role = message.role
    if role == "user":
        view = _base(message, "user_message", 0)
        view.content.CopyFrom(content_value(message.content))
        if message.otid:
            view.otid = message.otid
        out.append(view)
    elif role == "system":
        view = _base(message, "system_message", 0)
        view.content.CopyFrom(content_value(message.content))
        out.append(view)
    elif role == "summary":
        if options.include_compaction_messages:
            view = _base(message, "summary_message", 0)
            view.summary = message.text
        else:
            view = _base(message, "user_message", 0)
            view.content.CopyFrom(content_value(message.content))
        out.append(view)
    elif role == "assistant":
        index = 0
        for part in message.content:
            if part.get("type") == "reasoning":
                view = _base(message, "reasoning_message", index)
                view.reasoning = part.get("reasoning", "")
                view.source = "reasoner_model"
                if part.get("signature"):
                    view.signature = part["signature"]
            elif part.get("type") == "text" and part.get("text"):
                if options.text_is_reasoning:
                    view = _base(message, "reasoning_message", index)
                    view.reasoning = part["text"]
                    view.source = "non_reasoner_model"
                else:
                    view = _base(message, "assistant_message", index)
                    view.content.CopyFrom(struct_pb2.Value(string_value=part["text"]))
            else:
                continue
            out.append(view)
            index += 1
        # Calls waiting for approval are shown by the approval request instead.
        calls = [c for c in message.tool_calls or [] if not c.get("requires_approval")]
        if options.use_assistant_message and options.text_is_reasoning:
            plain = []
            for call in calls:
                text = (_assistant_text_from_call(call, options.assistant_tool_kwarg)
                        if call["name"] == options.assistant_tool_name else None)
                if text is None:
                    plain.append(call)
                    continue
                view = _base(message, "assistant_message", index)
                view.content.CopyFrom(struct_pb2.Value(string_value=text))
                out.append(view)
                index += 1
            calls = plain
        if calls:
            view = _base(message, "tool_call_message", index)
            view.tool_call.CopyFrom(_tool_call(calls[0]))
            view.tool_calls.extend(_tool_call(c) for c in calls)
            out.append(view)
    elif role == "approval":
        calls = list(message.tool_calls or [])
        view = _base(message, "approval_request_message", 0)
        if calls:
            view.tool_call.CopyFrom(_tool_call(calls[0]))
        view.tool_calls.extend(_tool_call(c) for c in calls)
        out.append(view)
    elif role == "approval_response":
        view = _base(message, "approval_response_message", 0)
        for part in message.content:
            for item in part.get("approvals", []) if part.get("type") == "approvals" else []:
                approval = view.approvals.add(type=item.get("type", "approval"), tool_call_id=item["tool_call_id"])
                for key in ("approve", "reason", "status"):
                    if item.get(key) is not None:
                        setattr(approval, key, item[key])
                if item.get("tool_return") is not None:
                    approval.tool_return.CopyFrom(convert.python_to_value(item["tool_return"]))
        decisions = {a.approve for a in view.approvals if a.type == "approval" and a.HasField("approve")}
        if len(decisions) == 1:
            view.approve = decisions.pop()
        out.append(view)
    elif role == "tool":
        if options.use_assistant_message and options.text_is_reasoning and message.name == options.assistant_tool_name:
            return out
        for i, ret in enumerate(message.tool_returns or []):
            view = _base(message, "tool_return_message", i)
            view.tool_return = str(ret.get("func_response", ""))
            view.status = ret.get("status", "success")
            view.tool_call_id = ret.get("tool_call_id", "")
            view.stdout.extend(ret.get("stdout") or [])
            view.stderr.extend(ret.get("stderr") or [])
            if ret.get("status") == "error":
                view.is_err = True
            out.append(view)
    return out


def _tool_call(call: dict) -> messages_pb2.ToolCall:
    return messages_pb2.ToolCall(name=call["name"], arguments=call["arguments"], tool_call_id=call["id"])


def views(messages: Iterable[Message], options: ViewOptions, types: Iterable[str] = ()) -> list[messages_pb2.LettaMessage]:
    wanted = set(types)
    out = []
    for message in messages:
        for view in views_of(message, options):
            if not wanted or view.message_type in wanted:
                out.append(view)
    return out
