"""Runs: the per-agent queue, liveness, cancellation and event logs, shared
by every server process on one database."""
