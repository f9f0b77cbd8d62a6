"""Hostile tools: each test is an attack a custom tool can try, and must fail.

The server-level attacks run against two real servers (POST /v1/tools/run):
the session's (as the test user: root in CI) and, when the tests run as root,
a second one started as the ordinary user `mnemo-test` through setpriv, since
the sandbox differs in the two cases (root: bwrap runs as the sandbox user;
not root: bwrap keeps the server's uid in a user namespace). A few attacks
that need the test process's own view run `run_tool` in this process.
docs/sandbox.md's table names the test proving each line.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from mnemo_server.sandbox import SandboxLimits, process, run_tool

from tests.harness import make_stack, unprivileged_user
from tests.util import Rest

ROOT = os.geteuid() == 0
SANDBOX_UID = 65534  # nobody: the default MNEMO_SANDBOX_USER when the server is root

PROBE = '''
def probe(checks: list) -> list:
    """Tries each check and says what happened.

    Args:
        checks: [kind, target] pairs: read, list, tcp, unix.
    """
    import errno, os, socket
    out = []
    for kind, target in checks:
        try:
            if kind == "read":
                with open(target, "rb") as f:
                    out.append("read:" + f.read(4000).decode("latin-1"))
            elif kind == "list":
                out.append("listed:" + ",".join(sorted(os.listdir(target))))
            elif kind == "tcp":
                host, port = target
                s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
                s.settimeout(3)
                s.connect((host, port))
                s.close()
                out.append("connected")
            elif kind == "unix":
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(3)
                s.connect(target)
                s.close()
                out.append("connected")
        except OSError as exc:
            out.append(errno.errorcode.get(exc.errno, type(exc).__name__) if exc.errno else type(exc).__name__)
    return out
'''


# -- the two servers ------------------------------------------------------------------

@pytest.fixture(scope="module")
def user_stack():
    ids = unprivileged_user()
    if ids is None:
        pytest.skip("the tests do not run as root: the session's server is the unprivileged one")
    data_dir = Path(tempfile.mkdtemp(prefix="mnemo-user-"))
    data_dir.chmod(0o700)
    stack = make_stack(llm_base_url=None, data_dir=data_dir, run_as=ids).start()
    yield stack
    stack.stop()
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.rmtree(f"{data_dir}-tool-packages", ignore_errors=True)


@pytest.fixture(scope="module", params=["test-user", "mnemo-test"])
def server(request):
    """(stack, Rest, uid the tool runs as on the host)."""
    if request.param == "test-user":
        stack = request.getfixturevalue("stack")
        tool_uid = SANDBOX_UID if ROOT else os.geteuid()
    else:
        stack = request.getfixturevalue("user_stack")
        tool_uid = stack.run_as[0]
    with stack.http() as client:
        yield stack, Rest(client), tool_uid


def tool_run(rest: Rest, source: str, args: dict, **body) -> dict:
    result = rest.post("/v1/tools/run", {"source_code": source, "args": args, **body})
    return result


def probe(rest: Rest, *checks: tuple[str, object]) -> list[str]:
    result = tool_run(rest, PROBE, {"checks": [list(c) for c in checks]})
    assert result["status"] == "success", result
    return result["func_return"]


# -- files and processes of the server --------------------------------------------------

def test_proc_environ_of_init_and_server(server):
    stack, rest, _ = server
    server_pid = stack.process.pid
    host_environ = Path(f"/proc/{server_pid}/environ").read_bytes()
    assert b"MNEMO_DATA_DIR=" in host_environ  # what the attack is after
    init, of_server = probe(rest, ("read", "/proc/1/environ"), ("read", f"/proc/{server_pid}/environ"))
    # /proc/1 is the sandbox's own init: the sandbox's clean environment only.
    assert init.startswith("read:") and "PATH=" in init
    assert "MNEMO_" not in init and "OPENAI" not in init and str(stack.data_dir) not in init
    assert of_server == "ENOENT"  # the server's PID does not exist in the sandbox's PID namespace


def test_data_dir_and_secret_key(server):
    stack, rest, _ = server
    data = stack.data_dir
    assert (data / "secret.key").exists() and (data / "pgdata" / "PG_VERSION").exists()
    results = probe(rest, ("read", str(data / "secret.key")), ("read", str(data / "pgdata" / "PG_VERSION")),
                    ("list", str(data)), ("list", str(data.parent)), ("list", "/root"), ("list", "/work"),
                    ("read", os.path.abspath(__file__)))
    assert results[:3] == ["ENOENT"] * 3, results
    # The sandbox's /tmp is its own empty tmpfs, not the host's.
    assert results[3] in ("listed:", "ENOENT") and data.name not in results[3]
    assert results[4:] == ["ENOENT"] * 3, results  # no /root, no checkout


def test_database_socket(server):
    stack, rest, _ = server
    sockets = [str(p) for p in (stack.data_dir / "pgdata").glob(".s.PGSQL.*") if p.is_socket()]
    assert sockets, "the embedded PostgreSQL listens on a socket in pgdata"
    assert probe(rest, *[("unix", s) for s in sockets]) == ["ENOENT"] * len(sockets)


# -- the network --------------------------------------------------------------------

def test_loopback_ports_are_refused(server):
    """Mnemo's REST and gRPC ports and PostgreSQL's default port on the host's
    loopback: the sandbox's loopback is its own, with nothing listening."""
    stack, rest, _ = server
    with socket.create_connection(("127.0.0.1", stack.http_port), timeout=2):
        pass  # reachable from the host
    results = probe(rest, ("tcp", ["127.0.0.1", stack.http_port]), ("tcp", ["127.0.0.1", stack.grpc_port]),
                    ("tcp", ["127.0.0.1", 5432]), ("tcp", ["::1", stack.http_port]))
    assert results[:3] == ["ECONNREFUSED"] * 3, results
    assert results[3] in ("ECONNREFUSED", "EADDRNOTAVAIL", "ENETUNREACH"), results


def _host_addresses() -> list[str]:
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return [a for a in out if "." in a][:2]


# The filter's answer (`public`/`allowlist`), or no route at all (`none`).
DENIED = ("EHOSTUNREACH", "ENETUNREACH")


def test_private_link_local_and_metadata_addresses(server):
    """Private, shared, link-local (cloud metadata) addresses, slirp4netns's
    gateway to the host (10.0.2.2) and this host's own addresses: denied at
    once, whatever the network mode the server has (public as root, none as
    the ordinary user)."""
    _, rest, _ = server
    targets = ["10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "10.0.2.2",
               *_host_addresses()]
    started = time.monotonic()
    results = probe(rest, *[("tcp", [t, 80]) for t in targets])
    assert all(r in DENIED for r in results), dict(zip(targets, results, strict=True))
    assert time.monotonic() - started < 3  # refused at once, not timing out


def _listener() -> tuple[socket.socket, str, int]:
    """A TCP listener on this host's first non-loopback address."""
    addresses = _host_addresses()
    if not addresses:
        pytest.skip("this host has no non-loopback IPv4 address")
    listener = socket.socket()
    listener.bind((addresses[0], 0))
    listener.listen(8)
    return listener, addresses[0], listener.getsockname()[1]


def _probe_here(*checks) -> list[str]:
    result = asyncio.run(run_tool(PROBE, "probe", {"checks": [list(c) for c in checks]}, env={}, agent_state=None))
    assert result.status == "success", result
    return result.func_return


needs_public = pytest.mark.skipif(
    process.isolation.public_network_problem() is not None,
    reason=f"the filtered network is not available here: {process.isolation.public_network_problem()}")


@needs_public
def test_public_network_reaches_out_but_not_this_host(monkeypatch):
    """`public` (the default as root): a public address goes out through
    slirp4netns (it is not refused by the filter), this host's own address is
    refused even with a listener on it, until MNEMO_SANDBOX_NETWORK_ALLOW
    lists it: the allowed connection goes the whole way, through slirp4netns,
    to the listener."""
    monkeypatch.delenv("MNEMO_SANDBOX_NETWORK", raising=False)
    monkeypatch.delenv("MNEMO_SANDBOX_NETWORK_ALLOW", raising=False)
    assert process.isolation.network_mode() == "public"
    listener, address, port = _listener()
    try:
        host_reaches_public = _can_connect("1.1.1.1", 80)
        public, own = _probe_here(("tcp", ["1.1.1.1", 80]), ("tcp", [address, port]))
        assert own == "EHOSTUNREACH"
        assert public not in DENIED, public  # not refused by the policy ...
        if host_reaches_public:
            assert public == "connected"  # ... and connected when the host itself can connect
        monkeypatch.setenv("MNEMO_SANDBOX_NETWORK_ALLOW", f"{address}/32")
        assert _probe_here(("tcp", [address, port]), ("tcp", ["10.0.0.1", 80])) == ["connected", "EHOSTUNREACH"]
    finally:
        listener.close()


@needs_public
def test_allowlist_mode_reaches_only_what_is_listed(monkeypatch):
    listener, address, port = _listener()
    try:
        monkeypatch.setenv("MNEMO_SANDBOX_NETWORK", "allowlist")
        monkeypatch.setenv("MNEMO_SANDBOX_NETWORK_ALLOW", f"{address}/32")
        listed, public = _probe_here(("tcp", [address, port]), ("tcp", ["1.1.1.1", 80]))
        assert (listed, public) == ("connected", "EHOSTUNREACH")
    finally:
        listener.close()


def test_network_per_tool(monkeypatch):
    """MNEMO_SANDBOX_NETWORK_TOOLS sets the network of a saved tool by name,
    on the agent path (run_agent_tool, which the loop and RunAgentTool use):
    `offline` gets none, `widened` gets host (the host's loopback), others the
    server's."""
    from mnemo.v1 import tools_pb2 as pb2
    from mnemo_server.sandbox import agent_tools

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    monkeypatch.setenv("MNEMO_SANDBOX_NETWORK", "none")
    monkeypatch.setenv("MNEMO_SANDBOX_NETWORK_TOOLS", "offline=none, widened=host")

    def call(name: str) -> str:
        tool = pb2.Tool(id=f"tool-{name}", name=name, tool_type="custom", source_code=PROBE)
        prepared = agent_tools.AgentToolCall(tool=tool, function_name="probe", env={}, agent_state={})
        run = asyncio.run(agent_tools.run_agent_tool(prepared, {"checks": [["tcp", ["127.0.0.1", port]]]}))
        assert run.status == "success", run
        return run.func_return[0]

    try:
        assert call("offline") == "ECONNREFUSED"
        assert call("widened") == "connected"
        assert call("other") == "ECONNREFUSED"  # the server's setting
    finally:
        listener.close()


def test_no_network_mode(monkeypatch):
    monkeypatch.setenv("MNEMO_SANDBOX_NETWORK", "none")
    assert _probe_here(("tcp", ["1.1.1.1", 80])) == ["ENETUNREACH"]


def _can_connect(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def test_host_network_mode_is_an_explicit_opt_in(monkeypatch):
    """The probe does detect a reachable port: with MNEMO_SANDBOX_NETWORK=host
    (the operator's opt-in) the same connection succeeds; by default it is
    refused."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        checks = {"checks": [["tcp", ["127.0.0.1", port]]]}
        default = asyncio.run(run_tool(PROBE, "probe", checks, env={}, agent_state=None))
        assert default.func_return == ["ECONNREFUSED"], default
        monkeypatch.setenv("MNEMO_SANDBOX_NETWORK", "host")
        opened = asyncio.run(run_tool(PROBE, "probe", checks, env={}, agent_state=None))
        assert opened.func_return == ["connected"], opened
    finally:
        listener.close()


# -- processes ----------------------------------------------------------------------

def _alive(marker: str) -> list[int]:
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes() and \
                    "State:\tZ" not in Path(f"/proc/{pid}/status").read_text():
                pids.append(int(pid))
        except OSError:
            continue
    return pids


DAEMON = '''
def daemon(seconds: str) -> str:
    """Leaves a daemon behind: new session, double fork.

    Args:
        seconds: How long the daemon sleeps.
    """
    import os
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/usr/bin/sleep", ["sleep", seconds])
        os._exit(0)
    os.wait()
    return "left a daemon"
'''


def test_setsid_daemon_dies_with_the_call(server):
    _, rest, tool_uid = server
    seconds = f"300{time.time() % 1000:.6f}"
    result = tool_run(rest, DAEMON, {"seconds": seconds})
    assert result["status"] == "success" and result["func_return"] == "left a daemon", result
    for _ in range(40):
        if not _alive(seconds):
            break
        time.sleep(0.05)
    assert not _alive(seconds)


class HealthWatch:
    """Polls GET /v1/health in a thread; records the slowest answer."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.worst = 0.0
        self.failures: list[str] = []
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.stack.http_base, timeout=10) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    response = client.get("/v1/health")
                    if response.status_code != 200:
                        self.failures.append(str(response.status_code))
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.worst = max(self.worst, time.monotonic() - started)
                self.count += 1
                self._stop.wait(0.05)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(15)


FORK_BOMB = '''
def bomb(seconds: str) -> str:
    """Forks until the kernel says no; every child does the same, then
    becomes a long sleep.

    Args:
        seconds: How long the children sleep.
    """
    import os
    n = 0
    while True:
        try:
            pid = os.fork()
        except OSError as exc:
            return "stopped after %d: %s" % (n, exc.strerror)
        if pid == 0:
            while True:
                try:
                    os.fork()
                except OSError:
                    os.execv("/usr/bin/sleep", ["sleep", seconds])
        n += 1
'''


def test_fork_bomb_is_contained(server):
    stack, rest, _ = server
    seconds = f"300{time.time() % 1000:.6f}"
    with HealthWatch(stack) as health:
        result = tool_run(rest, FORK_BOMB, {"seconds": seconds})
        # the database answers too: a call that reads it
        assert isinstance(rest.get("/v1/agents"), list)
    assert result["status"] == "success", result
    count = int(result["func_return"].split()[2].rstrip(":"))
    assert count < 128, result  # MNEMO_TOOL_MAX_PROCESSES: the call's processes together
    assert health.count > 0 and not health.failures and health.worst < 1.0, (health.worst, health.failures)
    for _ in range(40):  # every process of the bomb is gone with the call
        if not _alive(seconds):
            break
        time.sleep(0.05)
    assert not _alive(seconds)


MEMORY_HOG = '''
def hog(children: int, mib: int) -> dict:
    """Forks children that each fill memory, and reports how they ended.

    Args:
        children: How many children.
        mib: MiB each child writes.
    """
    import os, time
    pids = []
    for _ in range(children):
        pid = os.fork()
        if pid == 0:
            try:
                block = b"x" * (mib << 20)
                time.sleep(3)
                os._exit(0 if block else 1)
            except MemoryError:
                os._exit(3)
        pids.append(pid)
    ended = {"ok": 0, "memory_error": 0, "killed": 0}
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            ended["killed"] += 1
        elif os.WEXITSTATUS(status) == 3:
            ended["memory_error"] += 1
        else:
            ended["ok"] += 1
    return ended
'''


def test_memory_hog_across_20_children(server):
    """20 children of 100 MiB each: 2 GiB, four times the call's 512 MiB.
    With a cgroup (server as root) the kernel stops the call's processes at
    512 MiB together; without one (server not root) each process is capped by
    RLIMIT_AS and the count by RLIMIT_NPROC (docs/sandbox.md). Either way the
    server and its database keep answering."""
    stack, rest, _ = server
    with HealthWatch(stack) as health:
        result = tool_run(rest, MEMORY_HOG, {"children": 20, "mib": 100})
        assert isinstance(rest.get("/v1/agents"), list)
    assert health.count > 0 and not health.failures and health.worst < 1.0, (health.worst, health.failures)
    server_is_root = stack.run_as is None and ROOT
    if server_is_root and process.isolation.cgroup_layout() is not None:
        if result["status"] == "success":
            ended = result["func_return"]
            assert ended["ok"] <= 5 and ended["killed"] + ended["memory_error"] >= 15, ended
        else:  # the kernel picked the tool's main process
            assert "exceeded the memory limit of the call" in result["func_return"], result
    else:
        assert result["status"] == "success", result


# -- privileges ---------------------------------------------------------------------

STATUS = '''
def status(seconds: str) -> dict:
    """The sandbox's view of its own privileges; a short sleep meanwhile, for
    the host to look at the call's processes.

    Args:
        seconds: How long the sleep lasts.
    """
    import os, subprocess
    fields = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    subprocess.run(["sleep", seconds])
    return {"nnp": fields.get("NoNewPrivs"), "cap_eff": fields["CapEff"], "cap_prm": fields["CapPrm"],
            "cap_bnd": fields["CapBnd"], "hostname": os.uname().nodename}
'''


def _host_uids(pid: int) -> tuple[list[int], int]:
    uids, ppid = [], 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            uids = [int(x) for x in line.split()[1:]]
        elif line.startswith("PPid:"):
            ppid = int(line.split()[1])
    return uids, ppid


def test_no_new_privs_no_capabilities_not_root(server):
    """Inside: no_new_privs, no capability at all. On the host: every process
    between the server and the tool's code (setpriv/bwrap, the sandbox's init,
    the interpreter, its child) runs as the sandbox's uid, never root."""
    stack, rest, tool_uid = server
    seconds = f"1.{time.time_ns() % 10**9:09d}"
    chains: list[list[tuple[int, list[int]]]] = []

    def watch() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not chains:
            for pid in _alive(seconds):
                chain, current = [], pid
                while current not in (stack.process.pid, 0, 1):
                    uids, parent = _host_uids(current)
                    chain.append((current, uids))
                    current = parent
                chains.append(chain)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    result = tool_run(rest, STATUS, {"seconds": seconds})
    watcher.join()
    assert result["status"] == "success", result
    value = result["func_return"]
    assert value["nnp"] == "1"
    assert value["cap_eff"] == value["cap_prm"] == value["cap_bnd"] == "0000000000000000", value
    assert value["hostname"] == "mnemo-tool"
    assert chains and len(chains[0]) >= 4, chains  # sleep, python, bwrap's init, bwrap
    for _, uids in chains[0]:
        assert uids == [tool_uid] * 4 and tool_uid != 0, chains


@pytest.mark.skipif(not ROOT, reason="only a root server could start the interpreter as root")
def test_the_interpreter_never_starts_as_root():
    """A .pth file of the tool interpreter runs at its start-up: it must see
    the sandbox user already (the interpreter used to start as root and drop
    privileges afterwards)."""
    venv = Path(tempfile.mkdtemp(prefix="mnemo-pth-"))
    try:
        venv.chmod(0o755)
        base = "/usr/bin/python3"  # the sandbox user must reach it (a pyenv under /root would not do)
        if not os.path.exists(base):
            pytest.skip("no system /usr/bin/python3 to base a virtualenv on")
        subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
        site = next(venv.glob("lib/python3*/site-packages"))
        (site / "zz_mnemo_probe.pth").write_text(
            "import os, sys; sys.stderr.write('pth-euid=%d map=%s\\n' % (os.geteuid(), "
            "open('/proc/self/uid_map').read().split()))\n")
        for path in [venv, *venv.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
        script = ("import asyncio, json; from mnemo_server.sandbox import run_tool\n"
                  "r = asyncio.run(run_tool('def f():\\n    return 1\\n', 'f', {}, env={}, agent_state=None))\n"
                  "print(json.dumps({'status': r.status, 'stderr': r.stderr}))")
        env = {**os.environ, "MNEMO_SANDBOX_PYTHON": str(venv / "bin" / "python"), "MNEMO_SANDBOX_POOL": "0"}
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["status"] == "success", (result, done.stderr[-2000:])
        assert f"pth-euid={SANDBOX_UID} " in result["stderr"][0], result
    finally:
        shutil.rmtree(venv, ignore_errors=True)


SYMLINKS = '''
def plant(target: str) -> str:
    """Plants symlinks for the server's clean-up to follow: a read-only folder
    holding a link to `target`, and links to / and /tmp.

    Args:
        target: A host folder.
    """
    import os
    os.mkdir("trap")
    os.symlink(target, "trap/link")
    os.symlink("/", "trap/root")
    os.symlink("/tmp", "trap/tmp")
    os.chmod("trap", 0o500)
    os.chmod(".", 0o500)
    return "planted"
'''


def test_symlink_clean_up_trick(server, tmp_path):
    """The work folder is a tmpfs inside the sandbox: the host has nothing to
    clean, so nothing the tool links to is ever chmod-ed or deleted."""
    _, rest, _ = server
    canary = Path(tempfile.mkdtemp(prefix="mnemo-canary-"))
    try:
        canary.chmod(0o755)
        (canary / "keep").write_text("x")
        modes = {p: stat.S_IMODE(p.stat().st_mode) for p in (canary, Path("/tmp"), Path("/"))}
        result = tool_run(rest, SYMLINKS, {"target": str(canary)})
        assert result["status"] == "success" and result["func_return"] == "planted", result
        time.sleep(0.5)  # any clean-up would run right after the call
        assert {p: stat.S_IMODE(p.stat().st_mode) for p in modes} == modes
        assert (canary / "keep").read_text() == "x"
    finally:
        shutil.rmtree(canary, ignore_errors=True)


# -- the sandbox as a whole ------------------------------------------------------------

def test_concurrent_sandboxes_are_capped(monkeypatch):
    monkeypatch.setenv("MNEMO_SANDBOX_MAX_CONCURRENT", "2")
    process.max_concurrent.cache_clear()
    source = "def f():\n    import time\n    start = time.time()\n    time.sleep(0.6)\n    return [start, time.time()]\n"

    async def main():
        return await asyncio.gather(*(run_tool(source, "f", {}, env={}, agent_state=None,
                                               limits=SandboxLimits(timeout_s=20)) for _ in range(5)))
    try:
        results = asyncio.run(main())
    finally:
        monkeypatch.delenv("MNEMO_SANDBOX_MAX_CONCURRENT")
        process.max_concurrent.cache_clear()
    spans = [r.func_return for r in results]
    assert all(r.status == "success" for r in results), results
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak == 2, spans  # two at a time, the others queued, none refused


def test_missing_bubblewrap_refuses_custom_tools():
    """No silent downgrade: without bwrap a custom tool is refused with an
    error naming the fix."""
    script = ("import asyncio, json; from mnemo_server.sandbox import run_tool, process\n"
              "r = asyncio.run(run_tool('def f():\\n    return 1\\n', 'f', {}, env={}, agent_state=None))\n"
              "print(json.dumps({'status': process.sandbox_status(), 'run': [r.status, r.func_return]}))")
    env = {**os.environ, "MNEMO_BWRAP": "/nonexistent/bwrap"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "apt-get install bubblewrap" in result["status"], result
    assert result["run"][0] == "error" and "SandboxUnavailable" in result["run"][1], result
    assert "apt-get install bubblewrap" in result["run"][1]


# -- TypeScript tools: the same walls around Node ---------------------------------------

TS_PROBE = '''
import fs from "node:fs";
import net from "node:net";

function tcp(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 3000 });
    socket.on("connect", () => { socket.destroy(); resolve("connected"); });
    socket.on("timeout", () => { socket.destroy(); resolve("ETIMEDOUT"); });
    socket.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
  });
}

export async function probe(checks: [string, any][]): Promise<string[]> {
  const out: string[] = [];
  for (const [kind, target] of checks) {
    try {
      if (kind === "read") out.push("read:" + fs.readFileSync(target, "latin1").slice(0, 4000));
      else if (kind === "list") out.push("listed:" + fs.readdirSync(target).sort().join(","));
      else if (kind === "write") { fs.writeFileSync(target, "x"); out.push("written"); }
      else if (kind === "tcp") out.push(await tcp(target[0], target[1]));
      else if (kind === "env") out.push(JSON.stringify(process.env));
      else if (kind === "uid") out.push(String(process.getuid!()));
    } catch (err: any) {
      out.push(err.code ?? String(err));
    }
  }
  return out;
}
'''
TS_PROBE_SCHEMA = {"name": "probe", "description": "Tries each check.",
                   "parameters": {"type": "object", "properties": {"checks": {"type": "array"}},
                                  "required": ["checks"]}}


def ts_probe(rest: Rest, *checks: tuple[str, object]) -> list[str]:
    result = rest.post("/v1/tools/run", {"source_code": TS_PROBE, "source_type": "typescript",
                                         "json_schema": TS_PROBE_SCHEMA, "args": {"checks": [list(c) for c in checks]}})
    assert result["status"] == "success", result
    return result["func_return"]


def test_typescript_tool_files_and_processes(server):
    stack, rest, tool_uid = server
    data = stack.data_dir
    server_pid = stack.process.pid
    results = ts_probe(rest, ("read", str(data / "secret.key")), ("list", str(data)), ("list", "/root"),
                       ("list", "/work"), ("read", f"/proc/{server_pid}/environ"), ("read", "/proc/1/environ"),
                       ("write", "/usr/lib/x"), ("write", "/node_modules/x"), ("write", "/etc/passwd"),
                       ("env", None), ("uid", None), ("list", "/"))
    assert results[:5] == ["ENOENT"] * 5, results
    init = results[5]
    assert init.startswith("read:") and "MNEMO_" not in init and "OPENAI" not in init
    assert results[6:9] == ["EROFS", "ENOENT", "EROFS"] or results[6:9] == ["EROFS"] * 3, results
    env = json.loads(results[9])
    assert set(env) <= {"PATH", "LANG", "HOME", "TMPDIR"}, env
    # The sandbox user (root server), or the server's own uid in a user namespace: never root.
    assert int(results[10]) == tool_uid != 0
    listed = set(results[11].removeprefix("listed:").split(","))
    assert listed <= {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "proc", "dev", "tmp"}, listed


def test_typescript_tool_network(server):
    """The host's loopback (Mnemo's ports) is the sandbox's own; private and
    metadata addresses are denied at once, as for Python tools."""
    stack, rest, _ = server
    targets = [["127.0.0.1", stack.http_port], ["127.0.0.1", stack.grpc_port], ["10.0.0.1", 80],
               ["169.254.169.254", 80], ["192.168.1.1", 80], *[[a, 80] for a in _host_addresses()]]
    started = time.monotonic()
    results = ts_probe(rest, *[("tcp", t) for t in targets])
    assert results[:2] == ["ECONNREFUSED"] * 2, results
    assert all(r in DENIED for r in results[2:]), dict(zip([t[0] for t in targets], results, strict=True))
    assert time.monotonic() - started < 5


def test_typescript_tool_cannot_leave_a_process_behind(server):
    _, rest, _ = server
    source = '''
import { spawn } from "node:child_process";

export function leave(): string {
  const child = spawn("/bin/sh", ["-c", "sleep 317"], { detached: true, stdio: "ignore" });
  child.unref();
  return String(child.pid);
}
'''
    schema = {"name": "leave", "description": "Leaves a process.", "parameters": {"type": "object", "properties": {}}}
    result = rest.post("/v1/tools/run", {"source_code": source, "source_type": "typescript", "json_schema": schema,
                                         "args": {}})
    assert result["status"] == "success", result
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", "sleep 317"], capture_output=True, text=True).stdout.split()
    assert left == [], left
