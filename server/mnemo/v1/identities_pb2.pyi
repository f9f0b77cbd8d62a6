import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mnemo.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Identity(_message.Message):
    __slots__ = ("id", "identifier_key", "name", "identity_type", "project_id", "agent_ids", "block_ids", "properties", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_IDS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_IDS_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    identifier_key: str
    name: str
    identity_type: str
    project_id: str
    agent_ids: _containers.RepeatedScalarFieldContainer[str]
    block_ids: _containers.RepeatedScalarFieldContainer[str]
    properties: _containers.RepeatedCompositeFieldContainer[IdentityProperty]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., identifier_key: _Optional[str] = ..., name: _Optional[str] = ..., identity_type: _Optional[str] = ..., project_id: _Optional[str] = ..., agent_ids: _Optional[_Iterable[str]] = ..., block_ids: _Optional[_Iterable[str]] = ..., properties: _Optional[_Iterable[_Union[IdentityProperty, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IdentityProperty(_message.Message):
    __slots__ = ("key", "value", "type")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: _struct_pb2.Value
    type: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., type: _Optional[str] = ...) -> None: ...

class CreateIdentityRequest(_message.Message):
    __slots__ = ("identifier_key", "name", "identity_type", "project_id", "agent_ids", "block_ids", "properties")
    IDENTIFIER_KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_IDS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_IDS_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    identifier_key: str
    name: str
    identity_type: str
    project_id: str
    agent_ids: _containers.RepeatedScalarFieldContainer[str]
    block_ids: _containers.RepeatedScalarFieldContainer[str]
    properties: _containers.RepeatedCompositeFieldContainer[IdentityProperty]
    def __init__(self, identifier_key: _Optional[str] = ..., name: _Optional[str] = ..., identity_type: _Optional[str] = ..., project_id: _Optional[str] = ..., agent_ids: _Optional[_Iterable[str]] = ..., block_ids: _Optional[_Iterable[str]] = ..., properties: _Optional[_Iterable[_Union[IdentityProperty, _Mapping]]] = ...) -> None: ...

class GetIdentityRequest(_message.Message):
    __slots__ = ("identity_id",)
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    def __init__(self, identity_id: _Optional[str] = ...) -> None: ...

class ListIdentitiesRequest(_message.Message):
    __slots__ = ("name", "identifier_key", "identity_type", "project_id", "after", "before", "limit", "order")
    NAME_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_KEY_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    name: str
    identifier_key: str
    identity_type: str
    project_id: str
    after: str
    before: str
    limit: int
    order: str
    def __init__(self, name: _Optional[str] = ..., identifier_key: _Optional[str] = ..., identity_type: _Optional[str] = ..., project_id: _Optional[str] = ..., after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ...) -> None: ...

class ListIdentitiesResponse(_message.Message):
    __slots__ = ("identities",)
    IDENTITIES_FIELD_NUMBER: _ClassVar[int]
    identities: _containers.RepeatedCompositeFieldContainer[Identity]
    def __init__(self, identities: _Optional[_Iterable[_Union[Identity, _Mapping]]] = ...) -> None: ...

class CountIdentitiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateIdentityRequest(_message.Message):
    __slots__ = ("identity_id", "identifier_key", "name", "identity_type", "agent_ids", "block_ids", "properties")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    AGENT_IDS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_IDS_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    identifier_key: str
    name: str
    identity_type: str
    agent_ids: _struct_pb2.ListValue
    block_ids: _struct_pb2.ListValue
    properties: _struct_pb2.ListValue
    def __init__(self, identity_id: _Optional[str] = ..., identifier_key: _Optional[str] = ..., name: _Optional[str] = ..., identity_type: _Optional[str] = ..., agent_ids: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., block_ids: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., properties: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ...) -> None: ...

class UpsertIdentityPropertiesRequest(_message.Message):
    __slots__ = ("identity_id", "properties")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    properties: _containers.RepeatedCompositeFieldContainer[IdentityProperty]
    def __init__(self, identity_id: _Optional[str] = ..., properties: _Optional[_Iterable[_Union[IdentityProperty, _Mapping]]] = ...) -> None: ...

class DeleteIdentityRequest(_message.Message):
    __slots__ = ("identity_id",)
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    identity_id: str
    def __init__(self, identity_id: _Optional[str] = ...) -> None: ...
