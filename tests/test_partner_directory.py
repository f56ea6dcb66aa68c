"""The outbox worker reads a partner and its signing secrets once per few seconds, not per delivery,
and sees a new secret once that time has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.partners.directory import PartnerDirectory
from backend.partners.service import PartnerNotFound, rotate_webhook_secret
from backend.settings import Settings
from tests.partner_support import make_partner, partner_keys
from tests.statements import statements_run


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_deliveries_to_one_partner_read_it_once_per_lifetime(
    engine: AsyncEngine, settings: Settings
) -> None:
    partner, _, first_secret = await make_partner(engine, settings, webhook_url="https://bank.example/hooks")
    clock = Clock()
    directory = PartnerDirectory(engine, partner_keys(settings), lifetime_seconds=5, clock=clock)
    async with statements_run(engine) as sent:
        for _ in range(20):
            found, secrets = await directory.get(partner.id)
            assert found.webhook_url == "https://bank.example/hooks"
            assert secrets == [first_secret]
    assert len([s for s in sent if "FROM partners" in s]) == 1

    async with engine.begin() as conn:
        second_secret = await rotate_webhook_secret(
            conn, partner.id, partner_keys(settings), grace=timedelta(hours=24)
        )
    clock.now += 4.9
    assert (await directory.get(partner.id))[1] == [first_secret]  # still within its lifetime
    clock.now += 0.2
    _, secrets = await directory.get(partner.id)
    # Signed with both during the grace period, so a partner on either secret accepts the message.
    assert sorted(secrets) == sorted([second_secret, first_secret])


async def test_an_unknown_partner_is_not_remembered(engine: AsyncEngine, settings: Settings) -> None:
    directory = PartnerDirectory(engine, partner_keys(settings), clock=Clock())
    partner, _, _ = await make_partner(engine, settings)
    with pytest.raises(PartnerNotFound):
        await directory.get("no-such-partner")
    assert (await directory.get(partner.id))[0].id == partner.id
