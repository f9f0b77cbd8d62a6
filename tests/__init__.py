"""Mnemo test suite."""
