"""Token counting: real BPE tables loaded off the event loop, remembered
counts for stored messages."""
from __future__ import annotations

import time

from mnemo.v1 import models_pb2
from mnemo_server.loop import tokens


def test_tables_load_in_a_thread_and_counts_are_real():
    config = models_pb2.LlmConfig(model="gpt-4o-mini", model_endpoint_type="openai")
    deadline = time.monotonic() + 30
    while not tokens.tables_ready(config):
        assert time.monotonic() < deadline, "the o200k tables never finished loading"
        time.sleep(0.05)
    counter = tokens.TokenCounter(config)
    assert counter.name == "o200k_base"
    assert counter.count("hello world") == 2
    anthropic = tokens.TokenCounter(models_pb2.LlmConfig(model="claude-x", model_endpoint_type="anthropic"))
    assert anthropic.name == "estimate"
    assert anthropic.count("hello world " * 100) > counter.count("hello world " * 100)


def test_message_counts_are_remembered_and_recounted_when_the_text_changes():
    counter = tokens.TokenCounter(models_pb2.LlmConfig(model="gpt-4o", model_endpoint_type="openai"))
    first = counter.count_message("message-1", "one two three")
    key = (counter.name, "message-1", len("one two three"))
    assert tokens._MESSAGE_COUNTS[key] == first
    tokens._MESSAGE_COUNTS[key] = 999  # a remembered count is used as is
    assert counter.count_message("message-1", "one two three") == 999
    assert counter.count_message("message-1", "one two three four") == counter.count("one two three four")
