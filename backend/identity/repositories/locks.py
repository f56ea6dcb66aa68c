"""Per-phone serialisation of sign-in work inside one transaction.

On PostgreSQL, a transaction-scoped advisory lock keyed by the phone's blind index makes the
rate-limit count and the customer creation for one number happen one at a time, across processes.
SQLite needs nothing: its transactions start with ``BEGIN IMMEDIATE`` and so already run one by one.
"""

from __future__ import annotations

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["lock_phone"]

_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)").bindparams(bindparam("key"))
_NAMESPACE = 0x6B6F7270  # "korp": keeps these keys apart from other advisory locks of the service


async def lock_phone(connection: AsyncConnection, phone_index: str) -> None:
    if connection.dialect.name != "postgresql":
        return
    key = int(phone_index[:15], 16) ^ _NAMESPACE  # 60 bits: fits a signed BIGINT
    await connection.execute(_ADVISORY_LOCK, {"key": key})
