"""Use cases on agents, blocks, tools and identities: validation, rules and
transactions. No gRPC here; storage does the SQL."""
