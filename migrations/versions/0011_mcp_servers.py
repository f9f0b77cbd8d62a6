"""MCP servers, and the link from a tool of type external_mcp to its server.

Revision ID: 0011
Revises: 0010
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STATEMENTS = [
    """
    CREATE TABLE mcp_servers (
        id text PRIMARY KEY,
        name text NOT NULL UNIQUE,
        server_type text NOT NULL,
        command text,
        args jsonb NOT NULL DEFAULT '[]'::jsonb,
        server_url text,
        auth_header text,
        -- {"env": {...}, "auth_token": "...", "custom_headers": {...}}, encrypted (Fernet).
        secrets_encrypted bytea,
        -- The names of the env variables and custom headers (their values are secret).
        env_names jsonb NOT NULL DEFAULT '[]'::jsonb,
        header_names jsonb NOT NULL DEFAULT '[]'::jsonb,
        has_auth_token boolean NOT NULL DEFAULT false,
        -- OAuth client credentials: {"client_id", "scope", "issuer"} (the secret is in secrets_encrypted).
        oauth jsonb,
        protocol_version text,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT mcp_servers_type CHECK (server_type IN ('stdio', 'streamable_http', 'sse'))
    )
    """,
    "CREATE INDEX mcp_servers_created_at_id ON mcp_servers (created_at, id)",
    "ALTER TABLE tools ADD COLUMN mcp_server_id text REFERENCES mcp_servers (id) ON DELETE CASCADE",
    "CREATE INDEX tools_mcp_server_id ON tools (mcp_server_id) WHERE mcp_server_id IS NOT NULL",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DELETE FROM tools WHERE mcp_server_id IS NOT NULL")
    op.execute("ALTER TABLE tools DROP COLUMN mcp_server_id")
    op.execute("DROP TABLE mcp_servers")
