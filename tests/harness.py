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
    # (uid, gid) to run the server as, through setpriv (the tests run as root)
    run_as: tuple[int, int] | None = None

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
        command = [sys.executable, "-m", "mnemo_server", "run"]
        if self.run_as is not None:
            uid, gid = self.run_as
            os.chown(self.data_dir, uid, gid)
            command = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", "--", *_user_python(uid, gid)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env,
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


UNPRIVILEGED_USER = "mnemo-test"
# The test interpreter may live where another user cannot go (pyenv under
# /root): a virtualenv of the system interpreter of the same version, readable
# by all, whose path file adds this checkout's server and client and this
# environment's packages (site-packages is readable by all).
_user_venv: Path | None = None


def _user_python(uid: int, gid: int) -> list[str]:
    global _user_venv
    import sysconfig

    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if _user_venv is None:
        for base in (f"/usr/bin/{version}", f"/usr/local/bin/{version}", os.path.realpath(sys.executable)):
            done = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", "--", base,
                                   "-c", "pass"], capture_output=True)
            if done.returncode == 0:
                break
        else:
            raise RuntimeError(f"no {version} the user {uid} can run")
        venv = Path(tempfile.mkdtemp(prefix="mnemo-user-venv-"))
        venv.chmod(0o755)
        subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
        site = venv / "lib" / version / "site-packages"
        (site / "mnemo_test_paths.pth").write_text("\n".join([
            str(ROOT / "server"), str(ROOT / "clients" / "python" / "src"), sysconfig.get_paths()["purelib"]]) + "\n")
        for path in [venv, *venv.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
        _user_venv = venv
    return [str(_user_venv / "bin" / "python"), "-m", "mnemo_server", "run"]


def unprivileged_user() -> tuple[int, int] | None:
    """(uid, gid) of an ordinary user to run a second server as: `mnemo-test`,
    created when missing. None when the tests do not run as root."""
    import pwd

    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        UNPRIVILEGED_USER], check=True)
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    return entry.pw_uid, entry.pw_gid


def make_stack(*, llm_base_url: str | None, extra_env: dict[str, str] | None = None,
               data_dir: Path | None = None, run_as: tuple[int, int] | None = None) -> Stack:
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
    if run_as is not None:
        env["HOME"] = env["TMPDIR"] = str(data_dir)  # pgserver locks $TMPDIR/.lockfile, root's here
    env.update(extra_env or {})
    return Stack(grpc_port=grpc_port, http_port=http_port, data_dir=data_dir, env=env, run_as=run_as)
