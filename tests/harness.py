"""Starts a real Mnemo for tests: the server process (python -m mnemo_server run)
with its own embedded PostgreSQL and Envoy, talking to the fake LLM provider.

Nothing of Mnemo is mocked; only the language model is replaced, by a real HTTP
server that speaks the OpenAI and Anthropic wire formats (tests/fakes).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    """A running server. `grpc_target` for gRPC, `http_base` for REST."""

    grpc_port: int
    http_port: int
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None
    log_lines: list[str] = field(default_factory=list)

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.grpc_target)

    def http(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.http_base, timeout=30, **kwargs)

    def start(self, timeout_s: float = 90) -> Stack:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mnemo_server", "run"], cwd=ROOT, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.process and self.process.stdout
            for line in self.process.stdout:
                self.log_lines.append(line.rstrip())
                if "is ready" in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while not ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("Mnemo did not start:\n" + "\n".join(self.log_lines[-60:]))
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return "\n".join(self.log_lines)


# Settings and provider credentials a developer's shell may hold: a test
# server sees only those the test gives it.
PROVIDER_ENV_PREFIXES = ("MNEMO_", "LETTA_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_API_KEY", "AZURE_", "AWS_",
                         "BEDROCK_", "GROQ_", "TOGETHER_", "DEEPSEEK_", "XAI_", "OPENROUTER_", "OLLAMA_", "VLLM_",
                         "LMSTUDIO_")


def make_stack(*, llm_base_url: str | None, extra_env: dict[str, str] | None = None,
               data_dir: Path | None = None) -> Stack:
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="mnemo-test-"))
    grpc_port, http_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(PROVIDER_ENV_PREFIXES)}
    env.update(
        MNEMO_DATA_DIR=str(data_dir), MNEMO_GRPC_PORT=str(grpc_port), MNEMO_HTTP_PORT=str(http_port),
        MNEMO_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
    )
    if llm_base_url:
        env.update(
            OPENAI_API_KEY="test-key", OPENAI_BASE_URL=f"{llm_base_url}/v1",
            ANTHROPIC_API_KEY="test-key", ANTHROPIC_BASE_URL=llm_base_url,
        )
    env.update(extra_env or {})
    return Stack(grpc_port=grpc_port, http_port=http_port, data_dir=data_dir, env=env)
