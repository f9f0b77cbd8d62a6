"""MCP: the checks and conversions that need no server (address policy,
configurations, schemas, results, the endpoint's tool names)."""
from __future__ import annotations

import mcp_types as types
import pytest
from mnemo_server.core.mcp_servers import (
    REDACTED,
    argument_problem,
    schema_problem,
    server_type_of,
    server_values,
    spec_of,
)
from mnemo_server.errors import InvalidArgument
from mnemo_server.sandbox.mcp_connections import (
    check_url_syntax,
    forbidden_address,
    outcome_of,
    parse_allow,
    resolve_command,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.4", "172.16.0.1", "169.254.169.254",
                                     "100.64.0.1", "::1", "fe80::1", "fc00::5", "::ffff:127.0.0.1", "0.0.0.0",
                                     "224.0.0.1"])
def test_private_and_special_addresses_are_refused(address):
    assert forbidden_address(address, ())


def test_public_addresses_and_allowed_blocks_pass():
    assert not forbidden_address("8.8.8.8", ())
    assert not forbidden_address("2001:4860:4860::8888", ())
    allow = parse_allow(("127.0.0.1/32", "10.0.0.0/8"))
    assert not forbidden_address("127.0.0.1", allow) and not forbidden_address("10.9.9.9", allow)
    assert forbidden_address("127.0.0.2", allow)
    with pytest.raises(SystemExit, match="MNEMO_MCP_ALLOW"):
        parse_allow(("not-a-block",))


def test_url_syntax():
    assert check_url_syntax("https://example.com/mcp") is None
    assert "http" in check_url_syntax("file:///etc/passwd")
    assert "host" in check_url_syntax("http:///x")
    assert check_url_syntax("http://example.com:99999/") is not None


def test_server_types_are_inferred_or_refused():
    assert server_type_of({"command": "npx"}, "config") == "stdio"
    assert server_type_of({"server_url": "https://x.example/sse"}, "config") == "sse"
    assert server_type_of({"url": "https://x.example/mcp"}, "config") == "streamable_http"
    assert server_type_of({"type": "http"}, "config") == "streamable_http"
    with pytest.raises(InvalidArgument, match="config.mcp_server_type"):
        server_type_of({"type": "carrier-pigeon"}, "config")
    with pytest.raises(InvalidArgument, match="config.mcp_server_type"):
        server_type_of({}, "config")


def test_configurations_are_checked_field_by_field():
    with pytest.raises(InvalidArgument, match="config.command"):
        server_values({"command": "/etc/passwd"}, "config", server_type="stdio")
    with pytest.raises(InvalidArgument, match="config.args"):
        server_values({"command": "/usr/bin/env", "args": [1]}, "config", server_type="stdio")
    with pytest.raises(InvalidArgument, match="config.env.K"):
        server_values({"command": "/usr/bin/env", "env": {"K": 5}}, "config", server_type="stdio")
    with pytest.raises(InvalidArgument, match="config.server_url"):
        server_values({"server_url": "http://169.254.169.254/latest"}, "config", server_type="streamable_http")
    with pytest.raises(InvalidArgument, match="config.auth_header"):
        server_values({"server_url": "https://x.example/mcp", "auth_header": "Bad Header"}, "config",
                      server_type="streamable_http")
    assert resolve_command("python3") is not None and resolve_command("no-such-binary-here") is None


def test_secrets_redacted_values_keep_the_stored_ones():
    values, secrets = server_values({"command": "/usr/bin/env", "env": {"A": REDACTED, "B": "new"}}, "config",
                                    server_type="stdio", old_secrets={"env": {"A": "old-a", "C": "gone"}})
    assert secrets["env"] == {"A": "old-a", "B": "new"} and values["env_names"] == ["A", "B"]
    _, secrets = server_values({"server_url": "https://x.example/mcp", "auth_token": REDACTED}, "config",
                               server_type="streamable_http", old_secrets={"auth_token": "tok"})
    assert secrets["auth_token"] == "tok"


def test_the_token_becomes_a_bearer_header_unless_another_header_is_named():
    row = {"id": "s", "name": "n", "server_type": "streamable_http", "server_url": "https://x.example/mcp"}
    assert dict(spec_of(row, {"auth_token": "t"}).headers) == {"Authorization": "Bearer t"}
    assert dict(spec_of({**row, "auth_header": "X-Key"}, {"auth_token": "t"}).headers) == {"X-Key": "t"}
    assert dict(spec_of(row, {"auth_token": "Bearer t"}).headers) == {"Authorization": "Bearer t"}


def test_schemas_and_arguments():
    good = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    assert schema_problem(good) is None
    assert "valid JSON schema" in schema_problem({"type": "object", "properties": {"a": {"type": 12}}})
    assert "object" in schema_problem({"type": "string"})
    assert schema_problem([1]) is not None
    assert argument_problem(good, {"a": 1}) is None
    assert "'a' is a required property" in argument_problem(good, {})
    assert "at 'a'" in argument_problem(good, {"a": "x"})


def test_results_become_text_for_the_model():
    text = outcome_of(types.CallToolResult(content=[types.TextContent(type="text", text="hi")]), 100)
    assert text.text == "hi" and not text.is_error
    structured = outcome_of(types.CallToolResult(content=[], structured_content={"t": 21}), 100)
    assert structured.text == '{"t": 21}'
    error = outcome_of(types.CallToolResult(content=[types.TextContent(type="text", text="no")], is_error=True), 100)
    assert error.is_error and error.text == "no"
    image = outcome_of(types.CallToolResult(content=[types.ImageContent(type="image", data="AAAA",
                                                                        mime_type="image/png")]), 100)
    assert image.text.startswith("[image: image/png") and image.images[0]["mime_type"] == "image/png"
    big = outcome_of(types.CallToolResult(content=[types.TextContent(type="text", text="x" * 500)]), 100)
    assert len(big.text) < 200 and "500 characters" in big.text


def test_endpoint_tool_names_are_unique_per_agent():
    from mnemo.v1 import agents_pb2
    from mnemo_server.api.mcp_endpoint import tool_prefixes

    agents = [agents_pb2.Agent(id="agent-aaaaaaaa-1111", name="Helper Bot"),
              agents_pb2.Agent(id="agent-bbbbbbbb-2222", name="helper bot!"),
              agents_pb2.Agent(id="agent-cccccccc-3333", name="Solo")]
    prefixes = tool_prefixes(agents)
    assert len(prefixes) == 3 and "Solo" in prefixes
    assert all(len(p) <= 48 and p.replace("_", "").replace("-", "").isalnum() for p in prefixes)
