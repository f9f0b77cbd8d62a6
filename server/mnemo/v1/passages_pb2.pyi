import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mnemo.v1 import models_pb2 as _models_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Passage(_message.Message):
    __slots__ = ("id", "text", "tags", "metadata", "agent_id", "embedding_config", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_CONFIG_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    metadata: _struct_pb2.Struct
    agent_id: str
    embedding_config: _models_pb2.EmbeddingConfig
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., agent_id: _Optional[str] = ..., embedding_config: _Optional[_Union[_models_pb2.EmbeddingConfig, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreatePassageRequest(_message.Message):
    __slots__ = ("agent_id", "text", "tags", "created_at", "metadata")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    text: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    created_at: str
    metadata: _struct_pb2.Struct
    def __init__(self, agent_id: _Optional[str] = ..., text: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., created_at: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListPassagesRequest(_message.Message):
    __slots__ = ("agent_id", "after", "before", "limit", "ascending", "order", "search")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ASCENDING_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    after: str
    before: str
    limit: int
    ascending: bool
    order: str
    search: str
    def __init__(self, agent_id: _Optional[str] = ..., after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., ascending: _Optional[bool] = ..., order: _Optional[str] = ..., search: _Optional[str] = ...) -> None: ...

class ListPassagesResponse(_message.Message):
    __slots__ = ("passages",)
    PASSAGES_FIELD_NUMBER: _ClassVar[int]
    passages: _containers.RepeatedCompositeFieldContainer[Passage]
    def __init__(self, passages: _Optional[_Iterable[_Union[Passage, _Mapping]]] = ...) -> None: ...

class SearchAgentPassagesRequest(_message.Message):
    __slots__ = ("agent_id", "query", "tags", "tag_match_mode", "start_datetime", "end_datetime", "top_k")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TAG_MATCH_MODE_FIELD_NUMBER: _ClassVar[int]
    START_DATETIME_FIELD_NUMBER: _ClassVar[int]
    END_DATETIME_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    query: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    tag_match_mode: str
    start_datetime: str
    end_datetime: str
    top_k: int
    def __init__(self, agent_id: _Optional[str] = ..., query: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., tag_match_mode: _Optional[str] = ..., start_datetime: _Optional[str] = ..., end_datetime: _Optional[str] = ..., top_k: _Optional[int] = ...) -> None: ...

class ArchivalSearchResult(_message.Message):
    __slots__ = ("id", "content", "timestamp", "tags")
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    id: str
    content: str
    timestamp: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., content: _Optional[str] = ..., timestamp: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class SearchAgentPassagesResponse(_message.Message):
    __slots__ = ("count", "results")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    count: int
    results: _containers.RepeatedCompositeFieldContainer[ArchivalSearchResult]
    def __init__(self, count: _Optional[int] = ..., results: _Optional[_Iterable[_Union[ArchivalSearchResult, _Mapping]]] = ...) -> None: ...

class GetPassageRequest(_message.Message):
    __slots__ = ("agent_id", "passage_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    PASSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    passage_id: str
    def __init__(self, agent_id: _Optional[str] = ..., passage_id: _Optional[str] = ...) -> None: ...

class UpdatePassageRequest(_message.Message):
    __slots__ = ("agent_id", "passage_id", "text", "tags", "metadata")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    PASSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    passage_id: str
    text: str
    tags: _struct_pb2.ListValue
    metadata: _struct_pb2.Struct
    def __init__(self, agent_id: _Optional[str] = ..., passage_id: _Optional[str] = ..., text: _Optional[str] = ..., tags: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class DeletePassageRequest(_message.Message):
    __slots__ = ("agent_id", "passage_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    PASSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    passage_id: str
    def __init__(self, agent_id: _Optional[str] = ..., passage_id: _Optional[str] = ...) -> None: ...

class SearchPassagesRequest(_message.Message):
    __slots__ = ("agent_id", "archive_id", "query", "tags", "tag_match_mode", "limit", "start_date", "end_date")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    ARCHIVE_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TAG_MATCH_MODE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    archive_id: str
    query: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    tag_match_mode: str
    limit: int
    start_date: str
    end_date: str
    def __init__(self, agent_id: _Optional[str] = ..., archive_id: _Optional[str] = ..., query: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., tag_match_mode: _Optional[str] = ..., limit: _Optional[int] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class PassageSearchResult(_message.Message):
    __slots__ = ("passage", "score", "metadata")
    PASSAGE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    passage: Passage
    score: float
    metadata: _struct_pb2.Struct
    def __init__(self, passage: _Optional[_Union[Passage, _Mapping]] = ..., score: _Optional[float] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SearchPassagesResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[PassageSearchResult]
    def __init__(self, results: _Optional[_Iterable[_Union[PassageSearchResult, _Mapping]]] = ...) -> None: ...
