"""Bounded fuzzing of both surfaces against a server of its own (real Envoy,
server and PostgreSQL; the fake model).

- REST: every operation of the OpenAPI document (gateway/gen/openapi.json),
  through Envoy, with Schemathesis: no response is a server error, every error
  is JSON with a `detail`, and every success matches the document.
- gRPC: every unary RPC with random but well-formed protobuf requests
  (Hypothesis, from the descriptors): no INTERNAL or UNKNOWN status.

Examples are derandomized (the same inputs every run) and bounded, so the
suite's time stays flat.
"""
from __future__ import annotations

import importlib
import json
import pkgutil
import shutil
from pathlib import Path

import grpc
import pytest
import schemathesis
from google.protobuf import descriptor, message_factory, struct_pb2
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import checks as builtin_checks
from schemathesis.specs.openapi import checks as openapi_checks

from tests.harness import make_stack

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "gateway" / "gen" / "openapi.json"
REST_EXAMPLES = 12
GRPC_EXAMPLES = 12
SETTINGS = dict(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate])

@pytest.fixture(scope="module")
def fuzz_stack(fake_llm):
    """A server of its own: the fuzzer creates and changes whatever the document allows."""
    running = make_stack(llm_base_url=fake_llm.base_url, extra_env={"MNEMO_TOOL_TIMEOUT_S": "5"}).start()
    yield running
    running.stop()
    shutil.rmtree(running.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def api_schema(fuzz_stack):
    schema = schemathesis.openapi.from_dict(json.loads(DOCUMENT.read_text()))
    schema.config.update(base_url=fuzz_stack.http_base)
    return schema


def _errors_are_json_with_detail(ctx, response, case) -> bool | None:
    if 400 <= response.status_code < 600:
        assert response.headers.get("content-type", [""])[0].startswith("application/json"), \
            f"{response.status_code} without a JSON body: {response.text[:200]!r}"
        body = json.loads(response.text)
        assert isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"], body
    return None


errors_are_json_with_detail = schemathesis.check(_errors_are_json_with_detail)


def test_fuzz_rest_surface(api_schema, fuzz_stack):
    """Every operation of the document, with bounded examples (derandomized: the same
    inputs every run). One operation's failures do not hide another's."""
    checks = [builtin_checks.not_a_server_error, openapi_checks.response_schema_conformance,
              openapi_checks.status_code_conformance, errors_are_json_with_detail]
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=REST_EXAMPLES, **SETTINGS)
        def run(case) -> None:
            case.call_and_validate(checks=checks, timeout=30)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected and reported together
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert operations >= 80
    log = fuzz_stack.log()
    incidents = log[log.find("unexpected error"):][:6000] if "unexpected error" in log else ""
    assert not failures, "\n\n".join(failures) + "\n\nserver log:\n" + incidents


# ----------------------------------------------------------------------------- gRPC

FD = descriptor.FieldDescriptor
# Statuses that mean the server failed rather than refused the request.
SERVER_FAILURES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS,
                   grpc.StatusCode.UNIMPLEMENTED}
TEXT = st.text(max_size=24)
JSON_LEAF = st.none() | st.booleans() | st.integers(-1000, 1000) | TEXT


def _scalar(field: descriptor.FieldDescriptor) -> st.SearchStrategy:
    kind = field.type
    if kind == FD.TYPE_STRING:
        # Mostly plausible ids and words, sometimes arbitrary text (NUL included).
        return st.sampled_from(["", "agent-00000000-0000-0000-0000-000000000000", "human", "openai/gpt-4o-mini",
                                "asc", "desc", "user", "run"]) | TEXT
    if kind == FD.TYPE_BOOL:
        return st.booleans()
    if kind in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
        return st.integers(-2**31, 2**31 - 1)
    if kind in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return st.integers(-2**63, 2**63 - 1)
    if kind in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return st.integers(0, 2**32 - 1)
    if kind in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return st.integers(0, 2**64 - 1)
    if kind in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return st.floats(allow_nan=False, allow_infinity=False, width=32 if kind == FD.TYPE_FLOAT else 64)
    if kind == FD.TYPE_BYTES:
        return st.binary(max_size=16)
    if kind == FD.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values])
    raise AssertionError(f"unhandled field type {kind}")


def _json_value(depth: int) -> st.SearchStrategy:
    if depth <= 0:
        return JSON_LEAF
    return JSON_LEAF | st.lists(_json_value(depth - 1), max_size=3) | st.dictionaries(TEXT, _json_value(depth - 1),
                                                                                      max_size=3)


def message_strategy(desc: descriptor.Descriptor, depth: int = 3) -> st.SearchStrategy:
    """Random, well-formed messages of type `desc` (a few fields set, nesting bounded)."""
    cls = message_factory.GetMessageClass(desc)
    if desc.full_name == "google.protobuf.Struct":
        return st.dictionaries(TEXT, _json_value(2), max_size=3).map(lambda d: _struct(d))
    if desc.full_name == "google.protobuf.Value":
        return _json_value(2).map(_value)
    if desc.full_name == "google.protobuf.ListValue":
        return st.lists(_json_value(1), max_size=3).map(_list_value)
    if desc.full_name == "google.protobuf.Timestamp":
        return st.integers(0, 4_000_000_000).map(lambda s: cls(seconds=s))

    def field_strategy(field: descriptor.FieldDescriptor) -> st.SearchStrategy | None:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            inner = (message_strategy(value.message_type, depth - 1) if value.message_type else _scalar(value))
            return st.dictionaries(_scalar(key), inner, max_size=2)
        if field.message_type is not None:
            if depth <= 0:
                return None
            single = message_strategy(field.message_type, depth - 1)
        else:
            single = _scalar(field)
        if field.is_repeated:
            return st.lists(single, max_size=3)
        return single

    fields = [(f, s) for f in desc.fields if (s := field_strategy(f)) is not None]

    @st.composite
    def build(draw) -> object:
        message = cls()
        chosen = draw(st.lists(st.sampled_from(fields), max_size=min(5, len(fields)), unique_by=lambda p: p[0].name)
                      ) if fields else []
        for field, strategy in chosen:
            value = draw(strategy)
            target = getattr(message, field.name)
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                for k, v in value.items():
                    if field.message_type.fields_by_name["value"].message_type is not None:
                        target[k].CopyFrom(v)
                    else:
                        target[k] = v
            elif field.is_repeated:
                if field.message_type is not None:
                    for item in value:
                        target.add().CopyFrom(item)
                else:
                    target.extend(value)
            elif field.message_type is not None:
                target.CopyFrom(value)
            else:
                setattr(message, field.name, value)
        return message

    return build()


def _value(data: object) -> struct_pb2.Value:
    value = struct_pb2.Value()
    if isinstance(data, dict):
        value.struct_value.CopyFrom(_struct(data))
    elif isinstance(data, list):
        value.list_value.CopyFrom(_list_value(data))
    elif data is None:
        value.null_value = struct_pb2.NULL_VALUE
    elif isinstance(data, bool):
        value.bool_value = data
    elif isinstance(data, int):
        value.number_value = data
    else:
        value.string_value = data
    return value


def _struct(data: dict) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    for key, item in data.items():
        out.fields[key].CopyFrom(_value(item))
    return out


def _list_value(data: list) -> struct_pb2.ListValue:
    out = struct_pb2.ListValue()
    for item in data:
        out.values.add().CopyFrom(_value(item))
    return out


def _unary_methods() -> list[descriptor.MethodDescriptor]:
    """Every unary RPC of the contract (from the generated modules' descriptors)."""
    import mnemo.v1

    methods = []
    for module in sorted(pkgutil.iter_modules(mnemo.v1.__path__), key=lambda m: m.name):
        if module.name.endswith("_pb2"):
            file = importlib.import_module(f"mnemo.v1.{module.name}").DESCRIPTOR
            methods.extend(m for s in file.services_by_name.values() for m in s.methods if not m.server_streaming)
    return methods


def _grpc_runner(call, requests: st.SearchStrategy):
    @given(request=requests)
    @settings(max_examples=GRPC_EXAMPLES, **SETTINGS)
    def run(request) -> None:
        try:
            call(request, timeout=30)
        except grpc.RpcError as error:
            assert error.code() not in SERVER_FAILURES, f"{error.code().name}: {error.details()}"

    return run


def test_fuzz_grpc_surface(fuzz_stack):
    """Every unary RPC with random well-formed requests: refusals are fine, a server
    failure (INTERNAL, UNKNOWN) is not."""
    methods = _unary_methods()
    assert len(methods) >= 70
    channel = grpc.insecure_channel(fuzz_stack.grpc_target)
    failures: list[str] = []
    try:
        for method in methods:
            path = f"/{method.containing_service.full_name}/{method.name}"
            response_class = message_factory.GetMessageClass(method.output_type)
            call = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=response_class.FromString)

            run = _grpc_runner(call, message_strategy(method.input_type))
            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected and reported together
                failures.append(f"{path}: {str(exc)[:1200]}")
    finally:
        channel.close()
    log = fuzz_stack.log()
    incidents = log[log.find("unexpected error"):][:6000] if "unexpected error" in log else ""
    assert not failures, "\n\n".join(failures) + "\n\nserver log:\n" + incidents
