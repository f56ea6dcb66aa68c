"""Demo data for ``make run``: a sender in Russia with two recipients in Azerbaijan. Idempotent.

The sender signs in like anyone else (code from ``GET /dev/sms``), with PIN 1234; see docs/api.md.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.identity.clock import utc_now
from backend.identity.keys import IdentityKeys, PersonalData
from backend.identity.pins import PinHasher
from backend.identity.policy import IdentityPolicy
from backend.identity.profiles import (
    BIRTH_DATE_CONTEXT,
    FAMILY_NAME_CONTEXT,
    GIVEN_NAME_CONTEXT,
    create_customer,
    find_customer_by_phone,
    set_kyc_tier,
)
from backend.identity.recipients import PayoutInput, RecipientDraft, add_recipient
from backend.identity.repositories import customers
from backend.settings import Settings

__all__ = ["DEMO_PIN", "DEMO_RECIPIENT_IBAN", "DEMO_RECIPIENT_WALLET", "DEMO_SENDER_PHONE", "seed_identity"]

DEMO_SENDER_PHONE = "+79161234567"
DEMO_PIN = "1234"
DEMO_RECIPIENT_IBAN = "AZ21NABZ00000000137010001944"
DEMO_RECIPIENT_WALLET = "+994501112233"


async def seed_identity(engine: AsyncEngine, settings: Settings) -> str:
    """Create the demo sender (KYC tier 1, PIN 1234) and recipients unless they exist."""
    personal = PersonalData.from_settings(settings)
    policy = IdentityPolicy.for_environment(settings.env)
    now = utc_now()
    async with engine.begin() as connection:
        customer_id = await find_customer_by_phone(connection, personal, DEMO_SENDER_PHONE)
        created = customer_id is None
        if customer_id is None:
            customer_id = await create_customer(
                connection, personal, DEMO_SENDER_PHONE, language="az", now=now
            )
            await customers.update_profile(
                connection,
                customer_id,
                given_name_sealed=personal.seal("Rəşad", GIVEN_NAME_CONTEXT),
                family_name_sealed=personal.seal("Əliyev", FAMILY_NAME_CONTEXT),
                birth_date_sealed=personal.seal(date(1988, 3, 14).isoformat(), BIRTH_DATE_CONTEXT),
                language="az",
                now=now,
            )
            hasher = PinHasher(IdentityKeys.from_settings(settings).pin_pepper, policy.argon2)
            await customers.replace_pin_hash(
                connection,
                customer_id,
                old_hash=None,
                new_hash=await hasher.hash(customer_id, DEMO_PIN),
                now=now,
            )
            await set_kyc_tier(connection, customer_id, 1, now=now)
            for draft in (
                RecipientDraft(
                    "Leyla", "Əliyeva", "AZ", PayoutInput("bank_account", iban=DEMO_RECIPIENT_IBAN)
                ),
                RecipientDraft("Elnur", "Əliyev", "AZ", PayoutInput("wallet", phone=DEMO_RECIPIENT_WALLET)),
            ):
                await add_recipient(connection, personal, customer_id, draft, now)
    state = "created" if created else "already there"
    return (
        f"identity: demo sender Rəşad Əliyev {DEMO_SENDER_PHONE} (customer {customer_id}, KYC tier 1, "
        f"PIN {DEMO_PIN}) with recipients Leyla Əliyeva (IBAN {DEMO_RECIPIENT_IBAN}) and "
        f"Elnur Əliyev (wallet {DEMO_RECIPIENT_WALLET}): {state}"
    )
