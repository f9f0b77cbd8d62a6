"""Messages (recall memory) and steps.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATEMENTS = [
    """
    CREATE TABLE messages (
        id text PRIMARY KEY,
        agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        role text NOT NULL,
        content jsonb NOT NULL DEFAULT '[]'::jsonb,
        text text NOT NULL DEFAULT '',
        name text,
        tool_calls jsonb,
        tool_call_id text,
        tool_returns jsonb,
        step_id text,
        run_id text,
        otid text,
        sender_id text,
        model text,
        is_err boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE UNIQUE INDEX messages_seq ON messages (seq)",
    "CREATE INDEX messages_agent_seq ON messages (agent_id, seq)",
    "CREATE INDEX messages_run_id ON messages (run_id)",
    """
    CREATE TABLE steps (
        id text PRIMARY KEY,
        agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        run_id text,
        status text NOT NULL,
        stop_reason text,
        provider text,
        model text,
        model_handle text,
        context_window_limit integer,
        prompt_tokens integer NOT NULL DEFAULT 0,
        completion_tokens integer NOT NULL DEFAULT 0,
        total_tokens integer NOT NULL DEFAULT 0,
        cached_input_tokens integer NOT NULL DEFAULT 0,
        reasoning_tokens integer NOT NULL DEFAULT 0,
        llm_ms double precision,
        tool_ms double precision,
        step_ms double precision,
        error_type text,
        error_data jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX steps_agent_created ON steps (agent_id, created_at)",
    "CREATE INDEX steps_run_id ON steps (run_id)",
    # Messages stored for the agent, kept by the step commits so that the memory
    # metadata never has to count rows.
    "ALTER TABLE agents ADD COLUMN message_count bigint NOT NULL DEFAULT 0",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE agents DROP COLUMN message_count")
    op.execute("DROP TABLE steps, messages")
