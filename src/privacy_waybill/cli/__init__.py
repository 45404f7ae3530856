"""The `pwb` command line: a thin adapter over the runtime."""
