"""SQLAlchemy Core statements run straight on asyncpg: built and compiled once, sent without
SQLAlchemy's per-execution machinery (docs/performance.md, "Statements on the driver").

See :mod:`sqldirect.statement`. The package sits below every other one: ledger/, fx/, compliance/
and backend/ may all use it, and it imports none of them.
"""

from sqldirect.statement import DirectStatement, direct

__all__ = ["DirectStatement", "direct"]
