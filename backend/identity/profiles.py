"""The customer's profile: read it, change it, and (for KYC) move the customer between tiers.

Names and the date of birth are sealed at rest. Once KYC has verified them (tier 1 or more), the
customer cannot change them here any more: a verified identity is changed by support, with a trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db import reading
from backend.i18n import SUPPORTED_LANGUAGES
from backend.identity.clock import Clock, utc_now
from backend.identity.errors import CustomerNotFound, VerifiedProfileLocked
from backend.identity.keys import PersonalData, SealContext
from backend.identity.repositories import customers
from backend.identity.validation import clean_birth_date, clean_name

__all__ = [
    "Profile",
    "ProfileChanges",
    "ProfileService",
    "create_customer",
    "find_customer_by_phone",
    "load_profile",
    "load_profiles",
    "set_customer_status",
    "set_kyc_tier",
]

PHONE_CONTEXT = SealContext.CUSTOMER_PHONE
GIVEN_NAME_CONTEXT = SealContext.CUSTOMER_GIVEN_NAME
FAMILY_NAME_CONTEXT = SealContext.CUSTOMER_FAMILY_NAME
BIRTH_DATE_CONTEXT = SealContext.CUSTOMER_BIRTH_DATE


@dataclass(frozen=True, slots=True)
class Profile:
    """A customer as the customer sees themselves."""

    customer_id: int
    phone: str
    """E.164."""
    given_name: str | None
    family_name: str | None
    birth_date: date | None
    language: str
    kyc_tier: int
    status: str
    pin_set: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """What a customer asks to change; ``None`` leaves a field as it is."""

    given_name: str | None = None
    family_name: str | None = None
    birth_date: date | None = None
    language: str | None = None


async def load_profile(
    connection: AsyncConnection, personal: PersonalData, customer_id: int, *, advisory_lock: str | None = None
) -> Profile:
    """The unsealed profile of ``customer_id``; raises :class:`CustomerNotFound`. ``advisory_lock``:
    the key of a transaction-scoped lock to take in the same round trip (PostgreSQL)."""
    record = await customers.get(connection, customer_id, advisory_lock=advisory_lock)
    if record is None:
        raise CustomerNotFound()
    return _profile(personal, record)


async def load_profiles(
    connection: AsyncConnection,
    personal: PersonalData,
    customer_ids: Sequence[int],
    *,
    advisory_locks: Sequence[str] = (),
) -> dict[int, Profile]:
    """:func:`load_profile` for many customers in two statements (PostgreSQL): first the
    transaction's advisory locks of ``advisory_locks``, taken in the order given, then the rows.
    A customer not found is left out (:func:`load_profile` then says so)."""
    await customers.advisory_locks(connection, advisory_locks)
    return {
        record.id: _profile(personal, record) for record in await customers.get_many(connection, customer_ids)
    }


def _profile(personal: PersonalData, record: customers.CustomerRecord) -> Profile:
    birth = personal.open_optional(record.birth_date_sealed, BIRTH_DATE_CONTEXT)
    return Profile(
        customer_id=record.id,
        phone=personal.open(record.phone_sealed, PHONE_CONTEXT),
        given_name=personal.open_optional(record.given_name_sealed, GIVEN_NAME_CONTEXT),
        family_name=personal.open_optional(record.family_name_sealed, FAMILY_NAME_CONTEXT),
        birth_date=None if birth is None else date.fromisoformat(birth),
        language=record.language,
        kyc_tier=record.kyc_tier,
        status=record.status,
        pin_set=record.pin_hash is not None,
        created_at=record.created_at,
    )


async def find_customer_by_phone(
    connection: AsyncConnection, personal: PersonalData, e164: str
) -> int | None:
    """The customer whose verified phone is ``e164`` (already E.164), if any."""
    return await customers.find_id_by_phone_index(connection, personal.phone_index(e164))


async def create_customer(
    connection: AsyncConnection, personal: PersonalData, e164: str, *, language: str, now: datetime
) -> int:
    """A new customer (tier 0, no PIN) for a phone number nobody has yet; returns the id."""
    return await customers.insert_customer(
        connection,
        phone_sealed=personal.seal(e164, PHONE_CONTEXT),
        phone_index=personal.phone_index(e164),
        language=language,
        now=now,
    )


async def set_kyc_tier(
    connection: AsyncConnection, customer_id: int, tier: int, *, now: datetime | None = None
) -> None:
    """Put the customer in KYC ``tier`` (0 = phone verified only). For the KYC workflow to call,
    inside its own transaction; raises :class:`CustomerNotFound`."""
    if tier < 0:
        raise ValueError("a KYC tier is 0 or more")
    if not await customers.set_kyc_tier(connection, customer_id, tier, now or utc_now()):
        raise CustomerNotFound()


async def set_customer_status(
    connection: AsyncConnection, customer_id: int, status: str, *, now: datetime | None = None
) -> None:
    """``active``, ``blocked`` (signs-in and every request refused) or ``closed``."""
    if status not in ("active", "blocked", "closed"):
        raise ValueError(f"unknown customer status {status!r}")
    if not await customers.set_status(connection, customer_id, status, now or utc_now()):
        raise CustomerNotFound()


class ProfileService:
    """``GET`` and ``PATCH /v1/me``."""

    def __init__(self, *, engine: AsyncEngine, personal_data: PersonalData, clock: Clock) -> None:
        self._engine = engine
        self._personal = personal_data
        self._clock = clock

    async def get(self, customer_id: int) -> Profile:
        async with reading(self._engine) as connection:
            return await load_profile(connection, self._personal, customer_id)

    async def update(self, customer_id: int, changes: ProfileChanges) -> Profile:
        now = self._clock()
        given = None if changes.given_name is None else clean_name(changes.given_name, "givenName")
        family = None if changes.family_name is None else clean_name(changes.family_name, "familyName")
        birth = None if changes.birth_date is None else clean_birth_date(changes.birth_date, now.date())
        if changes.language is not None and changes.language not in SUPPORTED_LANGUAGES:
            raise ValueError(f"unsupported language {changes.language!r}")
        async with self._engine.begin() as connection:
            current = await load_profile(connection, self._personal, customer_id)
            identity_changes = (
                (given is not None and given != current.given_name)
                or (family is not None and family != current.family_name)
                or (birth is not None and birth != current.birth_date)
            )
            if identity_changes and current.kyc_tier > 0:
                raise VerifiedProfileLocked()
            seal = self._personal.seal_optional
            new_birth = birth or current.birth_date
            await customers.update_profile(
                connection,
                customer_id,
                given_name_sealed=seal(given or current.given_name, GIVEN_NAME_CONTEXT),
                family_name_sealed=seal(family or current.family_name, FAMILY_NAME_CONTEXT),
                birth_date_sealed=seal(
                    None if new_birth is None else new_birth.isoformat(), BIRTH_DATE_CONTEXT
                ),
                language=changes.language or current.language,
                now=now,
            )
            return await load_profile(connection, self._personal, customer_id)
