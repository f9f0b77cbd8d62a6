"""Model providers stored in the database (bring your own key).

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE providers (
            id text PRIMARY KEY,
            name text NOT NULL UNIQUE,
            provider_type text NOT NULL,
            base_url text,
            api_key_encrypted bytea,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX providers_created_at_id ON providers (created_at, id)")


def downgrade() -> None:
    op.execute("DROP TABLE providers")
