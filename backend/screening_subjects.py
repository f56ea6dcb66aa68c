"""Who is screened, described the same way everywhere: the screening :class:`Subject` of a customer
and of a payee, one at a time or all of them (re-screening).

One description matters because the cleared-match memory is keyed by the subject's reference and a
fingerprint of its data: a customer described with a nationality in one place and without it in
another would look like two people, and a match an officer cleared would alert again. So these
helpers describe subjects exactly as the transfer flow does (``backend/transfers/service.py``):

* a customer is ``customer:<id>`` with the given and family names and the date of birth of their
  profile (no nationality: the profile does not hold one);
* a payee is ``payee:<hash>`` (:func:`backend.compliance_refs.payee_ref`, one reference however many
  senders pay them) with the name the sender typed. Deleted recipients are not re-screened.

A customer without a name has nothing to screen and is left out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.compliance_refs import customer_ref, payee_account, payee_ref
from backend.identity.keys import PersonalData, SealContext
from backend.identity.tables import customers, recipients
from compliance.screening import Subject

__all__ = [
    "Payee",
    "all_subjects",
    "customer_subject",
    "customer_subjects",
    "payee_directory",
    "person_subject",
]

_PAGE = 500
_c, _r = customers.c, recipients.c
_CUSTOMER_COLUMNS = (_c.id, _c.given_name_sealed, _c.family_name_sealed, _c.birth_date_sealed)
_CUSTOMER_PAGE = (
    select(*_CUSTOMER_COLUMNS).where(_c.id > bindparam("after_id")).order_by(_c.id).limit(bindparam("limit"))
)
_ONE_CUSTOMER = select(*_CUSTOMER_COLUMNS).where(_c.id == bindparam("customer_id"))
_RECIPIENT_PAGE = (
    select(
        _r.id,
        _r.customer_id,
        _r.given_name_sealed,
        _r.family_name_sealed,
        _r.payout_method,
        _r.iban_sealed,
        _r.card_number_sealed,
        _r.wallet_phone_sealed,
    )
    .where(_r.id > bindparam("after_id"), _r.deleted_at.is_(None))
    .order_by(_r.id)
    .limit(bindparam("limit"))
)


def person_subject(given: str | None, family: str | None, birth: date | None = None) -> Subject | None:
    """A person's names joined as one name (``None`` when there is none), with the date of birth."""
    name = " ".join(part for part in (given, family) if part and part.strip())
    return Subject(name, birth) if name.strip() else None


def _customer(personal: PersonalData, row: Any) -> Subject | None:
    birth = personal.open_optional(row.birth_date_sealed, SealContext.CUSTOMER_BIRTH_DATE)
    return person_subject(
        personal.open_optional(row.given_name_sealed, SealContext.CUSTOMER_GIVEN_NAME),
        personal.open_optional(row.family_name_sealed, SealContext.CUSTOMER_FAMILY_NAME),
        None if birth is None else date.fromisoformat(birth),
    )


async def customer_subject(conn: AsyncConnection, personal: PersonalData, customer_id: int) -> Subject | None:
    """The customer as screening sees them; ``None`` when there is no such customer or no name."""
    row = (await conn.execute(_ONE_CUSTOMER, {"customer_id": customer_id})).first()
    return None if row is None else _customer(personal, row)


async def _pages(engine: AsyncEngine, statement: Any, page_size: int) -> AsyncIterator[list[Any]]:
    """Keyset pages of ``statement``, each read in a short connection of its own, so a long
    re-screening never holds a read transaction open while it writes results."""
    after_id = 0
    while True:
        async with engine.connect() as conn:
            rows = list(await conn.execute(statement, {"after_id": after_id, "limit": page_size}))
        if not rows:
            return
        yield rows
        after_id = int(rows[-1].id)


async def customer_subjects(
    engine: AsyncEngine, personal: PersonalData, *, page_size: int = _PAGE
) -> AsyncIterator[tuple[str, Subject]]:
    """Every customer who has a name, as ``(customer:<id>, Subject)``, in id order."""
    async for rows in _pages(engine, _CUSTOMER_PAGE, page_size):
        for row in rows:
            subject = _customer(personal, row)
            if subject is not None:
                yield customer_ref(int(row.id)), subject


@dataclass(slots=True)
class Payee:
    """One payee as the senders' recipient lists know them."""

    names: set[str] = field(default_factory=set)
    """The names senders gave them (each is screened)."""
    recipients: dict[int, list[int]] = field(default_factory=dict)
    """Customer id -> that customer's recipient ids that pay this payee."""


async def payee_directory(
    engine: AsyncEngine, personal: PersonalData, *, page_size: int = _PAGE
) -> dict[str, Payee]:
    """Every payee of a live recipient, by ``payee:<hash>``, with who pays them. Held in memory for
    one re-screening (a few hundred bytes per recipient)."""
    open_ = personal.open_optional
    directory: dict[str, Payee] = {}
    async for rows in _pages(engine, _RECIPIENT_PAGE, page_size):
        for row in rows:
            given = personal.open(row.given_name_sealed, SealContext.RECIPIENT_GIVEN_NAME)
            family = personal.open(row.family_name_sealed, SealContext.RECIPIENT_FAMILY_NAME)
            name = f"{given} {family}"
            account = payee_account(
                open_(row.iban_sealed, SealContext.RECIPIENT_IBAN),
                open_(row.card_number_sealed, SealContext.RECIPIENT_CARD_NUMBER),
                open_(row.wallet_phone_sealed, SealContext.RECIPIENT_WALLET_PHONE),
                name,
            )
            payee = directory.setdefault(payee_ref(personal.index, row.payout_method, account), Payee())
            payee.names.add(name)
            payee.recipients.setdefault(int(row.customer_id), []).append(int(row.id))
    return directory


async def all_subjects(
    engine: AsyncEngine, personal: PersonalData, payees: Mapping[str, Payee], *, page_size: int = _PAGE
) -> AsyncIterator[tuple[str, Subject]]:
    """Customers (page by page), then every name of every payee: what a re-screening goes through."""
    async for item in customer_subjects(engine, personal, page_size=page_size):
        yield item
    for ref, payee in payees.items():
        for name in sorted(payee.names):
            yield ref, Subject(name)
