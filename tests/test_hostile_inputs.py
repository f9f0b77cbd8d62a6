"""Hostile input: tool source built to stall the server's parser.

The docstring parser once backtracked quadratically on a long run of blanks
(20 000 spaces took ~0.8 s on the event loop; 1 MB would take many minutes).
Each shape below would blow the (generous) time bound on that parser.
"""
from __future__ import annotations

import threading
import time

import grpc
import httpx
import pytest
from mnemo.v1 import tools_pb2
from mnemo_server.tools.schema import (
    MAX_LINE_CHARS,
    MAX_SOURCE_BYTES,
    ToolSourceError,
    _parse_docstring,
    parse_tool_source,
)

from tests.util import Stubs, assert_status

MB = 1024 * 1024
BOUND_S = 2.0  # generous: the linear parser needs milliseconds

# Docstrings of ~1 MB, each aimed at one of the old regexes.
ADVERSARIAL_DOCSTRINGS = {
    "spaces at column 0": "a" + " " * MB + "x",
    "spaces before a colon": "a" + " " * MB + "b x:",
    "spaces in an Args entry": "Args:\n    a" + " " * MB + "x",
    "spaces around an Args type": "Args:\n    a" + " " * (MB // 2) + "(x)" + " " * (MB // 2) + "y",
    "many closing parentheses": "Args:\n    a (" + ") " * (MB // 2),
    "many Args: lines": "Args:\n" * (MB // 6),
    "many entries": "Args:\n" + ("    a" + " " * 1000 + "x\n") * 1000,
}


def tool_with_docstring(doc: str) -> str:
    return f'def hostile(a: str) -> str:\n    """{doc}\n    """\n    return a\n'


@pytest.mark.parametrize("shape", list(ADVERSARIAL_DOCSTRINGS))
def test_adversarial_docstring_parses_in_linear_time(shape):
    doc = ADVERSARIAL_DOCSTRINGS[shape]
    start = time.perf_counter()
    _parse_docstring(doc)
    assert time.perf_counter() - start < BOUND_S, shape


@pytest.mark.parametrize("shape", list(ADVERSARIAL_DOCSTRINGS))
def test_adversarial_tool_source_is_refused_or_parsed_quickly(shape):
    source = tool_with_docstring(ADVERSARIAL_DOCSTRINGS[shape])
    start = time.perf_counter()
    with pytest.raises(ToolSourceError):  # too large or lines too long
        parse_tool_source(source)
    assert time.perf_counter() - start < BOUND_S, shape


def test_source_within_limits_with_long_blank_runs_parses_quickly():
    # Just under both limits: lines of MAX_LINE_CHARS, ~240 KiB in all; the
    # old parser needed about 0.5 s per such line.
    line = "        a" + " " * (MAX_LINE_CHARS - 10) + "x"
    doc = "Summary.\n\n    Args:\n" + "\n".join([line] * 14) + "\n        a: The value."
    source = tool_with_docstring(doc)
    assert len(source.encode()) <= MAX_SOURCE_BYTES
    start = time.perf_counter()
    schema = parse_tool_source(source)
    assert time.perf_counter() - start < BOUND_S
    assert schema.json_schema["parameters"]["properties"]["a"]["description"] == "The value."


def test_size_limits_are_named():
    too_big = tool_with_docstring("x\n" * (MAX_SOURCE_BYTES // 2))
    with pytest.raises(ToolSourceError, match=f"limit is {MAX_SOURCE_BYTES} bytes"):
        parse_tool_source(too_big)
    long_line = tool_with_docstring("x" * (MAX_LINE_CHARS + 1))
    with pytest.raises(ToolSourceError, match=f"line 2 .* limit is {MAX_LINE_CHARS} characters per line"):
        parse_tool_source(long_line)


def test_docstring_sections_still_parse_as_before():
    source = tool_with_docstring(
        "Do it.\n\n    Args:\n        a (str):   The: value, (really).\n\n    Returns:\n        str: it.")
    schema = parse_tool_source(source)
    assert schema.description == "Do it."
    assert schema.json_schema["parameters"]["properties"]["a"]["description"] == "The: value, (really)."


class HealthProbe(threading.Thread):
    """Polls /v1/health from another thread; records the slowest answer."""

    def __init__(self, base_url: str):
        super().__init__(daemon=True)
        self.base_url = base_url
        self.stop = threading.Event()
        self.slowest = 0.0
        self.answers = 0
        self.failures: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            while not self.stop.is_set():
                start = time.perf_counter()
                try:
                    response = client.get("/v1/health/")
                    if response.status_code != 200:
                        self.failures.append(str(response.status_code))
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.slowest = max(self.slowest, time.perf_counter() - start)
                self.answers += 1
                time.sleep(0.02)


def test_hostile_tool_is_refused_while_health_answers(stack, http, channel):
    probe = HealthProbe(str(http.base_url))
    probe.start()
    # The gateway refuses the 1 MB bodies by their length at once (MNEMO_MAX_BODY_BYTES): let the
    # probe answer before they are sent, or the test can end before its first poll.
    deadline = time.monotonic() + 10
    while probe.answers == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        for shape in ("spaces at column 0", "spaces in an Args entry", "many Args: lines"):
            source = tool_with_docstring(ADVERSARIAL_DOCSTRINGS[shape])
            response = http.post("/v1/tools/", json={"source_code": source}, timeout=60)
            assert response.status_code in (400, 413), (shape, response.status_code, response.text[:300])
            if response.status_code == 400:
                assert "source_code" in response.text and "limit" in response.text, response.text[:300]
        # gRPC: the refusal names the field and the limit.
        stubs = Stubs(channel)
        source = tool_with_docstring(ADVERSARIAL_DOCSTRINGS["spaces at column 0"])
        err = assert_status(lambda: stubs.tools.CreateTool(tools_pb2.CreateToolRequest(source_code=source)),
                            grpc.StatusCode.INVALID_ARGUMENT, "source_code")
        assert str(MAX_SOURCE_BYTES) in err.details()
        # Within the byte limit, a line too long is refused too, by name.
        long_line = tool_with_docstring("a" + " " * (MAX_LINE_CHARS + 10) + "x")
        err = assert_status(lambda: stubs.tools.CreateTool(tools_pb2.CreateToolRequest(source_code=long_line)),
                            grpc.StatusCode.INVALID_ARGUMENT, "source_code")
        assert str(MAX_LINE_CHARS) in err.details()
        # RunToolFromSource applies the same limits before anything runs.
        err = assert_status(lambda: stubs.tools.RunToolFromSource(
            tools_pb2.RunToolFromSourceRequest(source_code=long_line)), grpc.StatusCode.INVALID_ARGUMENT,
            "source_code")
    finally:
        probe.stop.set()
        probe.join(timeout=30)
    assert probe.answers > 0 and not probe.failures, probe.failures
    # Generous bound on a shared, loaded machine; the old parser stalled for minutes.
    assert probe.slowest < BOUND_S, probe.slowest


def test_nul_characters_are_refused_naming_the_field(http, channel):
    """PostgreSQL cannot store U+0000: a request carrying one is a 400 naming the field
    (found by fuzzing: these were 500s), over REST and gRPC."""
    r = http.post("/v1/blocks", json={"label": "persona", "value": "before\u0000after"})
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith("value: text must not contain NUL")
    r = http.get("/v1/tools", params={"tool_types": ["custom", "cus\u0000tom"]})
    assert r.status_code == 400 and r.json()["detail"].startswith("tool_types[1]:"), r.text
    stubs = Stubs(channel)
    with pytest.raises(grpc.RpcError) as refused:
        stubs.tools.ListTools(tools_pb2.ListToolsRequest(name="a\u0000b"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and refused.value.details().startswith("name:")
