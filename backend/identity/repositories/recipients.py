"""Recipient rows, always reached through their owner: a look-up names the customer as well as the
recipient, so another customer's recipient is simply not found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.identity.clock import as_utc
from backend.identity.tables import recipients
from sqldirect import direct

__all__ = [
    "RecipientRecord",
    "SealedPayout",
    "get",
    "get_many",
    "insert_recipient",
    "list_page",
    "soft_delete",
    "update_recipient",
]


@dataclass(frozen=True, slots=True)
class SealedPayout:
    """Payout columns of one recipient; exactly the ones of its method are set."""

    method: str
    iban_sealed: bytes | None = None
    card_number_sealed: bytes | None = None
    card_last4: str | None = None
    card_scheme: str | None = None
    wallet_phone_sealed: bytes | None = None
    wallet_phone_index: str | None = None

    def columns(self) -> dict[str, Any]:
        return {
            "payout_method": self.method,
            "iban_sealed": self.iban_sealed,
            "card_number_sealed": self.card_number_sealed,
            "card_last4": self.card_last4,
            "card_scheme": self.card_scheme,
            "wallet_phone_sealed": self.wallet_phone_sealed,
            "wallet_phone_index": self.wallet_phone_index,
        }


@dataclass(frozen=True, slots=True)
class RecipientRecord:
    id: int
    customer_id: int
    given_name_sealed: bytes
    family_name_sealed: bytes
    country: str
    payout: SealedPayout
    created_at: datetime
    updated_at: datetime


_live = recipients.c.deleted_at.is_(None)
_owned = recipients.c.customer_id == bindparam("owner_id")
_GET = direct(select(*recipients.c).where(recipients.c.id == bindparam("recipient_id"), _owned, _live))
_GET_MANY = direct(
    select(*recipients.c).where(
        recipients.c.id == any_(bindparam("recipient_ids", type_=ARRAY(BigInteger))), _live
    )
)
_LIST_FIRST = (
    select(*recipients.c).where(_owned, _live).order_by(recipients.c.id.desc()).limit(bindparam("n"))
)
_LIST_AFTER = (
    select(*recipients.c)
    .where(_owned, _live, recipients.c.id < bindparam("before_id"))
    .order_by(recipients.c.id.desc())
    .limit(bindparam("n"))
)
_INSERT = insert(recipients).returning(recipients.c.id)
_UPDATE = (
    update(recipients)
    .where(recipients.c.id == bindparam("recipient_id"), _owned, _live)
    .values(
        given_name_sealed=bindparam("given"),
        family_name_sealed=bindparam("family"),
        country=bindparam("new_country"),
        payout_method=bindparam("method"),
        iban_sealed=bindparam("iban"),
        card_number_sealed=bindparam("card"),
        card_last4=bindparam("last4"),
        card_scheme=bindparam("scheme"),
        wallet_phone_sealed=bindparam("wallet"),
        wallet_phone_index=bindparam("wallet_index"),
        updated_at=bindparam("now"),
    )
)
# Deleting keeps the row: transfers made to this recipient still point at it.
_SOFT_DELETE = (
    update(recipients)
    .where(recipients.c.id == bindparam("recipient_id"), _owned, _live)
    .values(deleted_at=bindparam("now"), updated_at=bindparam("now"))
)


def _record(row: Any) -> RecipientRecord:
    m = row._mapping
    return RecipientRecord(
        id=int(m["id"]),
        customer_id=int(m["customer_id"]),
        given_name_sealed=m["given_name_sealed"],
        family_name_sealed=m["family_name_sealed"],
        country=m["country"],
        payout=SealedPayout(
            method=m["payout_method"],
            iban_sealed=m["iban_sealed"],
            card_number_sealed=m["card_number_sealed"],
            card_last4=m["card_last4"],
            card_scheme=m["card_scheme"],
            wallet_phone_sealed=m["wallet_phone_sealed"],
            wallet_phone_index=m["wallet_phone_index"],
        ),
        created_at=as_utc(m["created_at"]),
        updated_at=as_utc(m["updated_at"]),
    )


async def insert_recipient(
    connection: AsyncConnection,
    *,
    customer_id: int,
    given_name_sealed: bytes,
    family_name_sealed: bytes,
    country: str,
    payout: SealedPayout,
    now: datetime,
) -> int:
    result = await connection.execute(
        _INSERT,
        {
            "customer_id": customer_id,
            "given_name_sealed": given_name_sealed,
            "family_name_sealed": family_name_sealed,
            "country": country,
            **payout.columns(),
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        },
    )
    return int(result.scalar_one())


async def get(connection: AsyncConnection, customer_id: int, recipient_id: int) -> RecipientRecord | None:
    row = await _GET.first(connection, {"owner_id": customer_id, "recipient_id": recipient_id})
    return None if row is None else _record(row)


async def get_many(connection: AsyncConnection, pairs: Sequence[tuple[int, int]]) -> list[RecipientRecord]:
    """The live recipients among ``(customer id, recipient id)`` pairs, in one statement
    (PostgreSQL); each only for its own customer."""
    if not pairs:
        return []
    rows = await _GET_MANY.rows(connection, {"recipient_ids": sorted({recipient for _, recipient in pairs})})
    wanted = set(pairs)
    return [record for record in map(_record, rows) if (record.customer_id, record.id) in wanted]


async def list_page(
    connection: AsyncConnection, customer_id: int, *, before_id: int | None, limit: int
) -> Sequence[RecipientRecord]:
    """Up to ``limit`` recipients, newest first, older than ``before_id`` when given."""
    if before_id is None:
        result = await connection.execute(_LIST_FIRST, {"owner_id": customer_id, "n": limit})
    else:
        result = await connection.execute(
            _LIST_AFTER, {"owner_id": customer_id, "before_id": before_id, "n": limit}
        )
    return [_record(row) for row in result]


async def update_recipient(
    connection: AsyncConnection,
    customer_id: int,
    recipient_id: int,
    *,
    given_name_sealed: bytes,
    family_name_sealed: bytes,
    country: str,
    payout: SealedPayout,
    now: datetime,
) -> bool:
    result = await connection.execute(
        _UPDATE,
        {
            "owner_id": customer_id,
            "recipient_id": recipient_id,
            "given": given_name_sealed,
            "family": family_name_sealed,
            "new_country": country,
            "method": payout.method,
            "iban": payout.iban_sealed,
            "card": payout.card_number_sealed,
            "last4": payout.card_last4,
            "scheme": payout.card_scheme,
            "wallet": payout.wallet_phone_sealed,
            "wallet_index": payout.wallet_phone_index,
            "now": now,
        },
    )
    return result.rowcount == 1


async def soft_delete(
    connection: AsyncConnection, customer_id: int, recipient_id: int, now: datetime
) -> bool:
    result = await connection.execute(
        _SOFT_DELETE, {"owner_id": customer_id, "recipient_id": recipient_id, "now": now}
    )
    return result.rowcount == 1
