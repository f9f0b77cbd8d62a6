"""Start and stop Mnemo: database, migrations, gRPC server and REST gateway.

Shutdown is graceful: health turns NOT_SERVING, the gateway stops taking
requests, in-flight calls get MNEMO's grace period, then the database closes.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from . import __version__
from .api.auth import PasswordAuth
from .api.limits import Limits
from .api.mcp_endpoint import McpEndpoint
from .api.servicers import register_all
from .config import Settings
from .gateway import Gateway, render_config
from .sandbox.process import sandbox_status, sandbox_summary
from .services import Services
from .storage.database import EmbeddedPostgres, make_engine, migrate, normalise_url

log = logging.getLogger("mnemo")

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def _wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Mnemo:
    """One running server: owns the database, the gRPC server and the gateway."""

    def __init__(self, settings: Settings, *, with_gateway: bool = True):
        self.settings = settings
        self.with_gateway = with_gateway
        self.embedded: EmbeddedPostgres | None = None
        self.services: Services | None = None
        self.server: grpc.aio.Server | None = None
        self.health = health.aio.HealthServicer() if hasattr(health, "aio") else health.HealthServicer()
        self.gateway: Gateway | None = None
        self.grpc_port: int | None = None
        self.mcp_endpoint: McpEndpoint | None = None

    async def start(self) -> None:
        s = self.settings
        if s.database_url:
            url = normalise_url(s.database_url)
        else:
            self.embedded = EmbeddedPostgres(s.data_dir)
            url = await asyncio.to_thread(self.embedded.start)
        engine = make_engine(url)
        await migrate(engine)
        self.services = Services(s, engine)
        await self.services.start()

        interceptors = [PasswordAuth(s.server_password)] if s.server_password else []
        interceptors.append(Limits(max_streams=s.max_concurrent_streams, rpc_timeout_s=s.rpc_timeout_s))
        self.server = grpc.aio.server(
            interceptors=interceptors,
            maximum_concurrent_rpcs=s.max_concurrent_rpcs,
            options=[
                ("grpc.so_reuseport", 0),  # fail loudly if the port is taken
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ],
        )
        names = register_all(self.server, self.services)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], self.server)
        self.grpc_port = self.server.add_insecure_port(f"{s.grpc_host}:{s.grpc_port}")
        await self.server.start()
        for name in ["", *names]:
            await self._set_health(name, health_pb2.HealthCheckResponse.SERVING)

        mcp_port = None
        if s.mcp.endpoint_port >= 0:
            # Mnemo's own MCP endpoint (api/mcp_endpoint.py), on loopback; the gateway routes /mcp to it.
            self.mcp_endpoint = McpEndpoint(self.services, s.server_password, s.mcp.endpoint_port)
            mcp_port = await self.mcp_endpoint.start()

        if self.with_gateway:
            config = render_config(
                runtime_dir=s.data_dir / "run" / f"gateway-{s.http_port}", settings=s,
                grpc_host="127.0.0.1" if s.grpc_host in ("0.0.0.0", "::") else s.grpc_host,
                grpc_port=self.grpc_port, mcp_port=mcp_port,
            )
            self.gateway = Gateway(config)
            await self.gateway.start()
            if not await asyncio.to_thread(_wait_for_port, s.http_host, s.http_port, 15.0):
                raise RuntimeError(f"the gateway did not open {s.http_host}:{s.http_port}")
        if not s.server_password:
            self._warn_unauthenticated()
        self.sandbox_problem = await asyncio.to_thread(sandbox_status)
        if self.sandbox_problem:
            log.warning("CUSTOM TOOLS ARE DISABLED: %s. Built-in tools still work.", self.sandbox_problem)

    def _warn_unauthenticated(self) -> None:
        s = self.settings
        listening = [f"gRPC {s.grpc_host}:{self.grpc_port}"]
        if self.with_gateway:
            listening.append(f"REST http://{s.http_host}:{s.http_port}")
        log.warning(
            "NO PASSWORD SET: this server is unauthenticated. Anyone who can reach %s can read and change "
            "every agent, its memory and secrets, and run tools. Set MNEMO_SERVER_PASSWORD "
            "(or LETTA_SERVER_PASSWORD) before exposing it beyond this machine; docs/security.md lists what an "
            "unauthenticated server allows.",
            " and ".join(listening),
        )

    async def _set_health(self, name: str, status) -> None:
        result = self.health.set(name, status)
        if asyncio.iscoroutine(result):
            await result

    def describe(self) -> str:
        s = self.settings
        lines = [f"Mnemo {__version__} is ready.", f"  gRPC:  {s.grpc_host}:{self.grpc_port}"]
        if self.gateway:
            lines.append(f"  REST:  http://{s.http_host}:{s.http_port}/v1/  (try /v1/health)")
            if self.mcp_endpoint is not None:
                lines.append(f"  MCP:   http://{s.http_host}:{s.http_port}/mcp  (every agent as MCP tools)")
        database = "external (MNEMO_DATABASE_URL)" if s.database_url else f"embedded, {s.data_dir / 'pgdata'}"
        lines.append(f"  Database: {database}")
        lines.append(f"  Default model: {self.services.catalog.default_model_handle()}")
        problem = getattr(self, "sandbox_problem", None)
        lines.append(f"  Tool sandbox: {'DISABLED: ' + problem if problem else sandbox_summary()}")
        return "\n".join(lines)

    async def stop(self) -> None:
        if self.server is not None:
            await self._set_health("", health_pb2.HealthCheckResponse.NOT_SERVING)
        if self.gateway is not None:
            await self.gateway.stop()
        if self.mcp_endpoint is not None:
            await self.mcp_endpoint.stop()
        if self.server is not None:
            await self.server.stop(self.settings.shutdown_grace_s)
        if self.services is not None:
            await self.services.close()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


async def serve(settings: Settings, *, with_gateway: bool = True) -> None:
    """Runs until SIGINT or SIGTERM."""
    app = Mnemo(settings, with_gateway=with_gateway)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await app.start()
        print(app.describe(), flush=True)
        await stop.wait()
        log.info("shutting down")
    finally:
        await app.stop()
