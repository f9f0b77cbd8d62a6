"""The OpenAPI 3.1 document of the REST surface, generated from the contract.

`scripts/generate.py` calls `write()` with a descriptor set that keeps the
proto comments; the document describes the JSON the gateway really serves:

- paths, methods, path and query parameters and bodies from each RPC's
  `google.api.http` rule (and its additional bindings);
- field names as in the proto (the transcoder preserves them), 64-bit integers
  as strings, Struct/Value/ListValue/Timestamp in their JSON forms, every
  primitive field present in responses;
- the gateway's reshaping (gateway/rest_shape.lua): a `response_body` list is
  a top-level array and a count a bare number; errors are
  `{"detail", "code", "message", "details"}`; streaming RPCs answer
  `text/event-stream`, one `data:` line per message and `data: [DONE]` at the end.

Output: gateway/gen/openapi.json (served at /openapi.json; drift-checked).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from google.api import annotations_pb2, http_pb2  # noqa: F401 - registers the http extension
from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "mnemo.v1"
OUTPUT = ROOT / "gateway" / "gen" / "openapi.json"
FD = descriptor_pb2.FieldDescriptorProto

SCALARS: dict[int, dict[str, Any]] = {
    FD.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FD.TYPE_FLOAT: {"type": "number", "format": "float"},
    FD.TYPE_INT32: {"type": "integer", "format": "int32"},
    FD.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FD.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FD.TYPE_UINT32: {"type": "integer", "format": "uint32", "minimum": 0},
    FD.TYPE_FIXED32: {"type": "integer", "format": "uint32", "minimum": 0},
    # 64-bit integers are printed as strings and read from either form.
    FD.TYPE_INT64: {"type": ["string", "integer"], "format": "int64"},
    FD.TYPE_SINT64: {"type": ["string", "integer"], "format": "int64"},
    FD.TYPE_SFIXED64: {"type": ["string", "integer"], "format": "int64"},
    FD.TYPE_UINT64: {"type": ["string", "integer"], "format": "uint64"},
    FD.TYPE_FIXED64: {"type": ["string", "integer"], "format": "uint64"},
    FD.TYPE_BOOL: {"type": "boolean"},
    FD.TYPE_STRING: {"type": "string"},
    FD.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}
WELL_KNOWN: dict[str, dict[str, Any]] = {
    ".google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    ".google.protobuf.Value": {"description": "Any JSON value."},
    ".google.protobuf.ListValue": {"type": "array", "items": {}},
    ".google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    ".google.protobuf.Duration": {"type": "string", "pattern": r"^-?\d+(\.\d+)?s$"},
    ".google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    ".google.protobuf.FieldMask": {"type": "string"},
    ".google.protobuf.Any": {"type": "object", "additionalProperties": True},
    ".google.protobuf.StringValue": {"type": "string"},
    ".google.protobuf.BoolValue": {"type": "boolean"},
    ".google.protobuf.Int32Value": {"type": "integer", "format": "int32"},
    ".google.protobuf.DoubleValue": {"type": "number"},
}
ERROR_SCHEMA = {
    "type": "object",
    "description": "An error: `detail` (as Letta clients read it) repeats `message`; `code` is the "
                   "gRPC status code.",
    "properties": {
        "detail": {"type": "string"}, "code": {"type": "integer"}, "message": {"type": "string"},
        "details": {"type": "array", "items": {}},
    },
    "required": ["detail"],
}


class Contract:
    """Messages, enums and comments of a FileDescriptorSet."""

    def __init__(self, fds: descriptor_pb2.FileDescriptorSet):
        self.files = list(fds.file)
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        self.comments: dict[str, str] = {}
        for file in self.files:
            self._index(file)

    def _index(self, file: descriptor_pb2.FileDescriptorProto) -> None:
        locations = {tuple(loc.path): loc.leading_comments for loc in file.source_code_info.location}

        def comment(path: tuple[int, ...]) -> str:
            return " ".join(line.strip() for line in locations.get(path, "").strip().splitlines())

        def walk(prefix: str, messages, path: tuple[int, ...]) -> None:
            for i, message in enumerate(messages):
                name = f"{prefix}.{message.name}"
                self.messages[name] = message
                self.comments[name] = comment((*path, i))
                for j, field in enumerate(message.field):
                    self.comments[f"{name}.{field.name}"] = comment((*path, i, 2, j))
                for enum in message.enum_type:
                    self.enums[f"{name}.{enum.name}"] = enum
                walk(name, message.nested_type, (*path, i, 3))

        walk(f".{file.package}", file.message_type, (4,))
        for enum in file.enum_type:
            self.enums[f".{file.package}.{enum.name}"] = enum
        for i, service in enumerate(file.service):
            self.comments[f".{file.package}.{service.name}"] = comment((6, i))
            for j, method in enumerate(service.method):
                self.comments[f".{file.package}.{service.name}.{method.name}"] = comment((6, i, 2, j))


class Builder:
    def __init__(self, contract: Contract):
        self.c = contract
        self.schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}

    # -- schemas --------------------------------------------------------------

    def ref(self, type_name: str) -> dict[str, Any]:
        if type_name in WELL_KNOWN:
            return dict(WELL_KNOWN[type_name])
        name = type_name.lstrip(".").removeprefix(f"{PACKAGE}.")
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder against recursion
            self.schemas[name] = self.message_schema(type_name)
        return {"$ref": f"#/components/schemas/{name}"}

    def field_schema(self, field: FD, owner: str) -> dict[str, Any]:
        message = self.c.messages.get(field.type_name)
        if message is not None and message.options.map_entry:
            value = next(f for f in message.field if f.name == "value")
            schema: dict[str, Any] = {"type": "object", "additionalProperties": self.single(value)}
        elif field.label == FD.LABEL_REPEATED:
            schema = {"type": "array", "items": self.single(field)}
        else:
            schema = self.single(field)
        description = self.c.comments.get(f"{owner}.{field.name}")
        if description:
            schema = {**schema, "description": description} if "$ref" not in schema else {
                "allOf": [schema], "description": description}
        return schema

    def single(self, field: FD) -> dict[str, Any]:
        if field.type in (FD.TYPE_MESSAGE, FD.TYPE_GROUP):
            return self.ref(field.type_name)
        if field.type == FD.TYPE_ENUM:
            enum = self.c.enums[field.type_name]
            return {"type": "string", "enum": [v.name for v in enum.value]}
        return dict(SCALARS[field.type])

    def message_schema(self, type_name: str, *, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
        message = self.c.messages[type_name]
        schema: dict[str, Any] = {"type": "object", "properties": {
            f.name: self.field_schema(f, type_name) for f in message.field if f.name not in skip}}
        if self.c.comments.get(type_name):
            schema["description"] = self.c.comments[type_name]
        return schema

    # -- operations -----------------------------------------------------------

    def field_of(self, type_name: str, path: str) -> FD | None:
        message = self.c.messages.get(type_name)
        head, _, rest = path.partition(".")
        for field in message.field if message else []:
            if field.name == head:
                return self.field_of(field.type_name, rest) if rest else field
        return None

    def operation(self, service: str, method: descriptor_pb2.MethodDescriptorProto, template: str,
                  rule: http_pb2.HttpRule, binding: int) -> tuple[str, dict[str, Any]]:
        request = method.input_type
        path_fields = []
        parts = []
        for segment in template.split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                field_path = segment[1:-1].split("=")[0]
                path_fields.append(field_path)
                parts.append("{" + field_path + "}")
            else:
                parts.append(segment)
        path = "/".join(parts)
        parameters: list[dict[str, Any]] = []
        for name in path_fields:
            field = self.field_of(request, name)
            schema = self.single(field) if field else {"type": "string"}
            parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        skip = frozenset(p.split(".")[0] for p in path_fields)
        message = self.c.messages[request]
        body: dict[str, Any] | None = None
        if rule.body == "*":
            body = self.message_schema(request, skip=skip)
        elif rule.body:
            field = self.field_of(request, rule.body)
            body = self.field_schema(field, request) if field else None
        query_fields = [] if rule.body == "*" else [
            f for f in message.field if f.name not in skip and f.name != rule.body
            and f.type not in (FD.TYPE_MESSAGE, FD.TYPE_GROUP)]
        for field in query_fields:
            parameter: dict[str, Any] = {"name": field.name, "in": "query", "schema": self.field_schema(field, request)}
            if field.label == FD.LABEL_REPEATED:
                parameter.update(style="form", explode=True)
            parameters.append(parameter)

        streaming = method.server_streaming
        if streaming:
            event = self.ref(method.output_type)
            content = {"text/event-stream": {
                "schema": {"type": "string", "description": (
                    "Server-sent events: one `data: <JSON>` line per message (see "
                    "`x-event-schema`), errors after the start as `event: error`, and `data: [DONE]` last.")},
                "x-event-schema": event}}
        else:
            response = self.ref(method.output_type)
            if rule.response_body:
                field = self.field_of(method.output_type, rule.response_body)
                response = self.field_schema(field, method.output_type) if field else response
            content = {"application/json": {"schema": response}}
        full = f".{PACKAGE}.{service}.{method.name}"
        operation: dict[str, Any] = {
            "operationId": f"{service}_{method.name}" + (f"_{binding}" if binding else ""),
            "tags": [service.removesuffix("Service")],
            "summary": method.name,
            "description": self.c.comments.get(full, ""),
            "x-grpc-method": f"/{PACKAGE}.{service}/{method.name}",
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK", "content": content},
                "default": {"description": "An error (4xx or 5xx).",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }
        if body is not None:
            operation["requestBody"] = {"required": rule.body == "*" and not skip.issuperset(
                f.name for f in message.field), "content": {"application/json": {"schema": body}}}
        return path, operation

    def document(self, title: str, version: str) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        tags = []
        for file in self.c.files:
            if file.package != PACKAGE:
                continue
            for service in file.service:
                tags.append({"name": service.name.removesuffix("Service"),
                             "description": self.c.comments.get(f".{PACKAGE}.{service.name}", "")})
                for method in service.method:
                    rule = method.options.Extensions[annotations_pb2.http]
                    for index, binding in enumerate([rule, *rule.additional_bindings]):
                        verb = binding.WhichOneof("pattern")
                        if verb is None or verb == "custom":
                            continue
                        path, operation = self.operation(service.name, method, getattr(binding, verb), binding, index)
                        paths.setdefault(path, {})[verb] = operation
        # A POST with a streaming twin (gateway/rest_shape.lua): `"streaming": true` (messages) or
        # `"stream": true` (chat completions) in the body is answered as the twin's event stream.
        for path, item in paths.items():
            twin = paths.get(f"{path}/stream", {}).get("post")
            if "post" in item and twin is not None and "text/event-stream" in twin["responses"]["200"]["content"]:
                flag = "stream" if "chat/completions" in path else "streaming"
                item["post"]["responses"]["200"]["content"]["text/event-stream"] = {
                    **twin["responses"]["200"]["content"]["text/event-stream"],
                    "x-when": f'the body sets "{flag}": true'}
        return {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version, "description": (
                "Mnemo's REST API (Letta v1 compatible), served by the gateway from the gRPC contract "
                "in proto/. Authenticate with `Authorization: Bearer <MNEMO_SERVER_PASSWORD>` when the "
                "server has a password.")},
            "tags": sorted(tags, key=lambda t: t["name"]),
            "paths": dict(sorted(paths.items())),
            "components": {
                "schemas": dict(sorted(self.schemas.items())),
                "securitySchemes": {"password": {"type": "http", "scheme": "bearer"}},
            },
            "security": [{}, {"password": []}],
        }


def build(descriptor_set: Path, version: str) -> dict[str, Any]:
    fds = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    return Builder(Contract(fds)).document("Mnemo", version)


def write(descriptor_set: Path, version: str, output: Path = OUTPUT) -> None:
    output.write_text(json.dumps(build(descriptor_set, version), indent=1, sort_keys=False) + "\n")
