"""Demo seeder: the partner bank "Kapital Demo", pushed to by the mock bank on 127.0.0.1:8100.

Its API key id is fixed (``kpk_kapitaldemo00000000000``); the secret is derived from this
installation's server key, so it is stable on one laptop and printed on every seeding in dev.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.partners.credentials import PartnerSecrets
from backend.partners.service import (
    NewPartner,
    PartnerNotFound,
    create_partner,
    get_partner_by_code,
    issue_key,
    revoke_key,
)
from backend.settings import Settings
from compliance.privacy import Sealer

__all__ = ["DEMO_KEY_ID", "DEMO_PARTNER_CODE", "seed_demo_partner"]

DEMO_PARTNER_CODE = "kapital-demo"
DEMO_KEY_ID = "kpk_kapitaldemo00000000000"
MOCK_BANK_URL = "http://127.0.0.1:8100"


async def seed_demo_partner(engine: AsyncEngine, settings: Settings) -> str:
    """Create Kapital Demo once; in dev, say its API key."""
    keys = PartnerSecrets(settings.secrets.secret_key, Sealer(settings.secrets.data_keys))
    async with engine.begin() as conn:
        try:
            await get_partner_by_code(conn, DEMO_PARTNER_CODE)
            created = False
        except PartnerNotFound:
            partner, first_key, _ = await create_partner(
                conn,
                NewPartner(
                    code=DEMO_PARTNER_CODE,
                    name="Kapital Demo",
                    payout_mode="push",
                    payout_url=f"{MOCK_BANK_URL}/payouts",
                    webhook_url=f"{MOCK_BANK_URL}/webhooks",
                ),
                keys,
            )
            # The generated first key is replaced by the fixed demo key id, so the demo is repeatable.
            await revoke_key(conn, first_key.key_id)
            await issue_key(conn, partner.id, keys, key_id=DEMO_KEY_ID)
            created = True
    state = "created" if created else "present"
    summary = f"partners: Kapital Demo ({DEMO_PARTNER_CODE}) {state}, push to {MOCK_BANK_URL}"
    if settings.env == "dev":
        summary += f"; dev API key id {DEMO_KEY_ID} secret {keys.api_secret(DEMO_KEY_ID)}"
    return summary
