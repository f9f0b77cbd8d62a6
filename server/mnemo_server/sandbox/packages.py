"""Packages of custom tools: a tool's ``pip_requirements`` and ``npm_requirements``,
installed once per requirement set into a content-addressed cache, and the
TypeScript compiler that turns a TypeScript tool into JavaScript.

Layout under the cache root (``MNEMO_TOOL_PACKAGES_DIR``)::

    pip/<key>/site-packages   one Python requirement set (mounted read-only at
                              /opt/mnemo/site-packages in the tool's sandbox)
    npm/<key>/node_modules    one npm requirement set (mounted read-only at
                              /node_modules, where Node's resolution finds it)
    ts/<key>.json             one TypeScript source, compiled
    locks/, tmp/, cache/      install locks, unfinished installs, download caches

``<key>`` is the SHA-256 of the normalised requirement list (sorted, names
canonicalised) plus what the install depends on (the sandbox's Python version;
the npm registry). A set is installed once: the first call takes a lock (an
asyncio lock in this process and a file lock across servers sharing the cache),
installs into ``tmp/`` and renames the finished folder into place, so a folder
that exists is complete. Later calls, and other tools with the same set, find it.

Installs run outside the tool's sandbox, as the server, with the network, but
never run code of the packages: pip installs built wheels only
(``--only-binary=:all:``: a source distribution's ``setup.py`` never runs) and
npm runs no lifecycle scripts (``--ignore-scripts``). They get a clean
environment (none of the server's secrets), a time limit and a size limit; what
they install is read-only to the tools. See docs/sandbox.md.
"""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PIP_MOUNT = "/opt/mnemo/site-packages"
NODE_MOUNT = "/node_modules"
# The TypeScript compiler used for TypeScript tools (its transpileModule: types are
# erased, nothing is type-checked). It has no dependencies, so the version pins it fully.
TYPESCRIPT = "typescript@5.9.3"

# PEP 508 names (with optional extras) and version specifiers.
_PIP_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(\[[A-Za-z0-9._, -]+\])?$")
_PIP_VERSION = re.compile(r"^[A-Za-z0-9.*+!_-]+$")
_PIP_SPEC = re.compile(r"^\s*(===|==|!=|~=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*$")
# npm package names (scoped or not) and registry versions / ranges (no URLs, paths, git, tags with ':').
_NPM_NAME = re.compile(r"^(@[a-z0-9~-][a-z0-9._~-]*/)?[a-z0-9~-][a-z0-9._~-]*$")
_NPM_VERSION = re.compile(r"^[A-Za-z0-9.^~<>=*|+ xX-]+$")
# Variables an install may need from the server's environment (an index or a proxy).
_PASS_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
             "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")
_PASS_PREFIXES = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_CERT",
                  "NPM_CONFIG_REGISTRY", "npm_config_registry")


class RequirementError(Exception):
    """A requirement could not be used; ``field`` names it (``pip_requirements[0]``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message


def _canonical_pip(name: str) -> str:
    base, _, extras = name.partition("[")
    canon = re.sub(r"[-_.]+", "-", base).lower()
    if extras:
        items = sorted({re.sub(r"[-_.]+", "-", e.strip()).lower() for e in extras.rstrip("]").split(",") if e.strip()})
        canon += "[" + ",".join(items) + "]"
    return canon


def pip_spec(field: str, name: str, version: str | None) -> str:
    """One requirement as pip reads it (``name==1.0``, ``name>=1,<2``, ``name``);
    RequirementError naming ``field.name`` / ``field.version`` when it is not a
    plain package name and version (no URLs, paths or pip options)."""
    name = (name or "").strip()
    if not _PIP_NAME.match(name):
        raise RequirementError(f"{field}.name", f"{name!r} is not a package name (letters, digits, '.', '_', '-', "
                                                "optional [extras])")
    version = (version or "").strip()
    if not version:
        return _canonical_pip(name)
    if _PIP_VERSION.match(version) and version[0].isalnum():
        return f"{_canonical_pip(name)}=={version}"
    parts = version.split(",")
    if all(_PIP_SPEC.match(p) for p in parts):
        return _canonical_pip(name) + ",".join(p.replace(" ", "") for p in parts)
    raise RequirementError(f"{field}.version", f"{version!r} is not a version ('1.2.3') or a version specifier "
                                               "('>=1.2,<2')")


def npm_spec(field: str, name: str, version: str | None) -> str:
    """One npm requirement as ``name@range``; RequirementError naming the field
    for anything but a registry package and a version or range (no URLs, git,
    paths: those could fetch from anywhere)."""
    name = (name or "").strip()
    if not _NPM_NAME.match(name) or len(name) > 214:
        raise RequirementError(f"{field}.name", f"{name!r} is not an npm package name")
    version = (version or "").strip()
    if not version:
        return f"{name}@*"
    if not _NPM_VERSION.match(version):
        raise RequirementError(f"{field}.version", f"{version!r} is not a version or a version range ('1.2.3', "
                                                   "'^1.2'); URLs, paths and git references are not accepted")
    return f"{name}@{version}"


def pip_specs(items: list[tuple[str, str | None]], field: str = "pip_requirements") -> list[str]:
    return [pip_spec(f"{field}[{i}]", name, version) for i, (name, version) in enumerate(items)]


def npm_specs(items: list[tuple[str, str | None]], field: str = "npm_requirements") -> list[str]:
    return [npm_spec(f"{field}[{i}]", name, version) for i, (name, version) in enumerate(items)]


def _key(kind: str, specs: list[str], extra: str) -> str:
    text = json.dumps({"kind": kind, "requirements": sorted(set(specs)), "for": extra}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _tree_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _open_to_sandbox(path: Path) -> None:
    """Directories 0755, files 0644 (0755 when executable): readable by the
    sandbox user, writable by the server only."""
    for root, dirs, files in os.walk(path):
        os.chmod(root, 0o755)
        for name in dirs:
            with contextlib.suppress(OSError):
                if not os.path.islink(os.path.join(root, name)):
                    os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            full = os.path.join(root, name)
            with contextlib.suppress(OSError):
                if not os.path.islink(full):
                    mode = os.stat(full).st_mode
                    os.chmod(full, 0o755 if mode & 0o111 else 0o644)


def _traversable(path: Path) -> None:
    """When the server is root, tools run as another user, and bubblewrap (run
    as that user) must reach the folder to mount it: make the folders above it
    traversable (o+x, not listable), as the embedded database does for its own."""
    if os.geteuid() != 0:
        return
    for parent in path.parents:
        with contextlib.suppress(OSError):
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, (mode & 0o7777) | 0o001)


@dataclass
class InstallStats:
    """What the cache did, for tests and the benchmark."""

    installs: int = 0
    install_seconds: float = 0.0
    hits: int = 0


class ToolPackages:
    """The content-addressed cache of tools' requirement sets (one per server;
    services.py owns it)."""

    @classmethod
    def from_settings(cls, settings: Any) -> ToolPackages:
        return cls(settings.tool_packages_root, install_timeout_s=settings.tool_install_timeout_s,
                   max_bytes=settings.tool_packages_max_mb * 1024 * 1024, node=settings.sandbox_node)

    def __init__(self, root: Path, *, install_timeout_s: float = 300.0, max_bytes: int = 512 * 1024 * 1024,
                 node: str | None = None) -> None:
        self.root = Path(root)
        self.install_timeout_s = install_timeout_s
        self.max_bytes = max_bytes
        self.node_setting = node
        self.stats = InstallStats()
        self._locks: dict[str, asyncio.Lock] = {}
        self._thread_lock = threading.Lock()

    # -- common -------------------------------------------------------------

    def _prepare(self) -> None:
        for sub in ("pip", "npm", "ts", "locks", "tmp", "cache"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        for sub in ("pip", "npm", "ts"):
            os.chmod(self.root / sub, 0o755)
        for sub in ("locks", "tmp", "cache"):
            os.chmod(self.root / sub, 0o700)
        _traversable(self.root)

    def _lock(self, key: str) -> asyncio.Lock:
        with self._thread_lock:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = asyncio.Lock()
            return lock

    async def _ensure(self, kind: str, key: str, final: Path, install) -> Path:
        if final.exists():
            self.stats.hits += 1
            return final
        async with self._lock(key):
            if final.exists():
                self.stats.hits += 1
                return final
            return await asyncio.to_thread(self._install_locked, key, final, install)

    def _install_locked(self, key: str, final: Path, install) -> Path:
        self._prepare()
        with open(self.root / "locks" / f"{key}.lock", "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)  # another server sharing the cache may be installing it
            if final.exists():
                self.stats.hits += 1
                return final
            work = Path(tempfile.mkdtemp(prefix=f"{key[:12]}-", dir=self.root / "tmp"))
            try:
                started = time.monotonic()
                install(work)
                size = _tree_size(work)
                if size > self.max_bytes:
                    raise RequirementError("requirements", f"the installed packages take {size // (1024 * 1024)} "
                                           f"MiB, more than the limit of {self.max_bytes // (1024 * 1024)} MiB "
                                           "(MNEMO_TOOL_PACKAGES_MAX_MB)")
                _open_to_sandbox(work)
                os.rename(work, final)
                self.stats.installs += 1
                self.stats.install_seconds += time.monotonic() - started
                return final
            finally:
                shutil.rmtree(work, ignore_errors=True)

    def _run(self, argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=self.install_timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise TimeoutError(f"the install took more than {self.install_timeout_s:g}s "
                               "(MNEMO_TOOL_INSTALL_TIMEOUT_S)") from None
        return subprocess.CompletedProcess(argv, proc.returncode, out.decode(errors="replace"),
                                           err.decode(errors="replace"))

    def _env(self, home: Path) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "C.UTF-8",
               "HOME": str(home), "TMPDIR": str(home)}
        for name, value in os.environ.items():
            if name in _PASS_ENV or name.startswith(_PASS_PREFIXES):
                env[name] = value
        return env

    # -- Python ---------------------------------------------------------------

    async def python_site(self, specs: list[str], python: str, field: str = "pip_requirements") -> Path | None:
        """The site-packages folder holding `specs` for the sandbox interpreter
        `python`, installed on first use; None for no requirements. Raises
        RequirementError naming the requirement that failed."""
        specs = sorted(set(specs))
        if not specs:
            return None
        version = await asyncio.to_thread(python_version, python)
        key = _key("pip", specs, version)
        final = self.root / "pip" / key
        folder = await self._ensure("pip", key, final,
                                    lambda work: self._pip_install(work, specs, version, field))
        return folder / "site-packages"

    def _pip_install(self, work: Path, specs: list[str], version: str, field: str) -> None:
        target = work / "site-packages"
        home = work / ".home"
        home.mkdir()
        (work / "requirements.txt").write_text("\n".join(specs) + "\n")
        argv = [sys.executable, "-m", "pip", "install", "--target", str(target), "--only-binary=:all:",
                "--no-input", "--disable-pip-version-check", "--no-warn-script-location", "--progress-bar", "off",
                "--cache-dir", str(self.root / "cache" / "pip")]
        ours = f"{sys.implementation.name}-{sys.version_info.major}.{sys.version_info.minor}"
        if version != ours:
            argv += ["--python-version", version.split("-", 1)[1]]
        argv += specs
        try:
            done = self._run(argv, work, self._env(home))
        except TimeoutError as exc:
            raise RequirementError(field, f"could not install {', '.join(specs)}: {exc}") from None
        shutil.rmtree(home, ignore_errors=True)
        if done.returncode != 0:
            raise _pip_error(field, specs, done.stderr or done.stdout)

    # -- npm -------------------------------------------------------------------

    async def node_modules(self, specs: list[str], field: str = "npm_requirements") -> Path | None:
        """The node_modules folder holding `specs`, installed on first use (npm
        install --ignore-scripts); None for no requirements."""
        specs = sorted(set(specs))
        if not specs:
            return None
        registry = os.environ.get("NPM_CONFIG_REGISTRY") or os.environ.get("npm_config_registry") or ""
        key = _key("npm", specs, registry)
        final = self.root / "npm" / key
        folder = await self._ensure("npm", key, final, lambda work: self._npm_install(work, specs, field))
        return folder / "node_modules"

    def _npm_install(self, work: Path, specs: list[str], field: str) -> None:
        npm = shutil.which("npm") or "/usr/bin/npm"
        if not os.path.exists(npm):
            raise RequirementError(field, "npm is not installed on this server (Debian/Ubuntu: apt-get install "
                                          "npm, or run scripts/system-deps.sh as root)")
        home = work / ".home"
        home.mkdir()
        dependencies = {}
        for spec in specs:
            name, _, version = spec.rpartition("@")
            dependencies[name] = version
        (work / "package.json").write_text(json.dumps({"name": "mnemo-tool-packages", "private": True,
                                                       "dependencies": dependencies}, indent=1))
        env = self._env(home)
        env["npm_config_cache"] = str(self.root / "cache" / "npm")
        env["npm_config_update_notifier"] = "false"
        argv = [npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--omit=dev", "--no-bin-links",
                "--loglevel=error", "--userconfig", str(home / ".npmrc")]
        try:
            done = self._run(argv, work, env)
        except TimeoutError as exc:
            raise RequirementError(field, f"could not install {', '.join(specs)}: {exc}") from None
        shutil.rmtree(home, ignore_errors=True)
        if done.returncode != 0:
            raise _npm_error(field, specs, done.stderr or done.stdout)
        if not (work / "node_modules").is_dir():
            (work / "node_modules").mkdir()

    # -- TypeScript --------------------------------------------------------------

    def compiled_path(self, source: str, function: str) -> Path:
        key = hashlib.sha256(json.dumps([TYPESCRIPT, source, function]).encode()).hexdigest()[:40]
        return self.root / "ts" / f"{key}.json"

    async def typescript(self) -> Path:
        """The node_modules holding the pinned TypeScript compiler."""
        found = await self.node_modules([TYPESCRIPT], field="typescript compiler")
        assert found is not None
        return found

    def load_compiled(self, source: str, function: str) -> dict[str, Any] | None:
        path = self.compiled_path(source, function)
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def store_compiled(self, source: str, function: str, compiled: dict[str, Any]) -> None:
        self._prepare()
        path = self.compiled_path(source, function)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(compiled))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)


def _named(field: str, specs: list[str], text: str) -> tuple[str, str | None]:
    """The field of the requirement `text` names (``pip_requirements[1]``), and
    that requirement; the whole list when none is named."""
    lowered = text.lower()
    for i, spec in enumerate(specs):
        name = re.split(r"[=<>!~@\[]", spec, maxsplit=1)[0] if not spec.startswith("@") else spec.rsplit("@", 1)[0]
        if name and re.search(rf"(?<![a-z0-9_.-]){re.escape(name.lower())}(?![a-z0-9_-])",
                              lowered.replace("_", "-")):
            return f"{field}[{i}]", spec
    return field, None


def _pip_error(field: str, specs: list[str], output: str) -> RequirementError:
    lines = [line.strip() for line in output.splitlines() if line.strip().startswith("ERROR:")]
    said = " ".join(line.removeprefix("ERROR:").strip() for line in lines[-2:]) or output.strip()[-500:]
    where, spec = _named(field, specs, said)
    what = f"'{spec}'" if spec else ", ".join(specs)
    hint = ""
    if "no matching distribution" in said.lower() or "could not find a version" in said.lower():
        hint = (" (Mnemo installs built wheels only, never source distributions: check the name and the version, "
                "and that the package publishes a wheel for this Python)")
    return RequirementError(where, f"could not install {what}: {said[:800]}{hint}")


def _npm_error(field: str, specs: list[str], output: str) -> RequirementError:
    lines = [line.strip() for line in output.splitlines() if line.strip().startswith("npm error")]
    useful = [line.removeprefix("npm error").strip() for line in lines
              if "A complete log" not in line and "/.npm/_logs" not in line and line.removeprefix("npm error").strip()]
    said = " ".join(useful[:3]) or output.strip()[-500:]
    where, spec = _named(field, specs, said)
    what = f"'{spec}'" if spec else ", ".join(specs)
    return RequirementError(where, f"could not install {what}: {said[:800]}")


_versions: dict[str, str] = {}


def python_version(python: str) -> str:
    """``cpython-3.11`` for the interpreter `python` (run without site, so none
    of its .pth files run)."""
    if python not in _versions:
        out = subprocess.run([python, "-I", "-S", "-c",
                              "import sys; print(f'{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}')"],
                             capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
        _versions[python] = out.stdout.strip() or f"cpython-{sys.version_info[0]}.{sys.version_info[1]}"
    return _versions[python]
