"""The crash test's checker (``korpu bench crash``) on a tiny scenario: it passes real books and
catches each kind of damage it exists to catch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.bench_e2e.invariants import Acknowledged, check_invariants
from backend.partners.tables import partner_payouts
from backend.settings import Settings
from backend.transfers.tables import transfers
from compliance.privacy import Sealer
from tests.transfer_support import World, transfer_world

IBAN = "AZ21NABZ00000000137010001944"


async def _scenario(world: World) -> tuple[list[Acknowledged], dict[str, Any], dict[str, str]]:
    """Three transfers: one paid out, one refunded, one still with the partner."""
    sender = await world.customer()
    await world.fund(sender, "20000.00", "RUB")
    recipient_id = await world.recipient(sender, method="bank_account", iban=IBAN)
    acks: list[Acknowledged] = []
    ids: dict[str, str] = {}
    bank: dict[str, Any] = {}
    for name, outcome in (("paid", "confirm"), ("failed", "fail"), ("pending", None)):
        quote = await world.quote(sender, "1000.00")
        key = f"key-{name}"
        response = await world.send(sender, quote["id"], recipient_id, key)
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
        acks.append(Acknowledged(key, sender.customer_id, ids[name], quote["id"]))
        if outcome is None:
            continue
        items = await world.partner_pays_all(fail=outcome == "fail")
        for item in items:
            bank[item["id"]] = {"reference": item["reference"], "instructions": 1, "outcome": outcome}
    return acks, bank, ids


async def test_real_books_pass_and_each_kind_of_damage_is_caught(
    engine: AsyncEngine, settings: Settings
) -> None:
    async with transfer_world(engine, settings) as world:
        acks, bank, ids = await _scenario(world)
        sealer = Sealer(settings.secrets.data_keys)  # the stored replies are sealed

        async with engine.connect() as conn:
            report = await check_invariants(conn, acks, bank, sealer=sealer)
        assert report.ok, report.violations
        assert report.counts["holds"] == {"posted": 1, "released": 1, "open": 1}
        assert report.counts["statuses"] == {"paid_out": 1, "refunded": 1, "sent_to_partner": 1}

        ghost = Acknowledged("key-ghost", acks[0].customer_id, "00000000-0000-0000-0000-000000000000", "q")
        paid_id = next(iter(bank))
        twice = {**bank, paid_id: {**bank[paid_id], "instructions": 2}}
        other_reference = {**bank, "pay_other": {"reference": bank[paid_id]["reference"], "instructions": 1}}
        async with engine.connect() as conn:
            missing = await check_invariants(conn, [*acks, ghost], bank, sealer=sealer)
            duplicate = await check_invariants(conn, acks, twice, sealer=sealer)
            same_reference = await check_invariants(conn, acks, other_reference, sealer=sealer)
            wrong_key = await check_invariants(
                conn, [Acknowledged("key-paid", *_rest(acks[1]))], bank, sealer=sealer
            )
        assert any("is missing" in v for v in missing.violations)
        assert any("asked 2 times to pay" in v for v in duplicate.violations)
        assert any("2 payouts for reference" in v for v in same_reference.violations)
        assert any("never created" in v for v in same_reference.violations)
        assert any("does not replay" in v for v in wrong_key.violations)

        async with engine.begin() as conn:
            await conn.execute(
                update(transfers).where(transfers.c.id == ids["paid"]).values(status="sent_to_partner")
            )
            await conn.execute(
                update(partner_payouts)
                .where(partner_payouts.c.reference == ids["pending"].replace("-", ""))
                .values(status="failed")
            )
        async with engine.connect() as conn:
            damaged = await check_invariants(conn, acks, bank, sealer=sealer)
        assert any(ids["paid"] in v and "its hold is posted" in v for v in damaged.violations)
        assert any(ids["pending"] in v and "no payout is on the way" in v for v in damaged.violations)


def _rest(ack: Acknowledged) -> tuple[int, str, str]:
    return ack.customer_id, ack.transfer_id, ack.quote_id
