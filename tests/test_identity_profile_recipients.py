"""The profile and recipients over real HTTP: validation of names, dates, IBANs, cards and wallet
numbers; personal data sealed at rest; card numbers never sent back; other people's data is 404."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.identity.keys import PersonalData
from backend.identity.profiles import find_customer_by_phone, set_kyc_tier
from backend.identity.recipients import payout_instruction
from backend.identity.tables import customers, recipients
from backend.settings import Settings
from tests.signin import SignedIn, sign_in

IBAN_AZ = "AZ21NABZ00000000137010001944"  # the IBAN registry's example for Azerbaijan
IBAN_DE = "DE89370400440532013000"
CARD = "4111 1111 1111 1111"


def _recipient(payout: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"givenName": "Leyla", "familyName": "Məmmədova", "country": "AZ", "payout": payout, **fields}


async def _create(http: AsyncClient, session: SignedIn, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post("/v1/recipients", json=body, headers=session.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# -- profile -------------------------------------------------------------------------------------


async def test_profile_is_read_and_changed_and_sealed_at_rest(http: AsyncClient, engine: AsyncEngine) -> None:
    session = await sign_in(http)
    response = await http.patch(
        "/v1/me",
        json={
            "givenName": "  Rəşad ",
            "familyName": "Əliyev-Qasımlı",
            "dateOfBirth": "1990-05-01",
            "language": "az",
        },
        headers=session.headers,
    )
    assert response.status_code == 200, response.text
    profile = response.json()
    assert profile["givenName"] == "Rəşad"
    assert profile["familyName"] == "Əliyev-Qasımlı"
    assert profile["dateOfBirth"] == "1990-05-01"
    assert profile["language"] == "az"
    assert (await http.get("/v1/me", headers=session.headers)).json() == profile

    async with engine.connect() as connection:
        row = (await connection.execute(select(customers).where(customers.c.id == session.customer_id))).one()
    stored = b"".join(value for value in row if isinstance(value, bytes))
    for secret in ("Rəşad", "Əliyev", "1990-05-01", session.phone):
        assert secret.encode() not in stored
    assert session.phone not in row.phone_index


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"givenName": "R2D2"}, "invalid_name"),
        ({"familyName": "<script>"}, "invalid_name"),
        ({"dateOfBirth": "2999-01-01"}, "invalid_birth_date"),
        ({"dateOfBirth": "1850-01-01"}, "invalid_birth_date"),
        ({"language": "de"}, "validation_error"),
        ({"nickname": "x"}, "validation_error"),
    ],
)
async def test_bad_profile_changes_are_refused_and_change_nothing(
    http: AsyncClient, body: dict[str, Any], code: str
) -> None:
    session = await sign_in(http)
    before = (await http.get("/v1/me", headers=session.headers)).json()
    response = await http.patch("/v1/me", json=body, headers=session.headers)
    assert response.json()["code"] == code
    assert response.status_code in (400, 422)
    assert (await http.get("/v1/me", headers=session.headers)).json() == before


async def test_verified_identity_cannot_be_edited_but_language_can(
    http: AsyncClient, engine: AsyncEngine
) -> None:
    session = await sign_in(http)
    await http.patch("/v1/me", json={"givenName": "Rashad", "familyName": "Aliyev"}, headers=session.headers)
    async with engine.begin() as connection:
        await set_kyc_tier(connection, session.customer_id, 1)
    assert (await http.get("/v1/me", headers=session.headers)).json()["kycTier"] == 1
    refused = await http.patch("/v1/me", json={"givenName": "Someone"}, headers=session.headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "verified_profile_locked")
    same = await http.patch("/v1/me", json={"givenName": "Rashad", "language": "ru"}, headers=session.headers)
    assert same.status_code == 200
    assert same.json()["language"] == "ru"


# -- recipients ----------------------------------------------------------------------------------


async def test_recipient_lifecycle(http: AsyncClient) -> None:
    session = await sign_in(http)
    created = await _create(
        http, session, _recipient({"method": "bank_account", "iban": "az21 nabz 0000 0000 1370 1000 1944"})
    )
    assert created["payout"] == {"method": "bank_account", "iban": IBAN_AZ}
    path = f"/v1/recipients/{created['id']}"
    assert (await http.get(path, headers=session.headers)).json() == created

    changed = await http.patch(
        path,
        json={"familyName": "Həsənova", "payout": {"method": "wallet", "phone": "+994 50 111 22 33"}},
        headers=session.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["familyName"] == "Həsənova"
    assert changed.json()["givenName"] == "Leyla"
    assert changed.json()["payout"] == {"method": "wallet", "phone": "+994501112233"}

    assert (await http.delete(path, headers=session.headers)).status_code == 204
    gone = await http.get(path, headers=session.headers)
    assert (gone.status_code, gone.json()["code"]) == (404, "recipient_not_found")
    assert (await http.get("/v1/recipients", headers=session.headers)).json() == {
        "items": [],
        "nextCursor": None,
    }


async def test_recipients_are_listed_newest_first_in_pages(http: AsyncClient) -> None:
    session = await sign_in(http)
    ids = [
        (await _create(http, session, _recipient({"method": "cash_pickup"}, givenName=name)))["id"]
        for name in ("Aysel", "Elvin", "Nigar", "Orxan", "Tural")
    ]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await http.get("/v1/recipients", params=params, headers=session.headers)).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    assert pages == 3
    bad = await http.get("/v1/recipients", params={"cursor": "abc"}, headers=session.headers)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_cursor")


async def test_another_customers_recipient_is_404_and_untouched(http: AsyncClient) -> None:
    owner = await sign_in(http)
    stranger = await sign_in(http)
    created = await _create(http, owner, _recipient({"method": "bank_account", "iban": IBAN_AZ}))
    path = f"/v1/recipients/{created['id']}"
    for response in (
        await http.get(path, headers=stranger.headers),
        await http.patch(path, json={"givenName": "Mallory"}, headers=stranger.headers),
        await http.delete(path, headers=stranger.headers),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "recipient_not_found"
    assert (await http.get("/v1/recipients", headers=stranger.headers)).json()["items"] == []
    assert (await http.get(path, headers=owner.headers)).json() == created


async def test_card_numbers_are_checked_sealed_and_never_sent_back(
    http: AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    session = await sign_in(http)
    bad = await http.post(
        "/v1/recipients",
        json=_recipient({"method": "card", "cardNumber": "4111 1111 1111 1112"}),
        headers=session.headers,
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_card_number")

    created = await _create(http, session, _recipient({"method": "card", "cardNumber": CARD}))
    assert created["payout"] == {"method": "card", "last4": "1111", "scheme": "visa"}
    replies = [
        (await http.get(f"/v1/recipients/{created['id']}", headers=session.headers)).text,
        (await http.get("/v1/recipients", headers=session.headers)).text,
        (
            await http.patch(
                f"/v1/recipients/{created['id']}", json={"givenName": "Aynur"}, headers=session.headers
            )
        ).text,
    ]
    for reply in replies:
        assert "4111111111111111" not in reply
        assert "411111" not in reply

    async with engine.connect() as connection:
        row = (await connection.execute(select(recipients).where(recipients.c.id == created["id"]))).one()
        instruction = await payout_instruction(
            connection, PersonalData.from_settings(settings), session.customer_id, created["id"]
        )
    assert b"4111111111111111" not in row.card_number_sealed
    assert b"Leyla" not in row.given_name_sealed
    assert row.card_last4 == "1111"
    assert instruction.card_number == "4111111111111111"  # the payout partner still gets the number


@pytest.mark.parametrize(
    ("payout", "country", "code"),
    [
        ({"method": "bank_account", "iban": "AZ21NABZ00000000137010001945"}, "AZ", "invalid_iban"),
        ({"method": "bank_account", "iban": "not an iban"}, "AZ", "invalid_iban"),
        ({"method": "bank_account", "iban": IBAN_DE}, "AZ", "iban_country_mismatch"),
        ({"method": "card", "cardNumber": "1234"}, "AZ", "invalid_card_number"),
        ({"method": "wallet", "phone": "0501112233"}, "AZ", "invalid_wallet_phone"),
        ({"method": "cash_pickup"}, "XX", "invalid_country"),
        ({"method": "carrier_pigeon"}, "AZ", "validation_error"),
        ({"method": "card"}, "AZ", "validation_error"),
    ],
)
async def test_bad_payout_details_are_refused(
    http: AsyncClient, payout: dict[str, Any], country: str, code: str
) -> None:
    session = await sign_in(http)
    response = await http.post(
        "/v1/recipients", json=_recipient(payout, country=country), headers=session.headers
    )
    assert response.json()["code"] == code, response.text
    assert (await http.get("/v1/recipients", headers=session.headers)).json()["items"] == []


async def test_bad_names_are_refused(http: AsyncClient) -> None:
    session = await sign_in(http)
    response = await http.post(
        "/v1/recipients",
        json=_recipient({"method": "cash_pickup"}, familyName="123"),
        headers=session.headers,
    )
    assert (response.status_code, response.json()["code"], response.json()["field"]) == (
        422,
        "invalid_name",
        "familyName",
    )


async def test_a_wallet_recipient_matches_the_customer_who_owns_that_number(
    http: AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    sender = await sign_in(http)
    receiver = await sign_in(http)
    created = await _create(http, sender, _recipient({"method": "wallet", "phone": receiver.phone}))
    personal = PersonalData.from_settings(settings)
    async with engine.connect() as connection:
        instruction = await payout_instruction(connection, personal, sender.customer_id, created["id"])
        owner = await find_customer_by_phone(connection, personal, instruction.wallet_phone or "")
    assert owner == receiver.customer_id


async def test_recipients_need_a_pin_verified_session(http: AsyncClient) -> None:
    session = await sign_in(http, pin=None)
    response = await http.get("/v1/recipients", headers=session.headers)
    assert (response.status_code, response.json()["code"]) == (403, "pin_required")
