"""Data access of the identity capability: SQLAlchemy Core statements built once, over one connection."""
