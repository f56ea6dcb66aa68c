"""Alembic migrations for SQLite and PostgreSQL; run with ``korpu db upgrade``."""
