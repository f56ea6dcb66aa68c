"""The hook through which compliance's writes join the caller's own: a row written now or deferred.

Compliance writes some rows inside another capability's transaction (a new transfer's monitoring
event and its parties' screening records). The caller may pass a :data:`RowInsert` that collects
them into its own single statement (the transfer flow's, :mod:`backend.deferred_inserts`), so that
compliance neither knows of it nor costs it a round trip of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["RowInsert"]

RowInsert = Callable[[AsyncConnection, Table, Mapping[str, Any]], Awaitable[None]]
"""Writes one row in the caller's transaction, now or together with its other rows; nothing in that
transaction may read the row back before the caller's block ends."""
