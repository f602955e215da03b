"""Workflows: deterministic orchestration, one per file. No I/O here; activities do it."""
