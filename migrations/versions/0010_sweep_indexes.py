"""Indexes behind the sweep's periodic deletes: the run events past their
retention are found by their age (run_events_created_at), dead servers by
their last heartbeat (servers_heartbeat_at), instead of scanning the tables.

Revision ID: 0010
Revises: 0009
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX run_events_created_at ON run_events (created_at)")
    op.execute("CREATE INDEX servers_heartbeat_at ON servers (heartbeat_at)")


def downgrade() -> None:
    op.execute("DROP INDEX servers_heartbeat_at")
    op.execute("DROP INDEX run_events_created_at")
