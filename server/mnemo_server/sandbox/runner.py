"""The child side of the sandbox: runs one custom tool call, then exits.

The server never imports this module. It reads this file's text and starts a
fresh interpreter with it, ``python -I -X utf8 -B -u -c <this file> <result fd>
<limits json>`` (see ``process.py``), so nothing here may import Mnemo or
anything outside the standard library, and the syntax must suit any Python 3.8+.

Protocol:
  1. Apply the resource limits from argv, before anything of the tool runs
     (bubblewrap has already isolated the process, and it never runs as root).
  2. Read the payload, one JSON object, from stdin until EOF:
     ``{"source", "function", "arguments", "agent_state", "env", "tool_file",
     "pip_hint", "site_dirs"}`` (``site_dirs``: the tool's installed
     requirements, mounted read-only, added to ``sys.path``).
     An empty stdin means "not needed" (an idle pooled interpreter being
     released): exit at once. Then stdin is replaced by /dev/null.
  3. Add ``env`` to ``os.environ``, execute the source in a fresh module, call
     the function (awaiting it if it is a coroutine function) with the
     arguments, plus ``agent_state`` as a read-only snapshot when the function
     has that parameter.
  4. Write ``{"status": "success", "func_return": ...}`` or
     ``{"status": "error", "error": {"type", "message", "traceback"}}`` as JSON
     on the result fd, never on stdout, which belongs to the tool.
"""
import inspect
import json
import linecache
import os
import sys
import traceback
import types

MAX_TRACEBACK_FRAMES = 12
_reserve = bytearray(2 * 1024 * 1024)  # freed on MemoryError, so the report can be written


def _apply_limits(limits):
    import resource
    import signal

    for name, value in limits.get("rlimits", {}).items():
        which = getattr(resource, name, None)
        if which is None:
            continue
        soft, hard = value
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError) as exc:  # report, but never run unlimited silently
            sys.stderr.write(f"mnemo sandbox: cannot set {name}: {exc}\n")
            os._exit(70)
    # Past RLIMIT_FSIZE, a write fails with "File too large" instead of the
    # process being killed by SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _freeze(value):
    if isinstance(value, dict):
        return Snapshot(value)
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    return value


class Snapshot:
    """A read-only view of a JSON object: ``s.name`` or ``s["name"]``.

    Changing it raises AttributeError/TypeError; changes would not be saved
    anyway, the server keeps the agent's real state.
    """

    __slots__ = ("_data",)

    def __init__(self, data):
        object.__setattr__(self, "_data", types.MappingProxyType({k: _freeze(v) for k, v in data.items()}))

    def __getattr__(self, name):
        data = object.__getattribute__(self, "_data")
        try:
            return data[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}") from None

    def __setattr__(self, name, value):
        raise AttributeError("agent_state is a read-only snapshot; changes to it are not saved")

    __delattr__ = __setattr__

    def __getitem__(self, key):
        return self._data[key]

    def __contains__(self, key):
        return key in self._data

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def get(self, key, default=None):
        return self._data.get(key, default)

    def keys(self):
        return self._data.keys()

    def items(self):
        return self._data.items()

    def values(self):
        return self._data.values()

    def to_dict(self):
        def thaw(value):
            if isinstance(value, Snapshot):
                return {k: thaw(v) for k, v in value.items()}
            if isinstance(value, tuple):
                return [thaw(v) for v in value]
            return value

        return thaw(self)

    def __eq__(self, other):
        return isinstance(other, Snapshot) and self.to_dict() == other.to_dict()

    __hash__ = None

    def __repr__(self):
        return "{}({})".format(type(self).__name__, ", ".join("{}={!r}".format(*kv) for kv in self._data.items()))


class MemorySnapshot(Snapshot):
    """The agent's memory: ``blocks`` plus Letta's ``get_block(label)``."""

    __slots__ = ()

    def get_block(self, label):
        for block in self._data.get("blocks", ()):
            if block.get("label") == label:
                return block
        raise KeyError(f"the agent has no memory block labelled {label!r}")

    def list_block_labels(self):
        return [block.get("label") for block in self._data.get("blocks", ())]


class AgentStateSnapshot(Snapshot):
    __slots__ = ()


def _agent_state(data):
    if data is None:
        return None
    fields = dict(data)
    memory = fields.pop("memory", None) or {"blocks": []}
    fields["memory"] = MemorySnapshot(memory)
    return AgentStateSnapshot(fields)


def _error(exc, tool_file, limits, pip_hint=None):
    if isinstance(exc, MemoryError):
        global _reserve
        _reserve = None  # room to build the report
        traceback.clear_frames(exc.__traceback__)  # and drop the tool's big locals
    frames = traceback.extract_tb(exc.__traceback__)
    # Keep the frames from the tool's own code on; the runner's are noise.
    start = next((i for i, f in enumerate(frames) if f.filename == tool_file), len(frames))
    frames = frames[start:][-MAX_TRACEBACK_FRAMES:]
    message = str(exc)
    if isinstance(exc, MemoryError):
        message = "exceeded the memory limit ({})".format(limits.get("memory_text", "?"))
    elif isinstance(exc, SystemExit):
        message = f"the tool called sys.exit({exc.code!r})"
    elif isinstance(exc, ImportError) and pip_hint:
        message = f"{message} ({pip_hint})"
    text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) if frames else ""
    text += "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")
    if message != str(exc):
        text += "\n" + message
    return {"status": "error", "error": {"type": type(exc).__name__, "message": message, "traceback": text}}


def _add_site_dirs(dirs):
    """The tool's installed requirements (read-only), ahead of the
    interpreter's own site-packages so the versions it asked for win, after the
    standard library; their .pth files are processed."""
    if not dirs:
        return
    import site

    before = list(sys.path)
    for path in dirs:
        if os.path.isdir(path):
            site.addsitedir(path)
    added = [p for p in sys.path if p not in before]
    rest = [p for p in sys.path if p not in added]
    at = next((i for i, p in enumerate(rest) if p.endswith(("site-packages", "dist-packages"))), len(rest))
    sys.path[:] = rest[:at] + added + rest[at:]


def _call(payload, limits):
    source = payload["source"]
    name = payload["function"]
    tool_file = payload.get("tool_file") or "<tool>"
    linecache.cache[tool_file] = (len(source), None, source.splitlines(True), tool_file)
    module = types.ModuleType("mnemo_tool")
    module.__file__ = tool_file
    sys.modules["mnemo_tool"] = module
    try:
        _add_site_dirs(payload.get("site_dirs"))
        exec(compile(source, tool_file, "exec"), module.__dict__)
        func = module.__dict__.get(name)
        if not callable(func):
            raise NameError(f"the source defines no function named {name!r}")
        kwargs = dict(payload.get("arguments") or {})
        try:
            parameters = inspect.signature(func).parameters
        except (TypeError, ValueError):
            parameters = {}
        if "agent_state" in parameters:
            kwargs["agent_state"] = _agent_state(payload.get("agent_state"))
        if inspect.iscoroutinefunction(func):
            import asyncio

            value = asyncio.run(func(**kwargs))
        else:
            value = func(**kwargs)
            if inspect.isawaitable(value):
                import asyncio

                async def wait():
                    return await value

                value = asyncio.run(wait())
    except BaseException as exc:  # noqa: BLE001 - everything the tool raises is reported
        return _error(exc, tool_file, limits, payload.get("pip_hint"))
    return {"status": "success", "func_return": value}


def _encode(result, cap):
    """The result as JSON bytes; a non-JSON return is str()-ed, a huge one cut."""
    if result["status"] == "success":
        value = result["func_return"]
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            try:
                value = str(value)
            except Exception as exc:  # noqa: BLE001 - a broken __str__
                value = f"<unprintable {type(value).__name__}: {exc}>"
            text = json.dumps(value, ensure_ascii=False)
        if len(text) > cap:
            note = f"\n[... return value truncated: {len(text)} characters, the limit is {cap}]"
            value = (value if isinstance(value, str) else text)[:cap] + note
            result = {"status": "success", "func_return": value, "truncated": True}
        else:
            result = {"status": "success", "func_return": value}
    return json.dumps(result, ensure_ascii=False, allow_nan=False).encode("utf-8", "replace")


def main():
    result_fd = int(sys.argv[1])
    limits = json.loads(sys.argv[2])
    _apply_limits(limits)
    if len(sys.argv) > 3:  # the server waits for this before it connects the sandbox's network
        ready_fd = int(sys.argv[3])
        os.write(ready_fd, b"1")
        os.close(ready_fd)
    raw = sys.stdin.buffer.read()
    if not raw:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    payload = json.loads(raw.decode("utf-8"))
    del raw
    os.environ.pop("PWD", None)  # set by bwrap's --chdir
    os.environ.update(payload.get("env") or {})
    result = _call(payload, limits)
    try:
        data = _encode(result, int(limits.get("return_chars", 1 << 20)))
    except MemoryError as exc:
        data = json.dumps(_error(exc, "", limits)).encode()
    sys.stdout.flush()
    sys.stderr.flush()
    view = memoryview(data)
    while view:
        written = os.write(result_fd, view)
        view = view[written:]
    os.close(result_fd)
    # Exit now: threads the tool left running must not keep the process alive.
    os._exit(0)


main()
