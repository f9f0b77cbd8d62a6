"""Jobs (background work that outlives its request, e.g. message batches) and
the items of a batch job, each carried by a background run.

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

STATEMENTS = [
    """
    CREATE TABLE jobs (
        id text PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        job_type text NOT NULL,
        status text NOT NULL,
        cancel_requested boolean NOT NULL DEFAULT false,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        callback_url text,
        callback_sent_at timestamptz,
        callback_status_code integer,
        callback_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz,
        CONSTRAINT jobs_status CHECK (status IN ('created', 'running', 'completed', 'failed', 'cancelled'))
    )
    """,
    "CREATE UNIQUE INDEX jobs_seq ON jobs (seq)",
    "CREATE INDEX jobs_active ON jobs (seq) WHERE status IN ('created', 'running')",
    # agent_id and run_id carry no foreign key: an item keeps its last known
    # status after its run or its agent is deleted.
    """
    CREATE TABLE job_items (
        job_id text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        idx integer NOT NULL,
        agent_id text NOT NULL,
        run_id text,
        status text NOT NULL,
        stop_reason text,
        error text,
        CONSTRAINT job_items_pkey PRIMARY KEY (job_id, idx)
    )
    """,
    "CREATE INDEX job_items_run_id ON job_items (run_id)",
    "CREATE INDEX job_items_active ON job_items (job_id) WHERE status IN ('created', 'running')",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE job_items")
    op.execute("DROP TABLE jobs")
