"""Runs (one per message request), their event log, and the per-agent lease.

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
    # The agent's lease: which run may act for the agent, and until when (renewed
    # while the run is alive, so a dead server's lease runs out by itself).
    "ALTER TABLE agents ADD COLUMN active_run_id text",
    "ALTER TABLE agents ADD COLUMN lease_expires_at timestamptz",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE agents DROP COLUMN active_run_id, DROP COLUMN lease_expires_at")
    op.execute("DROP TABLE run_events, runs")
