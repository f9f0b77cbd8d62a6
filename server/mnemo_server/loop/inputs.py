"""Request input (MessageCreate items or the `input` shorthand) as stored
messages, validated field by field."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf import struct_pb2
from mnemo.v1 import messages_pb2

from ..errors import InvalidArgument
from ..ids import new_id
from ..storage import convert
from ..storage.messages import Message
from .views import otid

ROLES = ("user", "system", "assistant")
MAX_OTID_CHARS = 200
MAX_STEPS_LIMIT = 1000


def _parts(field: str, value: struct_pb2.Value) -> list[dict]:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        if not value.string_value.strip():
            raise InvalidArgument(field, "must not be empty")
        return [{"type": "text", "text": value.string_value}]
    if kind == "list_value":
        parts = []
        for i, item in enumerate(convert.list_value_to_list(value.list_value)):
            where = f"{field}[{i}]"
            if not isinstance(item, dict):
                raise InvalidArgument(where, "must be an object like {\"type\": \"text\", \"text\": \"...\"}")
            if item.get("type", "text") != "text":
                raise InvalidArgument(f"{where}.type", f"'{item.get('type')}' content is not supported; use text")
            text = item.get("text")
            if not isinstance(text, str):
                raise InvalidArgument(f"{where}.text", "is required and must be a string")
            parts.append({"type": "text", "text": text})
        if not parts or not any(p["text"].strip() for p in parts):
            raise InvalidArgument(field, "must contain some text")
        return parts
    if kind is None:
        raise InvalidArgument(field, "is required")
    raise InvalidArgument(field, "must be a string or a list of content parts")


@dataclass
class Answers:
    """The answer to a pending approval request."""

    items: list[dict[str, Any]] = field(default_factory=list)  # per tool_call_id
    # Older form: one decision for every pending call.
    approve_all: bool | None = None
    reason: str | None = None
    request_id: str | None = None
    field: str = "messages"


def _answer_item(where: str, item: messages_pb2.ApprovalItem, default_type: str) -> dict[str, Any]:
    kind = item.type if item.HasField("type") else default_type
    if kind not in ("approval", "tool"):
        raise InvalidArgument(f"{where}.type", f"must be 'approval' or 'tool'; got '{kind}'")
    if not item.tool_call_id:
        raise InvalidArgument(f"{where}.tool_call_id", "is required")
    out: dict[str, Any] = {"type": kind, "tool_call_id": item.tool_call_id}
    if kind == "approval":
        if not item.HasField("approve"):
            raise InvalidArgument(f"{where}.approve", "is required (true to run the call, false to refuse it)")
        out["approve"] = item.approve
        if item.HasField("reason"):
            out["reason"] = item.reason
    else:
        status = item.status if item.HasField("status") else "success"
        if status not in ("success", "error"):
            raise InvalidArgument(f"{where}.status", f"must be 'success' or 'error'; got '{status}'")
        out["status"] = status
        value = convert.value_to_python(item.tool_return) if item.HasField("tool_return") else ""
        out["tool_return"] = value
        out["stdout"], out["stderr"] = list(item.stdout), list(item.stderr)
    return out


def answers_from_request(request: messages_pb2.SendMessageRequest) -> Answers | None:
    answers: Answers | None = None
    for i, item in enumerate(request.messages):
        kind = item.type if item.HasField("type") else "message"
        if kind == "message":
            continue
        where = f"messages[{i}]"
        if answers is not None:
            raise InvalidArgument(where, "only one approval or tool_return item is allowed per request")
        answers = Answers(field=where)
        if kind == "approval":
            for j, a in enumerate(item.approvals):
                answers.items.append(_answer_item(f"{where}.approvals[{j}]", a, "approval"))
            if not item.approvals:
                if not item.HasField("approve"):
                    raise InvalidArgument(f"{where}.approvals", "give one item per pending call (or `approve`)")
                answers.approve_all = item.approve
                answers.reason = item.reason if item.HasField("reason") else None
                answers.request_id = item.approval_request_id if item.HasField("approval_request_id") else None
        else:
            if not item.tool_returns:
                raise InvalidArgument(f"{where}.tool_returns", "is required for type 'tool_return'")
            for j, a in enumerate(item.tool_returns):
                answers.items.append(_answer_item(f"{where}.tool_returns[{j}]", a, "tool"))
    return answers


def _message_content(where: str, item: messages_pb2.MessageCreate) -> list[dict]:
    """`content`, or its older plain-text spelling `text` (one of the two)."""
    if item.HasField("text"):
        if item.HasField("content"):
            raise InvalidArgument(f"{where}.text", "give either `content` or `text`, not both")
        return _parts(f"{where}.text", struct_pb2.Value(string_value=item.text))
    return _parts(f"{where}.content", item.content)


def messages_from_request(request: messages_pb2.SendMessageRequest) -> list[Message]:
    if request.messages and request.HasField("input"):
        raise InvalidArgument("input", "give either `messages` or `input`, not both")
    now = datetime.now(UTC)
    out: list[Message] = []
    seen: set[str | None] = set()
    if request.HasField("input"):
        out.append(Message(id=new_id("message"), agent_id=request.agent_id, role="user",
                           content=_parts("input", request.input), created_at=now))
        out[-1].otid = otid(out[-1].id, 0)
    for i, item in enumerate(request.messages):
        where = f"messages[{i}]"
        kind = item.type if item.HasField("type") else "message"
        if kind in ("approval", "tool_return"):
            continue  # see answers_from_request
        if kind != "message":
            raise InvalidArgument(f"{where}.type", f"must be 'message', 'approval' or 'tool_return'; got '{kind}'")
        role = item.role if item.HasField("role") else "user"
        if role not in ROLES:
            raise InvalidArgument(f"{where}.role", f"must be one of {', '.join(ROLES)}; got '{role}'")
        message_id = new_id("message")
        if item.HasField("otid") and not item.otid.strip():
            raise InvalidArgument(f"{where}.otid", "must not be empty (leave it out to have one generated)")
        if item.HasField("otid") and len(item.otid) > MAX_OTID_CHARS:
            raise InvalidArgument(f"{where}.otid", f"must be at most {MAX_OTID_CHARS} characters")
        client_otid = item.otid if item.HasField("otid") else None
        if client_otid is not None and client_otid in seen:
            raise InvalidArgument(f"{where}.otid", f"'{client_otid}' is given to two messages of this request")
        seen.add(client_otid)
        out.append(Message(
            id=message_id, agent_id=request.agent_id, role=role,
            content=_message_content(where, item), created_at=now,
            name=item.name if item.HasField("name") else None,
            # The otid makes a retry recognisable: one per agent (see core.runs).
            otid=client_otid or otid(message_id, 0),
            sender_id=item.sender_id if item.HasField("sender_id") else None,
        ))
    if not out and answers_from_request(request) is None:
        raise InvalidArgument("messages", "at least one message (or `input`) is required")
    return out


def max_steps(request: messages_pb2.SendMessageRequest) -> int:
    if not request.HasField("max_steps"):
        return 50
    if not 1 <= request.max_steps <= MAX_STEPS_LIMIT:
        raise InvalidArgument("max_steps", f"must be between 1 and {MAX_STEPS_LIMIT}, got {request.max_steps}")
    return request.max_steps
