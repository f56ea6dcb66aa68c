"""Who is screened, built the same way everywhere: the screening :class:`Subject` of a customer and
of a recipient, one at a time (transfers, KYC) or all of them page by page (re-screening).

One definition matters because the cleared-match memory is keyed by a fingerprint of the subject's
data: a customer described with a nationality in one place and without it in another would look
like two people, and a match an officer cleared would alert again.

* A customer is their given and family names and date of birth from the profile (sealed at rest),
  with the nationality of their most recent *approved* passport or national identity card (a
  residence permit says where someone lives, not their nationality).
* A recipient is the given and family names the sender typed; a recipient's payout country is not
  their nationality, so it is not used. Deleted recipients are not re-screened.

A customer or recipient without a name has nothing to screen and is left out (``None``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.compliance_refs import customer_ref, recipient_ref
from backend.identity.keys import PersonalData, SealContext
from backend.identity.tables import customers, recipients
from compliance.screening import Subject
from compliance.tables import kyc_documents, kyc_submissions

__all__ = [
    "NATIONALITY_DOCUMENTS",
    "all_subjects",
    "customer_subject",
    "customer_subjects",
    "recipient_owner",
    "recipient_subject",
    "recipient_subjects",
]

NATIONALITY_DOCUMENTS = ("passport", "national_id")
"""Approved identity documents whose issuing country is taken as the customer's nationality."""

_PAGE = 500
_c, _r, _s, _d = customers.c, recipients.c, kyc_submissions.c, kyc_documents.c
_CUSTOMER_COLUMNS = (_c.id, _c.given_name_sealed, _c.family_name_sealed, _c.birth_date_sealed)
_CUSTOMER_PAGE = (
    select(*_CUSTOMER_COLUMNS).where(_c.id > bindparam("after_id")).order_by(_c.id).limit(bindparam("limit"))
)
_ONE_CUSTOMER = select(*_CUSTOMER_COLUMNS).where(_c.id == bindparam("customer_id"))
_RECIPIENT_COLUMNS = (_r.id, _r.given_name_sealed, _r.family_name_sealed)
_RECIPIENT_PAGE = (
    select(*_RECIPIENT_COLUMNS)
    .where(_r.id > bindparam("after_id"), _r.deleted_at.is_(None))
    .order_by(_r.id)
    .limit(bindparam("limit"))
)
_ONE_RECIPIENT = select(*_RECIPIENT_COLUMNS).where(_r.id == bindparam("recipient_id"))
_OWNER = select(_r.customer_id).where(_r.id == bindparam("recipient_id"))
_NATIONALITIES = (
    select(_s.customer_ref, _d.issuing_country)
    .join(kyc_submissions, _s.id == _d.submission_id)
    .where(
        _s.status == "approved",
        _d.kind.in_(NATIONALITY_DOCUMENTS),
        _d.issuing_country.is_not(None),
        _s.customer_ref.in_(bindparam("refs", expanding=True)),
    )
    .order_by(_d.id)
)


_CUSTOMER_NAME = (SealContext.CUSTOMER_GIVEN_NAME, SealContext.CUSTOMER_FAMILY_NAME)
_RECIPIENT_NAME = (SealContext.RECIPIENT_GIVEN_NAME, SealContext.RECIPIENT_FAMILY_NAME)


def _full_name(
    personal: PersonalData, given: bytes | None, family: bytes | None, contexts: tuple[str, str]
) -> str | None:
    parts = (personal.open_optional(given, contexts[0]), personal.open_optional(family, contexts[1]))
    name = " ".join(part.strip() for part in parts if part and part.strip())
    return name or None


def _customer(personal: PersonalData, row: Any, nationality: str | None) -> Subject | None:
    name = _full_name(personal, row.given_name_sealed, row.family_name_sealed, _CUSTOMER_NAME)
    if name is None:
        return None
    birth = personal.open_optional(row.birth_date_sealed, SealContext.CUSTOMER_BIRTH_DATE)
    return Subject(name, None if birth is None else date.fromisoformat(birth), nationality)


def _recipient(personal: PersonalData, row: Any) -> Subject | None:
    name = _full_name(personal, row.given_name_sealed, row.family_name_sealed, _RECIPIENT_NAME)
    return None if name is None else Subject(name)


async def _nationalities(conn: AsyncConnection, refs: Sequence[str]) -> dict[str, str]:
    if not refs:
        return {}
    found: dict[str, str] = {}
    for row in await conn.execute(_NATIONALITIES, {"refs": list(refs)}):
        found[row.customer_ref] = row.issuing_country  # ordered by document: the newest wins
    return found


async def customer_subject(conn: AsyncConnection, personal: PersonalData, customer_id: int) -> Subject | None:
    """The customer as screening sees them, or ``None`` when there is no such customer or no name."""
    row = (await conn.execute(_ONE_CUSTOMER, {"customer_id": customer_id})).first()
    if row is None:
        return None
    ref = customer_ref(customer_id)
    return _customer(personal, row, (await _nationalities(conn, [ref])).get(ref))


async def recipient_subject(
    conn: AsyncConnection, personal: PersonalData, recipient_id: int
) -> Subject | None:
    """The recipient as screening sees them, or ``None`` when there is no such recipient."""
    row = (await conn.execute(_ONE_RECIPIENT, {"recipient_id": recipient_id})).first()
    return None if row is None else _recipient(personal, row)


async def recipient_owner(conn: AsyncConnection, recipient_id: int) -> int | None:
    """The customer a recipient belongs to (deleted recipients included)."""
    owner = await conn.scalar(_OWNER, {"recipient_id": recipient_id})
    return None if owner is None else int(owner)


async def _pages(engine: AsyncEngine, statement: Any, page_size: int) -> AsyncIterator[list[Any]]:
    """Keyset pages of ``statement``; each page reads in a short connection of its own, so a long
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
        refs = [customer_ref(int(row.id)) for row in rows]
        async with engine.connect() as conn:
            nationalities = await _nationalities(conn, refs)
        for ref, row in zip(refs, rows, strict=True):
            subject = _customer(personal, row, nationalities.get(ref))
            if subject is not None:
                yield ref, subject


async def recipient_subjects(
    engine: AsyncEngine, personal: PersonalData, *, page_size: int = _PAGE
) -> AsyncIterator[tuple[str, Subject]]:
    """Every recipient not deleted, as ``(recipient:<id>, Subject)``, in id order."""
    async for rows in _pages(engine, _RECIPIENT_PAGE, page_size):
        for row in rows:
            subject = _recipient(personal, row)
            if subject is not None:
                yield recipient_ref(int(row.id)), subject


async def all_subjects(
    engine: AsyncEngine, personal: PersonalData, *, page_size: int = _PAGE
) -> AsyncIterator[tuple[str, Subject]]:
    """Customers, then recipients: what a re-screening goes through."""
    sources: Iterable[AsyncIterator[tuple[str, Subject]]] = (
        customer_subjects(engine, personal, page_size=page_size),
        recipient_subjects(engine, personal, page_size=page_size),
    )
    for source in sources:
        async for item in source:
            yield item
