import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mnemo.v1 import agents_pb2 as _agents_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CompactMessagesRequest(_message.Message):
    __slots__ = ("agent_id", "compaction_settings", "max_message_length")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPACTION_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    compaction_settings: _struct_pb2.Struct
    max_message_length: int
    def __init__(self, agent_id: _Optional[str] = ..., compaction_settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., max_message_length: _Optional[int] = ...) -> None: ...

class CompactionResponse(_message.Message):
    __slots__ = ("num_messages_before", "num_messages_after", "summary")
    NUM_MESSAGES_BEFORE_FIELD_NUMBER: _ClassVar[int]
    NUM_MESSAGES_AFTER_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    num_messages_before: int
    num_messages_after: int
    summary: str
    def __init__(self, num_messages_before: _Optional[int] = ..., num_messages_after: _Optional[int] = ..., summary: _Optional[str] = ...) -> None: ...

class MessageCreate(_message.Message):
    __slots__ = ("type", "role", "content", "name", "otid", "sender_id", "approvals", "approve", "approval_request_id", "reason", "tool_returns", "text")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OTID_FIELD_NUMBER: _ClassVar[int]
    SENDER_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TOOL_RETURNS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    type: str
    role: str
    content: _struct_pb2.Value
    name: str
    otid: str
    sender_id: str
    approvals: _containers.RepeatedCompositeFieldContainer[ApprovalItem]
    approve: bool
    approval_request_id: str
    reason: str
    tool_returns: _containers.RepeatedCompositeFieldContainer[ApprovalItem]
    text: str
    def __init__(self, type: _Optional[str] = ..., role: _Optional[str] = ..., content: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., name: _Optional[str] = ..., otid: _Optional[str] = ..., sender_id: _Optional[str] = ..., approvals: _Optional[_Iterable[_Union[ApprovalItem, _Mapping]]] = ..., approve: _Optional[bool] = ..., approval_request_id: _Optional[str] = ..., reason: _Optional[str] = ..., tool_returns: _Optional[_Iterable[_Union[ApprovalItem, _Mapping]]] = ..., text: _Optional[str] = ...) -> None: ...

class ApprovalItem(_message.Message):
    __slots__ = ("type", "tool_call_id", "approve", "reason", "status", "tool_return", "stdout", "stderr")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOOL_RETURN_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    type: str
    tool_call_id: str
    approve: bool
    reason: str
    status: str
    tool_return: _struct_pb2.Value
    stdout: _containers.RepeatedScalarFieldContainer[str]
    stderr: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, type: _Optional[str] = ..., tool_call_id: _Optional[str] = ..., approve: _Optional[bool] = ..., reason: _Optional[str] = ..., status: _Optional[str] = ..., tool_return: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., stdout: _Optional[_Iterable[str]] = ..., stderr: _Optional[_Iterable[str]] = ...) -> None: ...

class ClientTool(_message.Message):
    __slots__ = ("name", "description", "parameters")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    parameters: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SendMessageRequest(_message.Message):
    __slots__ = ("agent_id", "messages", "input", "max_steps", "stream_tokens", "include_pings", "streaming", "use_assistant_message", "include_return_message_types", "override_system", "include_compaction_messages", "background", "assistant_message_tool_name", "assistant_message_tool_kwarg", "if_busy", "client_tools")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    STREAM_TOKENS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_PINGS_FIELD_NUMBER: _ClassVar[int]
    STREAMING_FIELD_NUMBER: _ClassVar[int]
    USE_ASSISTANT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RETURN_MESSAGE_TYPES_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_COMPACTION_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_MESSAGE_TOOL_NAME_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_MESSAGE_TOOL_KWARG_FIELD_NUMBER: _ClassVar[int]
    IF_BUSY_FIELD_NUMBER: _ClassVar[int]
    CLIENT_TOOLS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    messages: _containers.RepeatedCompositeFieldContainer[MessageCreate]
    input: _struct_pb2.Value
    max_steps: int
    stream_tokens: bool
    include_pings: bool
    streaming: bool
    use_assistant_message: bool
    include_return_message_types: _containers.RepeatedScalarFieldContainer[str]
    override_system: str
    include_compaction_messages: bool
    background: bool
    assistant_message_tool_name: str
    assistant_message_tool_kwarg: str
    if_busy: str
    client_tools: _containers.RepeatedCompositeFieldContainer[ClientTool]
    def __init__(self, agent_id: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[MessageCreate, _Mapping]]] = ..., input: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., max_steps: _Optional[int] = ..., stream_tokens: _Optional[bool] = ..., include_pings: _Optional[bool] = ..., streaming: _Optional[bool] = ..., use_assistant_message: _Optional[bool] = ..., include_return_message_types: _Optional[_Iterable[str]] = ..., override_system: _Optional[str] = ..., include_compaction_messages: _Optional[bool] = ..., background: _Optional[bool] = ..., assistant_message_tool_name: _Optional[str] = ..., assistant_message_tool_kwarg: _Optional[str] = ..., if_busy: _Optional[str] = ..., client_tools: _Optional[_Iterable[_Union[ClientTool, _Mapping]]] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("name", "arguments", "tool_call_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    arguments: str
    tool_call_id: str
    def __init__(self, name: _Optional[str] = ..., arguments: _Optional[str] = ..., tool_call_id: _Optional[str] = ...) -> None: ...

class LettaMessage(_message.Message):
    __slots__ = ("id", "date", "message_type", "name", "otid", "sender_id", "step_id", "run_id", "seq_id", "is_err", "content", "reasoning", "source", "signature", "tool_call", "tool_calls", "tool_return", "status", "tool_call_id", "stdout", "stderr", "summary", "event_type", "event_data", "stop_reason", "completion_tokens", "prompt_tokens", "total_tokens", "step_count", "run_ids", "error_type", "message", "detail", "context_tokens", "approvals", "approve", "approval_request_id", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OTID_FIELD_NUMBER: _ClassVar[int]
    SENDER_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_ID_FIELD_NUMBER: _ClassVar[int]
    IS_ERR_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_RETURN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_DATA_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    STEP_COUNT_FIELD_NUMBER: _ClassVar[int]
    RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    date: _timestamp_pb2.Timestamp
    message_type: str
    name: str
    otid: str
    sender_id: str
    step_id: str
    run_id: str
    seq_id: int
    is_err: bool
    content: _struct_pb2.Value
    reasoning: str
    source: str
    signature: str
    tool_call: ToolCall
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    tool_return: str
    status: str
    tool_call_id: str
    stdout: _containers.RepeatedScalarFieldContainer[str]
    stderr: _containers.RepeatedScalarFieldContainer[str]
    summary: str
    event_type: str
    event_data: _struct_pb2.Struct
    stop_reason: str
    completion_tokens: int
    prompt_tokens: int
    total_tokens: int
    step_count: int
    run_ids: _containers.RepeatedScalarFieldContainer[str]
    error_type: str
    message: str
    detail: str
    context_tokens: int
    approvals: _containers.RepeatedCompositeFieldContainer[ApprovalItem]
    approve: bool
    approval_request_id: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message_type: _Optional[str] = ..., name: _Optional[str] = ..., otid: _Optional[str] = ..., sender_id: _Optional[str] = ..., step_id: _Optional[str] = ..., run_id: _Optional[str] = ..., seq_id: _Optional[int] = ..., is_err: _Optional[bool] = ..., content: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., reasoning: _Optional[str] = ..., source: _Optional[str] = ..., signature: _Optional[str] = ..., tool_call: _Optional[_Union[ToolCall, _Mapping]] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., tool_return: _Optional[str] = ..., status: _Optional[str] = ..., tool_call_id: _Optional[str] = ..., stdout: _Optional[_Iterable[str]] = ..., stderr: _Optional[_Iterable[str]] = ..., summary: _Optional[str] = ..., event_type: _Optional[str] = ..., event_data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., stop_reason: _Optional[str] = ..., completion_tokens: _Optional[int] = ..., prompt_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ..., step_count: _Optional[int] = ..., run_ids: _Optional[_Iterable[str]] = ..., error_type: _Optional[str] = ..., message: _Optional[str] = ..., detail: _Optional[str] = ..., context_tokens: _Optional[int] = ..., approvals: _Optional[_Iterable[_Union[ApprovalItem, _Mapping]]] = ..., approve: _Optional[bool] = ..., approval_request_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class StopReason(_message.Message):
    __slots__ = ("message_type", "stop_reason")
    MESSAGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    message_type: str
    stop_reason: str
    def __init__(self, message_type: _Optional[str] = ..., stop_reason: _Optional[str] = ...) -> None: ...

class UsageStatistics(_message.Message):
    __slots__ = ("message_type", "completion_tokens", "prompt_tokens", "total_tokens", "step_count", "run_ids", "context_tokens", "cached_input_tokens", "reasoning_tokens")
    MESSAGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    STEP_COUNT_FIELD_NUMBER: _ClassVar[int]
    RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    REASONING_TOKENS_FIELD_NUMBER: _ClassVar[int]
    message_type: str
    completion_tokens: int
    prompt_tokens: int
    total_tokens: int
    step_count: int
    run_ids: _containers.RepeatedScalarFieldContainer[str]
    context_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int
    def __init__(self, message_type: _Optional[str] = ..., completion_tokens: _Optional[int] = ..., prompt_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ..., step_count: _Optional[int] = ..., run_ids: _Optional[_Iterable[str]] = ..., context_tokens: _Optional[int] = ..., cached_input_tokens: _Optional[int] = ..., reasoning_tokens: _Optional[int] = ...) -> None: ...

class SendMessageResponse(_message.Message):
    __slots__ = ("messages", "stop_reason", "usage")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[LettaMessage]
    stop_reason: StopReason
    usage: UsageStatistics
    def __init__(self, messages: _Optional[_Iterable[_Union[LettaMessage, _Mapping]]] = ..., stop_reason: _Optional[_Union[StopReason, _Mapping]] = ..., usage: _Optional[_Union[UsageStatistics, _Mapping]] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("agent_id", "after", "before", "limit", "order", "order_by", "use_assistant_message", "include_return_message_types", "include_err", "assistant_message_tool_name", "assistant_message_tool_kwarg")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    USE_ASSISTANT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RETURN_MESSAGE_TYPES_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_ERR_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_MESSAGE_TOOL_NAME_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_MESSAGE_TOOL_KWARG_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    after: str
    before: str
    limit: int
    order: str
    order_by: str
    use_assistant_message: bool
    include_return_message_types: _containers.RepeatedScalarFieldContainer[str]
    include_err: bool
    assistant_message_tool_name: str
    assistant_message_tool_kwarg: str
    def __init__(self, agent_id: _Optional[str] = ..., after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ..., order_by: _Optional[str] = ..., use_assistant_message: _Optional[bool] = ..., include_return_message_types: _Optional[_Iterable[str]] = ..., include_err: _Optional[bool] = ..., assistant_message_tool_name: _Optional[str] = ..., assistant_message_tool_kwarg: _Optional[str] = ...) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[LettaMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[LettaMessage, _Mapping]]] = ...) -> None: ...

class UpdateMessageRequest(_message.Message):
    __slots__ = ("agent_id", "message_id", "message_type", "content", "reasoning")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    message_id: str
    message_type: str
    content: _struct_pb2.Value
    reasoning: str
    def __init__(self, agent_id: _Optional[str] = ..., message_id: _Optional[str] = ..., message_type: _Optional[str] = ..., content: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., reasoning: _Optional[str] = ...) -> None: ...

class ResetMessagesRequest(_message.Message):
    __slots__ = ("agent_id", "add_default_initial_messages")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    ADD_DEFAULT_INITIAL_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    add_default_initial_messages: bool
    def __init__(self, agent_id: _Optional[str] = ..., add_default_initial_messages: _Optional[bool] = ...) -> None: ...

class GetContextWindowRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class ContextWindowOverview(_message.Message):
    __slots__ = ("context_window_size_max", "context_window_size_current", "num_messages", "num_archival_memory", "num_recall_memory", "num_tokens_external_memory_summary", "external_memory_summary", "num_tokens_system", "system_prompt", "num_tokens_core_memory", "core_memory", "num_tokens_summary_memory", "summary_memory", "num_tokens_functions_definitions", "functions_definitions", "num_tokens_messages", "num_tokens_tool_usage_rules", "tokenizer")
    CONTEXT_WINDOW_SIZE_MAX_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_WINDOW_SIZE_CURRENT_FIELD_NUMBER: _ClassVar[int]
    NUM_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NUM_ARCHIVAL_MEMORY_FIELD_NUMBER: _ClassVar[int]
    NUM_RECALL_MEMORY_FIELD_NUMBER: _ClassVar[int]
    NUM_TOKENS_EXTERNAL_MEMORY_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_MEMORY_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    NUM_TOKENS_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    NUM_TOKENS_CORE_MEMORY_FIELD_NUMBER: _ClassVar[int]
    CORE_MEMORY_FIELD_NUMBER: _ClassVar[int]
    NUM_TOKENS_SUMMARY_MEMORY_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_MEMORY_FIELD_NUMBER: _ClassVar[int]
    NUM_TOKENS_FUNCTIONS_DEFINITIONS_FIELD_NUMBER: _ClassVar[int]
    FUNCTIONS_DEFINITIONS_FIELD_NUMBER: _ClassVar[int]
    NUM_TOKENS_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NUM_TOKENS_TOOL_USAGE_RULES_FIELD_NUMBER: _ClassVar[int]
    TOKENIZER_FIELD_NUMBER: _ClassVar[int]
    context_window_size_max: int
    context_window_size_current: int
    num_messages: int
    num_archival_memory: int
    num_recall_memory: int
    num_tokens_external_memory_summary: int
    external_memory_summary: str
    num_tokens_system: int
    system_prompt: str
    num_tokens_core_memory: int
    core_memory: str
    num_tokens_summary_memory: int
    summary_memory: str
    num_tokens_functions_definitions: int
    functions_definitions: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    num_tokens_messages: int
    num_tokens_tool_usage_rules: int
    tokenizer: str
    def __init__(self, context_window_size_max: _Optional[int] = ..., context_window_size_current: _Optional[int] = ..., num_messages: _Optional[int] = ..., num_archival_memory: _Optional[int] = ..., num_recall_memory: _Optional[int] = ..., num_tokens_external_memory_summary: _Optional[int] = ..., external_memory_summary: _Optional[str] = ..., num_tokens_system: _Optional[int] = ..., system_prompt: _Optional[str] = ..., num_tokens_core_memory: _Optional[int] = ..., core_memory: _Optional[str] = ..., num_tokens_summary_memory: _Optional[int] = ..., summary_memory: _Optional[str] = ..., num_tokens_functions_definitions: _Optional[int] = ..., functions_definitions: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., num_tokens_messages: _Optional[int] = ..., num_tokens_tool_usage_rules: _Optional[int] = ..., tokenizer: _Optional[str] = ...) -> None: ...
