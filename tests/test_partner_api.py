"""The partner API as a bank's integrator meets it: signed requests (wrong, expired, replayed, revoked),
pulling payouts with a lease, and confirm / fail that are idempotent and transactional."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.app import create_app
from backend.clock import utcnow
from backend.outbox.tables import outbox_events
from backend.partners.client import PartnerAuth
from backend.partners.outcomes import RecordingOutcomeHandler
from backend.partners.payouts import Payout, PayoutKind
from backend.partners.service import IssuedKey, Partner, revoke_key, rotate_key
from backend.partners.signing import request_signature_header
from backend.partners.tables import partner_payouts, partner_request_nonces
from backend.settings import Settings
from tests.partner_support import make_partner, make_payout, partner_keys, serve


@dataclass
class Bank:
    """A partner bank with a signed client against a live server."""

    partner: Partner
    key: IssuedKey
    client: httpx.AsyncClient
    outcomes: RecordingOutcomeHandler
    base_url: str


@pytest.fixture
async def bank(engine: AsyncEngine, settings: Settings) -> AsyncIterator[Bank]:
    partner, key, _ = await make_partner(engine, settings, webhook_url="https://bank.example/webhooks")
    app = create_app(settings, engine=engine)
    outcomes = RecordingOutcomeHandler()
    app.state.payout_outcomes = outcomes
    async with (
        serve(app) as url,
        httpx.AsyncClient(base_url=url, auth=PartnerAuth(key.key_id, key.secret)) as client,
    ):
        yield Bank(partner, key, client, outcomes, url)


def signed_headers(
    key: IssuedKey, method: str, target: str, body: bytes = b"", t: int | None = None
) -> dict[str, str]:
    timestamp = int(time.time()) if t is None else t
    return {
        "Korpu-Key": key.key_id,
        "Korpu-Signature": request_signature_header(key.secret, timestamp, method, target, body),
    }


async def test_a_signed_request_is_accepted(bank: Bank) -> None:
    response = await bank.client.get("/partner/v1/me")
    assert response.status_code == 200, response.text
    assert response.json()["code"] == "kapital-test"
    assert response.json()["keyId"] == bank.key.key_id


async def test_unsigned_request_is_refused(bank: Bank) -> None:
    async with httpx.AsyncClient(base_url=bank.base_url) as anonymous:
        response = await anonymous.get("/partner/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "signature_missing"


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ("wrong_secret", "invalid_signature"),
        ("other_body", "invalid_signature"),
        ("other_query", "invalid_signature"),
        ("other_method", "invalid_signature"),
        ("expired", "signature_expired"),
        ("from_the_future", "signature_expired"),
        ("unknown_key", "invalid_key"),
        ("malformed", "signature_missing"),
    ],
)
async def test_a_wrong_or_stale_signature_is_refused(bank: Bank, tamper: str, code: str) -> None:
    key = bank.key
    target, body, t = "/partner/v1/payouts/po_x/fail?x=1", b'{"reason": "closed"}', int(time.time())
    headers = signed_headers(key, "POST", target, body, t)
    if tamper == "wrong_secret":
        headers = signed_headers(IssuedKey(key.key_id, key.secret + "x"), "POST", target, body, t)
    elif tamper == "other_body":
        body = b'{"reason": "open"}'
    elif tamper == "other_query":
        target = "/partner/v1/payouts/po_x/fail?x=2"
    elif tamper == "other_method":
        headers = signed_headers(key, "PUT", target, body, t)
    elif tamper == "expired":
        headers = signed_headers(key, "POST", target, body, t - 310)
    elif tamper == "from_the_future":
        headers = signed_headers(key, "POST", target, body, t + 310)
    elif tamper == "unknown_key":
        headers["Korpu-Key"] = "kpk_000000000000000000000000"
    elif tamper == "malformed":
        headers["Korpu-Signature"] = "v1=abc"
    async with httpx.AsyncClient(base_url=bank.base_url) as raw:
        response = await raw.post(
            target, content=body, headers={**headers, "content-type": "application/json"}
        )
    assert response.status_code == 401, response.text
    assert response.json()["code"] == code


async def test_a_signature_four_minutes_old_is_still_accepted(bank: Bank) -> None:
    headers = signed_headers(bank.key, "GET", "/partner/v1/me", t=int(time.time()) - 240)
    async with httpx.AsyncClient(base_url=bank.base_url) as raw:
        assert (await raw.get("/partner/v1/me", headers=headers)).status_code == 200


async def test_a_replayed_request_is_refused_and_refusal_changes_nothing(
    bank: Bank, engine: AsyncEngine
) -> None:
    headers = signed_headers(bank.key, "GET", "/partner/v1/me")
    async with httpx.AsyncClient(base_url=bank.base_url) as raw:
        first = await raw.get("/partner/v1/me", headers=headers)
        second = await raw.get("/partner/v1/me", headers=headers)
    assert first.status_code == 200
    assert second.status_code == 401
    assert second.json()["code"] == "replayed_request"
    async with engine.connect() as conn:
        assert len((await conn.execute(select(partner_request_nonces))).all()) == 1


async def test_revoked_and_rotated_keys(bank: Bank, engine: AsyncEngine, settings: Settings) -> None:
    async with engine.begin() as conn:
        successor = await rotate_key(conn, bank.key.key_id, partner_keys(settings), grace=timedelta(hours=1))
    assert successor.key_id != bank.key.key_id
    async with httpx.AsyncClient(
        base_url=bank.base_url, auth=PartnerAuth(successor.key_id, successor.secret)
    ) as new:
        assert (await new.get("/partner/v1/me")).status_code == 200
    assert (await bank.client.get("/partner/v1/me")).status_code == 200  # the old key, during its grace

    async with engine.begin() as conn:
        await revoke_key(conn, bank.key.key_id)
    refused = await bank.client.get("/partner/v1/me")
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_key")

    async with engine.begin() as conn:
        expiring = await rotate_key(conn, successor.key_id, partner_keys(settings), grace=timedelta(0))
    async with httpx.AsyncClient(
        base_url=bank.base_url, auth=PartnerAuth(successor.key_id, successor.secret)
    ) as old:
        assert (await old.get("/partner/v1/me")).json()["code"] == "invalid_key"
    async with httpx.AsyncClient(
        base_url=bank.base_url, auth=PartnerAuth(expiring.key_id, expiring.secret)
    ) as new:
        assert (await new.get("/partner/v1/me")).status_code == 200


async def test_pulling_payouts_leases_them_and_an_expired_lease_offers_them_again(
    bank: Bank, engine: AsyncEngine, settings: Settings
) -> None:
    first = await make_payout(engine, settings, bank.partner.id, "TR-1001", "200.00")
    second = await make_payout(engine, settings, bank.partner.id, "TR-1002", "35.50", kind=PayoutKind.CASHOUT)
    response = await bank.client.get("/partner/v1/payouts", params={"status": "pending"})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["id"] for i in items] == [first, second]
    assert items[0]["amount"] == {"amount": "200.00", "currency": "AZN"}
    assert items[0]["beneficiary"]["name"] == "Leyla Mammadova"
    assert items[1]["kind"] == "cashout"
    assert all(i["status"] == "claimed" and i["leaseUntil"] for i in items)

    again = await bank.client.get("/partner/v1/payouts", params={"status": "pending"})
    assert again.json()["items"] == []  # leased: not offered twice

    async with engine.begin() as conn:
        await conn.execute(
            update(partner_payouts)
            .where(partner_payouts.c.id == first)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    offered = await bank.client.get("/partner/v1/payouts", params={"status": "pending"})
    assert [i["id"] for i in offered.json()["items"]] == [first]


async def test_the_beneficiary_is_sealed_at_rest(engine: AsyncEngine, bank: Bank, settings: Settings) -> None:
    await make_payout(engine, settings, bank.partner.id, "TR-1001", "200.00")
    async with engine.connect() as conn:
        sealed = (await conn.execute(select(partner_payouts.c.beneficiary_sealed))).scalar_one()
    assert b"Leyla" not in sealed
    assert b"AZ21" not in sealed


async def test_confirm_is_idempotent_and_calls_the_outcome_handler_once(
    bank: Bank, engine: AsyncEngine, settings: Settings
) -> None:
    payout_id = await make_payout(engine, settings, bank.partner.id, "TR-1001", "200.00")
    path = f"/partner/v1/payouts/{payout_id}/confirm"
    first = await bank.client.post(path, json={"partnerReference": "KAP-77"})
    again = await bank.client.post(path, json={"partnerReference": "KAP-77"})
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    assert first.json()["status"] == "confirmed"
    assert first.json()["partnerReference"] == "KAP-77"
    assert bank.outcomes.confirmed == [payout_id]

    conflict = await bank.client.post(f"/partner/v1/payouts/{payout_id}/fail", json={"reason": "closed"})
    assert (conflict.status_code, conflict.json()["code"]) == (409, "payout_already_final")
    assert bank.outcomes.failed == []

    async with engine.connect() as conn:
        topics = (
            await conn.execute(select(outbox_events.c.topic).order_by(outbox_events.c.sequence))
        ).scalars()
        assert list(topics) == ["payout.created", "payout.confirmed"]


async def test_fail_is_idempotent_and_carries_the_reason(
    bank: Bank, engine: AsyncEngine, settings: Settings
) -> None:
    payout_id = await make_payout(engine, settings, bank.partner.id, "TR-1001", "20.13")
    path = f"/partner/v1/payouts/{payout_id}/fail"
    first = await bank.client.post(path, json={"reason": "beneficiary account closed"})
    again = await bank.client.post(path, json={"reason": "beneficiary account closed"})
    assert first.status_code == again.status_code == 200
    assert first.json()["failureReason"] == "beneficiary account closed"
    assert bank.outcomes.failed == [(payout_id, "beneficiary account closed")]
    conflict = await bank.client.post(f"/partner/v1/payouts/{payout_id}/confirm", json={})
    assert conflict.status_code == 409
    assert bank.outcomes.confirmed == []


async def test_bad_input_changes_nothing(bank: Bank, engine: AsyncEngine, settings: Settings) -> None:
    payout_id = await make_payout(engine, settings, bank.partner.id, "TR-1001", "20.00")
    response = await bank.client.post(f"/partner/v1/payouts/{payout_id}/fail", json={"reason": ""})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    missing = await bank.client.post("/partner/v1/payouts/po_nope/confirm", json={})
    assert (missing.status_code, missing.json()["code"]) == (404, "payout_not_found")
    async with engine.connect() as conn:
        assert (await conn.execute(select(partner_payouts.c.status))).scalar_one() == "pending"


async def test_a_partner_cannot_touch_another_partners_payout(
    bank: Bank, engine: AsyncEngine, settings: Settings
) -> None:
    other, _, _ = await make_partner(engine, settings, code="other-bank")
    payout_id = await make_payout(engine, settings, other.id, "TR-9", "10.00")
    response = await bank.client.post(f"/partner/v1/payouts/{payout_id}/confirm", json={})
    assert response.status_code == 404
    assert bank.outcomes.confirmed == []


async def test_when_the_outcome_handler_fails_the_payout_stays_open(
    engine: AsyncEngine, settings: Settings
) -> None:
    class Broken(RecordingOutcomeHandler):
        async def on_confirmed(self, conn: AsyncConnection, payout: Payout) -> None:
            raise RuntimeError("ledger unavailable")

    partner, key, _ = await make_partner(engine, settings, webhook_url="https://bank.example/webhooks")
    payout_id = await make_payout(engine, settings, partner.id, "TR-1", "10.00")
    app = create_app(settings, engine=engine)
    app.state.payout_outcomes = Broken()
    async with (
        serve(app) as url,
        httpx.AsyncClient(base_url=url, auth=PartnerAuth(key.key_id, key.secret)) as c,
    ):
        response = await c.post(f"/partner/v1/payouts/{payout_id}/confirm", json={})
    assert response.status_code == 500
    async with engine.connect() as conn:
        assert (await conn.execute(select(partner_payouts.c.status))).scalar_one() == "pending"
        assert list((await conn.execute(select(outbox_events.c.topic))).scalars()) == ["payout.created"]


async def test_concurrent_confirms_book_the_outcome_once(
    bank: Bank, engine: AsyncEngine, settings: Settings
) -> None:
    payout_id = await make_payout(engine, settings, bank.partner.id, "TR-1001", "200.00")
    responses = await asyncio.gather(
        *(bank.client.post(f"/partner/v1/payouts/{payout_id}/confirm", json={}) for _ in range(6))
    )
    assert {r.status_code for r in responses} == {200}
    assert bank.outcomes.confirmed == [payout_id]


async def test_an_idempotency_key_replays_the_first_reply_and_refuses_another_body(
    bank: Bank, engine: AsyncEngine, settings: Settings
) -> None:
    first = await make_payout(engine, settings, bank.partner.id, "TR-1", "10.00")
    second = await make_payout(engine, settings, bank.partner.id, "TR-2", "10.00")
    headers = {"Idempotency-Key": "2f0b3c1e-key-1"}
    one = await bank.client.post(f"/partner/v1/payouts/{first}/confirm", json={}, headers=headers)
    two = await bank.client.post(f"/partner/v1/payouts/{first}/confirm", json={}, headers=headers)
    assert one.status_code == two.status_code == 200
    assert one.content == two.content
    reused = await bank.client.post(f"/partner/v1/payouts/{second}/confirm", json={}, headers=headers)
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert bank.outcomes.confirmed == [first]


async def test_concurrent_pulls_never_hand_out_one_payout_twice(
    bank: Bank, engine: AsyncEngine, settings: Settings
) -> None:
    created = [await make_payout(engine, settings, bank.partner.id, f"TR-{n}", "1.00") for n in range(12)]
    replies = await asyncio.gather(
        *(bank.client.get("/partner/v1/payouts", params={"status": "pending", "limit": 4}) for _ in range(4))
    )
    handed_out = [item["id"] for reply in replies for item in reply.json()["items"]]
    assert len(handed_out) == len(set(handed_out))
    assert sorted(handed_out) == sorted(created)


async def test_expired_nonces_are_swept(bank: Bank, engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            partner_request_nonces.insert(),
            [
                {
                    "key_id": bank.key.key_id,
                    "signature": f"{n:064x}",
                    "expires_at": utcnow() - timedelta(hours=1),
                }
                for n in range(3)
            ],
        )
    assert (await bank.client.get("/partner/v1/me")).status_code == 200
    async with engine.connect() as conn:
        assert len((await conn.execute(select(partner_request_nonces))).all()) == 1  # only this request's
