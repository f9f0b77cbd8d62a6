import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mnemo.v1 import tools_pb2 as _tools_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class McpServer(_message.Message):
    __slots__ = ("id", "server_name", "mcp_server_type", "command", "args", "env", "server_url", "auth_header", "auth_token", "custom_headers", "has_auth_token", "protocol_version", "last_error", "created_at", "updated_at", "oauth_client_id", "has_oauth_client_secret", "oauth_scope", "oauth_issuer")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class CustomHeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    MCP_SERVER_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    SERVER_URL_FIELD_NUMBER: _ClassVar[int]
    AUTH_HEADER_FIELD_NUMBER: _ClassVar[int]
    AUTH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_HEADERS_FIELD_NUMBER: _ClassVar[int]
    HAS_AUTH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    OAUTH_CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    HAS_OAUTH_CLIENT_SECRET_FIELD_NUMBER: _ClassVar[int]
    OAUTH_SCOPE_FIELD_NUMBER: _ClassVar[int]
    OAUTH_ISSUER_FIELD_NUMBER: _ClassVar[int]
    id: str
    server_name: str
    mcp_server_type: str
    command: str
    args: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    server_url: str
    auth_header: str
    auth_token: str
    custom_headers: _containers.ScalarMap[str, str]
    has_auth_token: bool
    protocol_version: str
    last_error: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    oauth_client_id: str
    has_oauth_client_secret: bool
    oauth_scope: str
    oauth_issuer: str
    def __init__(self, id: _Optional[str] = ..., server_name: _Optional[str] = ..., mcp_server_type: _Optional[str] = ..., command: _Optional[str] = ..., args: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., server_url: _Optional[str] = ..., auth_header: _Optional[str] = ..., auth_token: _Optional[str] = ..., custom_headers: _Optional[_Mapping[str, str]] = ..., has_auth_token: _Optional[bool] = ..., protocol_version: _Optional[str] = ..., last_error: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., oauth_client_id: _Optional[str] = ..., has_oauth_client_secret: _Optional[bool] = ..., oauth_scope: _Optional[str] = ..., oauth_issuer: _Optional[str] = ...) -> None: ...

class McpServerConfig(_message.Message):
    __slots__ = ("server_name", "mcp_server_type", "type", "command", "args", "env", "server_url", "auth_header", "auth_token", "custom_headers", "oauth_client_id", "oauth_client_secret", "oauth_scope", "oauth_issuer")
    SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    MCP_SERVER_TYPE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    SERVER_URL_FIELD_NUMBER: _ClassVar[int]
    AUTH_HEADER_FIELD_NUMBER: _ClassVar[int]
    AUTH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_HEADERS_FIELD_NUMBER: _ClassVar[int]
    OAUTH_CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    OAUTH_CLIENT_SECRET_FIELD_NUMBER: _ClassVar[int]
    OAUTH_SCOPE_FIELD_NUMBER: _ClassVar[int]
    OAUTH_ISSUER_FIELD_NUMBER: _ClassVar[int]
    server_name: str
    mcp_server_type: str
    type: str
    command: str
    args: _struct_pb2.ListValue
    env: _struct_pb2.Struct
    server_url: str
    auth_header: str
    auth_token: str
    custom_headers: _struct_pb2.Struct
    oauth_client_id: str
    oauth_client_secret: str
    oauth_scope: str
    oauth_issuer: str
    def __init__(self, server_name: _Optional[str] = ..., mcp_server_type: _Optional[str] = ..., type: _Optional[str] = ..., command: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., env: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., server_url: _Optional[str] = ..., auth_header: _Optional[str] = ..., auth_token: _Optional[str] = ..., custom_headers: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., oauth_client_id: _Optional[str] = ..., oauth_client_secret: _Optional[str] = ..., oauth_scope: _Optional[str] = ..., oauth_issuer: _Optional[str] = ...) -> None: ...

class CreateMcpServerRequest(_message.Message):
    __slots__ = ("server_name", "config")
    SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    server_name: str
    config: McpServerConfig
    def __init__(self, server_name: _Optional[str] = ..., config: _Optional[_Union[McpServerConfig, _Mapping]] = ...) -> None: ...

class ListMcpServersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListMcpServersResponse(_message.Message):
    __slots__ = ("servers",)
    SERVERS_FIELD_NUMBER: _ClassVar[int]
    servers: _containers.RepeatedCompositeFieldContainer[McpServer]
    def __init__(self, servers: _Optional[_Iterable[_Union[McpServer, _Mapping]]] = ...) -> None: ...

class McpServersByName(_message.Message):
    __slots__ = ("servers",)
    class ServersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: McpServer
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[McpServer, _Mapping]] = ...) -> None: ...
    SERVERS_FIELD_NUMBER: _ClassVar[int]
    servers: _containers.MessageMap[str, McpServer]
    def __init__(self, servers: _Optional[_Mapping[str, McpServer]] = ...) -> None: ...

class GetMcpServerRequest(_message.Message):
    __slots__ = ("mcp_server_id",)
    MCP_SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    mcp_server_id: str
    def __init__(self, mcp_server_id: _Optional[str] = ...) -> None: ...

class UpdateMcpServerRequest(_message.Message):
    __slots__ = ("mcp_server_id", "server_name", "config")
    MCP_SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    mcp_server_id: str
    server_name: str
    config: McpServerConfig
    def __init__(self, mcp_server_id: _Optional[str] = ..., server_name: _Optional[str] = ..., config: _Optional[_Union[McpServerConfig, _Mapping]] = ...) -> None: ...

class UpdateMcpServerByNameRequest(_message.Message):
    __slots__ = ("mcp_server_name", "command", "args", "env", "server_url", "auth_header", "auth_token", "custom_headers", "server_name")
    MCP_SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    SERVER_URL_FIELD_NUMBER: _ClassVar[int]
    AUTH_HEADER_FIELD_NUMBER: _ClassVar[int]
    AUTH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_HEADERS_FIELD_NUMBER: _ClassVar[int]
    SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    mcp_server_name: str
    command: str
    args: _struct_pb2.ListValue
    env: _struct_pb2.Struct
    server_url: str
    auth_header: str
    auth_token: str
    custom_headers: _struct_pb2.Struct
    server_name: str
    def __init__(self, mcp_server_name: _Optional[str] = ..., command: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., env: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., server_url: _Optional[str] = ..., auth_header: _Optional[str] = ..., auth_token: _Optional[str] = ..., custom_headers: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., server_name: _Optional[str] = ...) -> None: ...

class DeleteMcpServerRequest(_message.Message):
    __slots__ = ("mcp_server_id",)
    MCP_SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    mcp_server_id: str
    def __init__(self, mcp_server_id: _Optional[str] = ...) -> None: ...

class DeleteMcpServerByNameRequest(_message.Message):
    __slots__ = ("mcp_server_name",)
    MCP_SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    mcp_server_name: str
    def __init__(self, mcp_server_name: _Optional[str] = ...) -> None: ...

class RefreshMcpServerRequest(_message.Message):
    __slots__ = ("mcp_server_id", "agent_id")
    MCP_SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    mcp_server_id: str
    agent_id: str
    def __init__(self, mcp_server_id: _Optional[str] = ..., agent_id: _Optional[str] = ...) -> None: ...

class RefreshMcpServerResponse(_message.Message):
    __slots__ = ("added", "updated", "deleted", "protocol_version")
    ADDED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    added: _containers.RepeatedScalarFieldContainer[str]
    updated: _containers.RepeatedScalarFieldContainer[str]
    deleted: _containers.RepeatedScalarFieldContainer[str]
    protocol_version: str
    def __init__(self, added: _Optional[_Iterable[str]] = ..., updated: _Optional[_Iterable[str]] = ..., deleted: _Optional[_Iterable[str]] = ..., protocol_version: _Optional[str] = ...) -> None: ...

class ListMcpServerToolsRequest(_message.Message):
    __slots__ = ("mcp_server_id",)
    MCP_SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    mcp_server_id: str
    def __init__(self, mcp_server_id: _Optional[str] = ...) -> None: ...

class GetMcpServerToolRequest(_message.Message):
    __slots__ = ("mcp_server_id", "tool_id")
    MCP_SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    mcp_server_id: str
    tool_id: str
    def __init__(self, mcp_server_id: _Optional[str] = ..., tool_id: _Optional[str] = ...) -> None: ...

class RunMcpServerToolRequest(_message.Message):
    __slots__ = ("mcp_server_id", "tool_id", "args")
    MCP_SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    mcp_server_id: str
    tool_id: str
    args: _struct_pb2.Struct
    def __init__(self, mcp_server_id: _Optional[str] = ..., tool_id: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class TestMcpServerRequest(_message.Message):
    __slots__ = ("server_name", "mcp_server_type", "type", "command", "args", "env", "server_url", "auth_header", "auth_token", "custom_headers", "oauth_client_id", "oauth_client_secret", "oauth_scope", "oauth_issuer")
    SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    MCP_SERVER_TYPE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    SERVER_URL_FIELD_NUMBER: _ClassVar[int]
    AUTH_HEADER_FIELD_NUMBER: _ClassVar[int]
    AUTH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_HEADERS_FIELD_NUMBER: _ClassVar[int]
    OAUTH_CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    OAUTH_CLIENT_SECRET_FIELD_NUMBER: _ClassVar[int]
    OAUTH_SCOPE_FIELD_NUMBER: _ClassVar[int]
    OAUTH_ISSUER_FIELD_NUMBER: _ClassVar[int]
    server_name: str
    mcp_server_type: str
    type: str
    command: str
    args: _struct_pb2.ListValue
    env: _struct_pb2.Struct
    server_url: str
    auth_header: str
    auth_token: str
    custom_headers: _struct_pb2.Struct
    oauth_client_id: str
    oauth_client_secret: str
    oauth_scope: str
    oauth_issuer: str
    def __init__(self, server_name: _Optional[str] = ..., mcp_server_type: _Optional[str] = ..., type: _Optional[str] = ..., command: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., env: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., server_url: _Optional[str] = ..., auth_header: _Optional[str] = ..., auth_token: _Optional[str] = ..., custom_headers: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., oauth_client_id: _Optional[str] = ..., oauth_client_secret: _Optional[str] = ..., oauth_scope: _Optional[str] = ..., oauth_issuer: _Optional[str] = ...) -> None: ...

class TestSavedMcpServerRequest(_message.Message):
    __slots__ = ("mcp_server_id",)
    MCP_SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    mcp_server_id: str
    def __init__(self, mcp_server_id: _Optional[str] = ...) -> None: ...

class TestMcpServerResponse(_message.Message):
    __slots__ = ("status", "protocol_version", "server_info", "tools", "error")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SERVER_INFO_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    status: str
    protocol_version: str
    server_info: str
    tools: _containers.RepeatedCompositeFieldContainer[McpTool]
    error: str
    def __init__(self, status: _Optional[str] = ..., protocol_version: _Optional[str] = ..., server_info: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[McpTool, _Mapping]]] = ..., error: _Optional[str] = ...) -> None: ...

class McpTool(_message.Message):
    __slots__ = ("name", "description", "inputSchema", "outputSchema", "annotations", "title")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INPUTSCHEMA_FIELD_NUMBER: _ClassVar[int]
    OUTPUTSCHEMA_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    inputSchema: _struct_pb2.Struct
    outputSchema: _struct_pb2.Struct
    annotations: _struct_pb2.Struct
    title: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., inputSchema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., outputSchema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., annotations: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., title: _Optional[str] = ...) -> None: ...

class ListMcpToolsByServerRequest(_message.Message):
    __slots__ = ("mcp_server_name",)
    MCP_SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    mcp_server_name: str
    def __init__(self, mcp_server_name: _Optional[str] = ...) -> None: ...

class ListMcpToolsResponse(_message.Message):
    __slots__ = ("tools",)
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    tools: _containers.RepeatedCompositeFieldContainer[McpTool]
    def __init__(self, tools: _Optional[_Iterable[_Union[McpTool, _Mapping]]] = ...) -> None: ...

class AddMcpToolRequest(_message.Message):
    __slots__ = ("mcp_server_name", "mcp_tool_name")
    MCP_SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    MCP_TOOL_NAME_FIELD_NUMBER: _ClassVar[int]
    mcp_server_name: str
    mcp_tool_name: str
    def __init__(self, mcp_server_name: _Optional[str] = ..., mcp_tool_name: _Optional[str] = ...) -> None: ...

class ImportMcpConfigRequest(_message.Message):
    __slots__ = ("mcpServers",)
    MCPSERVERS_FIELD_NUMBER: _ClassVar[int]
    mcpServers: _struct_pb2.Struct
    def __init__(self, mcpServers: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ImportMcpConfigResponse(_message.Message):
    __slots__ = ("added", "skipped")
    ADDED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    added: _containers.RepeatedCompositeFieldContainer[McpServer]
    skipped: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, added: _Optional[_Iterable[_Union[McpServer, _Mapping]]] = ..., skipped: _Optional[_Iterable[str]] = ...) -> None: ...
