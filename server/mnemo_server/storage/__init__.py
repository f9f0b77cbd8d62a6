"""Storage: PostgreSQL (embedded or external), schema, migrations and queries."""
