"""Protocol-faithful test doubles (fake LLM providers) for the Mnemo test suite."""
