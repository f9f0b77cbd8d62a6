"""Tools agents can call: built-in tool definitions and custom tool schemas."""
