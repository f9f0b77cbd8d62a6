"""The Letta conformance table (docs/letta-compatibility.md) cannot lie: it is
regenerated from the seeds' API reference and the gateway descriptor, and every
route it calls served is called through the real Envoy."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import letta_compat  # noqa: E402

ROWS = letta_compat.committed_rows()
SERVED = [(m, p, rpc) for m, p, status, rpc in ROWS if status == letta_compat.SERVED]


def test_table_matches_the_seeds_and_the_gateway():
    if not letta_compat.DEFAULT_SEEDS.exists():
        pytest.skip(f"the seeds' reference is not at {letta_compat.DEFAULT_SEEDS}")
    expected = letta_compat.render(letta_compat.seed_routes(letta_compat.DEFAULT_SEEDS),
                                   letta_compat.gateway_routes())
    assert letta_compat.TABLE.read_text() == expected, "stale: run 'python scripts/letta_compat.py'"


def test_every_served_row_names_the_rpc_the_gateway_routes():
    routed = letta_compat.gateway_routes()
    assert len(SERVED) >= 66
    for method, path, rpc in SERVED:
        assert routed.get((method, letta_compat.normalize(path))) == rpc, (method, path)


@pytest.mark.parametrize(("method", "path", "rpc"), SERVED, ids=[f"{m} {p}" for m, p, _ in SERVED])
def test_served_route_reaches_its_rpc_through_envoy(http, method, path, rpc):
    """With made-up ids and an empty body the call must reach Mnemo (a JSON
    answer from the RPC: success, or a 4xx naming what is wrong), never the
    gateway's 'could not resolve' and never a server error."""
    url = re.sub(r"\{[^}]*\}", "does-not-exist", path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    r = http.request(method, url, json=body, timeout=30)
    assert r.status_code < 500, (rpc, r.status_code, r.text[:300])
    assert "Could not resolve" not in r.text, (rpc, r.text[:300])
    if r.status_code >= 400:
        detail = r.json().get("detail")
        assert isinstance(detail, str) and detail, (rpc, r.text[:300])
