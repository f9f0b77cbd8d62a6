"""Initial schema: agents, memory blocks, tools, secrets, identities.

Revision ID: 0001
Revises:
"""
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    _execute_all(
        """
        CREATE TABLE agents (
            id text PRIMARY KEY,
            name text NOT NULL,
            agent_type text NOT NULL,
            system text NOT NULL,
            description text,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            tags text[] NOT NULL DEFAULT '{}'::text[],
            model text,
            llm_config jsonb NOT NULL,
            embedding text,
            embedding_config jsonb,
            model_settings jsonb,
            response_format jsonb,
            compaction_settings jsonb,
            tool_rules jsonb NOT NULL DEFAULT '[]'::jsonb,
            message_ids text[] NOT NULL DEFAULT '{}'::text[],
            message_buffer_autoclear boolean NOT NULL DEFAULT false,
            timezone text,
            project_id text,
            hidden boolean NOT NULL DEFAULT false,
            enable_sleeptime boolean NOT NULL DEFAULT false,
            last_stop_reason text,
            last_run_completion timestamptz,
            last_run_duration_ms integer,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX agents_created_at_id ON agents (created_at, id);
        CREATE INDEX agents_updated_at_id ON agents (updated_at, id);
        CREATE INDEX agents_name ON agents (name);
        CREATE INDEX agents_project_id ON agents (project_id);
        CREATE INDEX agents_tags ON agents USING gin (tags);

        CREATE TABLE blocks (
            id text PRIMARY KEY,
            label text NOT NULL,
            value text NOT NULL,
            "limit" integer NOT NULL,
            description text,
            read_only boolean NOT NULL DEFAULT false,
            hidden boolean NOT NULL DEFAULT false,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            tags text[] NOT NULL DEFAULT '{}'::text[],
            project_id text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT blocks_id_label UNIQUE (id, label),
            CONSTRAINT blocks_value_within_limit CHECK (char_length(value) <= "limit")
        );
        CREATE INDEX blocks_created_at_id ON blocks (created_at, id);
        CREATE INDEX blocks_label ON blocks (label);

        CREATE TABLE agent_blocks (
            agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
            block_id text NOT NULL,
            block_label text NOT NULL,
            attached_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            CONSTRAINT agent_blocks_pkey PRIMARY KEY (agent_id, block_id),
            CONSTRAINT agent_blocks_agent_label UNIQUE (agent_id, block_label),
            CONSTRAINT agent_blocks_block_fkey FOREIGN KEY (block_id, block_label)
                REFERENCES blocks (id, label) ON DELETE CASCADE ON UPDATE CASCADE
        );
        CREATE INDEX agent_blocks_block_id ON agent_blocks (block_id);

        CREATE TABLE tools (
            id text PRIMARY KEY,
            name text NOT NULL UNIQUE,
            description text,
            tool_type text NOT NULL,
            source_type text,
            source_code text,
            json_schema jsonb NOT NULL,
            args_json_schema jsonb,
            tags text[] NOT NULL DEFAULT '{}'::text[],
            return_char_limit integer NOT NULL,
            pip_requirements jsonb NOT NULL DEFAULT '[]'::jsonb,
            npm_requirements jsonb NOT NULL DEFAULT '[]'::jsonb,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            default_requires_approval boolean NOT NULL DEFAULT false,
            enable_parallel_execution boolean NOT NULL DEFAULT false,
            project_id text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX tools_created_at_id ON tools (created_at, id);

        CREATE TABLE agent_tools (
            agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
            tool_id text NOT NULL REFERENCES tools (id) ON DELETE CASCADE,
            attached_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            CONSTRAINT agent_tools_pkey PRIMARY KEY (agent_id, tool_id)
        );
        CREATE INDEX agent_tools_tool_id ON agent_tools (tool_id);

        CREATE TABLE agent_secrets (
            agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
            key text NOT NULL,
            value_encrypted bytea NOT NULL,
            description text,
            CONSTRAINT agent_secrets_pkey PRIMARY KEY (agent_id, key)
        );

        CREATE TABLE identities (
            id text PRIMARY KEY,
            identifier_key text NOT NULL,
            name text NOT NULL,
            identity_type text NOT NULL,
            project_id text,
            properties jsonb NOT NULL DEFAULT '[]'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX identities_created_at_id ON identities (created_at, id);
        CREATE UNIQUE INDEX identities_project_key ON identities ((coalesce(project_id, '')), identifier_key);

        CREATE TABLE identity_agents (
            identity_id text NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
            agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
            CONSTRAINT identity_agents_pkey PRIMARY KEY (identity_id, agent_id)
        );
        CREATE INDEX identity_agents_agent_id ON identity_agents (agent_id);

        CREATE TABLE identity_blocks (
            identity_id text NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
            block_id text NOT NULL REFERENCES blocks (id) ON DELETE CASCADE,
            CONSTRAINT identity_blocks_pkey PRIMARY KEY (identity_id, block_id)
        );
        CREATE INDEX identity_blocks_block_id ON identity_blocks (block_id);
        """
    )


def _execute_all(script: str) -> None:
    # One statement per call: prepared statements take a single command.
    for statement in script.split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    op.execute(
        "DROP TABLE identity_blocks, identity_agents, identities, agent_secrets, agent_tools, tools,"
        " agent_blocks, blocks, agents"
    )
