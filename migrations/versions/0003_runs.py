"""Runs (one per message request), their event log, the agent's active run,
and server heartbeats.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATEMENTS = [
    """
    CREATE TABLE runs (
        id text PRIMARY KEY,
        agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        status text NOT NULL,
        stop_reason text,
        background boolean NOT NULL DEFAULT false,
        request jsonb NOT NULL DEFAULT '{}'::jsonb,
        owner text,
        cancel_requested boolean NOT NULL DEFAULT false,
        prompt_tokens integer NOT NULL DEFAULT 0,
        completion_tokens integer NOT NULL DEFAULT 0,
        total_tokens integer NOT NULL DEFAULT 0,
        step_count integer NOT NULL DEFAULT 0,
        ttft_ms double precision,
        total_duration_ms double precision,
        error jsonb,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        completed_at timestamptz
    )
    """,
    "CREATE UNIQUE INDEX runs_seq ON runs (seq)",
    "CREATE INDEX runs_agent_seq ON runs (agent_id, seq)",
    "CREATE INDEX runs_active ON runs (agent_id, seq) WHERE status IN ('created', 'running')",
    "CREATE INDEX runs_created_at_id ON runs (created_at, id)",
    """
    CREATE TABLE run_events (
        run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq integer NOT NULL,
        event bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT run_events_pkey PRIMARY KEY (run_id, seq)
    )
    """,
    # The run acting for the agent. It holds the agent while its server is
    # alive (see servers); a dead server's run no longer counts.
    "ALTER TABLE agents ADD COLUMN active_run_id text",
    "ALTER TABLE agents ADD COLUMN active_owner text",
    # Every running server process, with a heartbeat it renews every few seconds.
    """
    CREATE TABLE servers (
        id text PRIMARY KEY,
        started_at timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now(),
        info jsonb NOT NULL DEFAULT '{}'::jsonb
    )
    """,
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE agents DROP COLUMN active_run_id, DROP COLUMN active_owner")
    op.execute("DROP TABLE servers, run_events, runs")
