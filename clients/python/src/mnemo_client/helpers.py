"""Small helpers for building requests and reading LettaMessages.

They only look at the fields they know and never fail on a `message_type` they
have not heard of: a newer server can add message types (and fields, which the
generated types keep as unknown fields) without breaking an older client.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import betterproto2

from ._proto.google.protobuf import ListValue, NullValue, Struct, Value
from ._proto.mnemo.v1 import LettaMessage, MessageCreate, SendMessageRequest

__all__ = [
    "KNOWN_MESSAGE_TYPES",
    "is_known_message_type",
    "message_text",
    "send_request",
    "streamed_text",
    "to_value",
    "user_message",
    "value_text",
]

# The message types this version of the client was written against (see LettaMessage in
# proto/mnemo/v1/messages.proto). Others may appear later; they are passed through untouched.
KNOWN_MESSAGE_TYPES = frozenset({
    "system_message", "user_message", "assistant_message", "reasoning_message", "hidden_reasoning_message",
    "tool_call_message", "tool_return_message", "approval_request_message", "approval_response_message",
    "summary_message", "event_message", "stop_reason", "usage_statistics", "ping", "error_message",
})


def is_known_message_type(message: LettaMessage) -> bool:
    return message.message_type in KNOWN_MESSAGE_TYPES


def to_value(data: Any) -> Value:
    """A google.protobuf.Value from plain Python data (str, number, bool, None, list, dict)."""
    if isinstance(data, Value):
        return data
    if data is None:
        return Value(null_value=NullValue.NULL_VALUE)
    if isinstance(data, bool):
        return Value(bool_value=data)
    if isinstance(data, int | float):
        return Value(number_value=float(data))
    if isinstance(data, str):
        return Value(string_value=data)
    if isinstance(data, dict):
        return Value(struct_value=Struct(fields={str(k): to_value(v) for k, v in data.items()}))
    if isinstance(data, Iterable):
        return Value(list_value=ListValue(values=[to_value(v) for v in data]))
    raise TypeError(f"cannot convert {type(data).__name__} to a protobuf Value")


def user_message(text: str | list[dict[str, Any]], *, name: str | None = None) -> MessageCreate:
    """One user message; `text` is a string or a list of content parts ({"type": "text", "text": ...})."""
    return MessageCreate(role="user", content=to_value(text), name=name)


def send_request(agent_id: str, text: str | None = None, *, messages: list[MessageCreate] | None = None,
                 **fields: Any) -> SendMessageRequest:
    """A SendMessageRequest with one user message `text` (and/or `messages`) and any other fields."""
    all_messages = list(messages or [])
    if text is not None:
        all_messages.append(user_message(text))
    return SendMessageRequest(agent_id=agent_id, messages=all_messages, **fields)


def value_text(value: Value | None) -> str:
    """The text of a message content: a string, or the text parts of a list, joined."""
    if value is None:
        return ""
    kind, inner = betterproto2.which_one_of(value, "kind")
    if kind == "string_value":
        return str(inner)
    if kind == "list_value" and isinstance(inner, ListValue):
        parts = []
        for part in inner.values:
            part_kind, part_value = betterproto2.which_one_of(part, "kind")
            if part_kind == "string_value":
                parts.append(str(part_value))
            elif part_kind == "struct_value" and isinstance(part_value, Struct):
                text = part_value.fields.get("text")
                if text is not None and betterproto2.which_one_of(text, "kind")[0] == "string_value":
                    parts.append(text.string_value or "")
        return "".join(parts)
    return ""


def message_text(message: LettaMessage) -> str:
    """The readable text of a message whatever its type: content, reasoning, a tool's return, a
    summary or an error message. Empty for types without text (including unknown ones)."""
    text = value_text(message.content)
    if text:
        return text
    for candidate in (message.reasoning, message.tool_return, message.summary, message.message):
        if candidate:
            return candidate
    return ""


def streamed_text(messages: Iterable[LettaMessage], message_type: str = "assistant_message") -> str:
    """Joins the text of every message of one type, e.g. the deltas of a token stream."""
    return "".join(value_text(m.content) for m in messages if m.message_type == message_type)
