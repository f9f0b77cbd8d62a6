"""Conversions between database values and protobuf messages."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.protobuf.message import Message


def timestamp(dt: datetime | None) -> timestamp_pb2.Timestamp | None:
    if dt is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(dt)
    return ts


def struct(value: dict[str, Any] | None) -> struct_pb2.Struct | None:
    if value is None:
        return None
    s = struct_pb2.Struct()
    s.update(value)
    return s


def struct_to_dict(value: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(value)


def list_value_to_list(value: struct_pb2.ListValue) -> list[Any]:
    return json_format.MessageToDict(value)


def value_to_python(value: struct_pb2.Value) -> Any:
    return json_format.MessageToDict(value)


def python_to_value(obj: Any) -> struct_pb2.Value:
    v = struct_pb2.Value()
    json_format.ParseDict(obj, v)
    return v


def message_to_dict(message: Message) -> dict[str, Any]:
    """Proto message to a JSON-able dict with proto field names (for JSONB)."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def dict_to_message(data: dict[str, Any] | None, message: Message) -> Message:
    if data:
        json_format.ParseDict(data, message, ignore_unknown_fields=True)
    return message


def set_optional(message: Message, **fields: Any) -> None:
    """Sets the fields whose value is not None (proto3 optional presence)."""
    for name, value in fields.items():
        if value is not None:
            setattr(message, name, value)


def set_messages(message: Message, **fields: Message | None) -> None:
    for name, value in fields.items():
        if value is not None:
            getattr(message, name).CopyFrom(value)


def unique(items: Iterable[str]) -> list[str]:
    """Items in first-seen order, without repeats."""
    return list(dict.fromkeys(items))
