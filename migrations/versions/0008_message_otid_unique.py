"""Durable runs: a message's otid is unique per agent (a retried send is
recognised, not stored twice).

Existing duplicates of an (agent, otid) pair keep the otid on their first
message only; later ones lose it (their ids, contents and order are kept).

Revision ID: 0008
Revises: 0007
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE messages SET otid = NULL WHERE id IN (
            SELECT id FROM (
                SELECT id, row_number() OVER (PARTITION BY agent_id, otid ORDER BY seq) AS n
                FROM messages WHERE otid IS NOT NULL
            ) ranked WHERE n > 1)
        """
    )
    op.execute("CREATE UNIQUE INDEX messages_agent_otid ON messages (agent_id, otid) WHERE otid IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX messages_agent_otid")
