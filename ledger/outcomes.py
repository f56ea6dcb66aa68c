"""What the database reports for one request of a batch, before it becomes an Entry or an error.

Both journal back ends (the PostgreSQL batch function and the SQLite implementation) report in this
one shape, so that everything above them is shared.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

__all__ = ["CREATED", "REPLAYED", "Outcome", "StoredLeg"]

CREATED = "created"
REPLAYED = "replayed"

StoredLeg = list[Any]
"""``[account_id, account_code, side, phase, minor_units, currency]``."""


class Outcome(NamedTuple):
    status: str
    """``created``, ``replayed``, or the ``code`` of the refusal."""
    detail: str | None
    """Why it was refused."""
    seq: int | None = None
    created_at: datetime | None = None
    effective_at: datetime | None = None
    expires_at: datetime | None = None
    postings: list[StoredLeg] | None = None

    @classmethod
    def refused(cls, code: str, detail: str) -> Outcome:
        return cls(code, detail)
