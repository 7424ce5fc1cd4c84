"""Alembic migrations (the only way pgask's schema changes)."""
