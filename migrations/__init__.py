"""Alembic migrations; run them with ``basis migrate`` (the embedded stack does it at start)."""
