"""Token counting for context budgets and the context-window report.

OpenAI-style models are counted with their real BPE (o200k_base for the GPT-4o
family and newer, cl100k_base before), from the bpe-openai package, which
carries the tables and needs no network. Other providers (Anthropic, local
models) have no public offline tokenizer; they are counted with cl100k_base
plus 10%, a documented estimate that errs on the large side.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from mnemo.v1 import models_pb2

OLD_OPENAI_PREFIXES = ("gpt-4-", "gpt-4", "gpt-3.5")


@lru_cache(maxsize=4)
def _encoding(name: str):
    import bpe_openai

    return bpe_openai.get_encoding(name)


def tokenizer_name(config: models_pb2.LlmConfig) -> str:
    if config.model_endpoint_type == "openai":
        if config.model.startswith(OLD_OPENAI_PREFIXES) and not config.model.startswith(("gpt-4o", "gpt-4.1")):
            return "cl100k_base"
        return "o200k_base"
    return "estimate"


class TokenCounter:
    def __init__(self, config: models_pb2.LlmConfig):
        self.name = tokenizer_name(config)
        self._encoding = _encoding("cl100k_base" if self.name == "estimate" else self.name)

    def count(self, text: str) -> int:
        if not text:
            return 0
        n = len(self._encoding.encode(text, disallowed_special=()))
        return n + n // 10 if self.name == "estimate" else n

    def count_json(self, value: Any) -> int:
        return self.count(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
