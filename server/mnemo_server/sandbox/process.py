"""Running one custom tool call in a separate, isolated interpreter.

Every call gets a fresh ``python -I`` process (isolated mode: no PYTHON*
variables, no user site, no current directory on sys.path) that runs
``runner.py``, inside a bubblewrap sandbox (``isolation.py``): its own user,
PID, mount, IPC, UTS, cgroup and network namespaces, a read-only view of the
system's interpreter and a fresh tmpfs as its working directory and ``/tmp``.
The server process never executes tool code. The child:

- starts with a clean environment: ``PATH``, ``LANG``, ``HOME``/``TMPDIR``
  (``/tmp``, its tmpfs), then the variables of the call (the agent's secrets,
  ``LETTA_AGENT_ID``/``MNEMO_AGENT_ID``...). Nothing of the server's own
  environment (``OPENAI_API_KEY``, ``MNEMO_DATABASE_URL``...) is passed on;
- never runs as root: when the server is root, ``setpriv`` switches to the
  sandbox user (``nobody`` by default, ``MNEMO_SANDBOX_USER``) before bwrap and
  the interpreter start;
- has resource limits (:class:`SandboxLimits`) set before any tool code runs,
  and, when the server can make cgroups (root), a memory and process cap over
  all the call's processes together;
- is killed as a whole at the end of the call, on timeout or when the caller
  goes away: killing bwrap ends the PID namespace, and every process in it.

The result travels back as JSON on a dedicated pipe, not on stdout (which the
tool may print to). See docs/sandbox.md for the threat model.

A small pool of idle sandboxes, already started with the default limits and
waiting for their payload, takes the start-up off the call path
(``MNEMO_SANDBOX_POOL``, default 2; 0 disables it). Each pooled sandbox is used
for exactly one call. At most ``MNEMO_SANDBOX_MAX_CONCURRENT`` calls run at
once (default 8); the others wait their turn.
"""
from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import functools
import json
import logging
import os
import pwd
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import isolation
from .isolation import Identity, SandboxUnavailable
from .packages import NODE_MOUNT, PIP_MOUNT, RequirementError, ToolPackages

log = logging.getLogger("mnemo.sandbox")

RUNNER_SOURCE = (Path(__file__).resolve().parent / "runner.py").read_text(encoding="utf-8")
NODE_RUNNER_SOURCE = (Path(__file__).resolve().parent / "runner.mjs").read_text(encoding="utf-8")
# Node reserves address space it never uses (V8's code range and heap cages, about
# 700 MiB before any tool code): its RLIMIT_AS is the memory limit plus this. Its
# heap is capped at the memory limit (--max-old-space-size), and where there is a
# cgroup, the call's memory as a whole is capped at the memory limit as for Python.
NODE_ADDRESS_SPACE_EXTRA = 1024 * 1024 * 1024
MiB = 1024 * 1024
DEFAULT_SANDBOX_USER = "nobody"
# The only variables a tool inherits besides those of the call.
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


def _env_number(name: str, default: float, kind: type = float) -> Any:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        log.warning("%s=%r is not a number; using %s", name, raw, default)
        return default
    return value if value > 0 else default


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one tool call. Every default can be changed by an environment
    variable of the server, read when the server starts.

    Attributes:
        timeout_s: Wall-clock limit; the whole process group is killed after
            it. ``MNEMO_TOOL_TIMEOUT_S``, default 30.
        cpu_s: CPU seconds (RLIMIT_CPU). ``MNEMO_TOOL_CPU_S``, default 30.
        memory_bytes: Address space (RLIMIT_AS); past it allocations fail with
            MemoryError. ``MNEMO_TOOL_MEMORY_MB``, default 512 MiB.
        file_size_bytes: Largest file the tool may write (RLIMIT_FSIZE).
            ``MNEMO_TOOL_FILE_SIZE_MB``, default 16 MiB.
        max_processes: Processes and threads of the sandbox user (RLIMIT_NPROC),
            applied only when the tool runs as its own unprivileged user (the
            server runs as root): the limit counts every process of that user.
            ``MNEMO_TOOL_MAX_PROCESSES``, default 128.
        max_open_files: Open file descriptors (RLIMIT_NOFILE).
            ``MNEMO_TOOL_MAX_OPEN_FILES``, default 256.
        output_bytes: Cap on each of stdout, stderr and the return value; what
            is over is dropped and the cut is noted. ``MNEMO_TOOL_OUTPUT_BYTES``,
            default 1 MiB. A tool writing more than 64 times this is stopped.
    """

    timeout_s: float = 30.0
    cpu_s: int = 30
    memory_bytes: int = 512 * MiB
    file_size_bytes: int = 16 * MiB
    max_processes: int = 128
    max_open_files: int = 256
    output_bytes: int = MiB

    @classmethod
    def from_env(cls) -> SandboxLimits:
        d = cls()
        return cls(
            timeout_s=_env_number("MNEMO_TOOL_TIMEOUT_S", d.timeout_s),
            cpu_s=_env_number("MNEMO_TOOL_CPU_S", d.cpu_s, int),
            memory_bytes=_env_number("MNEMO_TOOL_MEMORY_MB", d.memory_bytes // MiB, int) * MiB,
            file_size_bytes=_env_number("MNEMO_TOOL_FILE_SIZE_MB", d.file_size_bytes // MiB, int) * MiB,
            max_processes=_env_number("MNEMO_TOOL_MAX_PROCESSES", d.max_processes, int),
            max_open_files=_env_number("MNEMO_TOOL_MAX_OPEN_FILES", d.max_open_files, int),
            output_bytes=_env_number("MNEMO_TOOL_OUTPUT_BYTES", d.output_bytes, int),
        )

    def with_timeout(self, timeout_s: float | None) -> SandboxLimits:
        """These limits with a shorter wall-clock limit (never a longer one)."""
        if timeout_s is None or timeout_s <= 0 or timeout_s >= self.timeout_s:
            return self
        return SandboxLimits(**{**self.__dict__, "timeout_s": float(timeout_s)})


@functools.cache
def default_limits() -> SandboxLimits:
    return SandboxLimits.from_env()


@dataclass
class ToolRun:
    """The outcome of one call. Never an exception: every failure of the tool
    or of its process is ``status="error"`` with a message.

    Attributes:
        status: "success" or "error".
        func_return: What the function returned (JSON-able as is, anything else
            str()-ed); for an error, Letta's "Error executing function f: ..."
            text.
        stdout: What the tool printed, as one string in a list (empty when
            nothing), cut at the output limit with a note.
        stderr: The same for stderr; on an error, the traceback is appended.
        error: For an error: exception type, message and the traceback of the
            tool's own code (or what stopped the process: timeout, memory...).
        duration_ms: Wall time from handing over the call to the end of the
            process.
    """

    status: str
    func_return: Any
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    error: str | None = None
    duration_ms: float = 0.0


# ---------------------------------------------------------------------------
# Who runs the tool, with which interpreter
# ---------------------------------------------------------------------------


@functools.cache
def sandbox_identity() -> Identity | None:
    """The user tools run as when the server is root; None when it is not
    (tools then keep the server's uid, inside their own user namespace, which
    sees none of the server's files or processes)."""
    if os.geteuid() != 0:
        return None
    spec = os.environ.get("MNEMO_SANDBOX_USER", "").strip() or DEFAULT_SANDBOX_USER
    try:
        if spec.replace(":", "").isdigit():
            uid_text, _, gid_text = spec.partition(":")
            uid = int(uid_text)
            gid = int(gid_text) if gid_text else uid
        else:
            entry = pwd.getpwnam(spec)
            uid, gid = entry.pw_uid, entry.pw_gid
    except KeyError:
        log.warning("sandbox user %r does not exist; using uid/gid 65534", spec)
        uid = gid = 65534
    if uid == 0:
        log.warning("MNEMO_SANDBOX_USER is root; using uid/gid 65534 instead")
        uid = gid = 65534
    return Identity(uid=uid, gid=gid, name=spec)


_probe_lock = threading.Lock()


@functools.cache
def sandbox_python() -> str:
    """The interpreter tools run with: MNEMO_SANDBOX_PYTHON, else the system
    interpreter the server's own is based on (a virtualenv lives in the
    checkout, which the sandbox does not show), else ``/usr/bin/python3``; the
    first one bwrap can start in the sandbox. Raises SandboxUnavailable, naming
    the fix, when none can (bwrap missing or unusable)."""
    identity = sandbox_identity()
    configured = os.environ.get("MNEMO_SANDBOX_PYTHON", "").strip()
    base = getattr(sys, "_base_executable", "") or sys.executable
    candidates = [configured] if configured else [
        os.path.realpath(base), os.path.realpath(sys.executable), "/usr/bin/python3",
    ]
    candidates = list(dict.fromkeys(c for c in candidates if c))
    errors = []
    with _probe_lock:
        for candidate in candidates:
            error = isolation.probe_error(candidate, identity)
            if error is None:
                return candidate
            errors.append(error)
            if isolation.bwrap_path() is None:
                break
    raise SandboxUnavailable(f"custom tools cannot run on this server: {errors[0]}")


_node_probes: dict[str, str | None] = {}


def sandbox_node(configured: str | None = None) -> str:
    """The Node binary TypeScript tools run with: `configured`
    (MNEMO_SANDBOX_NODE), else ``node`` on PATH, else /usr/bin/node, if bwrap
    can start it in the sandbox. Raises SandboxUnavailable naming the fix."""
    sandbox_python()  # bubblewrap works at all (its own, clearer, error otherwise)
    node = configured or shutil.which("node") or "/usr/bin/node"
    node = os.path.realpath(node) if os.path.exists(node) else node
    with _probe_lock:
        if node not in _node_probes:
            _node_probes[node] = _probe_node(node)
    problem = _node_probes[node]
    if problem:
        raise SandboxUnavailable(f"TypeScript tools cannot run on this server: {problem}")
    return node


def _probe_node(node: str) -> str | None:
    if not os.path.isfile(node):
        return (f"Node.js is not installed ({node} not found): install Node 20 or later (Debian/Ubuntu: apt-get "
                "install nodejs, or run scripts/system-deps.sh as root), or set MNEMO_SANDBOX_NODE")
    limits = default_limits()
    argv = (isolation.bwrap_argv(node, sandbox_identity(), network="none")
            + _node_argv(node, limits)[:-3] + ["-e", "process.stdout.write(process.versions.node)"])
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env={"PATH": SAFE_PATH},
                              cwd="/", timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"could not start {node} in the sandbox: {exc}"
    version = done.stdout.decode(errors="replace").strip()
    if done.returncode != 0 or not version:
        said = done.stderr.decode(errors="replace").strip()[-300:]
        return f"{node} does not start in the sandbox (exit code {done.returncode}: {said})"
    if int(version.split(".")[0]) < 18:
        return f"{node} is Node {version}; TypeScript tools need Node 18 or later"
    return None


def sandbox_status() -> str | None:
    """None when custom tools can run here, else the reason and the fix."""
    try:
        sandbox_python()
    except SandboxUnavailable as exc:
        return str(exc)
    return None


def sandbox_summary() -> str:
    """One line on what isolates tools here, for the start-up banner."""
    layout = isolation.cgroup_layout()
    cap = (f"cgroup v{layout.version} memory+pids cap per call" if layout
           else "no cgroup: RLIMIT_NPROC per call, RLIMIT_AS per process")
    identity = sandbox_identity()
    who = f"uid {identity.uid}" if identity else "the server's uid in a user namespace"
    return (f"bubblewrap, {who}, {isolation.network_note()}, {cap}, "
            f"at most {max_concurrent()} at once")


class _Slots:
    """At most MNEMO_SANDBOX_MAX_CONCURRENT calls at once (default 8), per
    event loop; the others wait in order."""

    def __init__(self) -> None:
        self._by_loop: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Semaphore]] = {}

    def get(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        entry = self._by_loop.get(id(loop))
        if entry is None or entry[0] is not loop:
            entry = (loop, asyncio.Semaphore(max_concurrent()))
            self._by_loop = {k: v for k, v in self._by_loop.items() if not v[0].is_closed()}
            self._by_loop[id(loop)] = entry
        return entry[1]


_SLOTS = _Slots()


@functools.cache
def max_concurrent() -> int:
    """MNEMO_SANDBOX_MAX_CONCURRENT, default 8."""
    return _env_number("MNEMO_SANDBOX_MAX_CONCURRENT", 8, int)


# ---------------------------------------------------------------------------
# Starting an interpreter
# ---------------------------------------------------------------------------


def _size_text(n: int) -> str:
    if n % MiB == 0:
        return f"{n // MiB} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


def _runner_limits(limits: SandboxLimits) -> str:
    rlimits: dict[str, list[int]] = {
        "RLIMIT_CPU": [int(limits.cpu_s), int(limits.cpu_s) + 1],
        "RLIMIT_AS": [limits.memory_bytes, limits.memory_bytes],
        "RLIMIT_FSIZE": [limits.file_size_bytes, limits.file_size_bytes],
        "RLIMIT_NOFILE": [limits.max_open_files, limits.max_open_files],
        "RLIMIT_CORE": [0, 0],
    }
    if limits.max_processes:
        # Counted per user namespace (Linux 5.14+): the call's processes only.
        rlimits["RLIMIT_NPROC"] = [limits.max_processes, limits.max_processes]
    return json.dumps({"rlimits": rlimits, "memory_text": _size_text(limits.memory_bytes),
                       "return_chars": limits.output_bytes})


@dataclass
class _Child:
    """A started sandbox waiting for its payload on stdin."""

    proc: subprocess.Popen
    stdin_fd: int
    stdout_fd: int
    stderr_fd: int
    result_fd: int
    key: tuple
    cgroup: isolation.CallCgroup | None = None
    network: isolation.Network | None = None

    def release(self) -> None:
        """Closes our ends of its pipes (an idle runner then exits) and kills
        it; for children that never ran a call."""
        for fd in (self.stdin_fd, self.stdout_fd, self.stderr_fd, self.result_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(5)
        self.remove_cgroup()

    def remove_cgroup(self) -> None:
        """After the call: stops its network stack, removes its cgroup."""
        if self.network is not None:
            self.network.close()
        if self.cgroup is not None:
            self.cgroup.remove()


def _node_argv(node: str, limits: SandboxLimits) -> list[str]:
    """Node, started under prlimit (Node cannot set its own resource limits)
    by a shell that ignores SIGXFSZ first (a write past RLIMIT_FSIZE then fails
    with EFBIG instead of killing the process)."""
    address_space = limits.memory_bytes + NODE_ADDRESS_SPACE_EXTRA
    prlimit = [isolation.prlimit_path(), f"--cpu={int(limits.cpu_s)}:{int(limits.cpu_s) + 1}",
               f"--as={address_space}", f"--fsize={limits.file_size_bytes}",
               f"--nofile={limits.max_open_files}", "--core=0"]
    if limits.max_processes:
        prlimit.append(f"--nproc={limits.max_processes}")
    return ["/bin/sh", "-c", "trap '' XFSZ; exec \"$@\"", "mnemo-tool", *prlimit, "--",
            node, f"--max-old-space-size={max(limits.memory_bytes // MiB, 16)}", "--enable-source-maps",
            "--input-type=module", "-e", NODE_RUNNER_SOURCE]


def _spawn(kind: str, exe: str, identity: Identity | None, limits: SandboxLimits, network: str,
           allow: str = "", mounts: tuple[tuple[str, str], ...] = ()) -> _Child:
    """Starts one sandbox waiting for its call: `kind` "python" (runner.py in
    the interpreter `exe`) or "node" (runner.mjs in the Node binary `exe`),
    with `mounts` ((folder, where) pairs: a tool's packages) read-only."""
    env = {"PATH": SAFE_PATH, "LANG": "C.UTF-8", "HOME": isolation.WORKDIR, "TMPDIR": isolation.WORKDIR}
    cgroup = isolation.new_cgroup(limits.memory_bytes, limits.max_processes)
    filtered = network in ("public", "allowlist")
    info_r, info_w = os.pipe() if filtered else (None, None)
    ready_r, ready_w = os.pipe() if filtered else (None, None)
    pipes = [os.pipe() for _ in range(4)]  # stdin, stdout, stderr, result
    (r_in, w_in), (r_out, w_out), (r_err, w_err), (r_res, w_res) = pipes
    try:
        command = (_node_argv(exe, limits) if kind == "node"
                   else [exe, "-I", "-X", "utf8", "-B", "-u", "-c", RUNNER_SOURCE])
        argv = (isolation.join_cgroup_argv(cgroup)
                + isolation.bwrap_argv(exe, identity, network=network, info_fd=info_w, mounts=mounts)
                + command)
        proc = subprocess.Popen(
            [*argv, str(w_res), _runner_limits(limits), *([str(ready_w)] if filtered else [])],
            stdin=r_in, stdout=w_out, stderr=w_err, pass_fds=(w_res,) + ((info_w, ready_w) if filtered else ()),
            cwd="/",
            env=env, start_new_session=True, close_fds=True, umask=0o077,
        )
    except BaseException:
        for r, w in pipes:
            os.close(r)
            os.close(w)
        for fd in (info_r, info_w, ready_r, ready_w):
            if fd is not None:
                os.close(fd)
        if cgroup is not None:
            cgroup.remove()
        raise
    for fd in (r_in, w_out, w_err, w_res):
        os.close(fd)
    child = _Child(proc=proc, stdin_fd=w_in, stdout_fd=r_out, stderr_fd=r_err, result_fd=r_res,
                   key=(kind, exe, identity, limits, network, allow, mounts), cgroup=cgroup)
    if filtered:
        # The tool's code runs only once it has its payload: the filter and the
        # network are in place before that. They are set up once the runner says
        # it is waiting (bwrap is then done with the namespace's loopback).
        os.close(info_w)
        os.close(ready_w)
        try:
            pid = isolation.read_child_pid(info_r)
            if isolation.read_with_timeout(ready_r, 30) != b"1":
                raise SandboxUnavailable("the sandbox did not start: "
                                         + os.read(child.stderr_fd, 2000).decode(errors="replace")
                                         if child.proc.poll() is not None else "the sandbox did not start in 30 s")
            child.network = isolation.attach_network(pid, network)
        except BaseException:
            child.release()
            raise
        finally:
            os.close(info_r)
            os.close(ready_r)
    return child


# Sandboxes with a tool's packages mounted are pooled for the most recently used
# requirement sets only (one pool per set would otherwise grow without bound).
MAX_POOLED_PACKAGE_SETS = 4


class _Pool:
    """Idle interpreters started with the default limits, one call each."""

    def __init__(self) -> None:
        self._idle: dict[tuple, list[_Child]] = {}
        self._filling: set[tuple] = set()
        self._used: dict[tuple, float] = {}  # keys with packages mounted: when last used
        self._lock = threading.Lock()
        atexit.register(self.close)

    def _evict_package_sets(self, key: tuple) -> list[_Child]:
        """Under the lock: marks `key` used and drops the idle sandboxes of the
        least recently used package sets past the cap; returns them to release."""
        if not key[-1]:
            return []
        self._used[key] = time.monotonic()
        dropped: list[_Child] = []
        while len(self._used) > MAX_POOLED_PACKAGE_SETS:
            oldest = min(self._used, key=self._used.__getitem__)
            del self._used[oldest]
            dropped += self._idle.pop(oldest, [])
        return dropped

    def take(self, key: tuple) -> _Child | None:
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                child = idle.pop(0)
                if child.proc.poll() is None:
                    return child
                child.release()
        return None

    def fill(self, key: tuple, size: int) -> None:
        """Starts interpreters until `size` are idle (run in a worker thread)."""
        with self._lock:
            if key in self._filling:
                return
            self._filling.add(key)
            dropped = self._evict_package_sets(key)
        for child in dropped:
            child.release()
        try:
            while True:
                with self._lock:
                    if len(self._idle.get(key, [])) >= size:
                        return
                child = _spawn(*key)
                with self._lock:
                    if key[-1] and key not in self._used:  # evicted meanwhile
                        dropped = [child]
                    else:
                        dropped = []
                        self._idle.setdefault(key, []).append(child)
                for extra in dropped:
                    extra.release()
                if dropped:
                    return
        except Exception:  # noqa: BLE001 - the pool is an optimisation; calls spawn their own
            log.exception("could not start an idle tool interpreter")
        finally:
            with self._lock:
                self._filling.discard(key)

    def close(self) -> None:
        with self._lock:
            children = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
            self._used.clear()
        for child in children:
            child.release()


_POOL = _Pool()
# Sandboxes are started from these threads only: bwrap's --die-with-parent
# kills a sandbox when the *thread* that started it ends, and the threads of an
# event loop's default executor end with the loop. These live as long as the
# process (and the sandboxes die with it).
_SPAWNER = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="mnemo-sandbox-spawn")


def pool_size() -> int:
    """Idle interpreters kept ready: MNEMO_SANDBOX_POOL, default 2, 0 for none."""
    if os.environ.get("MNEMO_SANDBOX_POOL", "").strip() == "0":
        return 0
    return _env_number("MNEMO_SANDBOX_POOL", 2, int)


# ---------------------------------------------------------------------------
# One call
# ---------------------------------------------------------------------------


class _Capture(asyncio.Protocol):
    """Reads a pipe to EOF, keeping the first `cap` bytes."""

    def __init__(self, cap: int, flood_at: int | None = None, on_flood=None) -> None:
        self.cap = cap
        self.kept: list[bytes] = []
        self.kept_size = 0
        self.total = 0
        self.flood_at = flood_at
        self.on_flood = on_flood
        self.flooded = False
        self.done = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.total += len(data)
        if self.kept_size < self.cap:
            take = data[: self.cap - self.kept_size]
            self.kept.append(take)
            self.kept_size += len(take)
        if self.flood_at is not None and self.total > self.flood_at and not self.flooded:
            self.flooded = True
            if self.on_flood:
                self.on_flood()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)

    @property
    def truncated(self) -> bool:
        return self.total > self.kept_size

    def data(self) -> bytes:
        return b"".join(self.kept)

    def text(self, what: str) -> str:
        text = self.data().decode("utf-8", "replace")
        if self.truncated:
            text += (f"\n[... {what} truncated: the tool wrote {self.total} bytes, "
                     f"the first {self.kept_size} are kept]")
        return text


def _write_all(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        pass  # the child died before reading; its exit status tells why
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def _error_run(function_name: str, kind: str, message: str, **extra: Any) -> ToolRun:
    return ToolRun(status="error", func_return=f"Error executing function {function_name}: {kind}: {message}",
                   error=f"{kind}: {message}", **extra)


async def run_tool(
    source_code: str,
    function_name: str,
    arguments: dict[str, Any],
    *,
    env: dict[str, str],
    agent_state: dict[str, Any] | None,
    limits: SandboxLimits | None = None,
    pip_requirements: list[str] | None = None,
    tool_name: str | None = None,
    packages: ToolPackages | None = None,
) -> ToolRun:
    """Runs `function_name` from `source_code` with `arguments` in a new
    sandboxed interpreter and returns what happened. Never raises (except
    CancelledError, after killing the process).

    Args:
        source_code: The tool's Python source.
        function_name: The function to call.
        arguments: Keyword arguments (JSON values).
        env: Variables the tool sees on top of the basic PATH/LANG/HOME/TMPDIR.
        agent_state: The agent snapshot for a function with an ``agent_state``
            parameter (read-only in the tool), or None.
        limits: Defaults to :func:`default_limits`.
        pip_requirements: The tool's packages, as pip specs (``name==1.0``,
            see packages.pip_spec). With `packages`, they are installed (once
            per set, cached) and mounted read-only on the tool's sys.path; a
            requirement that cannot be installed is the call's error, naming it.
        tool_name: The saved tool's name, for its network setting
            (MNEMO_SANDBOX_NETWORK_TOOLS); None for source run as is.
        packages: The server's package cache; without it requirements are
            not installed and an ImportError names them.
    """
    limits = limits or default_limits()
    loop = asyncio.get_running_loop()
    try:
        python = await loop.run_in_executor(None, sandbox_python)
    except SandboxUnavailable as exc:
        log.error("%s", exc)
        return _error_run(function_name, "SandboxUnavailable", str(exc))
    hint = None
    mounts: tuple[tuple[str, str], ...] = ()
    if pip_requirements and packages is not None:
        try:
            site = await packages.python_site(pip_requirements, python)
        except RequirementError as exc:
            return _error_run(function_name, "RequirementError", str(exc))
        if site is not None:
            mounts = ((str(site), PIP_MOUNT),)
    elif pip_requirements:
        hint = ("this tool declares pip_requirements " + ", ".join(pip_requirements)
                + "; they are not installed here: install them for the sandbox interpreter")
    try:
        payload = json.dumps({
            "source": source_code, "function": function_name, "arguments": arguments, "agent_state": agent_state,
            "env": {str(k): str(v) for k, v in env.items()}, "tool_file": f"<tool {function_name}>",
            "pip_hint": hint, "site_dirs": [PIP_MOUNT] if mounts else [],
        }, ensure_ascii=False, allow_nan=False).encode("utf-8", "replace")
    except (TypeError, ValueError) as exc:
        return _error_run(function_name, "ValueError", f"the arguments are not JSON: {exc}")
    return await _run_child("python", python, payload, function_name, limits, tool_name, mounts)


async def run_node(module_js: str, function_name: str, arguments: list[Any], *, env: dict[str, str],
                   limits: SandboxLimits | None = None, tool_name: str | None = None,
                   node_modules: Path | None = None, node: str | None = None,
                   network: str | None = None) -> ToolRun:
    """Runs the exported `function_name` of the ES module `module_js` with the
    positional `arguments` under Node, in the same sandbox and limits as a
    Python tool (runner.mjs); `node_modules` is mounted read-only at
    /node_modules. Never raises (except CancelledError)."""
    limits = limits or default_limits()
    loop = asyncio.get_running_loop()
    try:
        exe = await loop.run_in_executor(None, sandbox_node, node)
    except SandboxUnavailable as exc:
        log.error("%s", exc)
        return _error_run(function_name, "SandboxUnavailable", str(exc))
    try:
        payload = json.dumps({
            "module": module_js, "function": function_name, "arguments": arguments,
            "env": {str(k): str(v) for k, v in env.items()},
        }, ensure_ascii=False, allow_nan=False).encode("utf-8", "replace")
    except (TypeError, ValueError) as exc:
        return _error_run(function_name, "ValueError", f"the arguments are not JSON: {exc}")
    mounts = ((str(node_modules), NODE_MOUNT),) if node_modules is not None else ()
    return await _run_child("node", exe, payload, function_name, limits, tool_name, mounts, network=network)


async def _run_child(kind: str, exe: str, payload: bytes, function_name: str, limits: SandboxLimits,
                     tool_name: str | None, mounts: tuple[tuple[str, str], ...],
                     network: str | None = None) -> ToolRun:
    loop = asyncio.get_running_loop()
    async with _SLOTS.get():
        try:
            # The allow-list is part of the key: a pooled sandbox's filter is set when it starts.
            key = (kind, exe, sandbox_identity(), limits, network or isolation.network_mode(tool_name),
                   os.environ.get("MNEMO_SANDBOX_NETWORK_ALLOW", ""), mounts)
            size = pool_size() if limits == default_limits() else 0
            child = _POOL.take(key) if size else None
            if child is None:
                child = await loop.run_in_executor(_SPAWNER, _spawn, *key)
            if size:
                loop.run_in_executor(_SPAWNER, _POOL.fill, key, size)
        except Exception as exc:  # noqa: BLE001 - reported as the call's error
            log.exception("could not start the tool sandbox")
            return _error_run(function_name, "SandboxError", f"could not start the sandbox: {exc}")
        try:
            return await _execute(child, payload, limits, function_name)
        except Exception as exc:  # noqa: BLE001 - e.g. the event loop refusing a pipe
            log.exception("tool sandbox failure")
            return _error_run(function_name, "SandboxError", f"the sandbox failed: {exc}")


async def _execute(child: _Child, payload: bytes, limits: SandboxLimits, function_name: str) -> ToolRun:
    loop = asyncio.get_running_loop()
    pid = child.proc.pid
    flood = {"hit": False}

    def on_flood() -> None:
        flood["hit"] = True
        _kill_group(pid)

    flood_at = 64 * limits.output_bytes
    out = _Capture(limits.output_bytes, flood_at, on_flood)
    err = _Capture(limits.output_bytes, flood_at, on_flood)
    res = _Capture(4 * limits.output_bytes + 65536, flood_at, on_flood)
    transports: list[asyncio.BaseTransport] = []
    exited = loop.create_future()
    pidfd = None
    started = time.perf_counter()
    timed_out = False
    finished = False
    loose_fds = [child.stdin_fd, child.stdout_fd, child.stderr_fd, child.result_fd]  # not handed over yet
    try:
        for capture, fd in ((out, child.stdout_fd), (err, child.stderr_fd), (res, child.result_fd)):
            pipe = os.fdopen(fd, "rb", buffering=0)
            loose_fds.remove(fd)
            transport, _ = await loop.connect_read_pipe(lambda c=capture: c, pipe)
            transports.append(transport)
        try:
            pidfd = os.pidfd_open(pid)
            loop.add_reader(pidfd, lambda: exited.done() or exited.set_result(None))
        except (AttributeError, OSError):  # no pidfd: wait in a thread, without reaping
            waiter = loop.run_in_executor(None, os.waitid, os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            waiter.add_done_callback(lambda _f: exited.done() or exited.set_result(None))
        started = time.perf_counter()
        loose_fds.remove(child.stdin_fd)
        loop.run_in_executor(None, _write_all, child.stdin_fd, payload)
        try:
            await asyncio.wait_for(asyncio.shield(exited), limits.timeout_s)
        except TimeoutError:
            timed_out = True
        _kill_group(pid)  # whatever the tool left behind in its group
        await exited
        finished = True
    finally:
        if not finished:  # cancelled: kill, and reap in the background
            _kill_group(pid)
            for transport in transports:
                transport.close()
            for fd in loose_fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            loop.run_in_executor(None, _reap_and_clean, child)
        if pidfd is not None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
    duration_ms = (time.perf_counter() - started) * 1000
    _, status, usage = os.wait4(pid, 0)
    child.proc.returncode = os.waitstatus_to_exitcode(status)
    # The pipes close when the group is gone; a grandchild that left the
    # group could keep one open, so do not wait for long.
    await asyncio.wait([out.done, err.done, res.done], timeout=1.0)
    for transport in transports:
        transport.close()
    memory_killed = child.cgroup is not None and child.cgroup.memory_exceeded()
    loop.run_in_executor(None, child.remove_cgroup)

    stdout_text = out.text("stdout")
    stderr_text = err.text("stderr")
    extra = {"stdout": [stdout_text] if stdout_text else [], "stderr": [stderr_text] if stderr_text else [],
             "duration_ms": duration_ms}
    if flood["hit"]:
        return _error_run(function_name, "OutputLimitError",
                          f"{function_name} wrote more than {_size_text(flood_at)} of output and was stopped", **extra)
    if timed_out:
        return _error_run(function_name, "TimeoutError", f"{function_name} timed out after {limits.timeout_s:g}s",
                          **extra)
    result = _parse_result(res)
    if result is not None:
        return _from_result(result, function_name, extra)

    code = child.proc.returncode
    if code > 128 and (code - 128) in signal.valid_signals():  # bwrap reports a signal as 128 + its number
        code = -(code - 128)
    cpu = usage.ru_utime + usage.ru_stime
    if memory_killed and code == -signal.SIGKILL:
        return _error_run(function_name, "MemoryError",
                          f"{function_name} exceeded the memory limit of the call ({_size_text(limits.memory_bytes)}"
                          " for all its processes together)", **extra)
    if code == -signal.SIGXCPU or (code == -signal.SIGKILL and cpu >= limits.cpu_s - 0.5):
        return _error_run(function_name, "TimeoutError",
                          f"{function_name} exceeded the CPU time limit ({limits.cpu_s}s)", **extra)
    if "MemoryError" in stderr_text or "JavaScript heap out of memory" in stderr_text:
        return _error_run(function_name, "MemoryError",
                          f"{function_name} exceeded the memory limit ({_size_text(limits.memory_bytes)})", **extra)
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return _error_run(function_name, "SandboxError", f"the tool process was killed by {name}", **extra)
    tail = stderr_text.strip().splitlines()[-1:] if stderr_text.strip() else []
    detail = f": {tail[0]}" if tail else ""
    return _error_run(function_name, "SandboxError",
                      f"the tool process exited with code {code} without returning a result{detail}", **extra)


def _reap_and_clean(child: _Child) -> None:
    with contextlib.suppress(Exception):
        child.proc.wait(10)
    child.remove_cgroup()


def _parse_result(res: _Capture) -> dict[str, Any] | None:
    if res.truncated or not res.kept_size:
        return None
    try:
        result = json.loads(res.data().decode("utf-8", "replace"))
    except ValueError:
        return None
    return result if isinstance(result, dict) and result.get("status") in ("success", "error") else None


def _from_result(result: dict[str, Any], function_name: str, extra: dict[str, Any]) -> ToolRun:
    if result["status"] == "success":
        return ToolRun(status="success", func_return=result.get("func_return"), **extra)
    error = result.get("error") or {}
    kind = str(error.get("type") or "Exception")
    message = str(error.get("message") or "")
    traceback_text = str(error.get("traceback") or "")
    stderr = extra["stderr"]
    joined = (stderr[0] + ("" if stderr[0].endswith("\n") else "\n") if stderr else "") + traceback_text
    extra = {**extra, "stderr": [joined] if joined else []}
    return ToolRun(status="error", func_return=f"Error executing function {function_name}: {kind}: {message}",
                   error=f"{kind}: {message}\n{traceback_text}".rstrip(), **extra)
