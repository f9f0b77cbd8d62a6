"""The REST surface's OpenAPI document: generated from proto/ by
scripts/openapi.py (drift-checked with the rest of the generated code), served
by the gateway at /openapi.json and rendered at /docs. tests/test_fuzz.py
fuzzes the surface against it."""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "gateway" / "gen" / "openapi.json"


def test_document_is_served_and_matches_the_generated_file(http):
    r = http.get("/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    served = r.json()
    assert served == json.loads(DOCUMENT.read_text())
    assert served["openapi"] == "3.1.0"
    docs = http.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in docs.text


def test_document_describes_the_gateway_shapes():
    doc = json.loads(DOCUMENT.read_text())
    paths = doc["paths"]
    # Every RPC with a REST binding is an operation, named after its gRPC method.
    methods = {op["x-grpc-method"] for item in paths.values() for op in item.values()}
    assert "/mnemo.v1.AgentService/CreateAgent" in methods and "/mnemo.v1.RunService/StreamRun" in methods
    # Lists are bare arrays and counts bare numbers (the gateway unwraps response_body).
    agents = paths["/v1/agents"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert agents["type"] == "array" and agents["items"] == {"$ref": "#/components/schemas/Agent"}
    count = paths["/v1/agents/count"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert count["type"] == "integer"
    # Streams are server-sent events; /messages answers either way.
    stream = paths["/v1/agents/{agent_id}/messages/stream"]["post"]["responses"]["200"]["content"]
    assert list(stream) == ["text/event-stream"]
    assert set(paths["/v1/agents/{agent_id}/messages"]["post"]["responses"]["200"]["content"]) == {
        "application/json", "text/event-stream"}
    # Errors carry Letta's "detail"; comments of the proto become descriptions.
    assert doc["components"]["schemas"]["Error"]["required"] == ["detail"]
    assert "detail" in doc["components"]["schemas"]["Error"]["properties"]
    assert paths["/v1/agents"]["post"]["description"]
    # Path parameters are required and typed from the request message.
    params = paths["/v1/agents/{agent_id}"]["get"]["parameters"]
    assert params[0] == {"name": "agent_id", "in": "path", "required": True, "schema": {"type": "string"}}
