"""The walls around one tool call: bubblewrap namespaces, a cgroup, the network.

Every call's interpreter is started by :func:`command` as

    [sh -c <join the call's cgroup>] [setpriv --reuid=U ... (server is root)] bwrap <options> -- python -I ...

- ``bwrap`` (bubblewrap, Debian package ``bubblewrap``) always runs
  unprivileged and makes a new **user** namespace, plus new **PID, mount, IPC,
  UTS, cgroup and network** namespaces. When the server is root, ``setpriv``
  switches to the sandbox user first, so neither bwrap nor the interpreter ever
  runs as root (the interpreter reads ``.pth`` files at start-up). Inside, the
  tool sees a read-only view of ``/usr`` (and the other system folders the
  interpreter needs, plus the interpreter's own prefix), a few files of
  ``/etc``, a fresh ``/proc`` (its own processes only), a minimal ``/dev`` and
  a fresh ``tmpfs`` as ``/tmp``, its working directory: nothing of the host
  to clean afterwards, nothing of the server (data directory, checkout,
  ``/root``, the host's ``/tmp``, database socket) to reach. bwrap sets
  ``no_new_privs``, drops every capability, and with ``--die-with-parent``
  and the PID namespace, every process of the call dies with it.
- When the server is root and a cgroup hierarchy (v1 ``memory`` + ``pids``, or
  v2) is writable, the call runs in its own cgroup that caps the memory and the
  number of processes of **all** its processes together; the shell joins it
  before ``exec``, so nothing of the call runs outside it.
- The network namespace has only its own loopback (``MNEMO_SANDBOX_NETWORK``,
  see :func:`network_mode`).

See docs/sandbox.md for what each layer stops, and the test proving it.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("mnemo.sandbox")

INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, or run "
                "`scripts/system-deps.sh` as root, which `make setup` does)")
# Files of /etc a Python tool commonly needs (name resolution, TLS, time zone);
# all are world-readable system files.
ETC_FILES = ("resolv.conf", "hosts", "host.conf", "nsswitch.conf", "gai.conf", "services", "protocols",
             "localtime", "mime.types", "ssl", "ca-certificates", "ca-certificates.conf", "passwd", "group",
             "alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d")
SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
WORKDIR = "/tmp"
NETWORK_MODES = ("none", "host")


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run tools on this machine; the message names the fix."""


@dataclass(frozen=True)
class Identity:
    """The unprivileged user tools run as (only when the server is root)."""

    uid: int
    gid: int
    name: str


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------


def network_mode() -> str:
    """MNEMO_SANDBOX_NETWORK: ``none`` (default: the tool has its own loopback
    and nothing else: no internet, no host, no private network) or ``host``
    (the tool shares the server's network: it can reach everything the server
    can, including Mnemo's own ports; only for trusted tools)."""
    raw = os.environ.get("MNEMO_SANDBOX_NETWORK", "").strip().lower() or "none"
    if raw not in NETWORK_MODES:
        log.warning("MNEMO_SANDBOX_NETWORK=%r is not one of %s; using 'none'", raw, ", ".join(NETWORK_MODES))
        return "none"
    return raw


def tmp_size_bytes() -> int:
    """Size of the call's tmpfs (/tmp, its working directory):
    MNEMO_TOOL_TMP_MB, default 64."""
    raw = os.environ.get("MNEMO_TOOL_TMP_MB", "").strip()
    try:
        value = int(raw) if raw else 64
    except ValueError:
        value = 64
    return max(value, 1) * 1024 * 1024


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


@functools.cache
def bwrap_path() -> str | None:
    """MNEMO_BWRAP, else ``bwrap`` on PATH or in /usr/bin; None when there is
    no such executable."""
    configured = os.environ.get("MNEMO_BWRAP", "").strip()
    found = configured or shutil.which("bwrap") or "/usr/bin/bwrap"
    return found if os.path.isfile(found) and os.access(found, os.X_OK) else None


@functools.cache
def setpriv_path() -> str | None:
    return shutil.which("setpriv") or ("/usr/bin/setpriv" if os.path.exists("/usr/bin/setpriv") else None)


def _interpreter_dirs(python: str) -> list[str]:
    """Folders outside /usr that `python` needs (its prefix when it is not a
    system interpreter), read-only in the sandbox."""
    dirs: list[str] = []
    real = os.path.realpath(python)
    for path in (os.path.dirname(os.path.dirname(python)), os.path.dirname(os.path.dirname(real))):
        if path and not path.startswith("/usr/") and path != "/usr" and path not in ("/", ""):
            dirs.append(path)
    return list(dict.fromkeys(dirs))


def _mounts(python: str) -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for name in ETC_FILES:
        path = f"/etc/{name}"
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(tmp_size_bytes()), "--perms", "1777", "--tmpfs", WORKDIR]
    for path in _interpreter_dirs(python):  # after the tmpfs: an interpreter may live under /tmp
        args += ["--ro-bind", path, path]
    args += ["--remount-ro", "/"]
    return args


def bwrap_argv(python: str, identity: Identity | None, *, network: str | None = None) -> list[str]:
    """The privilege switch and bwrap, up to (and including) the ``--``."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable(f"custom tools need bubblewrap (bwrap), which is not installed: {INSTALL_HINT}")
    argv: list[str] = []
    if identity is not None:
        setpriv = setpriv_path()
        if setpriv is None:
            raise SandboxUnavailable("custom tools need setpriv (util-linux) when the server runs as root")
        argv += [setpriv, f"--reuid={identity.uid}", f"--regid={identity.gid}", "--clear-groups", "--"]
    argv += [bwrap, "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--hostname", "mnemo-tool", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
             "--disable-userns"]
    if (network or network_mode()) != "host":
        argv.append("--unshare-net")
    argv += _mounts(python)
    argv += ["--chdir", WORKDIR, "--"]
    return argv


# ---------------------------------------------------------------------------
# cgroups: one per call, when the server may make them (root)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CgroupLayout:
    """Where per-call cgroups are made: ``version`` 1 (``memory`` and ``pids``
    folders) or 2 (one folder)."""

    version: int
    parents: tuple[str, ...]  # v1: (memory parent, pids parent); v2: (parent,)


_counter = itertools.count(1)


def _own_cgroup(controller: str) -> str | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return None


@functools.cache
def cgroup_layout() -> CgroupLayout | None:
    """The per-call cgroup parents, made on first use; None when this server
    cannot make cgroups (not root, no writable hierarchy; MNEMO_SANDBOX_CGROUP=0
    turns them off)."""
    if os.environ.get("MNEMO_SANDBOX_CGROUP", "").strip() == "0" or os.geteuid() != 0:
        return None
    name = f"mnemo-sandbox-{os.getpid()}"
    v1 = []
    for controller in ("memory", "pids"):
        base = Path("/sys/fs/cgroup") / controller
        own = _own_cgroup(controller)
        if own is None or not (base / "cgroup.procs").exists():
            break
        parent = base / own.lstrip("/") / name
        try:
            parent.mkdir(exist_ok=True)
        except OSError as exc:
            log.info("no %s cgroup for tools: %s", controller, exc)
            break
        v1.append(str(parent))
    if len(v1) == 2:
        with contextlib.suppress(OSError):
            Path(v1[0], "memory.use_hierarchy").write_text("1")
        return CgroupLayout(1, tuple(v1))
    for path in v1:
        with contextlib.suppress(OSError):
            os.rmdir(path)
    # cgroup v2: a child of the root cgroup (the server's own cgroup holds
    # processes, so it cannot have controller-enabled children).
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():
        try:
            controllers = (root / "cgroup.controllers").read_text().split()
            if "memory" in controllers and "pids" in controllers:
                (root / "cgroup.subtree_control").write_text("+memory +pids")
                parent = root / name
                parent.mkdir(exist_ok=True)
                (parent / "cgroup.subtree_control").write_text("+memory +pids")
                return CgroupLayout(2, (str(parent),))
        except OSError as exc:
            log.info("no cgroup v2 for tools: %s", exc)
    return None


@dataclass
class CallCgroup:
    """The cgroup folders of one call."""

    layout: CgroupLayout
    dirs: list[str]

    @property
    def procs_files(self) -> list[str]:
        return [os.path.join(d, "cgroup.procs") for d in self.dirs]

    def memory_exceeded(self) -> bool:
        """Whether the kernel killed a process of the call for memory."""
        try:
            if self.layout.version == 1:
                text = Path(self.dirs[0], "memory.oom_control").read_text()
                values = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
                return int(values.get("oom_kill", "0")) > 0 or int(
                    Path(self.dirs[0], "memory.failcnt").read_text()) > 0
            text = Path(self.dirs[0], "memory.events").read_text()
            values = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
            return int(values.get("oom_kill", "0")) > 0
        except (OSError, ValueError):
            return False

    def remove(self) -> None:
        """Removes the folders once their processes are gone (retried briefly)."""
        for _ in range(50):
            left = []
            for path in self.dirs:
                try:
                    os.rmdir(path)
                except FileNotFoundError:
                    pass
                except OSError:
                    left.append(path)
                    with contextlib.suppress(OSError):  # kill what remains (cannot happen: PID namespace)
                        for pid in Path(path, "cgroup.procs").read_text().split():
                            os.kill(int(pid), 9)
            if not left:
                return
            self.dirs = left
            threading.Event().wait(0.1)
        log.warning("could not remove the tool cgroups %s", self.dirs)


def new_cgroup(memory_bytes: int, max_processes: int) -> CallCgroup | None:
    layout = cgroup_layout()
    if layout is None:
        return None
    name = f"call-{next(_counter)}"
    dirs = [os.path.join(parent, name) for parent in layout.parents]
    try:
        for path in dirs:
            os.mkdir(path)
        if layout.version == 1:
            memory, pids = dirs
            Path(memory, "memory.limit_in_bytes").write_text(str(memory_bytes))
            with contextlib.suppress(OSError):  # swap accounting may be off
                Path(memory, "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
            Path(pids, "pids.max").write_text(str(max_processes))
        else:
            Path(dirs[0], "memory.max").write_text(str(memory_bytes))
            with contextlib.suppress(OSError):
                Path(dirs[0], "memory.swap.max").write_text("0")
            Path(dirs[0], "pids.max").write_text(str(max_processes))
    except OSError as exc:
        CallCgroup(layout, [d for d in dirs if os.path.isdir(d)]).remove()
        raise SandboxUnavailable(f"could not set up the tool's cgroup: {exc}") from exc
    return CallCgroup(layout, dirs)


# The shell joins the cgroups, then becomes the sandbox: every process of the
# call starts inside them.
_JOIN = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 70; shift; n=$((n-1)); done; exec "$@"'


def join_cgroup_argv(cgroup: CallCgroup | None) -> list[str]:
    if cgroup is None:
        return []
    files = cgroup.procs_files
    return ["/bin/sh", "-c", _JOIN, "mnemo-sandbox", str(len(files)), *files]


# ---------------------------------------------------------------------------
# What applies on this machine
# ---------------------------------------------------------------------------


@functools.cache
def probe_error(python: str, identity: Identity | None) -> str | None:
    """None when bwrap can start `python` in the sandbox, else why not (with
    the fix). Cached: run once per interpreter."""
    try:
        argv = bwrap_argv(python, identity) + [python, "-I", "-c", "import json, asyncio, inspect, traceback"]
    except SandboxUnavailable as exc:
        return str(exc)
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env={"PATH": "/usr/bin:/bin"}, cwd="/", timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bubblewrap could not be started ({exc}): {INSTALL_HINT}"
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip()[-400:]
        return (f"bubblewrap cannot start the tool interpreter {python} (exit code {done.returncode}: {said}); "
                "it needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
                "user.max_user_namespaces > 0) and an interpreter readable by the sandbox user "
                "(MNEMO_SANDBOX_PYTHON)")
    return None


def describe() -> dict[str, object]:
    """What isolation applies here (logged at start-up, shown in docs)."""
    layout = cgroup_layout()
    return {
        "bwrap": bwrap_path(),
        "network": network_mode(),
        "cgroup": f"v{layout.version}" if layout else "none (RLIMIT_NPROC per call user namespace, RLIMIT_AS per process)",
        "python": sys.executable,
    }
