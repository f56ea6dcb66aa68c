"""Recipients: the people a customer sends money to, and how each is paid out.

Payout methods: ``bank_account`` (an IBAN of a bank in the recipient's country, mod-97 checked),
``card`` (Luhn-checked; only the last four digits and the scheme ever leave this module, except
through :func:`payout_instruction` for the payout partner), ``wallet`` (a Körpü wallet reached by
phone number, E.164) and ``cash_pickup`` (paid against ID in the recipient's name, so the name is
all it needs). Names and payout details are sealed at rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db import reading
from backend.identity.clock import Clock
from backend.identity.errors import InvalidCursor, RecipientNotFound
from backend.identity.keys import PersonalData, SealContext
from backend.identity.repositories import recipients as repo
from backend.identity.repositories.recipients import RecipientRecord, SealedPayout
from backend.identity.validation import (
    clean_card_number,
    clean_country,
    clean_iban,
    clean_name,
    clean_wallet_phone,
)

__all__ = [
    "PayoutInput",
    "PayoutInstruction",
    "PayoutMethod",
    "PayoutView",
    "Recipient",
    "RecipientChanges",
    "RecipientDraft",
    "RecipientPage",
    "RecipientService",
    "add_recipient",
    "load_recipient",
    "payout_instruction",
    "payout_instructions",
]

PayoutMethod = Literal["bank_account", "card", "wallet", "cash_pickup"]
MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class PayoutInput:
    """Payout details as typed; only the field of ``method`` is read."""

    method: PayoutMethod
    iban: str | None = None
    card_number: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class RecipientDraft:
    """A new recipient."""

    given_name: str
    family_name: str
    country: str
    """ISO 3166-1 alpha-2 of where the money is paid out."""
    payout: PayoutInput


@dataclass(frozen=True, slots=True)
class RecipientChanges:
    """Changes to a recipient; ``None`` keeps a field. A new ``payout`` replaces the old one whole."""

    given_name: str | None = None
    family_name: str | None = None
    country: str | None = None
    payout: PayoutInput | None = None


@dataclass(frozen=True, slots=True)
class PayoutView:
    """Payout details as the owner may see them: never a full card number."""

    method: PayoutMethod
    iban: str | None = None
    card_last4: str | None = None
    card_scheme: str | None = None
    wallet_phone: str | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    id: int
    customer_id: int
    given_name: str
    family_name: str
    country: str
    payout: PayoutView
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RecipientPage:
    items: list[Recipient]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class PayoutInstruction:
    """Everything a payout partner needs, unsealed: for the transfer service only, never for a reply."""

    recipient_id: int
    given_name: str
    family_name: str
    country: str
    method: PayoutMethod
    iban: str | None
    card_number: str | None
    wallet_phone: str | None
    wallet_phone_index: str | None
    """Blind index of the wallet phone: equal to ``customers.phone_index`` of its owner, if signed up."""


def _seal_payout(personal: PersonalData, payout: PayoutInput, country: str) -> SealedPayout:
    if payout.method == "bank_account":
        iban = clean_iban(payout.iban or "", country)
        return SealedPayout("bank_account", iban_sealed=personal.seal(iban, SealContext.RECIPIENT_IBAN))
    if payout.method == "card":
        card = clean_card_number(payout.card_number or "")
        return SealedPayout(
            "card",
            card_number_sealed=personal.seal(card.digits, SealContext.RECIPIENT_CARD_NUMBER),
            card_last4=card.last4,
            card_scheme=card.scheme,
        )
    if payout.method == "wallet":
        phone = clean_wallet_phone(payout.phone or "")
        return SealedPayout(
            "wallet",
            wallet_phone_sealed=personal.seal(phone, SealContext.RECIPIENT_WALLET_PHONE),
            wallet_phone_index=personal.phone_index(phone),
        )
    return SealedPayout("cash_pickup")


def _view(personal: PersonalData, record: RecipientRecord) -> Recipient:
    payout = record.payout
    return Recipient(
        id=record.id,
        customer_id=record.customer_id,
        given_name=personal.open(record.given_name_sealed, SealContext.RECIPIENT_GIVEN_NAME),
        family_name=personal.open(record.family_name_sealed, SealContext.RECIPIENT_FAMILY_NAME),
        country=record.country,
        payout=PayoutView(
            method=payout.method,  # type: ignore[arg-type]  # the table's check constraint holds it
            iban=personal.open_optional(payout.iban_sealed, SealContext.RECIPIENT_IBAN),
            card_last4=payout.card_last4,
            card_scheme=payout.card_scheme,
            wallet_phone=personal.open_optional(
                payout.wallet_phone_sealed, SealContext.RECIPIENT_WALLET_PHONE
            ),
        ),
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


async def add_recipient(
    connection: AsyncConnection,
    personal: PersonalData,
    customer_id: int,
    draft: RecipientDraft,
    now: datetime,
) -> int:
    """Check and store a new recipient of ``customer_id`` in the caller's transaction; returns its id."""
    given = clean_name(draft.given_name, "givenName")
    family = clean_name(draft.family_name, "familyName")
    country = clean_country(draft.country)
    payout = _seal_payout(personal, draft.payout, country)
    return await repo.insert_recipient(
        connection,
        customer_id=customer_id,
        given_name_sealed=personal.seal(given, SealContext.RECIPIENT_GIVEN_NAME),
        family_name_sealed=personal.seal(family, SealContext.RECIPIENT_FAMILY_NAME),
        country=country,
        payout=payout,
        now=now,
    )


async def load_recipient(
    connection: AsyncConnection, personal: PersonalData, customer_id: int, recipient_id: int
) -> Recipient:
    """``customer_id``'s recipient; raises :class:`RecipientNotFound` for anyone else's or a deleted one."""
    record = await repo.get(connection, customer_id, recipient_id)
    if record is None:
        raise RecipientNotFound()
    return _view(personal, record)


async def payout_instruction(
    connection: AsyncConnection, personal: PersonalData, customer_id: int, recipient_id: int
) -> PayoutInstruction:
    """The full payout details of ``customer_id``'s recipient, for the transfer that pays them."""
    record = await repo.get(connection, customer_id, recipient_id)
    if record is None:
        raise RecipientNotFound()
    return _instruction(personal, record)


async def payout_instructions(
    connection: AsyncConnection, personal: PersonalData, pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], PayoutInstruction]:
    """:func:`payout_instruction` for many ``(customer id, recipient id)`` pairs in one statement
    (PostgreSQL); a pair not found is left out (:func:`payout_instruction` then says so)."""
    return {
        (record.customer_id, record.id): _instruction(personal, record)
        for record in await repo.get_many(connection, pairs)
    }


def _instruction(personal: PersonalData, record: RecipientRecord) -> PayoutInstruction:
    payout = record.payout
    return PayoutInstruction(
        recipient_id=record.id,
        given_name=personal.open(record.given_name_sealed, SealContext.RECIPIENT_GIVEN_NAME),
        family_name=personal.open(record.family_name_sealed, SealContext.RECIPIENT_FAMILY_NAME),
        country=record.country,
        method=payout.method,  # type: ignore[arg-type]
        iban=personal.open_optional(payout.iban_sealed, SealContext.RECIPIENT_IBAN),
        card_number=personal.open_optional(payout.card_number_sealed, SealContext.RECIPIENT_CARD_NUMBER),
        wallet_phone=personal.open_optional(payout.wallet_phone_sealed, SealContext.RECIPIENT_WALLET_PHONE),
        wallet_phone_index=payout.wallet_phone_index,
    )


class RecipientService:
    """``/v1/recipients``: each method is one transaction, scoped to its customer."""

    def __init__(self, *, engine: AsyncEngine, personal_data: PersonalData, clock: Clock) -> None:
        self._engine = engine
        self._personal = personal_data
        self._clock = clock

    async def create(self, customer_id: int, draft: RecipientDraft) -> Recipient:
        async with self._engine.begin() as connection:
            recipient_id = await add_recipient(connection, self._personal, customer_id, draft, self._clock())
            return await load_recipient(connection, self._personal, customer_id, recipient_id)

    async def get(self, customer_id: int, recipient_id: int) -> Recipient:
        async with reading(self._engine) as connection:
            return await load_recipient(connection, self._personal, customer_id, recipient_id)

    async def list(self, customer_id: int, *, cursor: str | None, limit: int) -> RecipientPage:
        before_id = _parse_cursor(cursor)
        limit = max(1, min(limit, MAX_PAGE))
        async with reading(self._engine) as connection:
            records = await repo.list_page(connection, customer_id, before_id=before_id, limit=limit + 1)
        items = [_view(self._personal, record) for record in records[:limit]]
        next_cursor = str(items[-1].id) if len(records) > limit else None
        return RecipientPage(items, next_cursor)

    async def update(self, customer_id: int, recipient_id: int, changes: RecipientChanges) -> Recipient:
        async with self._engine.begin() as connection:
            record = await repo.get(connection, customer_id, recipient_id)
            if record is None:
                raise RecipientNotFound()
            current = _view(self._personal, record)
            given = clean_name(changes.given_name, "givenName") if changes.given_name else current.given_name
            family = (
                clean_name(changes.family_name, "familyName") if changes.family_name else current.family_name
            )
            country = clean_country(changes.country) if changes.country else current.country
            if changes.payout is not None:
                payout = _seal_payout(self._personal, changes.payout, country)
            elif country != current.country and record.payout.method == "bank_account":
                # The stored IBAN must still belong to the (new) country.
                payout = _seal_payout(
                    self._personal, PayoutInput("bank_account", iban=current.payout.iban), country
                )
            else:
                payout = record.payout
            await repo.update_recipient(
                connection,
                customer_id,
                recipient_id,
                given_name_sealed=self._personal.seal(given, SealContext.RECIPIENT_GIVEN_NAME),
                family_name_sealed=self._personal.seal(family, SealContext.RECIPIENT_FAMILY_NAME),
                country=country,
                payout=payout,
                now=self._clock(),
            )
            return await load_recipient(connection, self._personal, customer_id, recipient_id)

    async def delete(self, customer_id: int, recipient_id: int) -> None:
        async with self._engine.begin() as connection:
            if not await repo.soft_delete(connection, customer_id, recipient_id, self._clock()):
                raise RecipientNotFound()


def _parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 19:
        raise InvalidCursor()
    return int(cursor)
