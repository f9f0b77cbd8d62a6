"""Small helpers shared by the API tests: REST calls with status checks, gRPC
status assertions, stubs, and message building from plain dicts."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import grpc
import httpx
from google.protobuf import json_format
from google.protobuf.message import Message
from mnemo.v1 import (
    agents_pb2_grpc,
    blocks_pb2_grpc,
    identities_pb2_grpc,
    models_pb2_grpc,
    tags_pb2_grpc,
    tools_pb2_grpc,
)


def uid() -> str:
    """A short unique suffix for names, labels and tags."""
    return uuid.uuid4().hex[:10]


class Rest:
    """`rest(method, path, json=None, expect=200, params=None, contains=None)`:
    one REST call through the gateway; asserts the status and returns the
    decoded JSON body. For errors (>= 400) it also checks the Letta-style body
    ({"detail": ..., "code": ...}) and that `detail` contains `contains`."""

    def __init__(self, http: httpx.Client):
        self.http = http

    def raw(self, method: str, path: str, json: Any = None, params: Any = None, **kwargs) -> httpx.Response:
        return self.http.request(method, path, json=json, params=params, **kwargs)

    def __call__(self, method: str, path: str, json: Any = None, *, expect: int = 200, params: Any = None,
                 contains: str | None = None, **kwargs) -> Any:
        r = self.raw(method, path, json=json, params=params, **kwargs)
        assert r.status_code == expect, f"{method} {path}: expected {expect}, got {r.status_code}: {r.text}"
        body = r.json() if r.content else None
        if expect >= 400:
            assert r.headers["content-type"].startswith("application/json"), r.headers
            assert isinstance(body, dict) and isinstance(body.get("detail"), str), body
            if contains is not None:
                assert contains in body["detail"], f"{contains!r} not in {body['detail']!r}"
        return body

    def get(self, path, **kw):
        return self("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self("POST", path, json, **kw)

    def put(self, path, json=None, **kw):
        return self("PUT", path, json, **kw)

    def patch(self, path, json=None, **kw):
        return self("PATCH", path, json, **kw)

    def delete(self, path, **kw):
        return self("DELETE", path, **kw)


def assert_status(call: Callable[[], Any], code: grpc.StatusCode, contains: str | None = None) -> grpc.RpcError:
    """Runs `call`, which must fail with `code` (and a message containing
    `contains`); returns the error."""
    try:
        result = call()
    except grpc.RpcError as exc:
        assert exc.code() == code, f"expected {code}, got {exc.code()}: {exc.details()}"
        if contains is not None:
            assert contains in (exc.details() or ""), f"{contains!r} not in {exc.details()!r}"
        return exc
    raise AssertionError(f"expected {code}, but the call succeeded: {result}")


def pb(cls: type[Message], data: dict[str, Any] | None = None, **fields: Any) -> Message:
    """A message built from a JSON-like dict (proto field names), so Struct,
    ListValue and map fields can be given as plain Python values."""
    message = cls()
    json_format.ParseDict({**(data or {}), **fields}, message)
    return message


def to_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


class Stubs:
    """Every resource service stub on one channel."""

    def __init__(self, channel: grpc.Channel):
        self.agents = agents_pb2_grpc.AgentServiceStub(channel)
        self.blocks = blocks_pb2_grpc.BlockServiceStub(channel)
        self.tools = tools_pb2_grpc.ToolServiceStub(channel)
        self.identities = identities_pb2_grpc.IdentityServiceStub(channel)
        self.tags = tags_pb2_grpc.TagServiceStub(channel)
        self.models = models_pb2_grpc.ModelServiceStub(channel)


def tool_source(name: str, doc: str = "Does a thing.", args: str = "", body: str = "return 'ok'",
                params: str = "") -> str:
    """Python source of one documented tool function."""
    args_doc = f"\n\n    Args:\n{args}" if args else ""
    return f'def {name}({params}) -> str:\n    """{doc}{args_doc}\n    """\n    {body}\n'


def ts(value: str) -> datetime:
    """A REST timestamp (RFC 3339, 0/3/6/9 fractional digits) as a datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def ids(items) -> list[str]:
    """The `id` of each item (dicts or messages)."""
    return [i["id"] if isinstance(i, dict) else i.id for i in items]


# The seeds' custom tool example.
ROLL_DICE = '''def roll_dice() -> str:
    """
    Simulate the roll of a 20-sided die (d20).

    This function generates a random integer between 1 and 20, inclusive,
    which represents the outcome of a single roll of a d20.

    Returns:
        str: The result of the die roll.
    """
    import random

    dice_role_outcome = random.randint(1, 20)
    output_string = f"You rolled a {dice_role_outcome}"
    return output_string
'''
