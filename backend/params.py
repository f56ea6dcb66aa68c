"""Parameter types shared by the HTTP handlers.

A path id is a database row id: a positive BIGINT. Declaring the bound refuses a larger number
with a 400 before it reaches the database driver, which would otherwise fail (SQLite: the value
does not fit an INTEGER; asyncpg: out of int64 range) and answer 500.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

__all__ = ["MAX_ROW_ID", "RowId"]

MAX_ROW_ID = 2**63 - 1
"""The largest BIGINT."""

RowId = Annotated[int, Parameter(ge=1, le=MAX_ROW_ID, description="A row id (a positive 64-bit integer).")]
"""A path parameter naming a row: ``async def get(self, recipient_id: RowId)``."""
