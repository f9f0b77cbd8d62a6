"""The tool sandbox: custom tools run in a separate, limited process.

Two layers: `run_tool` itself, called in this process (fast, with small
limits), and the API over the real server: POST /v1/tools/run
(RunToolFromSource) and POST /v1/agents/{id}/tools/{name}/run (RunAgentTool),
which runs the same code as the agent loop's `execute_custom_tool`.
"""
from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import grpc
import pytest
from mnemo.v1 import tools_pb2
from mnemo_server.sandbox import SandboxLimits, run_tool
from mnemo_server.sandbox.agent_tools import model_text

from tests.util import ROLL_DICE, Rest, Stubs, assert_status, pb, tool_source, uid

ROOT = os.geteuid() == 0
FAST = SandboxLimits(timeout_s=10, output_bytes=10_000)



@pytest.fixture(scope="module")
def rest(http) -> Rest:
    return Rest(http)


@pytest.fixture(scope="module")
def stubs(channel) -> Stubs:
    return Stubs(channel)


def run(source: str, function: str = "f", arguments: dict | None = None, *, env: dict | None = None,
        agent_state: dict | None = None, limits: SandboxLimits = FAST, **kwargs):
    return asyncio.run(run_tool(source, function, arguments or {}, env=env or {}, agent_state=agent_state,
                                limits=limits, **kwargs))


def fn(body: str, params: str = "", doc: str = "Does a thing.", args: str = "", prefix: str = "") -> str:
    """Source of one documented function `f` (body lines indented by 4)."""
    indented = "\n".join("    " + line for line in body.strip("\n").splitlines())
    args_doc = f"\n\n    Args:\n{args}" if args else ""
    return f'{prefix}def f({params}):\n    """{doc}{args_doc}\n    """\n{indented}\n'


# -- run_tool, in this process ----------------------------------------------------

def test_success_return_and_output():
    result = run(fn("import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\nreturn {'n': 1}"))
    assert result.status == "success", result
    assert result.func_return == {"n": 1}
    assert result.stdout == ["to stdout\n"] and result.stderr == ["to stderr\n"]
    assert result.error is None and result.duration_ms > 0


def test_clean_environment_workdir_and_stdin(monkeypatch):
    monkeypatch.setenv("MNEMO_TEST_LEAK", "server-only")
    marker = f"mnemo-left-{time.time_ns()}"
    source = fn("import os, sys\n"
                "files = os.listdir('.')\n"
                f"open('{marker}', 'w').write('x')\n"
                "return {'env': dict(os.environ), 'cwd': os.getcwd(), 'files': files,\n"
                "        'stdin': sys.stdin.read(), 'uid': os.getuid(), 'flags': sys.flags.isolated}")
    result = run(source, env={"TOOL_VAR": "visible"})
    assert result.status == "success", result
    value = result.func_return
    assert set(value["env"]) <= {"PATH", "LANG", "HOME", "TMPDIR", "TOOL_VAR", "LC_CTYPE"}, value["env"]
    assert value["env"]["TOOL_VAR"] == "visible" and "MNEMO_TEST_LEAK" not in value["env"]
    assert value["files"] == [] and value["stdin"] == "" and value["flags"] == 1
    # The working directory is the sandbox's own tmpfs, not a folder of the host.
    assert value["cwd"] == "/tmp" and value["env"]["HOME"] == value["cwd"]
    assert not Path("/tmp", marker).exists()
    assert value["uid"] == (65534 if ROOT else os.getuid())


def test_exception_has_the_tools_traceback():
    source = "def helper(x):\n    return 1 / x\n\n" + fn("return helper(0)")
    result = run(source)
    assert result.status == "error"
    assert result.func_return == "Error executing function f: ZeroDivisionError: division by zero"
    assert result.error.startswith("ZeroDivisionError: division by zero\nTraceback (most recent call last):")
    assert 'File "<tool f>", line 2, in helper' in result.error and "in f" in result.error
    assert "runner" not in result.error and "<string>" not in result.error  # only the tool's own frames
    assert "ZeroDivisionError" in result.stderr[0]
    assert model_text(result, 1000).endswith("(line 2, in helper)")


def test_timeout_kills_an_infinite_loop():
    started = time.monotonic()
    result = run(fn("while True:\n    pass"), limits=SandboxLimits(timeout_s=1.5))
    assert time.monotonic() - started < 5
    assert result.status == "error"
    assert result.func_return == "Error executing function f: TimeoutError: f timed out after 1.5s"


def test_cpu_limit():
    result = run(fn("while True:\n    pass"), limits=SandboxLimits(timeout_s=20, cpu_s=1))
    assert result.status == "error"
    assert "exceeded the CPU time limit (1s)" in result.func_return


def test_memory_bomb_hits_the_memory_limit():
    bomb = fn("chunks = []\nwhile True:\n    chunks.append(' ' * 10**6)")
    result = run(bomb, limits=SandboxLimits(memory_bytes=128 * 2**20))
    assert result.status == "error"
    assert result.func_return == "Error executing function f: MemoryError: exceeded the memory limit (128 MiB)"
    assert run(fn("return len(bytearray(10**10))")).func_return.endswith("exceeded the memory limit (512 MiB)")


def test_output_is_capped():
    result = run(fn("print('x' * 50_000)\nreturn 'y' * 50_000"))
    assert result.status == "success"
    out = result.stdout[0]
    assert out.startswith("x" * 10_000) and "[... stdout truncated: the tool wrote 50001 bytes" in out
    assert len(out) < 10_200
    assert result.func_return.startswith("y" * 10_000) and "return value truncated" in result.func_return
    flood = run(fn("import sys\nwhile True:\n    sys.stdout.write('z' * 65536)"))
    assert flood.status == "error" and "OutputLimitError" in flood.func_return


def test_file_size_limit():
    result = run(fn("open('big', 'wb').write(b'x' * (2 * 2**20))"), limits=SandboxLimits(file_size_bytes=2**20))
    assert result.status == "error" and "File too large" in result.func_return


def test_async_function_and_awaitable_return():
    result = run(fn("await asyncio.sleep(0.01)\nreturn [1, 'two']", prefix="import asyncio\n\nasync "))
    assert result.status == "success" and result.func_return == [1, "two"]


def test_non_json_returns_are_strings():
    assert run(fn("return object()")).func_return.startswith("<object object at")
    assert run(fn("return float('nan')")).func_return == "nan"
    assert run(fn("return None")).func_return is None


def test_exit_crash_and_syntax_error():
    assert "sys.exit(3)" in run(fn("import sys\nsys.exit(3)")).func_return
    assert "exited with code 4 without returning a result" in run(fn("import os\nos._exit(4)")).func_return
    assert "killed by SIGSEGV" in run(fn("import ctypes\nctypes.string_at(0)")).func_return
    syntax = run("def f(:\n    pass\n")
    assert syntax.status == "error" and "SyntaxError" in syntax.func_return
    assert "<string>" not in syntax.error


def test_background_processes_are_killed():
    marker = f"{time.time() % 1000:.6f}"
    result = run(fn(f"import subprocess\nsubprocess.Popen(['sleep', '300{marker}'])\nreturn 'started'"))
    assert result.status == "success"

    for _ in range(40):
        if not _alive(marker):
            break
        time.sleep(0.05)
    assert not _alive(marker)


def test_concurrent_calls_and_cancellation():
    async def main():
        results = await asyncio.gather(*(run_tool(fn("return n * 2", params="n: int"), "f", {"n": i}, env={},
                                                  agent_state=None, limits=FAST) for i in range(12)))
        assert [r.func_return for r in results] == [i * 2 for i in range(12)]

        marker = f"{time.time() % 1000:.6f}"
        source = fn(f"import subprocess, time\nsubprocess.Popen(['sleep', '300{marker}'])\ntime.sleep(300)")
        task = asyncio.ensure_future(run_tool(source, "f", {}, env={}, agent_state=None, limits=FAST))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.5)
        return marker

    marker = asyncio.run(main())
    assert not _alive(marker)


def _alive(marker: str) -> bool:
    """Whether a live (not zombie) process has `marker` in its command line."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                if "State:\tZ" not in Path(f"/proc/{pid}/status").read_text():
                    return True
        except OSError:
            continue
    return False


def test_agent_state_is_a_read_only_snapshot():
    state = {"id": "agent-1", "name": "Ana", "tags": ["a"], "metadata": {"k": {"n": 1}},
             "memory": {"blocks": [{"label": "human", "value": "Bob"}]}, "blocks": {"human": "Bob"}}
    source = fn(
        "out = {'id': agent_state.id, 'name': agent_state['name'], 'tags': list(agent_state.tags),\n"
        "       'n': agent_state.metadata.k.n, 'human': agent_state.memory.get_block('human').value,\n"
        "       'labels': agent_state.memory.list_block_labels(), 'by_label': agent_state.blocks['human']}\n"
        "try:\n    agent_state.name = 'x'\nexcept AttributeError as exc:\n    out['set'] = str(exc)\n"
        "return out", params="agent_state")
    result = run(source, agent_state=state)
    assert result.status == "success", result
    assert result.func_return == {"id": "agent-1", "name": "Ana", "tags": ["a"], "n": 1, "human": "Bob",
                                  "labels": ["human"], "by_label": "Bob",
                                  "set": "agent_state is a read-only snapshot; changes to it are not saved"}
    assert run(fn("return agent_state is None", params="agent_state=None")).func_return is True


def test_import_error_names_pip_requirements_without_a_package_cache():
    """run_tool without the server's package cache does not install: an
    ImportError names the declared requirements."""
    result = run(fn("import not_a_real_module_xyz"), pip_requirements=["not-a-real-module-xyz==1.0"])
    assert result.status == "error"
    assert "No module named 'not_a_real_module_xyz'" in result.func_return
    assert "pip_requirements not-a-real-module-xyz==1.0" in result.func_return
    assert "they are not installed here" in result.func_return


def test_host_files_are_out_of_reach(tmp_path):
    """The sandbox's mount namespace shows no host folder but the system's:
    a root-only file, the host's /tmp and the server's /proc entries are not
    there at all (as root and not)."""
    secret = tmp_path / "secret.key"
    secret.write_text("key")
    secret.chmod(0o600)
    source = fn("import os\nout = {}\n"
                "for path in paths:\n"
                "    try:\n        out[path] = open(path).read()\n"
                "    except OSError as exc:\n        out[path] = type(exc).__name__\n"
                "return out", params="paths: list")
    paths = [str(secret), f"/proc/{os.getpid()}/environ"]
    result = run(source, "f", {"paths": paths})
    assert result.func_return == dict.fromkeys(paths, "FileNotFoundError"), result
    # /proc/1 is the sandbox's own init, with the sandbox's environment only.
    init_env = run(fn("return open('/proc/1/environ').read()")).func_return
    assert "PATH=" in init_env and "MNEMO" not in init_env and "OPENAI" not in init_env


def test_execute_custom_tool_for_the_loop(monkeypatch):
    """The agent loop's entry point, with the database lookup replaced (the
    lookup itself runs in RunAgentTool, tested below against the server)."""
    from types import SimpleNamespace

    from mnemo.v1 import tools_pb2 as pb2
    from mnemo_server.sandbox import agent_tools

    source = tool_source("shout", params="text: str", args="        text: Words.",
                         body="print('shouting')\n    return {'said': text.upper()}")
    tool = pb2.Tool(id="tool-1", name="shout", tool_type="custom", source_code=source, return_char_limit=30)
    seen = {}

    async def prepare(engine, box, agent_id, tool_name):
        seen.update(engine=engine, box=box, agent_id=agent_id, tool_name=tool_name)
        return agent_tools.AgentToolCall(tool=tool, function_name="shout", env={"MNEMO_AGENT_ID": agent_id},
                                         agent_state={"id": agent_id})

    monkeypatch.setattr(agent_tools, "prepare_agent_tool", prepare)
    ctx = SimpleNamespace(engine="engine", agent_id="agent-9", services=SimpleNamespace(secrets="box"))
    status, text, stdout, stderr = asyncio.run(agent_tools.execute_custom_tool(ctx, "shout", {"text": "hi"}))
    assert (status, text, stdout, stderr) == ("success", '{"said": "HI"}', ["shouting\n"], [])
    assert seen == {"engine": "engine", "box": "box", "agent_id": "agent-9", "tool_name": "shout"}

    status, text, _, stderr = asyncio.run(agent_tools.execute_custom_tool(ctx, "shout", {"text": "x" * 50}))
    assert status == "success" and text.startswith('{"said": "XXXX') and "truncated" in text  # return_char_limit
    status, text, _, stderr = asyncio.run(agent_tools.execute_custom_tool(ctx, "shout", {}))
    assert status == "error" and "missing 1 required positional argument: 'text'" in text
    status, text, _, _ = asyncio.run(agent_tools.execute_custom_tool(SimpleNamespace(services=None), "shout", {}))
    assert status == "error" and "cannot decrypt" in text


# -- the API ----------------------------------------------------------------------

def tool_run(rest, body: dict, **kwargs):
    return rest.post("/v1/tools/run", body, **kwargs)


def test_roll_dice_from_source_and_for_an_agent(rest, stubs):
    result = tool_run(rest, {"source_code": ROLL_DICE, "args": {}})
    assert result["status"] == "success" and result["func_return"].startswith("You rolled a ")
    assert 1 <= int(result["func_return"].rsplit(" ", 1)[1]) <= 20
    assert result["stdout"] == [] and result["stderr"] == []

    over_grpc = stubs.tools.RunToolFromSource(tools_pb2.RunToolFromSourceRequest(source_code=ROLL_DICE))
    assert over_grpc.status == "success" and over_grpc.func_return.string_value.startswith("You rolled a ")

    tool = rest.put("/v1/tools", {"source_code": ROLL_DICE})
    try:
        agent = rest.post("/v1/agents", {"include_base_tools": False, "tools": ["roll_dice"]})
        ran = rest.post(f"/v1/agents/{agent['id']}/tools/roll_dice/run", {"args": {}})
        assert ran["status"] == "success" and ran["func_return"].startswith("You rolled a ")
        reply = stubs.tools.RunAgentTool(tools_pb2.RunAgentToolRequest(agent_id=agent["id"], tool_name="roll_dice"))
        assert reply.status == "success" and reply.func_return.string_value.startswith("You rolled a ")
    finally:
        rest.delete(f"/v1/tools/{tool['id']}")


def test_run_prints_exceptions_and_numbers(rest):
    printer = tool_source("printer", params="n: int", args="        n: How many.",
                          body="import sys\n    print('out', n)\n    print('err', file=sys.stderr)\n"
                               "    return list(range(n))")
    result = tool_run(rest, {"source_code": printer, "args": {"n": 3}})
    assert result == {"status": "success", "func_return": [0, 1, 2], "stdout": ["out 3\n"], "stderr": ["err\n"]}

    failing = tool_source("failing", body="raise ValueError('the input is bad')")
    result = tool_run(rest, {"source_code": failing, "args": {}})
    assert result["status"] == "error"
    assert result["func_return"] == "Error executing function failing: ValueError: the input is bad"
    assert "Traceback (most recent call last):" in result["stderr"][0]
    assert 'File "<tool failing>", line 4, in failing' in result["stderr"][0]


def test_run_from_source_limits(rest):
    loop = tool_source("spin", body="while True:\n        pass")
    started = time.monotonic()
    result = tool_run(rest, {"source_code": loop, "args": {}, "timeout_seconds": 1.5})
    assert time.monotonic() - started < 10
    assert result["status"] == "error" and result["func_return"].endswith("spin timed out after 1.5s")

    bomb = tool_source("bomb", body="chunks = []\n    while True:\n        chunks.append(' ' * 10**6)")
    result = tool_run(rest, {"source_code": bomb, "args": {}})
    assert result["status"] == "error"
    assert result["func_return"] == "Error executing function bomb: MemoryError: exceeded the memory limit (512 MiB)"

    loud = tool_source("loud", body="print('x' * (3 * 2**20))\n    return 'done'")
    result = tool_run(rest, {"source_code": loud, "args": {}})
    assert result["status"] == "success" and result["func_return"] == "done"
    assert len(result["stdout"][0]) < 2**20 + 200 and "stdout truncated" in result["stdout"][0]

    sleeper = tool_source("sleeper", body="await asyncio.sleep(0.01)\n    return 'awake'").replace(
        "def sleeper", "import asyncio\n\nasync def sleeper")
    assert tool_run(rest, {"source_code": sleeper, "args": {}})["func_return"] == "awake"


def test_server_environment_is_not_visible(stack, rest):
    assert stack.env.get("OPENAI_API_KEY") == "test-key"  # the server has it...
    source = tool_source("peek", body="import os\n    return {k: os.environ.get(k) for k in "
                                      "('OPENAI_API_KEY', 'MNEMO_DATA_DIR', 'MY_VAR', 'LETTA_AGENT_ID')}")
    result = tool_run(rest, {"source_code": source, "args": {}, "env_vars": {"MY_VAR": "given"}})
    # MY_VAR reached the tool; its value is redacted from the result (sandbox/redact.py).
    assert result["func_return"] == {"OPENAI_API_KEY": None, "MNEMO_DATA_DIR": None, "MY_VAR": "[REDACTED:MY_VAR]",
                                     "LETTA_AGENT_ID": None}

    name = f"peek_{uid()}"
    rest.post("/v1/tools", {"source_code": source.replace("def peek", f"def {name}").replace(
        "'MY_VAR'", "'API_TOKEN'")})
    agent = rest.post("/v1/agents", {"include_base_tools": False, "tools": [name],
                                     "secrets": {"API_TOKEN": "s3cr3t-value"}})
    result = rest.post(f"/v1/agents/{agent['id']}/tools/{name}/run", {"args": {}})
    assert result["status"] == "success", result
    assert result["func_return"] == {"OPENAI_API_KEY": None, "MNEMO_DATA_DIR": None,
                                     "API_TOKEN": "[REDACTED:API_TOKEN]", "LETTA_AGENT_ID": agent["id"]}


def test_server_data_dir_is_out_of_reach(stack, rest):
    paths = [str(stack.data_dir / "secret.key"), str(stack.data_dir / "pgdata" / "PG_VERSION")]
    assert all(Path(p).exists() for p in paths)
    source = tool_source("reader", params="paths: list", args="        paths: Files to read.", body=(
        "import os\n    out = {'listing': None}\n"
        "    for path in paths:\n        try:\n            open(path).read()\n            out[path] = 'read'\n"
        "        except OSError as exc:\n            out[path] = type(exc).__name__\n"
        "    try:\n        out['listing'] = os.listdir(os.path.dirname(paths[0]))\n"
        "    except OSError as exc:\n        out['listing'] = type(exc).__name__\n"
        "    out['environ'] = open(f'/proc/{os.getppid()}/environ').read()\n"
        "    return out"))
    result = tool_run(rest, {"source_code": source, "args": {"paths": paths}})
    assert result["status"] == "success", result
    value = result["func_return"]
    environ = value.pop("environ")  # the parent it sees is the sandbox's own init
    assert value == {**dict.fromkeys(paths, "FileNotFoundError"), "listing": "FileNotFoundError"}
    assert "test-key" not in environ and "MNEMO_" not in environ
    assert (stack.data_dir.stat().st_mode & 0o007) == 0  # no access for others


def test_agent_state_for_an_agent_tool(rest):
    tag = uid()
    name = f"state_{tag}"
    source = tool_source(name, params="agent_state: 'AgentState', field: str",
                         args="        field: What to read.", body=(
        "return {'name': agent_state.name, 'id': agent_state.id, 'tags': list(agent_state.tags),\n"
        "            'human': agent_state.memory.get_block('human').value, 'meta': agent_state.metadata['team'],\n"
        "            'tools': list(agent_state.tool_names), 'field': field}"))
    tool = rest.post("/v1/tools", {"source_code": source})
    assert "agent_state" not in tool["json_schema"]["parameters"]["properties"]
    agent = rest.post("/v1/agents", {"include_base_tools": False, "tools": [name], "name": f"ana-{tag}",
                                     "tags": [tag], "metadata": {"team": "qa"},
                                     "memory_blocks": [{"label": "human", "value": "Name: Bob"}]})
    result = rest.post(f"/v1/agents/{agent['id']}/tools/{name}/run", {"args": {"field": "x"}})
    assert result["status"] == "success", result
    assert result["func_return"] == {"name": f"ana-{tag}", "id": agent["id"], "tags": [tag], "human": "Name: Bob",
                                     "meta": "qa", "tools": [name], "field": "x"}
    rest.post(f"/v1/agents/{agent['id']}/tools/{name}/run", {"args": {"field": "x", "agent_state": {}}},
              expect=400, contains="agent_state")


def test_bad_requests(rest, stubs):
    rest.post("/v1/tools/run", {"source_code": "def broken(:\n    pass\n", "args": {}}, expect=400,
              contains="source_code")
    rest.post("/v1/tools/run", {"args": {}}, expect=400, contains="source_code")
    rest.post("/v1/tools/run", {"source_code": "x = 1\n", "args": {}}, expect=400, contains="source_code")
    rest.post("/v1/tools/run", {"source_code": ROLL_DICE, "source_type": "javascript"}, expect=400,
              contains="source_type")
    adder = tool_source("add", params="a: int, b: int = 2", args="        a: First.\n        b: Second.",
                        body="return a + b")
    body = rest.post("/v1/tools/run", {"source_code": adder, "args": {"b": 1}}, expect=400, contains="args.a")
    assert "missing required argument 'a'" in body["detail"]
    assert rest.post("/v1/tools/run", {"source_code": adder, "args": {"a": 1}})["func_return"] == 3
    rest.post("/v1/tools/run", {"source_code": adder, "args": {"a": 1}, "name": "nope"}, expect=400,
              contains="name")
    two = "def helper(x):\n    return x * 10\n\n" + adder
    assert rest.post("/v1/tools/run", {"source_code": two, "args": {"x": 4}, "name": "helper"})["func_return"] == 40
    assert_status(lambda: stubs.tools.RunToolFromSource(pb(tools_pb2.RunToolFromSourceRequest,
                                                           source_code=adder, args={})),
                  grpc.StatusCode.INVALID_ARGUMENT, "args.a")

    name = f"needs_{uid()}"
    rest.post("/v1/tools", {"source_code": adder.replace("def add", f"def {name}")})
    agent = rest.post("/v1/agents", {"include_base_tools": True, "tools": [name]})
    rest.post(f"/v1/agents/{agent['id']}/tools/{name}/run", {"args": {}}, expect=400, contains="args.a")
    rest.post(f"/v1/agents/{agent['id']}/tools/not_attached/run", {"args": {}}, expect=404, contains="not_attached")
    builtin = next(t["name"] for t in agent["tools"] if t["tool_type"] != "custom")
    rest.post(f"/v1/agents/{agent['id']}/tools/{builtin}/run", {"args": {}}, expect=400, contains="built-in")
    rest.post("/v1/agents/agent-00000000-0000-0000-0000-000000000000/tools/x/run", {"args": {}}, expect=404)


def test_pip_requirements_that_cannot_be_installed_are_named(rest):
    source = tool_source("uses_lib", body="import not_a_real_module_xyz\n    return 'never'")
    result = tool_run(rest, {"source_code": source, "args": {},
                             "pip_requirements": [{"name": "not-a-real-module-xyz", "version": "1.0"}]})
    assert result["status"] == "error"
    assert ("RequirementError: pip_requirements[0]: could not install 'not-a-real-module-xyz==1.0'"
            in result["func_return"]), result


def test_letta_client_runs_an_agent_tool(stack, rest):
    from letta_client import Letta

    name = f"greet_{uid()}"
    rest.post("/v1/tools", {"source_code": tool_source(name, params="who: str", args="        who: Whom to greet.",
                                                       body="return f'Hello, {who}!'")})
    agent = rest.post("/v1/agents", {"include_base_tools": False, "tools": [name]})
    client = Letta(base_url=stack.http_base)
    result = client.agents.tools.run(name, agent_id=agent["id"], args={"who": "Ana"})
    assert result.status == "success" and result.func_return == "Hello, Ana!"
    assert result.stdout == [] and result.stderr == []
