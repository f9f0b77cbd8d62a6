"""The schema the queries are written against (storage/schema.py) is exactly
what the migrations create: migrate a throwaway embedded PostgreSQL and let
Alembic's autogenerate compare the two."""
from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from mnemo_server.storage import schema
from mnemo_server.storage.database import EmbeddedPostgres, make_engine, migrate
from sqlalchemy import inspect, text

# Indexes the server creates at run time, not in a migration: one partial HNSW
# index per embedding dimension (storage/passages.py ensure_vector_index).
RUNTIME_INDEX_PREFIXES = ("passages_embedding_hnsw_",)


def _include_name(name, type_, parent_names) -> bool:
    # Alembic's own bookkeeping table is not part of the schema.
    if type_ == "table" and name == "alembic_version":
        return False
    return not (type_ == "index" and name and name.startswith(RUNTIME_INDEX_PREFIXES))


def _flatten(diffs: list) -> list:
    """compare_metadata nests column-level changes in lists; flatten them."""
    out = []
    for diff in diffs:
        out.extend(diff if isinstance(diff, list) else [diff])
    return out


@pytest.fixture(scope="module")
def migrated():
    """(diffs, table names, the reflected info) from a freshly migrated database."""
    data_dir = Path(tempfile.mkdtemp(prefix="mnemo-migrations-"))
    pg = EmbeddedPostgres(data_dir)
    try:
        url = pg.start()

        async def run():
            engine = make_engine(url, pool_size=2)
            try:
                await migrate(engine)
                await migrate(engine)  # a second run is a no-op

                def compare(sync_conn):
                    context = MigrationContext.configure(sync_conn, opts={
                        # No reflection noise to filter: Alembic's own default
                        # comparison (it asks PostgreSQL to evaluate both
                        # defaults) finds no spurious differences in this schema.
                        "compare_type": True, "compare_server_default": True,
                        "include_name": _include_name,
                    })
                    reflected = inspect(sync_conn)
                    return compare_metadata(context, schema.metadata), {
                        "tables": set(reflected.get_table_names()),
                        "checks": {t: reflected.get_check_constraints(t) for t in schema.metadata.tables},
                        "fks": {t: reflected.get_foreign_keys(t) for t in schema.metadata.tables},
                    }

                async with engine.connect() as conn:
                    diffs, info = await conn.run_sync(compare)
                    info["version"] = (await conn.execute(text("select version_num from alembic_version"))).scalar()
                return diffs, info
            finally:
                await engine.dispose()

        yield asyncio.run(run())
    finally:
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_migrations_create_exactly_the_schema(migrated):
    diffs, _ = migrated
    # Tables, columns, types, nullability, server defaults, indexes (including
    # the expression index), unique constraints and foreign keys all count.
    assert _flatten(diffs) == []


def test_every_table_is_migrated(migrated):
    _, info = migrated
    assert set(schema.metadata.tables) <= info["tables"]
    assert info["version"]


def test_constraints_autogenerate_does_not_compare(migrated):
    """Check constraints and foreign-key actions are not compared by Alembic;
    check the ones the code relies on by hand."""
    _, info = migrated
    checks = {c["name"]: c["sqltext"] for c in info["checks"]["blocks"]}
    assert "blocks_value_within_limit" in checks and "char_length" in checks["blocks_value_within_limit"]
    fk = {f["name"]: f for f in info["fks"]["agent_blocks"]}["agent_blocks_block_fkey"]
    assert fk["constrained_columns"] == ["block_id", "block_label"]
    assert fk["referred_columns"] == ["id", "label"]
    assert fk["options"].get("onupdate") == "CASCADE" and fk["options"].get("ondelete") == "CASCADE"
    for table in schema.metadata.tables.values():
        for constraint in table.foreign_keys:
            reflected = [f for f in info["fks"][table.name] if constraint.parent.name in f["constrained_columns"]]
            assert reflected, f"{table.name}.{constraint.parent.name} has no foreign key in the database"
            wanted = (constraint.ondelete or "NO ACTION").upper()
            assert (reflected[0]["options"].get("ondelete") or "NO ACTION").upper() == wanted, table.name


def test_offline_model_configurations_take_letta_vocabulary():
    """Migration 0006: agents stored with the former endpoint type "mnemo" (a
    value the official SDKs refuse) are rewritten; others are left alone."""
    from mnemo_server.storage.database import _upgrade

    data_dir = Path(tempfile.mkdtemp(prefix="mnemo-migrations-"))
    pg = EmbeddedPostgres(data_dir)
    try:
        url = pg.start()

        async def run():
            engine = make_engine(url, pool_size=1)
            try:
                sync_url = engine.url.render_as_string(hide_password=False)
                await asyncio.to_thread(_upgrade, sync_url, "0005")
                async with engine.begin() as conn:
                    for agent_id, llm, emb in (
                        ("agent-old", '{"model": "offline-dev", "model_endpoint_type": "mnemo", '
                                      '"provider_name": "mnemo", "context_window": 32000}',
                         '{"embedding_model": "all-minilm-l6-v2", "embedding_endpoint_type": "mnemo", '
                         '"handle": "mnemo/all-minilm-l6-v2", "embedding_dim": 384}'),
                        ("agent-openai", '{"model": "gpt-4o", "model_endpoint_type": "openai", '
                                         '"provider_name": "openai", "context_window": 32000}', None),
                    ):
                        await conn.execute(text(
                            "INSERT INTO agents (id, name, agent_type, system, llm_config, embedding_config) "
                            "VALUES (:id, :id, 'letta_v1_agent', '', CAST(:llm AS jsonb), CAST(:emb AS jsonb))"),
                            {"id": agent_id, "llm": llm, "emb": emb})
                await migrate(engine)
                async with engine.connect() as conn:
                    rows = (await conn.execute(text(
                        "SELECT id, llm_config, embedding_config FROM agents ORDER BY id"))).all()
                return {r.id: (r.llm_config, r.embedding_config) for r in rows}
            finally:
                await engine.dispose()

        agents = asyncio.run(run())
    finally:
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    llm, emb = agents["agent-old"]
    assert llm["model_endpoint_type"] == "openai" and llm["provider_name"] == "mnemo"
    assert llm["model"] == "offline-dev" and llm["context_window"] == 32000
    assert emb["embedding_endpoint_type"] == "hugging-face" and emb["embedding_dim"] == 384
    llm, emb = agents["agent-openai"]
    assert llm["model_endpoint_type"] == "openai" and llm["provider_name"] == "openai" and emb is None


def test_duplicate_otids_keep_their_first_message_only():
    """Migration 0008: before it, a client retry could store one otid twice for
    an agent; the first message keeps it, later ones lose it (and nothing else),
    so the unique index can be built."""
    from mnemo_server.storage.database import _upgrade

    data_dir = Path(tempfile.mkdtemp(prefix="mnemo-migrations-"))
    pg = EmbeddedPostgres(data_dir)
    try:
        url = pg.start()

        async def run():
            engine = make_engine(url, pool_size=1)
            try:
                await asyncio.to_thread(_upgrade, engine.url.render_as_string(hide_password=False), "0007")
                async with engine.begin() as conn:
                    for agent_id in ("agent-a", "agent-b"):
                        await conn.execute(text(
                            "INSERT INTO agents (id, name, agent_type, system, llm_config) "
                            "VALUES (:id, :id, 'letta_v1_agent', '', '{}'::jsonb)"), {"id": agent_id})
                    for message_id, agent_id, otid in (("m1", "agent-a", "x"), ("m2", "agent-a", "x"),
                                                       ("m3", "agent-a", "x"), ("m4", "agent-b", "x"),
                                                       ("m5", "agent-a", None), ("m6", "agent-a", None)):
                        await conn.execute(text(
                            "INSERT INTO messages (id, agent_id, role, otid) VALUES (:id, :agent, 'user', :otid)"),
                            {"id": message_id, "agent": agent_id, "otid": otid})
                await migrate(engine)
                async with engine.connect() as conn:
                    rows = (await conn.execute(text("SELECT id, otid FROM messages ORDER BY seq"))).all()
                    with pytest.raises(Exception, match="messages_agent_otid"):
                        await conn.execute(text(
                            "INSERT INTO messages (id, agent_id, role, otid) VALUES ('m7', 'agent-b', 'user', 'x')"))
                return [tuple(r) for r in rows]
            finally:
                await engine.dispose()

        rows = asyncio.run(run())
    finally:
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    assert rows == [("m1", "x"), ("m2", None), ("m3", None), ("m4", "x"), ("m5", None), ("m6", None)]
