"""The offline model and the local embedding model speak Letta's vocabulary.

Their configurations said endpoint type "mnemo", a value the official Letta
SDKs refuse. They now say "openai" (the offline model, provider "mnemo") and
"hugging-face" (the local embedding model, handle "mnemo/…"), and calls are
routed to them by provider name. Stored agents are rewritten to match.

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE agents
           SET llm_config = llm_config || '{"model_endpoint_type": "openai", "provider_name": "mnemo"}'::jsonb
         WHERE llm_config->>'model_endpoint_type' = 'mnemo'
        """
    )
    op.execute(
        """
        UPDATE agents
           SET embedding_config = embedding_config || '{"embedding_endpoint_type": "hugging-face"}'::jsonb
         WHERE embedding_config->>'embedding_endpoint_type' = 'mnemo'
        """
    )


def downgrade() -> None:
    op.execute(
        """
        UPDATE agents
           SET llm_config = llm_config || '{"model_endpoint_type": "mnemo"}'::jsonb
         WHERE llm_config->>'provider_name' = 'mnemo'
        """
    )
    op.execute(
        """
        UPDATE agents
           SET embedding_config = embedding_config || '{"embedding_endpoint_type": "mnemo"}'::jsonb
         WHERE embedding_config->>'embedding_endpoint_type' = 'hugging-face'
           AND embedding_config->>'handle' LIKE 'mnemo/%'
        """
    )
