"""Token counting for context budgets and the context-window report.

OpenAI-style models are counted with their real BPE (o200k_base for the GPT-4o
family and newer, cl100k_base before), from the bpe-openai package, which
carries the tables and needs no network. Other providers (Anthropic, local
models) have no public offline tokenizer; they are counted with cl100k_base
plus 10%, a documented estimate that errs on the large side.

The tables take about half a second and ~140 MB to load, so they are loaded
in a thread on first need (`tables_ready`), never on the event loop; and the
counts of stored messages, which do not change, are remembered (bounded).
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from mnemo.v1 import models_pb2

OLD_OPENAI_PREFIXES = ("gpt-4-", "gpt-4", "gpt-3.5")

_tables: dict[str, Any] = {}
_loading: set[str] = set()
_lock = threading.Lock()

# (tokenizer, message id, text length) -> tokens. Bounded: memory does not grow with history.
_MESSAGE_COUNTS: OrderedDict[tuple[str, str, int], int] = OrderedDict()
_MESSAGE_COUNTS_MAX = 200_000


def tokenizer_name(config: models_pb2.LlmConfig) -> str:
    if config.model_endpoint_type == "openai":
        if config.model.startswith(OLD_OPENAI_PREFIXES) and not config.model.startswith(("gpt-4o", "gpt-4.1")):
            return "cl100k_base"
        return "o200k_base"
    return "estimate"


def _table_name(config: models_pb2.LlmConfig) -> str:
    name = tokenizer_name(config)
    return "cl100k_base" if name == "estimate" else name


def _load(name: str) -> Any:
    with _lock:
        table = _tables.get(name)
        if table is None:
            import bpe_openai

            table = _tables[name] = bpe_openai.get_encoding(name)
        return table


def tables_ready(config: models_pb2.LlmConfig) -> bool:
    """Whether `config`'s tables are loaded; if not, starts loading them in a
    thread and returns False (the caller estimates meanwhile)."""
    name = _table_name(config)
    if name in _tables:
        return True
    with _lock:
        if name not in _loading:
            _loading.add(name)
            threading.Thread(target=_load, args=(name,), name=f"load-{name}", daemon=True).start()
    return False


class TokenCounter:
    """Counts tokens; builds (loads) its tables if they are not loaded yet,
    so call it off the event loop or after `tables_ready`."""

    def __init__(self, config: models_pb2.LlmConfig):
        self.name = tokenizer_name(config)
        self._encoding = _load(_table_name(config))

    def count(self, text: str) -> int:
        if not text:
            return 0
        n = len(self._encoding.encode(text, disallowed_special=()))
        return n + n // 10 if self.name == "estimate" else n

    def count_json(self, value: Any) -> int:
        return self.count(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def count_message(self, message_id: str, text: str) -> int:
        """`count(text)` of a stored message, remembered."""
        key = (self.name, message_id, len(text))
        found = _MESSAGE_COUNTS.get(key)
        if found is not None:
            _MESSAGE_COUNTS.move_to_end(key)
            return found
        n = _MESSAGE_COUNTS[key] = self.count(text)
        if len(_MESSAGE_COUNTS) > _MESSAGE_COUNTS_MAX:
            _MESSAGE_COUNTS.popitem(last=False)
        return n
