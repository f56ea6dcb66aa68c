"""A remittance end to end over real HTTP: sign up, fund, add a recipient, quote, send, the partner
pays out, the recipient sees the money; and each way it can go wrong."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import Settings
from ledger.verify import verify
from tests.signin import sign_in
from tests.transfer_support import transfer_world

IBAN = "AZ21NABZ00000000137010001944"


async def test_a_migrant_sends_money_home_and_the_partner_pays_it_out(
    engine: AsyncEngine, settings: Settings
) -> None:
    async with transfer_world(engine, settings) as world:
        sender = await world.customer()
        await world.fund(sender, "20000.00", "RUB")
        assert await world.available(sender, "RUB") == Decimal("20000.00")
        recipient_id = await world.recipient(sender, method="bank_account", iban=IBAN)
        quote = await world.quote(sender, "10000.00")

        key = str(uuid.uuid4())
        response = await world.send(sender, quote["id"], recipient_id, key)
        assert response.status_code == 201, response.text
        transfer = response.json()
        assert transfer["status"] == "sent_to_partner"
        assert [event["status"] for event in transfer["timeline"]] == [
            "created",
            "funds_reserved",
            "sent_to_partner",
        ]
        assert transfer["totalToPay"] == quote["totalToPay"]
        assert transfer["recipient"]["account"].startswith("AZ21") and IBAN not in response.text
        reserved = Decimal("20000.00") - Decimal(quote["totalToPay"]["amount"])
        assert await world.available(sender, "RUB") == reserved

        replay = await world.send(sender, quote["id"], recipient_id, key)
        assert replay.status_code == 201
        assert replay.json() == transfer

        paid = await world.partner_pays_all()
        assert [item["amount"] for item in paid] == [quote["receiveAmount"]]
        final = (await world.http.get(f"/v1/transfers/{transfer['id']}", headers=sender.headers)).json()
        assert final["status"] == "paid_out"
        assert await world.available(sender, "RUB") == reserved

        receipt = await world.http.get(
            f"/v1/transfers/{transfer['id']}/receipt", headers={**sender.headers, "Accept-Language": "az"}
        )
        assert receipt.status_code == 200
        lines = {line["label"]: line["value"] for line in receipt.json()["lines"]}
        assert lines["Status"] == "Ödənildi"
        assert "₼" in lines["Alınan məbləğ"] or "AZN" in lines["Alınan məbləğ"]

        listed = (await world.http.get("/v1/transfers", headers=sender.headers)).json()
        assert [item["id"] for item in listed["items"]] == [transfer["id"]]
        async with engine.connect() as conn:
            report = await verify(conn)
        assert report.ok, report


async def test_a_transfer_to_a_phone_number_opens_a_wallet_the_recipient_claims(
    engine: AsyncEngine, settings: Settings
) -> None:
    async with transfer_world(engine, settings) as world:
        sender = await world.customer()
        await world.fund(sender, "5000.00", "RUB")
        phone = "+994501234567"
        recipient_id = await world.recipient(sender, method="wallet", phone=phone)
        quote = await world.quote(sender, "3000.00", method="wallet")
        response = await world.send(sender, quote["id"], recipient_id)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "paid_out"

        recipient = await sign_in(world.http, phone)
        wallet = (await world.http.get("/v1/wallet", headers=recipient.headers)).json()
        assert wallet["balances"][0]["currency"] == "AZN"
        assert wallet["balances"][0]["available"] == quote["receiveAmount"]
        history = await world.http.get(
            "/v1/wallet/history", params={"currency": "AZN"}, headers=recipient.headers
        )
        assert [item["direction"] for item in history.json()["items"]] == ["in"]


async def test_a_failed_payout_refunds_the_sender(engine: AsyncEngine, settings: Settings) -> None:
    async with transfer_world(engine, settings) as world:
        sender = await world.customer()
        await world.fund(sender, "5000.00", "RUB")
        recipient_id = await world.recipient(sender, method="bank_account", iban=IBAN)
        quote = await world.quote(sender, "2000.00")
        transfer = (await world.send(sender, quote["id"], recipient_id)).json()
        await world.partner_pays_all(fail=True)
        final = (await world.http.get(f"/v1/transfers/{transfer['id']}", headers=sender.headers)).json()
        assert final["status"] == "refunded"
        assert final["failureCode"] == "payout_failed"
        assert await world.available(sender, "RUB") == Decimal("5000.00")


async def test_each_way_a_transfer_can_be_refused(engine: AsyncEngine, settings: Settings) -> None:
    async with transfer_world(engine, settings) as world:
        sender = await world.customer()
        other = await world.customer(name=("Aygün", "Quliyeva"))
        recipient_id = await world.recipient(sender, method="bank_account", iban=IBAN)

        quote = await world.quote(sender, "1000.00")
        missing_key = await world.http.post(
            "/v1/transfers",
            json={"quoteId": quote["id"], "recipientId": recipient_id},
            headers=sender.headers,
        )
        assert missing_key.status_code == 400
        assert missing_key.json()["code"] == "idempotency_key_missing"

        broke = await world.send(sender, quote["id"], recipient_id)
        assert broke.status_code == 422
        assert broke.json()["code"] == "insufficient_funds"
        assert (await world.http.get("/v1/transfers", headers=sender.headers)).json()["items"] == []

        await world.fund(sender, "3000.00", "RUB")
        key = str(uuid.uuid4())
        ok = await world.send(sender, quote["id"], recipient_id, key)
        assert ok.status_code == 201, ok.text
        reused = await world.send(sender, (await world.quote(sender, "800.00"))["id"], recipient_id, key)
        assert reused.status_code == 422
        assert reused.json()["code"] == "idempotency_key_reused"
        again = await world.send(sender, quote["id"], recipient_id)
        assert again.status_code == 409
        assert again.json()["code"] == "quote_already_used"

        theirs = await world.http.get(f"/v1/transfers/{ok.json()['id']}", headers=other.headers)
        assert theirs.status_code == 404
        other_quote = await world.quote(other, "900.00")
        not_their_recipient = await world.send(other, other_quote["id"], recipient_id)
        assert not_their_recipient.status_code == 404
        stolen_quote = await world.send(other, (await world.quote(sender, "900.00"))["id"], recipient_id)
        assert stolen_quote.status_code == 404

        tier0 = await world.customer(tier=0)
        await world.fund(tier0, "3000.00", "RUB")
        tier0_recipient = await world.recipient(tier0, method="bank_account", iban=IBAN)
        refused = await world.send(tier0, (await world.quote(tier0, "1000.00"))["id"], tier0_recipient)
        assert refused.status_code == 422
        assert "limit" in refused.json()["code"] or "tier" in refused.json()["code"]


async def test_an_expired_quote_is_refused(engine: AsyncEngine, settings: Settings) -> None:
    short = dataclasses.replace(settings, quote_ttl_seconds=1)
    async with transfer_world(engine, short) as world:
        sender = await world.customer()
        await world.fund(sender, "3000.00", "RUB")
        recipient_id = await world.recipient(sender, method="bank_account", iban=IBAN)
        quote = await world.quote(sender, "1000.00")
        await asyncio.sleep(1.2)
        response = await world.send(sender, quote["id"], recipient_id)
        assert response.status_code == 409
        assert response.json()["code"] == "quote_expired"
        assert await world.available(sender, "RUB") == Decimal("3000.00")


async def test_a_listed_recipient_holds_the_transfer_for_review_and_an_officer_releases_it(
    engine: AsyncEngine, settings: Settings
) -> None:
    async with transfer_world(engine, settings) as world:
        sender = await world.customer()
        await world.fund(sender, "5000.00", "RUB")
        body = {
            "givenName": "Dmitry",
            "familyName": "Khoroshev",
            "country": "AZ",
            "payout": {"method": "bank_account", "iban": IBAN},
        }
        created = await world.http.post("/v1/recipients", json=body, headers=sender.headers)
        assert created.status_code == 201, created.text
        quote = await world.quote(sender, "1000.00")
        response = await world.send(sender, quote["id"], int(created.json()["id"]))
        assert response.status_code == 201, response.text
        assert response.json()["status"] in ("under_review", "cancelled")
        assert await world.partner_pays_all() == []


async def test_status_notifications_reach_the_push_channel(engine: AsyncEngine, settings: Settings) -> None:
    from backend.outbox.events import StoredEvent
    from backend.outbox.push import DevPushProvider, PushHandler
    from backend.outbox.tables import outbox_events

    async with transfer_world(engine, settings) as world:
        sender = await world.customer()
        await world.fund(sender, "3000.00", "RUB")
        recipient_id = await world.recipient(sender, method="bank_account", iban=IBAN)
        quote = await world.quote(sender, "1000.00")
        transfer = (await world.send(sender, quote["id"], recipient_id)).json()
    async with engine.connect() as conn:
        query = outbox_events.select().where(outbox_events.c.aggregate_id == transfer["id"])
        rows = (await conn.execute(query)).mappings().all()
    provider = DevPushProvider()
    for row in rows:
        if row["destination"].startswith("push:"):
            await PushHandler(provider).deliver(StoredEvent.from_row(row))
    assert [message.template for message in provider.sent] == ["transfer.sent_to_partner"]
    assert provider.sent[0].customer_id == str(sender.customer_id)


@pytest.mark.postgres_only
async def test_two_concurrent_transfers_of_one_sender_cannot_both_slip_under_the_daily_limit(
    engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both would read the day's history before either is written, but the sender is locked from
    the limits check to the commit: the second waits for the first and then sees it."""
    import backend.transfers.party_screening as party_screening

    screen = party_screening.screen_parties

    async def slow_screening(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.3)  # between the limits check and the transfer's rows
        return await screen(*args, **kwargs)

    async with transfer_world(engine, settings) as world:
        sender = await world.customer(tier=1)  # 2,000 USD a day
        await world.fund(sender, "200000.00", "RUB")
        recipient_id = await world.recipient(sender, method="bank_account", iban=IBAN)
        first = await world.send(sender, (await world.quote(sender, "63000.00"))["id"], recipient_id)
        assert first.status_code == 201, first.text  # about 900 USD
        quotes = [await world.quote(sender, "49000.00") for _ in range(2)]  # about 700 USD each
        monkeypatch.setattr(party_screening, "screen_parties", slow_screening)
        both = await asyncio.gather(*(world.send(sender, quote["id"], recipient_id) for quote in quotes))
        assert sorted(response.status_code for response in both) == [201, 422], [r.text for r in both]
        refused = next(response for response in both if response.status_code == 422)
        assert "limit" in refused.json()["code"]
