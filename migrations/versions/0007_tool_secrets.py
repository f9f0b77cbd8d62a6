"""Per-tool secret lists on agents (which secrets each tool receives).

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE agents ADD COLUMN tool_secrets jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE agents DROP COLUMN tool_secrets")
