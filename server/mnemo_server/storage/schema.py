"""The database schema as SQLAlchemy Core tables, used to build queries.

Migrations in migrations/versions create exactly this schema; a test compares
the two so they cannot drift apart.
"""
from __future__ import annotations

from pgvector.sqlalchemy import VECTOR
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)

# The PostgreSQL ARRAY (not the generic one): it has overlap() and contains(),
# which the tag filters use.
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

metadata = MetaData()

TS = DateTime(timezone=True)


def _timestamps() -> list[Column]:
    return [
        Column("created_at", TS, nullable=False, server_default=text("now()")),
        Column("updated_at", TS, nullable=False, server_default=text("now()")),
    ]


agents = Table(
    "agents",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("agent_type", Text, nullable=False),
    Column("system", Text, nullable=False),
    Column("description", Text),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("tags", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("model", Text),
    Column("llm_config", JSONB, nullable=False),
    Column("embedding", Text),
    Column("embedding_config", JSONB),
    Column("model_settings", JSONB),
    Column("response_format", JSONB),
    Column("compaction_settings", JSONB),
    Column("tool_rules", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("message_ids", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("message_buffer_autoclear", Boolean, nullable=False, server_default=text("false")),
    Column("timezone", Text),
    Column("project_id", Text),
    Column("hidden", Boolean, nullable=False, server_default=text("false")),
    Column("enable_sleeptime", Boolean, nullable=False, server_default=text("false")),
    Column("last_stop_reason", Text),
    Column("last_run_completion", TS),
    Column("last_run_duration_ms", Integer),
    *_timestamps(),
    Column("message_count", BigInteger, nullable=False, server_default=text("0")),
    Column("active_run_id", Text),
    Column("active_owner", Text),
    # Which secrets each tool receives: {"tool name": ["SECRET", ...]}; a tool
    # not listed receives all of them. NULL: no tool is narrowed.
    Column("tool_secrets", JSONB),
    Index("agents_created_at_id", "created_at", "id"),
    Index("agents_updated_at_id", "updated_at", "id"),
    Index("agents_name", "name"),
    Index("agents_project_id", "project_id"),
    Index("agents_tags", "tags", postgresql_using="gin"),
)

blocks = Table(
    "blocks",
    metadata,
    Column("id", Text, primary_key=True),
    Column("label", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("limit", Integer, nullable=False),
    Column("description", Text),
    Column("read_only", Boolean, nullable=False, server_default=text("false")),
    Column("hidden", Boolean, nullable=False, server_default=text("false")),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("tags", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("project_id", Text),
    *_timestamps(),
    # (id, label) is the target of agent_blocks' foreign key, so a relabel
    # cascades into every agent's label index.
    UniqueConstraint("id", "label", name="blocks_id_label"),
    CheckConstraint('char_length(value) <= "limit"', name="blocks_value_within_limit"),
    Index("blocks_created_at_id", "created_at", "id"),
    Index("blocks_label", "label"),
)

# Which blocks an agent has, with the label copied in so that labels are unique
# per agent (enforced by the database, kept in step by ON UPDATE CASCADE).
agent_blocks = Table(
    "agent_blocks",
    metadata,
    Column("agent_id", Text, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("block_id", Text, nullable=False),
    Column("block_label", Text, nullable=False),
    Column("attached_at", TS, nullable=False, server_default=text("clock_timestamp()")),
    PrimaryKeyConstraint("agent_id", "block_id", name="agent_blocks_pkey"),
    UniqueConstraint("agent_id", "block_label", name="agent_blocks_agent_label"),
    ForeignKeyConstraint(
        ["block_id", "block_label"],
        ["blocks.id", "blocks.label"],
        name="agent_blocks_block_fkey",
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
    Index("agent_blocks_block_id", "block_id"),
)

# MCP servers (core/mcp_servers.py). Secrets (env values, token, header values)
# are one encrypted JSON object; only their names are readable.
mcp_servers = Table(
    "mcp_servers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("server_type", Text, nullable=False),
    Column("command", Text),
    Column("args", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("server_url", Text),
    Column("auth_header", Text),
    Column("secrets_encrypted", LargeBinary),
    Column("env_names", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("header_names", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("has_auth_token", Boolean, nullable=False, server_default=text("false")),
    Column("oauth", JSONB),
    Column("protocol_version", Text),
    Column("last_error", Text),
    *_timestamps(),
    Index("mcp_servers_created_at_id", "created_at", "id"),
)

tools = Table(
    "tools",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("description", Text),
    Column("tool_type", Text, nullable=False),
    Column("source_type", Text),
    Column("source_code", Text),
    Column("json_schema", JSONB, nullable=False),
    Column("args_json_schema", JSONB),
    Column("tags", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("return_char_limit", Integer, nullable=False),
    Column("pip_requirements", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("npm_requirements", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("default_requires_approval", Boolean, nullable=False, server_default=text("false")),
    Column("enable_parallel_execution", Boolean, nullable=False, server_default=text("false")),
    Column("project_id", Text),
    # A tool of type external_mcp: the MCP server that runs it.
    Column("mcp_server_id", Text, ForeignKey("mcp_servers.id", ondelete="CASCADE")),
    *_timestamps(),
    Index("tools_created_at_id", "created_at", "id"),
    Index("tools_mcp_server_id", "mcp_server_id", postgresql_where=text("mcp_server_id IS NOT NULL")),
)

agent_tools = Table(
    "agent_tools",
    metadata,
    Column("agent_id", Text, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("tool_id", Text, ForeignKey("tools.id", ondelete="CASCADE"), nullable=False),
    Column("attached_at", TS, nullable=False, server_default=text("clock_timestamp()")),
    PrimaryKeyConstraint("agent_id", "tool_id", name="agent_tools_pkey"),
    Index("agent_tools_tool_id", "tool_id"),
)

# Secrets for an agent's tools, encrypted with the server's key (Fernet).
agent_secrets = Table(
    "agent_secrets",
    metadata,
    Column("agent_id", Text, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("key", Text, nullable=False),
    Column("value_encrypted", LargeBinary, nullable=False),
    Column("description", Text),
    PrimaryKeyConstraint("agent_id", "key", name="agent_secrets_pkey"),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Text, primary_key=True),
    Column("identifier_key", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("identity_type", Text, nullable=False),
    Column("project_id", Text),
    Column("properties", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    *_timestamps(),
    Index("identities_created_at_id", "created_at", "id"),
    Index(
        "identities_project_key",
        text("coalesce(project_id, '')"),
        "identifier_key",
        unique=True,
    ),
)

identity_agents = Table(
    "identity_agents",
    metadata,
    Column("identity_id", Text, ForeignKey("identities.id", ondelete="CASCADE"), nullable=False),
    Column("agent_id", Text, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("identity_id", "agent_id", name="identity_agents_pkey"),
    Index("identity_agents_agent_id", "agent_id"),
)

identity_blocks = Table(
    "identity_blocks",
    metadata,
    Column("identity_id", Text, ForeignKey("identities.id", ondelete="CASCADE"), nullable=False),
    Column("block_id", Text, ForeignKey("blocks.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("identity_id", "block_id", name="identity_blocks_pkey"),
    Index("identity_blocks_block_id", "block_id"),
)

# Every message ever exchanged (recall memory). `seq` is a global, monotonic
# order (an input stored with its run gets a new seq when the run processes it,
# so history is in processing order); `text` is the plain text used for search.
messages = Table(
    "messages",
    metadata,
    Column("id", Text, primary_key=True),
    Column("agent_id", Text, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("role", Text, nullable=False),
    Column("content", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("text", Text, nullable=False, server_default=text("''")),
    Column("name", Text),
    Column("tool_calls", JSONB),
    Column("tool_call_id", Text),
    Column("tool_returns", JSONB),
    Column("step_id", Text),
    Column("run_id", Text),
    Column("otid", Text),
    Column("sender_id", Text),
    Column("model", Text),
    Column("is_err", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", TS, nullable=False, server_default=text("now()")),
    Index("messages_seq", "seq", unique=True),
    Index("messages_agent_seq", "agent_id", "seq"),
    Index("messages_run_id", "run_id"),
    # One message per otid and agent: a retried send is recognised (core/runs.py).
    # (Partial: the agent's own messages have none, and need no index entry.)
    Index("messages_agent_otid", "agent_id", "otid", unique=True, postgresql_where=text("otid IS NOT NULL")),
    # Full-text search for conversation_search (storage/messages.py MESSAGE_TSV
    # is the same expression).
    Index("messages_text_fts", text("to_tsvector('english'::regconfig, left(text, 100000))"),
          postgresql_using="gin"),
)

# One row per model call of the agent loop.
steps = Table(
    "steps",
    metadata,
    Column("id", Text, primary_key=True),
    Column("agent_id", Text, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("run_id", Text),
    Column("status", Text, nullable=False),
    Column("stop_reason", Text),
    Column("provider", Text),
    Column("model", Text),
    Column("model_handle", Text),
    Column("context_window_limit", Integer),
    Column("prompt_tokens", Integer, nullable=False, server_default=text("0")),
    Column("completion_tokens", Integer, nullable=False, server_default=text("0")),
    Column("total_tokens", Integer, nullable=False, server_default=text("0")),
    Column("cached_input_tokens", Integer, nullable=False, server_default=text("0")),
    Column("reasoning_tokens", Integer, nullable=False, server_default=text("0")),
    Column("llm_ms", Double),
    Column("tool_ms", Double),
    Column("step_ms", Double),
    Column("error_type", Text),
    Column("error_data", JSONB),
    Column("created_at", TS, nullable=False, server_default=text("now()")),
    Index("steps_agent_created", "agent_id", "created_at"),
    Index("steps_run_id", "run_id"),
)

# One row per message request. `seq` orders runs (and so the per-agent queue).
runs = Table(
    "runs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("agent_id", Text, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("stop_reason", Text),
    Column("background", Boolean, nullable=False, server_default=text("false")),
    Column("request", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("owner", Text),
    Column("cancel_requested", Boolean, nullable=False, server_default=text("false")),
    Column("prompt_tokens", Integer, nullable=False, server_default=text("0")),
    Column("completion_tokens", Integer, nullable=False, server_default=text("0")),
    Column("total_tokens", Integer, nullable=False, server_default=text("0")),
    Column("step_count", Integer, nullable=False, server_default=text("0")),
    Column("ttft_ms", Double),
    Column("total_duration_ms", Double),
    Column("error", JSONB),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", TS, nullable=False, server_default=text("now()")),
    Column("started_at", TS),
    Column("completed_at", TS),
    Index("runs_seq", "seq", unique=True),
    Index("runs_agent_seq", "agent_id", "seq"),
    Index("runs_active", "agent_id", "seq", postgresql_where=text("status IN ('created', 'running')")),
    Index("runs_created_at_id", "created_at", "id"),
)

# Every event a run streamed, in order, so a client can resume from any seq.
run_events = Table(
    "run_events",
    metadata,
    Column("run_id", Text, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event", LargeBinary, nullable=False),
    Column("created_at", TS, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("run_id", "seq", name="run_events_pkey"),
    # The sweep's retention delete (storage/runs.py EXPIRE_RUN_EVENTS).
    Index("run_events_created_at", "created_at"),
)

# Running server processes; a run whose server stopped heartbeating is dead.
servers = Table(
    "servers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("started_at", TS, nullable=False, server_default=text("now()")),
    Column("heartbeat_at", TS, nullable=False, server_default=text("now()")),
    Column("info", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # The sweep: dead servers' runs, forgetting long-dead servers (storage/runs.py).
    Index("servers_heartbeat_at", "heartbeat_at"),
)

# Archival memory. `embedding` is stored at its real dimension (no typmod),
# `embedding_dim` says which; the HNSW indexes are partial expression indexes,
# one per dimension, created at run time (storage/passages.py
# ensure_vector_index), so they are not declared here. `embedding_handle` names
# the model that made the vector. `tsv` feeds full-text search.
passages = Table(
    "passages",
    metadata,
    Column("id", Text, primary_key=True),
    Column("agent_id", Text, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False),
    Column("tags", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("embedding", VECTOR()),
    Column("embedding_dim", Integer),
    Column("embedding_handle", Text),
    Column("tsv", TSVECTOR, Computed("to_tsvector('english'::regconfig, text)", persisted=True)),
    *_timestamps(),
    CheckConstraint(
        "(embedding IS NULL AND embedding_dim IS NULL) OR vector_dims(embedding) = embedding_dim",
        name="passages_embedding_dim",
    ),
    Index("passages_agent_created", "agent_id", "created_at", "id"),
    Index("passages_tsv", "tsv", postgresql_using="gin"),
    Index("passages_tags", "tags", postgresql_using="gin"),
)

# Model providers stored by users; the key is encrypted like agent secrets.
providers = Table(
    "providers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("provider_type", Text, nullable=False),
    Column("base_url", Text),
    Column("api_key_encrypted", LargeBinary),
    *_timestamps(),
    Index("providers_created_at_id", "created_at", "id"),
)

# Background work that outlives the request that started it (storage/jobs.py).
jobs = Table(
    "jobs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("job_type", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("cancel_requested", Boolean, nullable=False, server_default=text("false")),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("callback_url", Text),
    Column("callback_sent_at", TS),
    Column("callback_status_code", Integer),
    Column("callback_error", Text),
    *_timestamps(),
    Column("completed_at", TS),
    CheckConstraint("status IN ('created', 'running', 'completed', 'failed', 'cancelled')", name="jobs_status"),
    Index("jobs_seq", "seq", unique=True),
    Index("jobs_active", "seq", postgresql_where=text("status IN ('created', 'running')")),
)

# The requests of a batch job, each carried by a background run. No foreign
# key on agent_id or run_id: an item keeps its last known status after its
# run or agent is deleted.
job_items = Table(
    "job_items",
    metadata,
    Column("job_id", Text, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("idx", Integer, nullable=False),
    Column("agent_id", Text, nullable=False),
    Column("run_id", Text),
    Column("status", Text, nullable=False),
    Column("stop_reason", Text),
    Column("error", Text),
    PrimaryKeyConstraint("job_id", "idx", name="job_items_pkey"),
    Index("job_items_run_id", "run_id"),
    Index("job_items_active", "job_id", postgresql_where=text("status IN ('created', 'running')")),
)
