import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mnemo.v1 import messages_pb2 as _messages_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Job(_message.Message):
    __slots__ = ("id", "status", "job_type", "created_at", "updated_at", "completed_at", "metadata", "callback_url", "callback_sent_at", "callback_status_code", "callback_error", "total_duration_ns", "cancel_requested", "progress", "items")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_URL_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_SENT_AT_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_ERROR_FIELD_NUMBER: _ClassVar[int]
    TOTAL_DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    job_type: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    metadata: _struct_pb2.Struct
    callback_url: str
    callback_sent_at: _timestamp_pb2.Timestamp
    callback_status_code: int
    callback_error: str
    total_duration_ns: float
    cancel_requested: bool
    progress: JobProgress
    items: _containers.RepeatedCompositeFieldContainer[BatchItem]
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., job_type: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., callback_url: _Optional[str] = ..., callback_sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., callback_status_code: _Optional[int] = ..., callback_error: _Optional[str] = ..., total_duration_ns: _Optional[float] = ..., cancel_requested: _Optional[bool] = ..., progress: _Optional[_Union[JobProgress, _Mapping]] = ..., items: _Optional[_Iterable[_Union[BatchItem, _Mapping]]] = ...) -> None: ...

class JobProgress(_message.Message):
    __slots__ = ("total", "created", "running", "completed", "failed", "cancelled")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    total: int
    created: int
    running: int
    completed: int
    failed: int
    cancelled: int
    def __init__(self, total: _Optional[int] = ..., created: _Optional[int] = ..., running: _Optional[int] = ..., completed: _Optional[int] = ..., failed: _Optional[int] = ..., cancelled: _Optional[int] = ...) -> None: ...

class BatchItem(_message.Message):
    __slots__ = ("index", "agent_id", "run_id", "status", "stop_reason", "error")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    index: int
    agent_id: str
    run_id: str
    status: str
    stop_reason: str
    error: str
    def __init__(self, index: _Optional[int] = ..., agent_id: _Optional[str] = ..., run_id: _Optional[str] = ..., status: _Optional[str] = ..., stop_reason: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("source_id", "job_type", "statuses", "active", "after", "before", "limit", "order", "ascending")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    ASCENDING_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    job_type: str
    statuses: _containers.RepeatedScalarFieldContainer[str]
    active: bool
    after: str
    before: str
    limit: int
    order: str
    ascending: bool
    def __init__(self, source_id: _Optional[str] = ..., job_type: _Optional[str] = ..., statuses: _Optional[_Iterable[str]] = ..., active: _Optional[bool] = ..., after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ..., ascending: _Optional[bool] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetBatchRequest(_message.Message):
    __slots__ = ("batch_id",)
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    def __init__(self, batch_id: _Optional[str] = ...) -> None: ...

class CreateBatchRequest(_message.Message):
    __slots__ = ("requests", "callback_url")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_URL_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[_messages_pb2.SendMessageRequest]
    callback_url: str
    def __init__(self, requests: _Optional[_Iterable[_Union[_messages_pb2.SendMessageRequest, _Mapping]]] = ..., callback_url: _Optional[str] = ...) -> None: ...

class ListBatchMessagesRequest(_message.Message):
    __slots__ = ("batch_id", "agent_id", "after", "before", "limit", "order", "cursor", "sort_descending")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    SORT_DESCENDING_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    agent_id: str
    after: str
    before: str
    limit: int
    order: str
    cursor: str
    sort_descending: bool
    def __init__(self, batch_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ..., cursor: _Optional[str] = ..., sort_descending: _Optional[bool] = ...) -> None: ...

class BatchMessages(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[StoredMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[StoredMessage, _Mapping]]] = ...) -> None: ...

class StoredMessage(_message.Message):
    __slots__ = ("id", "role", "agent_id", "content", "name", "tool_calls", "tool_call_id", "tool_returns", "approvals", "step_id", "run_id", "otid", "sender_id", "model", "is_err", "created_at", "batch_item_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_RETURNS_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    OTID_FIELD_NUMBER: _ClassVar[int]
    SENDER_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    IS_ERR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    BATCH_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    role: str
    agent_id: str
    content: _struct_pb2.ListValue
    name: str
    tool_calls: _struct_pb2.ListValue
    tool_call_id: str
    tool_returns: _struct_pb2.ListValue
    approvals: _struct_pb2.ListValue
    step_id: str
    run_id: str
    otid: str
    sender_id: str
    model: str
    is_err: bool
    created_at: _timestamp_pb2.Timestamp
    batch_item_id: str
    def __init__(self, id: _Optional[str] = ..., role: _Optional[str] = ..., agent_id: _Optional[str] = ..., content: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., name: _Optional[str] = ..., tool_calls: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., tool_call_id: _Optional[str] = ..., tool_returns: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., approvals: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., step_id: _Optional[str] = ..., run_id: _Optional[str] = ..., otid: _Optional[str] = ..., sender_id: _Optional[str] = ..., model: _Optional[str] = ..., is_err: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., batch_item_id: _Optional[str] = ...) -> None: ...
