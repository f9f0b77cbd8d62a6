import datetime

from google.api import annotations_pb2 as _annotations_pb2
from mnemo.v1 import common_pb2 as _common_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Tool(_message.Message):
    __slots__ = ("id", "name", "description", "tool_type", "source_type", "source_code", "json_schema", "args_json_schema", "tags", "return_char_limit", "pip_requirements", "npm_requirements", "metadata_", "default_requires_approval", "enable_parallel_execution", "project_id", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TOOL_TYPE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    RETURN_CHAR_LIMIT_FIELD_NUMBER: _ClassVar[int]
    PIP_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    NPM_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    METADATA__FIELD_NUMBER: _ClassVar[int]
    DEFAULT_REQUIRES_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    ENABLE_PARALLEL_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    tool_type: str
    source_type: str
    source_code: str
    json_schema: _struct_pb2.Struct
    args_json_schema: _struct_pb2.Struct
    tags: _containers.RepeatedScalarFieldContainer[str]
    return_char_limit: int
    pip_requirements: _containers.RepeatedCompositeFieldContainer[PackageRequirement]
    npm_requirements: _containers.RepeatedCompositeFieldContainer[PackageRequirement]
    metadata_: _struct_pb2.Struct
    default_requires_approval: bool
    enable_parallel_execution: bool
    project_id: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., tool_type: _Optional[str] = ..., source_type: _Optional[str] = ..., source_code: _Optional[str] = ..., json_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., args_json_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., tags: _Optional[_Iterable[str]] = ..., return_char_limit: _Optional[int] = ..., pip_requirements: _Optional[_Iterable[_Union[PackageRequirement, _Mapping]]] = ..., npm_requirements: _Optional[_Iterable[_Union[PackageRequirement, _Mapping]]] = ..., metadata_: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., default_requires_approval: _Optional[bool] = ..., enable_parallel_execution: _Optional[bool] = ..., project_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PackageRequirement(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class ToolRule(_message.Message):
    __slots__ = ("type", "tool_name", "children", "child_output_mapping", "default_child", "require_output_mapping", "max_count_limit", "prompt_template")
    class ChildOutputMappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TOOL_NAME_FIELD_NUMBER: _ClassVar[int]
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    CHILD_OUTPUT_MAPPING_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_CHILD_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_OUTPUT_MAPPING_FIELD_NUMBER: _ClassVar[int]
    MAX_COUNT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    type: str
    tool_name: str
    children: _containers.RepeatedScalarFieldContainer[str]
    child_output_mapping: _containers.ScalarMap[str, str]
    default_child: str
    require_output_mapping: bool
    max_count_limit: int
    prompt_template: str
    def __init__(self, type: _Optional[str] = ..., tool_name: _Optional[str] = ..., children: _Optional[_Iterable[str]] = ..., child_output_mapping: _Optional[_Mapping[str, str]] = ..., default_child: _Optional[str] = ..., require_output_mapping: _Optional[bool] = ..., max_count_limit: _Optional[int] = ..., prompt_template: _Optional[str] = ...) -> None: ...

class CreateToolRequest(_message.Message):
    __slots__ = ("source_code", "source_type", "description", "tags", "json_schema", "args_json_schema", "return_char_limit", "pip_requirements", "npm_requirements", "default_requires_approval", "enable_parallel_execution", "metadata_", "project_id")
    SOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    RETURN_CHAR_LIMIT_FIELD_NUMBER: _ClassVar[int]
    PIP_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    NPM_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_REQUIRES_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    ENABLE_PARALLEL_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    METADATA__FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    source_code: str
    source_type: str
    description: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    json_schema: _struct_pb2.Struct
    args_json_schema: _struct_pb2.Struct
    return_char_limit: int
    pip_requirements: _containers.RepeatedCompositeFieldContainer[PackageRequirement]
    npm_requirements: _containers.RepeatedCompositeFieldContainer[PackageRequirement]
    default_requires_approval: bool
    enable_parallel_execution: bool
    metadata_: _struct_pb2.Struct
    project_id: str
    def __init__(self, source_code: _Optional[str] = ..., source_type: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., json_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., args_json_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., return_char_limit: _Optional[int] = ..., pip_requirements: _Optional[_Iterable[_Union[PackageRequirement, _Mapping]]] = ..., npm_requirements: _Optional[_Iterable[_Union[PackageRequirement, _Mapping]]] = ..., default_requires_approval: _Optional[bool] = ..., enable_parallel_execution: _Optional[bool] = ..., metadata_: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., project_id: _Optional[str] = ...) -> None: ...

class GetToolRequest(_message.Message):
    __slots__ = ("tool_id",)
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    tool_id: str
    def __init__(self, tool_id: _Optional[str] = ...) -> None: ...

class ListToolsRequest(_message.Message):
    __slots__ = ("name", "names", "tool_ids", "search", "tool_types", "exclude_tool_types", "return_only_letta_tools", "after", "before", "limit", "order", "order_by")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    TOOL_IDS_FIELD_NUMBER: _ClassVar[int]
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    TOOL_TYPES_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_TOOL_TYPES_FIELD_NUMBER: _ClassVar[int]
    RETURN_ONLY_LETTA_TOOLS_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    name: str
    names: _containers.RepeatedScalarFieldContainer[str]
    tool_ids: _containers.RepeatedScalarFieldContainer[str]
    search: str
    tool_types: _containers.RepeatedScalarFieldContainer[str]
    exclude_tool_types: _containers.RepeatedScalarFieldContainer[str]
    return_only_letta_tools: bool
    after: str
    before: str
    limit: int
    order: str
    order_by: str
    def __init__(self, name: _Optional[str] = ..., names: _Optional[_Iterable[str]] = ..., tool_ids: _Optional[_Iterable[str]] = ..., search: _Optional[str] = ..., tool_types: _Optional[_Iterable[str]] = ..., exclude_tool_types: _Optional[_Iterable[str]] = ..., return_only_letta_tools: _Optional[bool] = ..., after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListToolsResponse(_message.Message):
    __slots__ = ("tools",)
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    tools: _containers.RepeatedCompositeFieldContainer[Tool]
    def __init__(self, tools: _Optional[_Iterable[_Union[Tool, _Mapping]]] = ...) -> None: ...

class UpsertBaseToolsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CountToolsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateToolRequest(_message.Message):
    __slots__ = ("tool_id", "source_code", "source_type", "description", "tags", "json_schema", "args_json_schema", "return_char_limit", "pip_requirements", "npm_requirements", "default_requires_approval", "enable_parallel_execution", "metadata_")
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    RETURN_CHAR_LIMIT_FIELD_NUMBER: _ClassVar[int]
    PIP_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    NPM_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_REQUIRES_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    ENABLE_PARALLEL_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    METADATA__FIELD_NUMBER: _ClassVar[int]
    tool_id: str
    source_code: str
    source_type: str
    description: str
    tags: _struct_pb2.ListValue
    json_schema: _struct_pb2.Struct
    args_json_schema: _struct_pb2.Struct
    return_char_limit: int
    pip_requirements: _struct_pb2.ListValue
    npm_requirements: _struct_pb2.ListValue
    default_requires_approval: bool
    enable_parallel_execution: bool
    metadata_: _struct_pb2.Struct
    def __init__(self, tool_id: _Optional[str] = ..., source_code: _Optional[str] = ..., source_type: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., json_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., args_json_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., return_char_limit: _Optional[int] = ..., pip_requirements: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., npm_requirements: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., default_requires_approval: _Optional[bool] = ..., enable_parallel_execution: _Optional[bool] = ..., metadata_: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class DeleteToolRequest(_message.Message):
    __slots__ = ("tool_id",)
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    tool_id: str
    def __init__(self, tool_id: _Optional[str] = ...) -> None: ...

class RunToolFromSourceRequest(_message.Message):
    __slots__ = ("source_code", "args", "env_vars", "name", "source_type", "args_json_schema", "json_schema", "pip_requirements", "npm_requirements", "timeout_seconds")
    class EnvVarsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ENV_VARS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    PIP_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    NPM_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    source_code: str
    args: _struct_pb2.Struct
    env_vars: _containers.ScalarMap[str, str]
    name: str
    source_type: str
    args_json_schema: _struct_pb2.Struct
    json_schema: _struct_pb2.Struct
    pip_requirements: _containers.RepeatedCompositeFieldContainer[PackageRequirement]
    npm_requirements: _containers.RepeatedCompositeFieldContainer[PackageRequirement]
    timeout_seconds: float
    def __init__(self, source_code: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., env_vars: _Optional[_Mapping[str, str]] = ..., name: _Optional[str] = ..., source_type: _Optional[str] = ..., args_json_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., json_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., pip_requirements: _Optional[_Iterable[_Union[PackageRequirement, _Mapping]]] = ..., npm_requirements: _Optional[_Iterable[_Union[PackageRequirement, _Mapping]]] = ..., timeout_seconds: _Optional[float] = ...) -> None: ...

class RunAgentToolRequest(_message.Message):
    __slots__ = ("agent_id", "tool_name", "args")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_NAME_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    tool_name: str
    args: _struct_pb2.Struct
    def __init__(self, agent_id: _Optional[str] = ..., tool_name: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ToolExecutionResult(_message.Message):
    __slots__ = ("status", "func_return", "stdout", "stderr")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FUNC_RETURN_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    status: str
    func_return: _struct_pb2.Value
    stdout: _containers.RepeatedScalarFieldContainer[str]
    stderr: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, status: _Optional[str] = ..., func_return: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., stdout: _Optional[_Iterable[str]] = ..., stderr: _Optional[_Iterable[str]] = ...) -> None: ...
