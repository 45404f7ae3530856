"""Tamper-evident audit log: hash-chained entries, signed checkpoints, a verifier."""
