"""Session fixtures: one fake LLM and one real Mnemo (server + Postgres + Envoy)."""
from __future__ import annotations

import shutil

import grpc
import pytest

from tests.fakes.fake_llm import FakeLLM
from tests.harness import Stack, make_stack


@pytest.fixture(scope="session")
def fake_llm():
    server = FakeLLM().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(fake_llm) -> Stack:
    running = make_stack(llm_base_url=fake_llm.base_url).start()
    yield running
    running.stop()
    shutil.rmtree(running.data_dir, ignore_errors=True)
    shutil.rmtree(f"{running.data_dir}-tool-packages", ignore_errors=True)  # the tools' package cache


@pytest.fixture(scope="session")
def channel(stack) -> grpc.Channel:
    ch = stack.channel()
    yield ch
    ch.close()


@pytest.fixture(scope="session")
def http(stack):
    with stack.http() as client:
        yield client
