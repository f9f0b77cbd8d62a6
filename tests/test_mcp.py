"""MCP tool servers: the registry (both REST shapes and letta-client's
`mcp_servers`), discovery, attaching their tools to agents and calling them
through the agent loop (the model is the scripted fake), and the failures.

The MCP servers are real, written with the official SDK (tests/mcp_servers.py):
a stdio server Mnemo starts in its sandbox, and Streamable HTTP (stateless,
2026-07-28), Streamable HTTP (session mode, 2025-11-25) and legacy SSE servers
in threads of this process. Mnemo reaches them on loopback because the test
server allows it (MNEMO_MCP_ALLOW); by default loopback is refused."""
from __future__ import annotations

import json
import shutil
import time

import pytest
from letta_client import Letta

from tests.fakes.fake_llm import Reply, ToolCall
from tests.harness import make_stack
from tests.mcp_servers import SITE_PACKAGES, STDIO_SOURCE, HangingServer, HttpServer
from tests.util import uid


@pytest.fixture(scope="module")
def mcp_stack(fake_llm, tmp_path_factory):
    config = tmp_path_factory.mktemp("mcp") / "mcp_config.json"
    config.write_text(json.dumps({"mcpServers": {
        "from-file": {"command": "/usr/bin/python3", "args": ["-c", STDIO_SOURCE],
                      "env": {"PYTHONPATH": SITE_PACKAGES}},
        "broken-entry": {"command": "/no/such/command"},
    }}))
    running = make_stack(llm_base_url=fake_llm.base_url, extra_env={
        "MNEMO_MCP_CONFIG": str(config),
        "MNEMO_MCP_ALLOW": "127.0.0.1/32",
        "MNEMO_MCP_STDIO_BINDS": SITE_PACKAGES,
        "MNEMO_MCP_TIMEOUT_S": "5",
        "MNEMO_MCP_CONNECT_TIMEOUT_S": "8",
        "MNEMO_MCP_MAX_RESULT_CHARS": "100000",
    }).start()
    yield running
    running.stop()
    shutil.rmtree(running.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def rest(mcp_stack):
    with mcp_stack.http() as client:
        yield client


@pytest.fixture(scope="module")
def servers():
    started = {mode: HttpServer(mode).start() for mode in ("stateless", "session", "sse")}
    yield started
    for server in started.values():
        server.stop()


def stdio_config(**env) -> dict:
    return {"mcp_server_type": "stdio", "command": "/usr/bin/python3", "args": ["-c", STDIO_SOURCE],
            "env": {"PYTHONPATH": SITE_PACKAGES, **env}}


def remote_config(server: HttpServer) -> dict:
    return {"mcp_server_type": "sse" if server.mode == "sse" else "streamable_http", "server_url": server.url}


def tool_return(response: dict, index: int = 0) -> dict:
    return [m for m in response["messages"] if m["message_type"] == "tool_return_message"][index]


EXPECTED_TOOLS = {"add", "echo", "weather", "fail", "slow", "big", "env", "whoami", "crash", "picture", "drop_tool"}


@pytest.mark.parametrize("kind, revision", [("stdio", "2026-07-28"), ("stateless", "2026-07-28"),
                                            ("session", "2025-11-25"), ("sse", "2025-11-25")])
def test_each_kind_is_discovered_attached_and_called_by_an_agent(rest, servers, fake_llm, kind, revision):
    name = f"{kind}-{uid()}"
    config = stdio_config() if kind == "stdio" else remote_config(servers[kind])
    r = rest.post("/v1/mcp-servers", json={"server_name": name, "config": config})
    assert r.status_code == 200, r.text
    server = r.json()
    assert server["mcp_server_type"] == ("streamable_http" if kind in ("stateless", "session") else kind)
    assert server["protocol_version"] == revision

    # The connection test reports the negotiated revision.
    test = rest.post(f"/v1/mcp-servers/{server['id']}/test").json()
    assert test["status"] == "success" and test["protocol_version"] == revision
    assert {t["name"] for t in test["tools"]} == EXPECTED_TOOLS

    tools = rest.get(f"/v1/mcp-servers/{server['id']}/tools").json()
    by_mcp_name = {t["metadata_"]["mcp"]["tool_name"]: t for t in tools}
    assert set(by_mcp_name) == EXPECTED_TOOLS
    add = by_mcp_name["add"]
    assert add["tool_type"] == "external_mcp"
    assert add["json_schema"]["parameters"]["required"] == ["a", "b"]
    assert add["metadata_"]["mcp"]["server_id"] == server["id"]

    model = f"m-{uid()}"
    agent = rest.post("/v1/agents", json={
        "model": f"openai/{model}", "tool_ids": [add["id"], by_mcp_name["weather"]["id"], by_mcp_name["fail"]["id"]],
    }).json()
    fake_llm.script(
        Reply(tool_calls=[ToolCall(add["name"], {"a": 2, "b": 40})]),
        Reply(tool_calls=[ToolCall(by_mcp_name["weather"]["name"], {"city": "Oslo"})]),
        Reply(tool_calls=[ToolCall(by_mcp_name["fail"]["name"], {"reason": "no"})]),
        Reply(tool_calls=[ToolCall(add["name"], {"a": "two", "b": 1})]),
        Reply(text="Done."),
        model=model,
    )
    r = rest.post(f"/v1/agents/{agent['id']}/messages", json={"input": "use the tools"}, timeout=60).json()
    assert tool_return(r, 0)["status"] == "success" and tool_return(r, 0)["tool_return"] == "42"
    weather = tool_return(r, 1)
    assert weather["status"] == "success" and json.loads(weather["tool_return"]) == {"city": "Oslo",
                                                                                    "temperature_c": 21}
    failed = tool_return(r, 2)
    assert failed["status"] == "error" and "refused: no" in failed["tool_return"]
    assert name in failed["tool_return"]
    # Arguments are checked against the tool's schema before the server is called.
    bad = tool_return(r, 3)
    assert bad["status"] == "error" and "do not match its schema" in bad["tool_return"]
    assert r["messages"][-1]["content"] == "Done."
    # The model saw the MCP tool's schema as it was given.
    sent = next(r for r in fake_llm.requests if r.model == model).body.get("tools")
    if sent:
        spec = next(t for t in sent if t["function"]["name"] == add["name"])
        assert spec["function"]["parameters"]["properties"]["a"]["type"] == "integer"
    rest.delete(f"/v1/mcp-servers/{server['id']}")


def test_stdio_server_runs_in_the_sandbox_with_only_its_env(rest, fake_llm):
    r = rest.post("/v1/mcp-servers", json={"server_name": f"box-{uid()}", "config": stdio_config(API_KEY="k-123")})
    server = r.json()
    # Secrets are never returned.
    assert server["env"] == {"PYTHONPATH": "<redacted>", "API_KEY": "<redacted>"}
    assert "k-123" not in r.text
    tools = {t["metadata_"]["mcp"]["tool_name"]: t for t in rest.get(f"/v1/mcp-servers/{server['id']}/tools").json()}
    run = rest.post(f"/v1/mcp-servers/{server['id']}/tools/{tools['whoami']['id']}/run", json={"args": {}}).json()
    assert run["status"] == "success", run
    seen = json.loads(run["func_return"])
    # Its own PID namespace, not root, not the host's files.
    assert seen["pid"] < 10 and seen["uid"] != 0 and seen["root_visible"] is False and seen["home"] == "/tmp"
    env = tools["env"]["id"]
    run = lambda var: rest.post(f"/v1/mcp-servers/{server['id']}/tools/{env}/run",  # noqa: E731
                                json={"args": {"name": var}}).json()["func_return"]
    assert run("API_KEY") == "k-123"
    assert run("MNEMO_MCP_ALLOW") == "<unset>" and run("OPENAI_API_KEY") == "<unset>" and run("USER") == "<unset>"
    # An update sending the redacted value back keeps the secret.
    updated = rest.patch(f"/v1/mcp-servers/{server['id']}", json={"config": {
        "mcp_server_type": "stdio", "env": {"PYTHONPATH": "<redacted>", "API_KEY": "<redacted>", "MORE": "m"}}})
    assert updated.status_code == 200, updated.text
    assert run("API_KEY") == "k-123" and run("MORE") == "m"
    # A crash: the call fails with a clear error, the next call starts the server again.
    crash = rest.post(f"/v1/mcp-servers/{server['id']}/tools/{tools['crash']['id']}/run", json={"args": {}}).json()
    assert crash["status"] == "error" and server["server_name"] in crash["func_return"]
    assert run("MORE") == "m"
    rest.delete(f"/v1/mcp-servers/{server['id']}")


def test_failures_are_clear_and_never_hang_a_turn(rest, servers, fake_llm):
    # Unreachable: refused at once, the server named.
    r = rest.post("/v1/mcp-servers/test", json={"server_name": "gone", "mcp_server_type": "streamable_http",
                                                "server_url": "http://127.0.0.1:9/mcp"}).json()
    assert r["status"] == "error" and "'gone'" in r["error"]
    # Hanging discovery: ends at the connect deadline.
    hanging = HangingServer().start()
    try:
        started = time.monotonic()
        r = rest.post("/v1/mcp-servers/test", json={"server_name": "hangs", "server_url": hanging.url}).json()
        assert r["status"] == "error" and "'hangs'" in r["error"] and time.monotonic() - started < 20
    finally:
        hanging.stop()
    # A command that is not executable.
    r = rest.post("/v1/mcp-servers", json={"server_name": f"x-{uid()}",
                                           "config": {"mcp_server_type": "stdio", "command": "/etc/passwd"}})
    assert r.status_code == 400 and "config.command" in r.text
    # Duplicate names.
    name = f"dup-{uid()}"
    assert rest.post("/v1/mcp-servers", json={"server_name": name, "config": remote_config(servers["stateless"])}
                     ).status_code == 200
    r = rest.post("/v1/mcp-servers", json={"server_name": name, "config": remote_config(servers["stateless"])})
    assert r.status_code == 409 and name in r.text
    server = next(s for s in rest.get("/v1/mcp-servers").json() if s["server_name"] == name)
    tools = {t["metadata_"]["mcp"]["tool_name"]: t for t in rest.get(f"/v1/mcp-servers/{server['id']}/tools").json()}

    # A slow tool: the call ends at MNEMO_MCP_TIMEOUT_S (5 s) with a tool error the model sees.
    # An oversize result is cut. A tool that vanished after discovery: a clear error.
    model = f"m-{uid()}"
    agent = rest.post("/v1/agents", json={"model": f"openai/{model}", "tool_ids": [
        tools["slow"]["id"], tools["big"]["id"], tools["drop_tool"]["id"], tools["echo"]["id"]]}).json()
    fake_llm.script(
        Reply(tool_calls=[ToolCall(tools["slow"]["name"], {"seconds": 60})]),
        Reply(tool_calls=[ToolCall(tools["big"]["name"], {"n": 300000})]),
        Reply(tool_calls=[ToolCall(tools["drop_tool"]["name"], {"name": "echo"})]),
        Reply(tool_calls=[ToolCall(tools["echo"]["name"], {"text": "still there?"})]),
        Reply(text="ok"),
        model=model,
    )
    started = time.monotonic()
    r = rest.post(f"/v1/agents/{agent['id']}/messages", json={"input": "go"}, timeout=120).json()
    assert time.monotonic() - started < 40
    slow = tool_return(r, 0)
    assert slow["status"] == "error" and "slow" in slow["tool_return"] and name in slow["tool_return"]
    big = tool_return(r, 1)
    assert big["status"] == "success" and len(big["tool_return"]) < 60000 and "cut" in big["tool_return"]
    vanished = tool_return(r, 3)
    assert vanished["status"] == "error" and "echo" in vanished["tool_return"]
    assert r["messages"][-1]["content"] == "ok"
    # The server said its tools changed (subscriptions/listen, 2026-07-28): Mnemo deleted the
    # vanished tool (and detached it) without being asked to refresh.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        names = {t["name"] for t in rest.get(f"/v1/mcp-servers/{server['id']}/tools").json()}
        if tools["echo"]["name"] not in names:
            break
        time.sleep(0.3)
    assert tools["echo"]["name"] not in names and tools["add"]["name"] in names
    attached = {t["name"] for t in rest.get(f"/v1/agents/{agent['id']}/tools").json()}
    assert tools["echo"]["name"] not in attached
    assert rest.patch(f"/v1/mcp-servers/{server['id']}/refresh").json()["deleted"] == []
    rest.delete(f"/v1/mcp-servers/{server['id']}")


def test_malformed_schema_is_left_out_with_a_reason(rest):
    bad = HttpServer("stateless", malformed=True).start()
    try:
        server = rest.post("/v1/mcp-servers", json={"server_name": f"bad-{uid()}", "config": remote_config(bad)}).json()
        names = {t["metadata_"]["mcp"]["tool_name"] for t in rest.get(f"/v1/mcp-servers/{server['id']}/tools").json()}
        assert "echo" not in names and "add" in names
        r = rest.post(f"/v1/tools/mcp/servers/{server['server_name']}/echo")
        assert r.status_code == 400 and "echo" in r.text and "inputSchema" in r.text
        rest.delete(f"/v1/mcp-servers/{server['id']}")
    finally:
        bad.stop()


def test_loopback_is_refused_unless_allowed(stack, servers):
    """The session's default server has no MNEMO_MCP_ALLOW."""
    with stack.http() as plain:
        r = plain.post("/v1/mcp-servers", json={"server_name": f"lo-{uid()}", "config": remote_config(
            servers["stateless"])})
        assert r.status_code == 400 and "MNEMO_MCP_ALLOW" in r.text
        r = plain.post("/v1/mcp-servers/test", json={"server_url": "http://localhost:1/mcp"}).json()
        assert r["status"] == "error" and "MNEMO_MCP_ALLOW" in r["error"]


def test_the_older_by_name_routes(rest, servers, fake_llm):
    name = f"legacy-{uid()}"
    r = rest.put("/v1/tools/mcp/servers", json={"server_name": name, "server_url": servers["sse"].url,
                                                "type": "sse", "auth_token": "tok-secret"})
    assert r.status_code == 200, r.text
    assert any(s["server_name"] == name for s in r.json()) and "tok-secret" not in r.text
    listed = rest.get("/v1/tools/mcp/servers").json()
    assert listed[name]["mcp_server_type"] == "sse" and listed[name]["has_auth_token"] is True
    tools = rest.get(f"/v1/tools/mcp/servers/{name}/tools").json()
    add = next(t for t in tools if t["name"] == "add")
    assert add["inputSchema"]["properties"]["a"]["type"] == "integer"
    tool = rest.post(f"/v1/tools/mcp/servers/{name}/add").json()
    assert tool["tool_type"] == "external_mcp" and tool["json_schema"]["parameters"] == add["inputSchema"]
    # Adding it again returns the same tool.
    assert rest.post(f"/v1/tools/mcp/servers/{name}/add").json()["id"] == tool["id"]
    r = rest.post(f"/v1/tools/mcp/servers/{name}/nope")
    assert r.status_code == 404 and "nope" in r.text
    # Approvals apply to MCP tools.
    model = f"m-{uid()}"
    agent = rest.post("/v1/agents", json={"model": f"openai/{model}", "tool_ids": [tool["id"]], "tool_rules": [
        {"type": "requires_approval", "tool_name": tool["name"]}]}).json()
    fake_llm.script(Reply(tool_calls=[ToolCall(tool["name"], {"a": 1, "b": 2})]), Reply(text="3"), model=model)
    r = rest.post(f"/v1/agents/{agent['id']}/messages", json={"input": "add"}).json()
    assert r["stop_reason"]["stop_reason"] == "requires_approval"
    request_id = r["messages"][-1]["id"]
    r = rest.post(f"/v1/agents/{agent['id']}/messages", json={"messages": [
        {"type": "approval", "approval_request_id": request_id, "approve": True}]}).json()
    assert tool_return(r)["tool_return"] == "3"
    remaining = rest.delete(f"/v1/tools/mcp/servers/{name}").json()
    assert all(s["server_name"] != name for s in remaining)
    assert rest.get(f"/v1/tools/{tool['id']}").status_code == 404


def test_mcp_config_file_read_at_start(rest, mcp_stack):
    listed = rest.get("/v1/tools/mcp/servers").json()
    assert listed["from-file"]["mcp_server_type"] == "stdio" and "broken-entry" not in listed
    assert "broken-entry" in mcp_stack.log() and "/no/such/command" in mcp_stack.log()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tools = rest.get(f"/v1/mcp-servers/{listed['from-file']['id']}/tools").json()
        if tools:
            break
        time.sleep(0.5)
    assert "add" in {t["name"] for t in tools} or any(t["name"].endswith("__add") for t in tools)


def test_mcp_config_import(rest, servers):
    a, b = f"imp-a-{uid()}", f"imp-b-{uid()}"
    r = rest.post("/v1/mcp-servers/import", json={"mcpServers": {
        a: {"command": "/usr/bin/python3", "args": ["-c", STDIO_SOURCE], "env": {"PYTHONPATH": SITE_PACKAGES}},
        b: {"url": servers["sse"].url},
    }}).json()
    added = {s["server_name"]: s for s in r["added"]}
    assert added[a]["mcp_server_type"] == "stdio" and added[b]["mcp_server_type"] == "sse"
    again = rest.post("/v1/mcp-servers/import", json={"mcpServers": {a: {"command": "/usr/bin/python3"}}}).json()
    assert again["skipped"] == [a]
    for server in added.values():
        rest.delete(f"/v1/mcp-servers/{server['id']}")


def test_letta_client_mcp_servers(mcp_stack, servers, fake_llm):
    client = Letta(base_url=mcp_stack.http_base, max_retries=0, timeout=60)
    name = f"lc-{uid()}"
    created = client.mcp_servers.create(server_name=name, config={
        "mcp_server_type": "streamable_http", "server_url": servers["stateless"].url, "auth_token": "t0ken"})
    assert created.server_name == name and created.mcp_server_type == "streamable_http"
    assert created.auth_token is None
    assert any(s.id == created.id for s in client.mcp_servers.list())
    fetched = client.mcp_servers.retrieve(created.id)
    assert fetched.server_url == servers["stateless"].url
    updated = client.mcp_servers.update(created.id, config={"mcp_server_type": "streamable_http",
                                                            "server_url": servers["session"].url})
    assert updated.server_url == servers["session"].url
    client.mcp_servers.refresh(created.id)
    tools = client.mcp_servers.tools.list(created.id)
    add = next(t for t in tools if t.name.endswith("add"))
    assert add.tool_type == "external_mcp"
    assert client.mcp_servers.tools.retrieve(add.id, mcp_server_id=created.id).id == add.id
    result = client.mcp_servers.tools.run(add.id, mcp_server_id=created.id, args={"a": 20, "b": 22})
    assert result.status == "success" and result.func_return == "42"
    # The tool attached and called by an agent.
    model = f"m-{uid()}"
    agent = client.agents.create(model=f"openai/{model}", tool_ids=[add.id])
    fake_llm.script(Reply(tool_calls=[ToolCall(add.name, {"a": 1, "b": 1})]), Reply(text="two"), model=model)
    response = client.agents.messages.create(agent_id=agent.id, input="1+1?")
    returned = [m for m in response.messages if m.message_type == "tool_return_message"]
    assert returned[0].tool_return == "2"
    client.mcp_servers.delete(created.id)
    assert all(s.id != created.id for s in client.mcp_servers.list())


def test_same_tool_on_two_servers_gets_distinct_names(rest, servers):
    first = rest.post("/v1/mcp-servers", json={"server_name": f"one-{uid()}",
                                               "config": remote_config(servers["stateless"])}).json()
    second = rest.post("/v1/mcp-servers", json={"server_name": f"two-{uid()}",
                                                "config": remote_config(servers["session"])}).json()
    names = {}
    for server in (first, second):
        tools = rest.get(f"/v1/mcp-servers/{server['id']}/tools").json()
        names[server["id"]] = next(t["name"] for t in tools if t["metadata_"]["mcp"]["tool_name"] == "add")
    assert names[first["id"]] != names[second["id"]]
    assert names[second["id"]] in ("add", f"{second['server_name']}__add".replace(".", "_"))
    for server in (first, second):
        rest.delete(f"/v1/mcp-servers/{server['id']}")


def test_auth_token_and_headers_reach_the_server(rest):
    guarded = HttpServer("stateless", token="s3cret-token").start()
    keyed = HttpServer("sse", token="k-99", header="X-Api-Key").start()
    try:
        r = rest.post("/v1/mcp-servers/test", json={"server_name": "guarded", "server_url": guarded.url}).json()
        assert r["status"] == "error" and "'guarded'" in r["error"]
        r = rest.post("/v1/mcp-servers/test", json={"server_name": "guarded", "server_url": guarded.url,
                                                    "auth_token": "s3cret-token"}).json()
        assert r["status"] == "success", r
        server = rest.post("/v1/mcp-servers", json={"server_name": f"keyed-{uid()}", "config": {
            "mcp_server_type": "sse", "server_url": keyed.url, "auth_header": "X-Api-Key", "auth_token": "k-99",
            "custom_headers": {"X-Team": "blue"}}})
        assert server.status_code == 200 and "k-99" not in server.text
        server = server.json()
        assert server["custom_headers"] == {"X-Team": "<redacted>"} and server["has_auth_token"] is True
        assert server["protocol_version"] == "2025-11-25"
        assert any(h.get("x-team") == "blue" for h in keyed.seen_headers)
        rest.delete(f"/v1/mcp-servers/{server['id']}")
    finally:
        guarded.stop()
        keyed.stop()


def test_oauth_client_credentials(rest):
    """The SDK's client-credentials flow: a 401 names the protected resource metadata, which names
    the authorization server; Mnemo asks it for a token with the stored credentials and retries."""
    guarded = HttpServer("stateless", oauth=("mnemo-client", "cl-secret")).start()
    issuer = f"http://127.0.0.1:{guarded.port}/"
    try:
        config = {"mcp_server_type": "streamable_http", "server_url": guarded.url,
                  "oauth_client_id": "mnemo-client", "oauth_client_secret": "cl-secret", "oauth_issuer": issuer}
        r = rest.post("/v1/mcp-servers", json={"server_name": f"oauth-{uid()}", "config": config})
        assert r.status_code == 200 and "cl-secret" not in r.text
        server = r.json()
        assert server["oauth_client_id"] == "mnemo-client" and server["has_oauth_client_secret"] is True
        assert server["protocol_version"] == "2026-07-28" and guarded.issued
        tools = {t["metadata_"]["mcp"]["tool_name"]: t for t in rest.get(f"/v1/mcp-servers/{server['id']}/tools").json()}
        run = rest.post(f"/v1/mcp-servers/{server['id']}/tools/{tools['add']['id']}/run",
                        json={"args": {"a": 1, "b": 2}}).json()
        assert run == {"status": "success", "func_return": "3", "stdout": [], "stderr": []} or run["func_return"] == "3"
        # Wrong secret: a clear error naming the server.
        bad = rest.post("/v1/mcp-servers/test", json={**config, "server_name": "oauth-bad",
                                                     "oauth_client_secret": "nope"}).json()
        assert bad["status"] == "error" and "'oauth-bad'" in bad["error"] and "401" in bad["error"]
        # The issuer is required with client credentials.
        r = rest.post("/v1/mcp-servers/test", json={**config, "oauth_issuer": None})
        assert r.status_code == 400 and "oauth_issuer" in r.text
        rest.delete(f"/v1/mcp-servers/{server['id']}")
    finally:
        guarded.stop()


def test_a_server_that_stops_answering_never_holds_a_turn(rest, servers, fake_llm):
    server = rest.post("/v1/mcp-servers", json={"server_name": f"mute-{uid()}",
                                                "config": remote_config(servers["stateless"])}).json()
    add = next(t for t in rest.get(f"/v1/mcp-servers/{server['id']}/tools").json()
               if t["metadata_"]["mcp"]["tool_name"] == "add")
    hanging = HangingServer().start()
    try:
        # The server moves to an address that accepts connections and never answers.
        r = rest.patch(f"/v1/mcp-servers/{server['id']}", json={"config": {"server_url": hanging.url}})
        assert r.status_code == 200, r.text
        model = f"m-{uid()}"
        agent = rest.post("/v1/agents", json={"model": f"openai/{model}", "tool_ids": [add["id"]]}).json()
        fake_llm.script(Reply(tool_calls=[ToolCall(add["name"], {"a": 1, "b": 2})]), Reply(text="gave up"),
                        model=model)
        started = time.monotonic()
        r = rest.post(f"/v1/agents/{agent['id']}/messages", json={"input": "add"}, timeout=60).json()
        assert time.monotonic() - started < 25  # connecting: 8 s (MNEMO_MCP_CONNECT_TIMEOUT_S here)
        failed = tool_return(r)
        assert failed["status"] == "error" and server["server_name"] in failed["tool_return"]
        assert r["messages"][-1]["content"] == "gave up"
    finally:
        hanging.stop()
        rest.delete(f"/v1/mcp-servers/{server['id']}")
