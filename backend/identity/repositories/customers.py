"""Customer rows: look-up by phone index, creation, profile, KYC tier, and the PIN's counters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, and_, any_, bindparam, case, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.identity.clock import as_utc
from backend.identity.tables import customers
from sqldirect import direct

__all__ = [
    "CustomerRecord",
    "PinAttempt",
    "advisory_locks",
    "find_id_by_phone_index",
    "get",
    "get_many",
    "insert_customer",
    "lock_pin",
    "replace_pin_hash",
    "reserve_pin_attempt",
    "reset_pin_attempts",
    "set_kyc_tier",
    "set_status",
    "update_profile",
]


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """A customer row, still sealed."""

    id: int
    phone_sealed: bytes
    given_name_sealed: bytes | None
    family_name_sealed: bytes | None
    birth_date_sealed: bytes | None
    language: str
    kyc_tier: int
    status: str
    pin_hash: str | None
    pin_failed_attempts: int
    pin_locked_until: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PinAttempt:
    """An attempt reserved by :func:`reserve_pin_attempt`."""

    pin_hash: str
    attempts: int
    """Attempts counted so far, this one included."""


_FIND_BY_PHONE = select(customers.c.id).where(customers.c.phone_index == bindparam("phone_index"))
_GET = direct(select(*customers.c).where(customers.c.id == bindparam("customer_id")))
_GET_LOCKING = direct(
    select(
        *customers.c,
        func.pg_advisory_xact_lock(func.hashtextextended(bindparam("lock_key"), 0)).label("advisory_lock"),
    ).where(customers.c.id == bindparam("customer_id"))
)
"""The customer, taking a transaction-scoped advisory lock in the same round trip (one row: one
call)."""
_GET_MANY = direct(
    select(*customers.c).where(customers.c.id == any_(bindparam("customer_ids", type_=ARRAY(BigInteger))))
)
_LOCK_ALL = direct(
    text(
        "SELECT pg_advisory_xact_lock(hashtextextended(t.key, 0))"
        "  FROM unnest(CAST(:lock_keys AS text[])) WITH ORDINALITY AS t(key, ord) ORDER BY t.ord"
    )
)
"""Transaction-scoped advisory locks taken one after the other in the order given (one call)."""
_INSERT = insert(customers).returning(customers.c.id)
_UPDATE_PROFILE = (
    update(customers)
    .where(customers.c.id == bindparam("customer_id"))
    .values(
        given_name_sealed=bindparam("given"),
        family_name_sealed=bindparam("family"),
        birth_date_sealed=bindparam("birth"),
        language=bindparam("lang"),
        updated_at=bindparam("now"),
    )
)
_SET_KYC_TIER = (
    update(customers)
    .where(customers.c.id == bindparam("customer_id"))
    .values(kyc_tier=bindparam("tier"), updated_at=bindparam("now"))
)
_SET_STATUS = (
    update(customers)
    .where(customers.c.id == bindparam("customer_id"))
    .values(status=bindparam("new_status"), updated_at=bindparam("now"))
)
# Only replaces the hash the caller saw: two racing first-time settings cannot both win.
_REPLACE_PIN_HASH = (
    update(customers)
    .where(
        customers.c.id == bindparam("customer_id"),
        customers.c.pin_hash.is_not_distinct_from(bindparam("old_hash")),
    )
    .values(
        pin_hash=bindparam("new_hash"),
        pin_failed_attempts=0,
        pin_locked_until=None,
        updated_at=bindparam("now"),
    )
)
# Reserving an attempt before the (slow) hash check is what makes the lockout hold under parallel
# guesses: every guess is counted first, so no more than `max` of them are ever checked.
_lock_over = and_(customers.c.pin_locked_until.is_not(None), customers.c.pin_locked_until <= bindparam("now"))
_RESERVE_PIN_ATTEMPT = (
    update(customers)
    .where(
        customers.c.id == bindparam("customer_id"),
        customers.c.pin_hash.is_not(None),
        or_(
            and_(
                customers.c.pin_locked_until.is_(None),
                customers.c.pin_failed_attempts < bindparam("max_attempts"),
            ),
            _lock_over,
        ),
    )
    .values(
        pin_failed_attempts=case((_lock_over, 1), else_=customers.c.pin_failed_attempts + 1),
        pin_locked_until=case((_lock_over, None), else_=customers.c.pin_locked_until),
    )
    .returning(customers.c.pin_hash, customers.c.pin_failed_attempts)
)
_RESET_PIN_ATTEMPTS = (
    update(customers)
    .where(customers.c.id == bindparam("customer_id"))
    .values(pin_failed_attempts=0, pin_locked_until=None)
)
_LOCK_PIN = (
    update(customers)
    .where(customers.c.id == bindparam("customer_id"), customers.c.pin_locked_until.is_(None))
    .values(pin_locked_until=bindparam("until"))
)


def _record(row: object) -> CustomerRecord:
    mapping = row._mapping  # type: ignore[attr-defined]
    return CustomerRecord(
        id=mapping["id"],
        phone_sealed=mapping["phone_sealed"],
        given_name_sealed=mapping["given_name_sealed"],
        family_name_sealed=mapping["family_name_sealed"],
        birth_date_sealed=mapping["birth_date_sealed"],
        language=mapping["language"],
        kyc_tier=mapping["kyc_tier"],
        status=mapping["status"],
        pin_hash=mapping["pin_hash"],
        pin_failed_attempts=mapping["pin_failed_attempts"],
        pin_locked_until=None if mapping["pin_locked_until"] is None else as_utc(mapping["pin_locked_until"]),
        created_at=as_utc(mapping["created_at"]),
        updated_at=as_utc(mapping["updated_at"]),
    )


async def find_id_by_phone_index(connection: AsyncConnection, phone_index: str) -> int | None:
    found = await connection.scalar(_FIND_BY_PHONE, {"phone_index": phone_index})
    return None if found is None else int(found)


async def get(
    connection: AsyncConnection, customer_id: int, *, advisory_lock: str | None = None
) -> CustomerRecord | None:
    """The customer's row. ``advisory_lock``: on PostgreSQL, also take the transaction's advisory
    lock of that key (``pg_advisory_xact_lock(hashtextextended(key, 0))``), held until the
    transaction ends, in the same statement (an unknown customer takes no lock)."""
    if advisory_lock is not None and connection.dialect.name == "postgresql":
        row = await _GET_LOCKING.first(connection, {"customer_id": customer_id, "lock_key": advisory_lock})
    else:
        row = await _GET.first(connection, {"customer_id": customer_id})
    return None if row is None else _record(row)


async def get_many(connection: AsyncConnection, customer_ids: Sequence[int]) -> list[CustomerRecord]:
    """The rows of the customers among ``customer_ids`` that exist, in one statement (PostgreSQL)."""
    if not customer_ids:
        return []
    return [_record(row) for row in await _GET_MANY.rows(connection, {"customer_ids": list(customer_ids)})]


async def advisory_locks(connection: AsyncConnection, keys: Sequence[str]) -> None:
    """Take the transaction's advisory lock of each key (as :func:`get` does with
    ``advisory_lock``), in the order given, in one statement (PostgreSQL): give every caller's
    keys in one global order, so that two transactions never wait for each other."""
    if keys:
        await _LOCK_ALL.rows(connection, {"lock_keys": list(keys)})


async def insert_customer(
    connection: AsyncConnection, *, phone_sealed: bytes, phone_index: str, language: str, now: datetime
) -> int:
    result = await connection.execute(
        _INSERT,
        {
            "phone_sealed": phone_sealed,
            "phone_index": phone_index,
            "given_name_sealed": None,
            "family_name_sealed": None,
            "birth_date_sealed": None,
            "language": language,
            "kyc_tier": 0,
            "status": "active",
            "pin_hash": None,
            "pin_failed_attempts": 0,
            "pin_locked_until": None,
            "created_at": now,
            "updated_at": now,
        },
    )
    return int(result.scalar_one())


async def update_profile(
    connection: AsyncConnection,
    customer_id: int,
    *,
    given_name_sealed: bytes | None,
    family_name_sealed: bytes | None,
    birth_date_sealed: bytes | None,
    language: str,
    now: datetime,
) -> None:
    await connection.execute(
        _UPDATE_PROFILE,
        {
            "customer_id": customer_id,
            "given": given_name_sealed,
            "family": family_name_sealed,
            "birth": birth_date_sealed,
            "lang": language,
            "now": now,
        },
    )


async def set_kyc_tier(connection: AsyncConnection, customer_id: int, tier: int, now: datetime) -> bool:
    result = await connection.execute(_SET_KYC_TIER, {"customer_id": customer_id, "tier": tier, "now": now})
    return result.rowcount == 1


async def set_status(connection: AsyncConnection, customer_id: int, status: str, now: datetime) -> bool:
    result = await connection.execute(
        _SET_STATUS, {"customer_id": customer_id, "new_status": status, "now": now}
    )
    return result.rowcount == 1


async def replace_pin_hash(
    connection: AsyncConnection, customer_id: int, *, old_hash: str | None, new_hash: str, now: datetime
) -> bool:
    """Store ``new_hash`` if the PIN hash is still ``old_hash``; ``False`` when it changed meanwhile."""
    result = await connection.execute(
        _REPLACE_PIN_HASH,
        {"customer_id": customer_id, "old_hash": old_hash, "new_hash": new_hash, "now": now},
    )
    return result.rowcount == 1


async def reserve_pin_attempt(
    connection: AsyncConnection, customer_id: int, *, max_attempts: int, now: datetime
) -> PinAttempt | None:
    """Count one more attempt and hand back the hash to check, or ``None`` when locked (or no PIN)."""
    row = (
        await connection.execute(
            _RESERVE_PIN_ATTEMPT, {"customer_id": customer_id, "max_attempts": max_attempts, "now": now}
        )
    ).first()
    return None if row is None else PinAttempt(pin_hash=row[0], attempts=int(row[1]))


async def reset_pin_attempts(connection: AsyncConnection, customer_id: int) -> None:
    await connection.execute(_RESET_PIN_ATTEMPTS, {"customer_id": customer_id})


async def lock_pin(connection: AsyncConnection, customer_id: int, until: datetime) -> None:
    await connection.execute(_LOCK_PIN, {"customer_id": customer_id, "until": until})
