from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LlmConfig(_message.Message):
    __slots__ = ("model", "model_endpoint_type", "model_endpoint", "provider_name", "provider_category", "context_window", "handle", "temperature", "max_tokens", "enable_reasoner", "reasoning_effort", "max_reasoning_tokens", "parallel_tool_calls", "put_inner_thoughts_in_kwargs", "display_name", "frequency_penalty")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_ENDPOINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_WINDOW_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ENABLE_REASONER_FIELD_NUMBER: _ClassVar[int]
    REASONING_EFFORT_FIELD_NUMBER: _ClassVar[int]
    MAX_REASONING_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    PUT_INNER_THOUGHTS_IN_KWARGS_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_PENALTY_FIELD_NUMBER: _ClassVar[int]
    model: str
    model_endpoint_type: str
    model_endpoint: str
    provider_name: str
    provider_category: str
    context_window: int
    handle: str
    temperature: float
    max_tokens: int
    enable_reasoner: bool
    reasoning_effort: str
    max_reasoning_tokens: int
    parallel_tool_calls: bool
    put_inner_thoughts_in_kwargs: bool
    display_name: str
    frequency_penalty: float
    def __init__(self, model: _Optional[str] = ..., model_endpoint_type: _Optional[str] = ..., model_endpoint: _Optional[str] = ..., provider_name: _Optional[str] = ..., provider_category: _Optional[str] = ..., context_window: _Optional[int] = ..., handle: _Optional[str] = ..., temperature: _Optional[float] = ..., max_tokens: _Optional[int] = ..., enable_reasoner: _Optional[bool] = ..., reasoning_effort: _Optional[str] = ..., max_reasoning_tokens: _Optional[int] = ..., parallel_tool_calls: _Optional[bool] = ..., put_inner_thoughts_in_kwargs: _Optional[bool] = ..., display_name: _Optional[str] = ..., frequency_penalty: _Optional[float] = ...) -> None: ...

class EmbeddingConfig(_message.Message):
    __slots__ = ("embedding_endpoint_type", "embedding_endpoint", "embedding_model", "embedding_dim", "embedding_chunk_size", "handle", "batch_size")
    EMBEDDING_ENDPOINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_MODEL_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_DIM_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    embedding_endpoint_type: str
    embedding_endpoint: str
    embedding_model: str
    embedding_dim: int
    embedding_chunk_size: int
    handle: str
    batch_size: int
    def __init__(self, embedding_endpoint_type: _Optional[str] = ..., embedding_endpoint: _Optional[str] = ..., embedding_model: _Optional[str] = ..., embedding_dim: _Optional[int] = ..., embedding_chunk_size: _Optional[int] = ..., handle: _Optional[str] = ..., batch_size: _Optional[int] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("handle", "model", "name", "display_name", "provider_type", "provider_name", "provider_category", "model_endpoint_type", "model_endpoint", "context_window", "max_context_window", "model_type", "put_inner_thoughts_in_kwargs", "max_tokens")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    MODEL_ENDPOINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_WINDOW_FIELD_NUMBER: _ClassVar[int]
    MAX_CONTEXT_WINDOW_FIELD_NUMBER: _ClassVar[int]
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    PUT_INNER_THOUGHTS_IN_KWARGS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    handle: str
    model: str
    name: str
    display_name: str
    provider_type: str
    provider_name: str
    provider_category: str
    model_endpoint_type: str
    model_endpoint: str
    context_window: int
    max_context_window: int
    model_type: str
    put_inner_thoughts_in_kwargs: bool
    max_tokens: int
    def __init__(self, handle: _Optional[str] = ..., model: _Optional[str] = ..., name: _Optional[str] = ..., display_name: _Optional[str] = ..., provider_type: _Optional[str] = ..., provider_name: _Optional[str] = ..., provider_category: _Optional[str] = ..., model_endpoint_type: _Optional[str] = ..., model_endpoint: _Optional[str] = ..., context_window: _Optional[int] = ..., max_context_window: _Optional[int] = ..., model_type: _Optional[str] = ..., put_inner_thoughts_in_kwargs: _Optional[bool] = ..., max_tokens: _Optional[int] = ...) -> None: ...

class EmbeddingModel(_message.Message):
    __slots__ = ("handle", "embedding_model", "name", "display_name", "provider_type", "provider_name", "embedding_endpoint_type", "embedding_endpoint", "embedding_dim", "embedding_chunk_size", "model_type")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_MODEL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_NAME_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_ENDPOINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_DIM_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    handle: str
    embedding_model: str
    name: str
    display_name: str
    provider_type: str
    provider_name: str
    embedding_endpoint_type: str
    embedding_endpoint: str
    embedding_dim: int
    embedding_chunk_size: int
    model_type: str
    def __init__(self, handle: _Optional[str] = ..., embedding_model: _Optional[str] = ..., name: _Optional[str] = ..., display_name: _Optional[str] = ..., provider_type: _Optional[str] = ..., provider_name: _Optional[str] = ..., embedding_endpoint_type: _Optional[str] = ..., embedding_endpoint: _Optional[str] = ..., embedding_dim: _Optional[int] = ..., embedding_chunk_size: _Optional[int] = ..., model_type: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("provider_category", "provider_name", "provider_type")
    PROVIDER_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    provider_category: _containers.RepeatedScalarFieldContainer[str]
    provider_name: str
    provider_type: str
    def __init__(self, provider_category: _Optional[_Iterable[str]] = ..., provider_name: _Optional[str] = ..., provider_type: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ...) -> None: ...

class ListEmbeddingModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListEmbeddingModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[EmbeddingModel]
    def __init__(self, models: _Optional[_Iterable[_Union[EmbeddingModel, _Mapping]]] = ...) -> None: ...
