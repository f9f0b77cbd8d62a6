"""Custom tools' packages and TypeScript tools, end to end on the real server.

- `pip_requirements` are installed once per requirement set (wheels only) into
  the server's content-addressed cache and mounted read-only on the tool's
  sys.path; a requirement that cannot be installed is the call's error, naming
  it; a second tool with the same set installs nothing; concurrent first calls
  install once.
- TypeScript tools (`source_type: "typescript"`, a `json_schema`) run with Node
  in the same sandbox, with their `npm_requirements` installed the same way
  (`npm install --ignore-scripts`), called by the agent through the fake model.

These tests download small packages from the package registries (PyPI, npm).
"""
from __future__ import annotations

import concurrent.futures
import json
from pathlib import Path

import pytest
from letta_client import Letta

from tests.fakes.fake_llm import Reply, ToolCall
from tests.util import Rest, tool_source, uid

# Small pure-Python wheels, absent from the sandbox's interpreter.
INFLECTION = {"name": "inflection", "version": "0.5.1"}
TEXT_UNIDECODE = {"name": "text-unidecode", "version": "1.3"}


@pytest.fixture(scope="module")
def rest(http) -> Rest:
    return Rest(http)


def packages_root(stack) -> Path:
    return stack.data_dir.parent / f"{stack.data_dir.name}-tool-packages"


def installed_sets(stack, kind: str) -> dict[str, int]:
    """The installed requirement sets (folder name -> inode of the folder)."""
    folder = packages_root(stack) / kind
    if not folder.is_dir():
        return {}
    return {p.name: p.stat().st_ino for p in folder.iterdir() if p.is_dir()}


CAMELIZE = tool_source("camelize_it", params="text: str", args="        text: What to camelize.",
                       body="import inflection\n    return inflection.camelize(text)")


# -- pip_requirements ------------------------------------------------------------------

def test_python_tool_imports_its_pip_requirement(stack, rest):
    before = installed_sets(stack, "pip")
    result = rest.post("/v1/tools/run", {"source_code": CAMELIZE, "args": {"text": "hello_world"},
                                         "pip_requirements": [INFLECTION]})
    assert result["status"] == "success", result
    assert result["func_return"] == "HelloWorld"
    after = installed_sets(stack, "pip")
    new = set(after) - set(before)
    assert len(new) <= 1  # one folder for the set (none if an earlier test installed it)
    folder = packages_root(stack) / "pip" / (new.pop() if new else next(iter(after)))
    assert (folder / "site-packages" / "inflection.py").exists() or (folder / "site-packages" / "inflection").exists()
    assert (folder / "requirements.txt").read_text().strip() == "inflection==0.5.1"
    # Read-only for everyone but the server.
    assert (folder / "site-packages").stat().st_mode & 0o777 == 0o755


def test_the_tool_cannot_write_into_its_packages(rest):
    source = tool_source("write_it", body=(
        "import inflection, os\n    try:\n        open(os.path.join(os.path.dirname(inflection.__file__), 'x'), 'w')\n"
        "    except OSError as exc:\n        return exc.strerror\n    return 'written'"))
    result = rest.post("/v1/tools/run", {"source_code": source, "args": {}, "pip_requirements": [INFLECTION]})
    assert result["status"] == "success" and result["func_return"] == "Read-only file system", result


def test_a_second_tool_with_the_same_set_installs_nothing(stack, rest, fake_llm):
    rest.post("/v1/tools/run", {"source_code": CAMELIZE, "args": {"text": "a_b"}, "pip_requirements": [INFLECTION]})
    before = installed_sets(stack, "pip")
    # Another tool, the same set spelled differently (case, no change in meaning): no install.
    name = f"camel_{uid()}"
    tool = rest.post("/v1/tools", {"source_code": CAMELIZE.replace("camelize_it", name),
                                   "pip_requirements": [{"name": "Inflection", "version": "0.5.1"}]})
    assert tool["pip_requirements"] == [{"name": "Inflection", "version": "0.5.1"}]
    model = f"m-{uid()}"
    agent = rest.post("/v1/agents", {"model": f"openai/{model}", "tool_ids": [tool["id"]]})
    fake_llm.script(Reply(tool_calls=[ToolCall(name, {"text": "snake_case_words"})]), Reply(text="Done."),
                    model=model)
    reply = rest.post(f"/v1/agents/{agent['id']}/messages", {"input": "camelize it"})
    returns = [m for m in reply["messages"] if m["message_type"] == "tool_return_message"]
    assert returns[0]["status"] == "success" and returns[0]["tool_return"] == "SnakeCaseWords", returns
    assert installed_sets(stack, "pip") == before  # same folders, same inodes: nothing reinstalled


def test_concurrent_first_calls_install_once(stack, rest):
    before = installed_sets(stack, "pip")
    source = tool_source("plain", params="text: str", args="        text: Text.",
                         body="from text_unidecode import unidecode\n    return unidecode(text)")

    def call(_):
        return rest.post("/v1/tools/run", {"source_code": source, "args": {"text": "Straße café"},
                                           "pip_requirements": [TEXT_UNIDECODE]})

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(call, range(4)))
    assert [r["func_return"] for r in results] == ["Strasse cafe"] * 4, results
    assert len(set(installed_sets(stack, "pip")) - set(before)) == 1
    assert list((packages_root(stack) / "tmp").iterdir()) == []  # no half-finished install left


def test_a_requirement_that_cannot_be_installed_is_named(rest, stack):
    missing = {"name": "mnemo-no-such-package-xyz", "version": "1.0"}
    result = rest.post("/v1/tools/run", {"source_code": CAMELIZE, "args": {"text": "x"},
                                         "pip_requirements": [INFLECTION, missing]})
    assert result["status"] == "error"
    text = result["func_return"]
    assert text.startswith("Error executing function camelize_it: RequirementError: pip_requirements[1]: "), text
    assert "'mnemo-no-such-package-xyz==1.0'" in text and "No matching distribution" in text
    # Through the agent loop: the model reads the same error, and the agent goes on.
    name = f"broken_{uid()}"
    tool = rest.post("/v1/tools", {"source_code": CAMELIZE.replace("camelize_it", name),
                                   "pip_requirements": [missing]})
    agent = rest.post("/v1/agents", {"include_base_tools": False, "tool_ids": [tool["id"]]})
    run = rest.post(f"/v1/agents/{agent['id']}/tools/{name}/run", {"args": {"text": "x"}})
    assert run["status"] == "error" and "pip_requirements[0]" in run["func_return"]


def test_requirements_are_checked_when_the_tool_is_saved(rest):
    source = tool_source(f"req_{uid()}")
    for bad, field in (
        ({"name": "--index-url=http://evil.example"}, "pip_requirements[0].name"),
        ({"name": "requests", "version": "1.0; os.system('x')"}, "pip_requirements[0].version"),
        ({"name": "requests", "version": "@ https://evil.example/x.whl"}, "pip_requirements[0].version"),
    ):
        rest.post("/v1/tools", {"source_code": source, "pip_requirements": [bad]}, expect=400, contains=field)
    rest.post("/v1/tools", {"source_code": source, "npm_requirements": [{"name": "ms"}]}, expect=400,
              contains="npm_requirements")
    ok = rest.post("/v1/tools", {"source_code": source, "pip_requirements": [
        {"name": "requests", "version": ">=2.31,<3"}, {"name": "rich"}, {"name": "uvicorn[standard]"}]})
    assert [p["name"] for p in ok["pip_requirements"]] == ["requests", "rich", "uvicorn[standard]"]


# -- TypeScript tools ------------------------------------------------------------------

ADD_TS = """
export function add_numbers(a: number, b: number = 10): number {
  const total: number = a + b;
  console.log(`adding ${a} and ${b}`);
  return total;
}
"""
ADD_SCHEMA = {"name": "add_numbers", "description": "Adds two numbers.",
              "parameters": {"type": "object", "properties": {"a": {"type": "number", "description": "First."},
                                                              "b": {"type": "number", "description": "Second."}},
                             "required": ["a"]}}


def ts_schema(name: str, **properties: str) -> dict:
    return {"name": name, "description": f"The {name} tool.",
            "parameters": {"type": "object", "properties": {k: {"type": v} for k, v in properties.items()},
                           "required": list(properties)}}


def test_typescript_tool_called_by_the_agent(stack, fake_llm):
    client = Letta(base_url=stack.http_base, max_retries=0)
    name = f"add_{uid()}"
    tool = client.tools.create(source_code=ADD_TS.replace("add_numbers", name), source_type="typescript",
                               json_schema={**ADD_SCHEMA, "name": name})
    assert tool.source_type == "typescript" and tool.name == name
    assert tool.json_schema["parameters"]["required"] == ["a"]
    model = f"m-{uid()}"
    agent = client.agents.create(model=f"openai/{model}", tools=[name], include_base_tools=False)
    fake_llm.script(Reply(tool_calls=[ToolCall(name, {"a": 2, "b": 3})]),
                    Reply(tool_calls=[ToolCall(name, {"a": 5})]), Reply(text="5 and 15."), model=model)
    response = client.agents.messages.create(agent_id=agent.id, input="add")
    returns = [m for m in response.messages if m.message_type == "tool_return_message"]
    assert [(r.status, r.tool_return) for r in returns] == [("success", "5"), ("success", "15")]
    assert returns[0].stdout == ["adding 2 and 3\n"]
    sent = json.loads(fake_llm.last_request(model=model).body["messages"][-1]["content"])
    assert sent["status"] == "OK" and sent["message"] == "15"


def test_typescript_tool_with_an_npm_requirement(rest):
    source = """
import ms from "ms";

export async function how_long(milliseconds: number): Promise<string> {
  return ms(milliseconds, { long: true });
}
"""
    result = rest.post("/v1/tools/run", {"source_code": source, "source_type": "typescript",
                                         "json_schema": ts_schema("how_long", milliseconds="number"),
                                         "args": {"milliseconds": 7200000},
                                         "npm_requirements": [{"name": "ms", "version": "2.1.3"}]})
    assert result["status"] == "success", result
    assert result["func_return"] == "2 hours"
    # Without the requirement the import fails, naming the package.
    missing = rest.post("/v1/tools/run", {"source_code": source, "source_type": "typescript",
                                          "json_schema": ts_schema("how_long", milliseconds="number"),
                                          "args": {"milliseconds": 1}})
    assert missing["status"] == "error" and "'ms'" in missing["func_return"], missing
    bad = rest.post("/v1/tools/run", {"source_code": source, "source_type": "typescript",
                                      "json_schema": ts_schema("how_long", milliseconds="number"),
                                      "args": {"milliseconds": 1},
                                      "npm_requirements": [{"name": "mnemo-no-such-package-xyz", "version": "1.0.0"}]})
    assert bad["status"] == "error" and "npm_requirements[0]" in bad["func_return"], bad
    assert "mnemo-no-such-package-xyz@1.0.0" in bad["func_return"]


def test_typescript_tool_errors(rest):
    schema = ts_schema("explode", n="number")
    source = "function helper(n: number): number {\n  throw new RangeError(`too big: ${n}`);\n}\n\n" \
             "export function explode(n: number): number {\n  return helper(n);\n}\n"
    result = rest.post("/v1/tools/run", {"source_code": source, "source_type": "typescript", "json_schema": schema,
                                         "args": {"n": 7}})
    assert result["status"] == "error"
    assert result["func_return"] == "Error executing function explode: RangeError: too big: 7"
    # The traceback points at the TypeScript source's lines.
    assert 'File "<tool explode>", line 2, in helper' in result["stderr"][-1], result


def test_typescript_tool_is_checked_when_saved(rest):
    name = f"ts_{uid()}"
    source = f"export function {name}(x: string): string {{ return x; }}\n"
    rest.post("/v1/tools", {"source_code": source, "source_type": "typescript"}, expect=400, contains="json_schema")
    rest.post("/v1/tools", {"source_code": f"export function {name}(x: string): string {{ return x +; }}\n",
                            "source_type": "typescript", "json_schema": ts_schema(name, x="string")},
              expect=400, contains="source_code: SyntaxError: line 1")
    rest.post("/v1/tools", {"source_code": source.replace(name, "other"), "source_type": "typescript",
                            "json_schema": ts_schema(name, x="string")}, expect=400, contains=name)
    rest.post("/v1/tools", {"source_code": source, "source_type": "typescript", "json_schema": ts_schema(name, x="string"),
                            "pip_requirements": [{"name": "rich"}]}, expect=400, contains="pip_requirements")
    tool = rest.post("/v1/tools", {"source_code": source, "source_type": "typescript",
                                   "json_schema": ts_schema(name, x="string"),
                                   "npm_requirements": [{"name": "ms", "version": "^2.1"}]})
    assert tool["source_type"] == "typescript" and tool["npm_requirements"] == [{"name": "ms", "version": "^2.1"}]
    # An update of the source alone keeps the schema, and is compiled too.
    changed = rest.patch(f"/v1/tools/{tool['id']}", {"source_code": source.replace("return x", "return x + x")})
    assert changed["json_schema"]["name"] == name
    rest.patch(f"/v1/tools/{tool['id']}", {"source_code": "export const nothing = 1;\n"}, expect=400,
               contains="source_code")
    rest.post("/v1/tools", {"source_code": source, "source_type": "typescript", "json_schema": ts_schema(name, x="string"),
                            "npm_requirements": [{"name": "ms", "version": "git+https://evil.example/ms.git"}]},
              expect=400, contains="npm_requirements[0].version")


def test_typescript_tool_timeout(rest):
    source = "export function spin(): number {\n  for (;;) {}\n}\n"
    result = rest.post("/v1/tools/run", {"source_code": source, "source_type": "typescript",
                                         "json_schema": ts_schema("spin"), "args": {}, "timeout_seconds": 2})
    assert result["status"] == "error"
    assert result["func_return"] == "Error executing function spin: TimeoutError: spin timed out after 2s"


def test_typescript_tool_memory_limit(rest):
    source = "export function hog(): number {\n  const keep: number[][] = [];\n" \
             "  for (;;) keep.push(new Array(1_000_000).fill(7));\n}\n"
    result = rest.post("/v1/tools/run", {"source_code": source, "source_type": "typescript",
                                         "json_schema": ts_schema("hog"), "args": {}})
    assert result["status"] == "error"
    assert result["func_return"].startswith("Error executing function hog: MemoryError: hog exceeded the memory "
                                            "limit"), result


def test_pooled_sandboxes_with_packages_are_capped():
    """Sandboxes with a tool's packages mounted are kept ready for the few
    most recently used requirement sets only, not one pool per set; a pooled
    one has its set mounted."""
    import asyncio
    import shutil
    import tempfile

    from mnemo_server.sandbox import process

    python = process.sandbox_python()
    limits = process.default_limits()
    root = Path(tempfile.mkdtemp(prefix="mnemo-pool-test-", dir="/tmp"))
    root.chmod(0o755)
    keys = []
    for i in range(process.MAX_POOLED_PACKAGE_SETS + 2):
        folder = root / f"set{i}"
        folder.mkdir(mode=0o755)
        (folder / "which_set.py").write_text(f"N = {i}\n")
        (folder / "which_set.py").chmod(0o644)
        keys.append(("python", python, process.sandbox_identity(), limits, "none", "",
                     ((str(folder), "/opt/mnemo/site-packages"),)))
    try:
        for key in keys:
            process._POOL.fill(key, 1)
        pooled = [k for k, idle in process._POOL._idle.items() if k in keys and idle]
        assert pooled == keys[-process.MAX_POOLED_PACKAGE_SETS:]
        child = process._POOL.take(keys[-1])
        assert child is not None
        payload = json.dumps({"source": "def f():\n    import which_set\n    return which_set.N\n", "function": "f",
                              "arguments": {}, "agent_state": None, "env": {},
                              "site_dirs": ["/opt/mnemo/site-packages"]}).encode()
        result = asyncio.run(process._execute(child, payload, limits, "f"))
        assert result.status == "success" and result.func_return == len(keys) - 1, result
    finally:
        for key in keys:
            for child in process._POOL._idle.pop(key, []):
                child.release()
            process._POOL._used.pop(key, None)
        shutil.rmtree(root, ignore_errors=True)


def test_a_source_distribution_never_runs_its_setup_py(tmp_path, monkeypatch):
    """An index offering only a source distribution whose build leaves a mark:
    a plain pip install runs it, Mnemo's install refuses it (wheels only), the
    mark is never made, and the error names the requirement."""
    import asyncio
    import io
    import tarfile

    from mnemo_server.sandbox.packages import RequirementError, ToolPackages, pip_specs
    from mnemo_server.sandbox.process import sandbox_python

    mark = tmp_path / "setup-py-ran"
    project = tmp_path / "index" / "mnemo-evil"
    project.mkdir(parents=True)
    # An in-tree build backend: without --only-binary, pip imports it (running its code) to build.
    files = {
        "mnemo_evil-1.0/pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "evil_backend"\n'
                                         'backend-path = ["."]\n',
        "mnemo_evil-1.0/evil_backend.py": f"open({str(mark)!r}, 'w').write('ran')\n",
        "mnemo_evil-1.0/PKG-INFO": "Metadata-Version: 2.1\nName: mnemo-evil\nVersion: 1.0\n",
    }
    with tarfile.open(project / "mnemo_evil-1.0.tar.gz", "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (project / "index.html").write_text('<a href="mnemo_evil-1.0.tar.gz">mnemo_evil-1.0.tar.gz</a>')
    monkeypatch.setenv("PIP_INDEX_URL", (tmp_path / "index").as_uri())
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "pip", "install", "--target", str(tmp_path / "plain"), "--no-deps",
                    "mnemo-evil==1.0"], capture_output=True, timeout=120)
    assert mark.exists()  # the attack works on a plain install
    mark.unlink()
    packages = ToolPackages(tmp_path / "cache")
    with pytest.raises(RequirementError) as caught:
        asyncio.run(packages.python_site(pip_specs([("mnemo-evil", "1.0")]), sandbox_python()))
    assert caught.value.field == "pip_requirements[0]"
    assert "'mnemo-evil==1.0'" in str(caught.value) and "wheels only" in str(caught.value)
    assert not mark.exists()
    assert list((tmp_path / "cache" / "pip").iterdir()) == []
