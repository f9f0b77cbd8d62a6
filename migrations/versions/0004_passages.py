"""Archival memory (passages) and full-text search over messages.

Vectors are stored at their real dimension: `embedding` has no typmod and
`embedding_dim` says how long it is. The HNSW indexes are per dimension,
partial expression indexes created by the server the first time it stores a
vector of a new dimension (storage/passages.py, ensure_vector_index), so they
are not part of this migration:

    CREATE INDEX CONCURRENTLY passages_embedding_hnsw_<N> ON passages
        USING hnsw ((embedding::vector(N)) vector_cosine_ops) WHERE embedding_dim = N

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATEMENTS = [
    """
    CREATE TABLE passages (
        id text PRIMARY KEY,
        agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        text text NOT NULL,
        tags text[] NOT NULL DEFAULT '{}'::text[],
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        embedding vector,
        embedding_dim integer,
        embedding_handle text,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT passages_embedding_dim CHECK (
            (embedding IS NULL AND embedding_dim IS NULL) OR vector_dims(embedding) = embedding_dim
        )
    )
    """,
    "CREATE INDEX passages_agent_created ON passages (agent_id, created_at, id)",
    "CREATE INDEX passages_tsv ON passages USING gin (tsv)",
    "CREATE INDEX passages_tags ON passages USING gin (tags)",
    # conversation_search: full-text search over an agent's whole history. An
    # expression index (no new column, no table rewrite); queries use the same
    # expression. left() keeps the tsvector far below its 1 MB limit.
    "CREATE INDEX messages_text_fts ON messages USING gin (to_tsvector('english'::regconfig, left(text, 100000)))",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP INDEX messages_text_fts")
    op.execute("DROP TABLE passages")
