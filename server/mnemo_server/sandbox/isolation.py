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
- The network namespace has its own loopback and, by default, a user-mode
  network stack (slirp4netns) behind an nft filter that keeps the tool off
  loopback, private, link-local and this host's addresses
  (``MNEMO_SANDBOX_NETWORK``, see :func:`network_mode`).

See docs/sandbox.md for what each layer stops, and the test proving it.
"""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import ipaddress
import itertools
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
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
NETWORK_MODES = ("public", "allowlist", "none", "host")


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


def tool_networks() -> dict[str, str]:
    """MNEMO_SANDBOX_NETWORK_TOOLS: the operator's setting per saved tool, by
    name, over the server's: ``get_weather=public,lookup=allowlist,calc=none``."""
    out: dict[str, str] = {}
    for item in os.environ.get("MNEMO_SANDBOX_NETWORK_TOOLS", "").split(","):
        name, sep, mode = item.strip().partition("=")
        if not sep or not name.strip():
            if item.strip():
                log.warning("MNEMO_SANDBOX_NETWORK_TOOLS: %r is not name=mode; ignored", item.strip())
            continue
        out[name.strip()] = mode.strip().lower()
    return out


def network_mode(tool_name: str | None = None) -> str:
    """MNEMO_SANDBOX_NETWORK (docs/sandbox.md, Network), or for a saved tool
    named in MNEMO_SANDBOX_NETWORK_TOOLS, its own setting:

    - ``public`` (default): the internet, through a user-mode network stack
      (slirp4netns) in the sandbox's own network namespace, with an nft filter
      in that namespace rejecting loopback, private, shared, link-local (cloud
      metadata) and reserved ranges and this host's own addresses, except what
      MNEMO_SANDBOX_NETWORK_ALLOW lists. Needs the server to run as root with
      slirp4netns and nft; otherwise the sandbox falls back to ``none`` and says
      so at start-up;
    - ``allowlist``: only what MNEMO_SANDBOX_NETWORK_ALLOW lists (same needs);
    - ``none``: the sandbox's own loopback and nothing else;
    - ``host``: the server's own network, everything it can reach (trusted
      tools only).
    """
    raw = os.environ.get("MNEMO_SANDBOX_NETWORK", "").strip().lower() or "public"
    if tool_name is not None:
        raw = tool_networks().get(tool_name, raw)
    if raw not in NETWORK_MODES:
        log.warning("MNEMO_SANDBOX_NETWORK=%r is not one of %s; using 'none'", raw, ", ".join(NETWORK_MODES))
        return "none"
    if raw in ("public", "allowlist") and public_network_problem():
        _warn_once(f"tools get no network (MNEMO_SANDBOX_NETWORK={raw} is not available: "
                   f"{public_network_problem()})")
        return "none"
    return raw


@functools.cache
def _warn_once(message: str) -> None:
    log.warning("%s", message)


def network_note() -> str:
    """The network tools get, for the start-up banner."""
    mode = network_mode()
    asked = os.environ.get("MNEMO_SANDBOX_NETWORK", "").strip().lower() or "public"
    if mode == "none" and asked in ("public", "allowlist"):
        return f"network none ({asked} unavailable: {public_network_problem()})"
    return f"network {mode}"


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


@functools.cache
def prlimit_path() -> str:
    """util-linux's prlimit, which sets a Node tool's resource limits (inside
    the sandbox: it must live under /usr)."""
    return shutil.which("prlimit", path="/usr/bin:/bin") or "/usr/bin/prlimit"


def _interpreter_dirs(python: str) -> list[str]:
    """Folders outside /usr that `python` needs (its prefix when it is not a
    system interpreter), read-only in the sandbox."""
    dirs: list[str] = []
    real = os.path.realpath(python)
    for path in (os.path.dirname(os.path.dirname(python)), os.path.dirname(os.path.dirname(real))):
        if path and not path.startswith("/usr/") and path != "/usr" and path not in ("/", ""):
            dirs.append(path)
    return list(dict.fromkeys(dirs))


def _mounts(python: str, extra: tuple[tuple[str, str], ...] = ()) -> list[str]:
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
    for source, dest in extra:  # a tool's installed packages (sandbox/packages.py), read-only
        args += ["--ro-bind", source, dest]
    args += ["--remount-ro", "/"]
    return args


def bwrap_argv(python: str, identity: Identity | None, *, network: str | None = None,
               info_fd: int | None = None, mounts: tuple[tuple[str, str], ...] = ()) -> list[str]:
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
    network = network or network_mode()
    if network != "host":
        argv.append("--unshare-net")
    if info_fd is not None:
        argv += ["--info-fd", str(info_fd)]
    argv += _mounts(python, mounts)
    if network in ("public", "allowlist"):
        argv += ["--ro-bind", resolv_conf(), "/etc/resolv.conf"]
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


def _remove_tree(path: Path) -> None:
    """rmdir of an (empty) cgroup folder and its empty call folders."""
    with contextlib.suppress(OSError):
        for child in path.iterdir():
            if child.is_dir():
                with contextlib.suppress(OSError):
                    child.rmdir()
        path.rmdir()


def _remove_stale(parent: Path) -> None:
    """The folders of servers that are gone (their processes all are)."""
    with contextlib.suppress(OSError):
        for path in parent.glob("mnemo-sandbox-*"):
            pid = path.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                _remove_tree(path)


@atexit.register
def _remove_layout() -> None:
    # Registered before the pool's own clean-up, so it runs after it.
    if cgroup_layout.cache_info().currsize:
        layout = cgroup_layout()
        if layout is not None:
            for parent in layout.parents:
                _remove_tree(Path(parent))


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
        _remove_stale(parent.parent)
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
                _remove_stale(root)
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
# The network: a user-mode stack (slirp4netns) with an address filter (nft)
# ---------------------------------------------------------------------------

# Never reachable in `public` mode (unless listed in MNEMO_SANDBOX_NETWORK_ALLOW):
# this host, private, shared (CGNAT), link-local (cloud metadata), benchmark,
# documentation-reserved special and multicast/reserved ranges.
DENIED_V4 = ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
             "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3")
DENIED_V6 = ("::/127", "::ffff:0:0/96", "64:ff9b::/96", "fc00::/7", "fe80::/10", "ff00::/8")
SLIRP_DNS = "10.0.2.3"
NS_GET_USERNS = 0xB701  # ioctl: the user namespace owning a namespace  # slirp4netns's resolver, which forwards to the host's


def network_allow() -> tuple[list[str], list[str]]:
    """MNEMO_SANDBOX_NETWORK_ALLOW: comma-separated addresses or CIDR blocks a
    tool may reach even when `public` denies them (an internal API), and the
    only ones in `allowlist` mode. Invalid entries are logged and ignored."""
    v4, v6 = [], []
    for item in os.environ.get("MNEMO_SANDBOX_NETWORK_ALLOW", "").replace(" ", "").split(","):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            log.warning("MNEMO_SANDBOX_NETWORK_ALLOW: %r is not an address or CIDR block; ignored", item)
            continue
        (v4 if network.version == 4 else v6).append(str(network))
    return v4, v6


_host_addresses_cache: tuple[float, tuple[list[str], list[str]]] = (0.0, ([], []))


def host_addresses() -> tuple[list[str], list[str]]:
    """This host's own addresses (a tool in `public` mode must not reach the
    server through them either); read at most once a minute."""
    global _host_addresses_cache
    when, value = _host_addresses_cache
    if time.monotonic() - when < 60 and when:
        return value
    v4, v6 = [], []
    try:
        out = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True, timeout=5).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) > 3 and parts[2] in ("inet", "inet6"):
                address = parts[3].split("/")[0]
                (v4 if parts[2] == "inet" else v6).append(address)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("could not list this host's addresses for the tool network filter: %s", exc)
    value = (sorted(set(v4)), sorted(set(v6)))
    _host_addresses_cache = (time.monotonic(), value)
    return value


def _merged(*groups) -> list[str]:
    """The blocks as nft set elements: nft refuses overlapping intervals."""
    networks = [ipaddress.ip_network(item, strict=False) for group in groups for item in group]
    return [str(n) for n in ipaddress.collapse_addresses(networks)]


def nft_rules(mode: str) -> str:
    v4, v6 = network_allow()
    allow4, allow6 = _merged(v4), _merged(v6)
    host4, host6 = host_addresses()
    own4, own6 = _merged(DENIED_V4, host4), _merged(DENIED_V6, host6)
    lines = ["table inet mnemo_tool {", "  chain out {",
             "    type filter hook output priority 0; policy accept;",
             '    oif "lo" accept',
             f"    ip daddr {SLIRP_DNS} udp dport 53 accept",
             f"    ip daddr {SLIRP_DNS} tcp dport 53 accept"]
    if allow4:
        lines.append(f"    ip daddr {{ {', '.join(allow4)} }} accept")
    if allow6:
        lines.append(f"    ip6 daddr {{ {', '.join(allow6)} }} accept")
    if mode == "allowlist":
        lines.append("    reject with icmpx type admin-prohibited")
    else:
        lines.append(f"    ip daddr {{ {', '.join(own4)} }} reject with icmpx type admin-prohibited")
        lines.append(f"    ip6 daddr {{ {', '.join(own6)} }} reject with icmpx type admin-prohibited")
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


@functools.cache
def public_network_problem() -> str | None:
    """None when `public`/`allowlist` can work here, else why not."""
    if os.geteuid() != 0:
        return ("the filtered tool network needs the server to run as root (it sets up slirp4netns and an nft "
                "filter in each sandbox's network namespace)")
    missing = [name for name in ("slirp4netns", "nft", "nsenter", "ip") if not _which(name)]
    if missing:
        return f"the filtered tool network needs {', '.join(missing)}: {NETWORK_HINT}"
    return None


def _which(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin")


NETWORK_HINT = "install slirp4netns and nftables (apt-get install slirp4netns nftables; scripts/system-deps.sh)"


@functools.cache
def resolv_conf() -> str:
    """A resolv.conf naming slirp4netns's resolver, bound as the sandbox's
    /etc/resolv.conf (the host's may name a resolver on loopback or a private
    address, which the filter denies)."""
    folder = tempfile.mkdtemp(prefix="mnemo-sandbox-")
    os.chmod(folder, 0o755)
    path = os.path.join(folder, "resolv.conf")
    with open(path, "w") as f:
        f.write(f"nameserver {SLIRP_DNS}\n")
    os.chmod(path, 0o644)
    atexit.register(shutil.rmtree, folder, True)
    return path


class Network:
    """The running slirp4netns of one sandbox; `close` stops it."""

    def __init__(self, slirp: subprocess.Popen, exit_w: int) -> None:
        self.slirp = slirp
        self.exit_w = exit_w

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.exit_w)  # slirp4netns exits when this closes
        with contextlib.suppress(OSError):
            self.slirp.kill()
        with contextlib.suppress(Exception):
            self.slirp.wait(5)


def attach_network(pid: int, mode: str) -> Network:
    """Filters, then connects, the network namespace of `pid` (the sandbox's
    first process): nft rules first, so no packet leaves before them, then
    slirp4netns on tap0, waiting until it is configured."""
    rules = nft_rules(mode)
    done = subprocess.run([_which("nsenter") or "nsenter", f"--net=/proc/{pid}/ns/net", "--",
                           _which("nft") or "nft", "-f", "-"],
                          input=rules.encode(), capture_output=True, timeout=10)
    if done.returncode != 0:
        raise SandboxUnavailable(f"could not install the tool network filter: {done.stderr.decode(errors='replace')}")
    # slirp4netns joins a user namespace before the network namespace: the one
    # that owns the network namespace (bwrap's outer one; the tool itself is in
    # a nested one, --disable-userns, which has no power over it).
    net_fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        owner_fd = fcntl.ioctl(net_fd, NS_GET_USERNS)
    finally:
        os.close(net_fd)
    last = ""
    try:
        for _ in range(3):
            ready_r, ready_w = os.pipe()
            exit_r, exit_w = os.pipe()
            try:
                slirp = subprocess.Popen(
                    [_which("slirp4netns") or "slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
                     "--enable-sandbox", f"--userns-path=/proc/self/fd/{owner_fd}", "--netns-type=path",
                     f"--ready-fd={ready_w}", f"--exit-fd={exit_r}", f"/proc/{pid}/ns/net", "tap0"],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    pass_fds=(ready_w, exit_r, owner_fd), start_new_session=True)
            finally:
                os.close(ready_w)
                os.close(exit_r)
            try:
                ready = read_with_timeout(ready_r, 10)
            finally:
                os.close(ready_r)
            if ready == b"1":
                return Network(slirp, exit_w)
            os.close(exit_w)
            with contextlib.suppress(OSError):
                slirp.kill()
            _, err = slirp.communicate(timeout=5)
            last = err.decode(errors="replace").strip()[-300:]
    finally:
        os.close(owner_fd)
    raise SandboxUnavailable(f"could not start slirp4netns for the tool network: {last}")


def read_with_timeout(fd: int, timeout_s: float) -> bytes:
    import select

    ready, _, _ = select.select([fd], [], [], timeout_s)
    return os.read(fd, 1) if ready else b""


def read_child_pid(fd: int, timeout_s: float = 10) -> int:
    """The sandbox's first process, from bwrap's --info-fd JSON."""
    import select

    data = b""
    deadline = time.monotonic() + timeout_s
    while b"}" not in data:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(left, 0))
        if not ready:
            raise SandboxUnavailable("bwrap did not report the sandbox's process")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise SandboxUnavailable("bwrap exited before the sandbox started")
        data += chunk
    return int(json.loads(data)["child-pid"])


# ---------------------------------------------------------------------------
# What applies on this machine
# ---------------------------------------------------------------------------


@functools.cache
def probe_error(python: str, identity: Identity | None) -> str | None:
    """None when bwrap can start `python` in the sandbox, else why not (with
    the fix). Cached: run once per interpreter."""
    try:
        argv = bwrap_argv(python, identity, network="none") + [
            python, "-I", "-c", "import json, asyncio, inspect, traceback"]
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
        "network": network_note(),
        "cgroup": f"v{layout.version}" if layout else "none (RLIMIT_NPROC per call user namespace, RLIMIT_AS per process)",
        "python": sys.executable,
    }
