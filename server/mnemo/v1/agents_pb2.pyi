import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mnemo.v1 import blocks_pb2 as _blocks_pb2
from mnemo.v1 import common_pb2 as _common_pb2
from mnemo.v1 import identities_pb2 as _identities_pb2
from mnemo.v1 import models_pb2 as _models_pb2
from mnemo.v1 import tools_pb2 as _tools_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Agent(_message.Message):
    __slots__ = ("id", "name", "agent_type", "system", "description", "metadata", "tags", "blocks", "memory", "tools", "tool_rules", "sources", "model", "llm_config", "embedding", "embedding_config", "model_settings", "response_format", "compaction_settings", "message_ids", "identities", "identity_ids", "secrets", "tool_exec_environment_variables", "message_buffer_autoclear", "timezone", "project_id", "hidden", "enable_sleeptime", "last_stop_reason", "last_run_completion", "last_run_duration_ms", "created_at", "updated_at", "tool_secrets")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    AGENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_RULES_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    LLM_CONFIG_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_CONFIG_FIELD_NUMBER: _ClassVar[int]
    MODEL_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    COMPACTION_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    IDENTITIES_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_IDS_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    TOOL_EXEC_ENVIRONMENT_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_BUFFER_AUTOCLEAR_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    ENABLE_SLEEPTIME_FIELD_NUMBER: _ClassVar[int]
    LAST_STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_COMPLETION_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    TOOL_SECRETS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    agent_type: str
    system: str
    description: str
    metadata: _struct_pb2.Struct
    tags: _containers.RepeatedScalarFieldContainer[str]
    blocks: _containers.RepeatedCompositeFieldContainer[_blocks_pb2.Block]
    memory: AgentMemory
    tools: _containers.RepeatedCompositeFieldContainer[_tools_pb2.Tool]
    tool_rules: _containers.RepeatedCompositeFieldContainer[_tools_pb2.ToolRule]
    sources: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    model: str
    llm_config: _models_pb2.LlmConfig
    embedding: str
    embedding_config: _models_pb2.EmbeddingConfig
    model_settings: _struct_pb2.Struct
    response_format: _struct_pb2.Struct
    compaction_settings: _struct_pb2.Struct
    message_ids: _containers.RepeatedScalarFieldContainer[str]
    identities: _containers.RepeatedCompositeFieldContainer[_identities_pb2.Identity]
    identity_ids: _containers.RepeatedScalarFieldContainer[str]
    secrets: _containers.RepeatedCompositeFieldContainer[AgentEnvironmentVariable]
    tool_exec_environment_variables: _containers.RepeatedCompositeFieldContainer[AgentEnvironmentVariable]
    message_buffer_autoclear: bool
    timezone: str
    project_id: str
    hidden: bool
    enable_sleeptime: bool
    last_stop_reason: str
    last_run_completion: _timestamp_pb2.Timestamp
    last_run_duration_ms: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    tool_secrets: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., agent_type: _Optional[str] = ..., system: _Optional[str] = ..., description: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., tags: _Optional[_Iterable[str]] = ..., blocks: _Optional[_Iterable[_Union[_blocks_pb2.Block, _Mapping]]] = ..., memory: _Optional[_Union[AgentMemory, _Mapping]] = ..., tools: _Optional[_Iterable[_Union[_tools_pb2.Tool, _Mapping]]] = ..., tool_rules: _Optional[_Iterable[_Union[_tools_pb2.ToolRule, _Mapping]]] = ..., sources: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., model: _Optional[str] = ..., llm_config: _Optional[_Union[_models_pb2.LlmConfig, _Mapping]] = ..., embedding: _Optional[str] = ..., embedding_config: _Optional[_Union[_models_pb2.EmbeddingConfig, _Mapping]] = ..., model_settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., response_format: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., compaction_settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., message_ids: _Optional[_Iterable[str]] = ..., identities: _Optional[_Iterable[_Union[_identities_pb2.Identity, _Mapping]]] = ..., identity_ids: _Optional[_Iterable[str]] = ..., secrets: _Optional[_Iterable[_Union[AgentEnvironmentVariable, _Mapping]]] = ..., tool_exec_environment_variables: _Optional[_Iterable[_Union[AgentEnvironmentVariable, _Mapping]]] = ..., message_buffer_autoclear: _Optional[bool] = ..., timezone: _Optional[str] = ..., project_id: _Optional[str] = ..., hidden: _Optional[bool] = ..., enable_sleeptime: _Optional[bool] = ..., last_stop_reason: _Optional[str] = ..., last_run_completion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_run_duration_ms: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tool_secrets: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class AgentMemory(_message.Message):
    __slots__ = ("blocks", "prompt_template", "agent_type")
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    AGENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    blocks: _containers.RepeatedCompositeFieldContainer[_blocks_pb2.Block]
    prompt_template: str
    agent_type: str
    def __init__(self, blocks: _Optional[_Iterable[_Union[_blocks_pb2.Block, _Mapping]]] = ..., prompt_template: _Optional[str] = ..., agent_type: _Optional[str] = ...) -> None: ...

class AgentEnvironmentVariable(_message.Message):
    __slots__ = ("key", "value", "description", "agent_id")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    description: str
    agent_id: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ..., description: _Optional[str] = ..., agent_id: _Optional[str] = ...) -> None: ...

class CreateAgentRequest(_message.Message):
    __slots__ = ("name", "agent_type", "system", "description", "metadata", "tags", "memory_blocks", "block_ids", "tools", "tool_ids", "include_base_tools", "include_base_tool_rules", "tool_rules", "identity_ids", "model", "embedding", "llm_config", "embedding_config", "model_settings", "context_window_limit", "max_tokens", "embedding_chunk_size", "tool_exec_environment_variables", "secrets", "message_buffer_autoclear", "timezone", "project_id", "hidden", "enable_sleeptime", "response_format", "compaction_settings", "parallel_tool_calls", "enable_reasoner", "max_reasoning_tokens", "llm", "tool_secrets")
    class ToolExecEnvironmentVariablesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class SecretsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    AGENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_IDS_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_IDS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BASE_TOOLS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BASE_TOOL_RULES_FIELD_NUMBER: _ClassVar[int]
    TOOL_RULES_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_IDS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    LLM_CONFIG_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_CONFIG_FIELD_NUMBER: _ClassVar[int]
    MODEL_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_WINDOW_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOOL_EXEC_ENVIRONMENT_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_BUFFER_AUTOCLEAR_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    ENABLE_SLEEPTIME_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    COMPACTION_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    ENABLE_REASONER_FIELD_NUMBER: _ClassVar[int]
    MAX_REASONING_TOKENS_FIELD_NUMBER: _ClassVar[int]
    LLM_FIELD_NUMBER: _ClassVar[int]
    TOOL_SECRETS_FIELD_NUMBER: _ClassVar[int]
    name: str
    agent_type: str
    system: str
    description: str
    metadata: _struct_pb2.Struct
    tags: _containers.RepeatedScalarFieldContainer[str]
    memory_blocks: _containers.RepeatedCompositeFieldContainer[_blocks_pb2.CreateBlockRequest]
    block_ids: _containers.RepeatedScalarFieldContainer[str]
    tools: _containers.RepeatedScalarFieldContainer[str]
    tool_ids: _containers.RepeatedScalarFieldContainer[str]
    include_base_tools: bool
    include_base_tool_rules: bool
    tool_rules: _containers.RepeatedCompositeFieldContainer[_tools_pb2.ToolRule]
    identity_ids: _containers.RepeatedScalarFieldContainer[str]
    model: str
    embedding: str
    llm_config: _models_pb2.LlmConfig
    embedding_config: _models_pb2.EmbeddingConfig
    model_settings: _struct_pb2.Struct
    context_window_limit: int
    max_tokens: int
    embedding_chunk_size: int
    tool_exec_environment_variables: _containers.ScalarMap[str, str]
    secrets: _containers.ScalarMap[str, str]
    message_buffer_autoclear: bool
    timezone: str
    project_id: str
    hidden: bool
    enable_sleeptime: bool
    response_format: _struct_pb2.Struct
    compaction_settings: _struct_pb2.Struct
    parallel_tool_calls: bool
    enable_reasoner: bool
    max_reasoning_tokens: int
    llm: str
    tool_secrets: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., agent_type: _Optional[str] = ..., system: _Optional[str] = ..., description: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., tags: _Optional[_Iterable[str]] = ..., memory_blocks: _Optional[_Iterable[_Union[_blocks_pb2.CreateBlockRequest, _Mapping]]] = ..., block_ids: _Optional[_Iterable[str]] = ..., tools: _Optional[_Iterable[str]] = ..., tool_ids: _Optional[_Iterable[str]] = ..., include_base_tools: _Optional[bool] = ..., include_base_tool_rules: _Optional[bool] = ..., tool_rules: _Optional[_Iterable[_Union[_tools_pb2.ToolRule, _Mapping]]] = ..., identity_ids: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ..., embedding: _Optional[str] = ..., llm_config: _Optional[_Union[_models_pb2.LlmConfig, _Mapping]] = ..., embedding_config: _Optional[_Union[_models_pb2.EmbeddingConfig, _Mapping]] = ..., model_settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., context_window_limit: _Optional[int] = ..., max_tokens: _Optional[int] = ..., embedding_chunk_size: _Optional[int] = ..., tool_exec_environment_variables: _Optional[_Mapping[str, str]] = ..., secrets: _Optional[_Mapping[str, str]] = ..., message_buffer_autoclear: _Optional[bool] = ..., timezone: _Optional[str] = ..., project_id: _Optional[str] = ..., hidden: _Optional[bool] = ..., enable_sleeptime: _Optional[bool] = ..., response_format: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., compaction_settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., parallel_tool_calls: _Optional[bool] = ..., enable_reasoner: _Optional[bool] = ..., max_reasoning_tokens: _Optional[int] = ..., llm: _Optional[str] = ..., tool_secrets: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class GetAgentRequest(_message.Message):
    __slots__ = ("agent_id", "include", "include_relationships")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RELATIONSHIPS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    include: _containers.RepeatedScalarFieldContainer[str]
    include_relationships: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, agent_id: _Optional[str] = ..., include: _Optional[_Iterable[str]] = ..., include_relationships: _Optional[_Iterable[str]] = ...) -> None: ...

class GetAgentMemoryRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class ListAgentsRequest(_message.Message):
    __slots__ = ("name", "tags", "match_all_tags", "query_text", "identity_id", "identifier_keys", "project_id", "after", "before", "limit", "order", "order_by", "ascending", "include", "include_relationships", "last_stop_reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    MATCH_ALL_TAGS_FIELD_NUMBER: _ClassVar[int]
    QUERY_TEXT_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_KEYS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    ASCENDING_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RELATIONSHIPS_FIELD_NUMBER: _ClassVar[int]
    LAST_STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    match_all_tags: bool
    query_text: str
    identity_id: str
    identifier_keys: _containers.RepeatedScalarFieldContainer[str]
    project_id: str
    after: str
    before: str
    limit: int
    order: str
    order_by: str
    ascending: bool
    include: _containers.RepeatedScalarFieldContainer[str]
    include_relationships: _containers.RepeatedScalarFieldContainer[str]
    last_stop_reason: str
    def __init__(self, name: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., match_all_tags: _Optional[bool] = ..., query_text: _Optional[str] = ..., identity_id: _Optional[str] = ..., identifier_keys: _Optional[_Iterable[str]] = ..., project_id: _Optional[str] = ..., after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ..., order_by: _Optional[str] = ..., ascending: _Optional[bool] = ..., include: _Optional[_Iterable[str]] = ..., include_relationships: _Optional[_Iterable[str]] = ..., last_stop_reason: _Optional[str] = ...) -> None: ...

class ListAgentsResponse(_message.Message):
    __slots__ = ("agents",)
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[Agent]
    def __init__(self, agents: _Optional[_Iterable[_Union[Agent, _Mapping]]] = ...) -> None: ...

class UpdateAgentRequest(_message.Message):
    __slots__ = ("agent_id", "name", "system", "description", "metadata", "tags", "block_ids", "tool_ids", "tool_rules", "identity_ids", "model", "embedding", "llm_config", "embedding_config", "model_settings", "context_window_limit", "max_tokens", "tool_exec_environment_variables", "secrets", "message_buffer_autoclear", "timezone", "project_id", "hidden", "response_format", "compaction_settings", "message_ids", "parallel_tool_calls", "enable_sleeptime", "tool_secrets")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_IDS_FIELD_NUMBER: _ClassVar[int]
    TOOL_IDS_FIELD_NUMBER: _ClassVar[int]
    TOOL_RULES_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_IDS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    LLM_CONFIG_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_CONFIG_FIELD_NUMBER: _ClassVar[int]
    MODEL_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_WINDOW_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOOL_EXEC_ENVIRONMENT_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_BUFFER_AUTOCLEAR_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    COMPACTION_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    ENABLE_SLEEPTIME_FIELD_NUMBER: _ClassVar[int]
    TOOL_SECRETS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    name: str
    system: str
    description: str
    metadata: _struct_pb2.Struct
    tags: _struct_pb2.ListValue
    block_ids: _struct_pb2.ListValue
    tool_ids: _struct_pb2.ListValue
    tool_rules: _struct_pb2.ListValue
    identity_ids: _struct_pb2.ListValue
    model: str
    embedding: str
    llm_config: _models_pb2.LlmConfig
    embedding_config: _models_pb2.EmbeddingConfig
    model_settings: _struct_pb2.Struct
    context_window_limit: int
    max_tokens: int
    tool_exec_environment_variables: _struct_pb2.Struct
    secrets: _struct_pb2.Struct
    message_buffer_autoclear: bool
    timezone: str
    project_id: str
    hidden: bool
    response_format: _struct_pb2.Struct
    compaction_settings: _struct_pb2.Struct
    message_ids: _struct_pb2.ListValue
    parallel_tool_calls: bool
    enable_sleeptime: bool
    tool_secrets: _struct_pb2.Struct
    def __init__(self, agent_id: _Optional[str] = ..., name: _Optional[str] = ..., system: _Optional[str] = ..., description: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., tags: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., block_ids: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., tool_ids: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., tool_rules: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., identity_ids: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., model: _Optional[str] = ..., embedding: _Optional[str] = ..., llm_config: _Optional[_Union[_models_pb2.LlmConfig, _Mapping]] = ..., embedding_config: _Optional[_Union[_models_pb2.EmbeddingConfig, _Mapping]] = ..., model_settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., context_window_limit: _Optional[int] = ..., max_tokens: _Optional[int] = ..., tool_exec_environment_variables: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., secrets: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., message_buffer_autoclear: _Optional[bool] = ..., timezone: _Optional[str] = ..., project_id: _Optional[str] = ..., hidden: _Optional[bool] = ..., response_format: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., compaction_settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., message_ids: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., parallel_tool_calls: _Optional[bool] = ..., enable_sleeptime: _Optional[bool] = ..., tool_secrets: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class DeleteAgentRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class ListAgentBlocksRequest(_message.Message):
    __slots__ = ("agent_id", "after", "before", "limit", "order", "order_by")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    after: str
    before: str
    limit: int
    order: str
    order_by: str
    def __init__(self, agent_id: _Optional[str] = ..., after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class GetAgentBlockRequest(_message.Message):
    __slots__ = ("agent_id", "block_label")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    BLOCK_LABEL_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    block_label: str
    def __init__(self, agent_id: _Optional[str] = ..., block_label: _Optional[str] = ...) -> None: ...

class UpdateAgentBlockRequest(_message.Message):
    __slots__ = ("agent_id", "block_label", "label", "value", "limit", "description", "read_only", "hidden", "metadata", "tags")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    BLOCK_LABEL_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    block_label: str
    label: str
    value: str
    limit: int
    description: str
    read_only: bool
    hidden: bool
    metadata: _struct_pb2.Struct
    tags: _struct_pb2.ListValue
    def __init__(self, agent_id: _Optional[str] = ..., block_label: _Optional[str] = ..., label: _Optional[str] = ..., value: _Optional[str] = ..., limit: _Optional[int] = ..., description: _Optional[str] = ..., read_only: _Optional[bool] = ..., hidden: _Optional[bool] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., tags: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ...) -> None: ...

class AttachBlockRequest(_message.Message):
    __slots__ = ("agent_id", "block_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    BLOCK_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    block_id: str
    def __init__(self, agent_id: _Optional[str] = ..., block_id: _Optional[str] = ...) -> None: ...

class DetachBlockRequest(_message.Message):
    __slots__ = ("agent_id", "block_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    BLOCK_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    block_id: str
    def __init__(self, agent_id: _Optional[str] = ..., block_id: _Optional[str] = ...) -> None: ...

class ListBlockAgentsRequest(_message.Message):
    __slots__ = ("block_id", "after", "before", "limit", "order", "order_by", "include", "include_relationships")
    BLOCK_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RELATIONSHIPS_FIELD_NUMBER: _ClassVar[int]
    block_id: str
    after: str
    before: str
    limit: int
    order: str
    order_by: str
    include: _containers.RepeatedScalarFieldContainer[str]
    include_relationships: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, block_id: _Optional[str] = ..., after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ..., order_by: _Optional[str] = ..., include: _Optional[_Iterable[str]] = ..., include_relationships: _Optional[_Iterable[str]] = ...) -> None: ...

class ListAgentToolsRequest(_message.Message):
    __slots__ = ("agent_id", "after", "before", "limit", "order", "order_by")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    after: str
    before: str
    limit: int
    order: str
    order_by: str
    def __init__(self, agent_id: _Optional[str] = ..., after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class AttachToolRequest(_message.Message):
    __slots__ = ("agent_id", "tool_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    tool_id: str
    def __init__(self, agent_id: _Optional[str] = ..., tool_id: _Optional[str] = ...) -> None: ...

class DetachToolRequest(_message.Message):
    __slots__ = ("agent_id", "tool_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    tool_id: str
    def __init__(self, agent_id: _Optional[str] = ..., tool_id: _Optional[str] = ...) -> None: ...

class AttachIdentityRequest(_message.Message):
    __slots__ = ("agent_id", "identity_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    identity_id: str
    def __init__(self, agent_id: _Optional[str] = ..., identity_id: _Optional[str] = ...) -> None: ...

class DetachIdentityRequest(_message.Message):
    __slots__ = ("agent_id", "identity_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    identity_id: str
    def __init__(self, agent_id: _Optional[str] = ..., identity_id: _Optional[str] = ...) -> None: ...
