"""Signing in over real HTTP, as the mobile app does: codes by SMS, the PIN and its lockout,
rotating refresh tokens, signing out, and every way a token is refused."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from httpx import AsyncClient, Response
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.identity.keys import IdentityKeys
from backend.identity.profiles import set_customer_status
from backend.identity.tables import auth_sessions, customers, otp_challenges
from backend.identity.tokens import AccessTokens
from backend.settings import Settings
from tests.signin import next_phone, read_code, request_code, sign_in


async def _verify(
    http: AsyncClient, challenge: str, code: str, device: str = "device-0001", **headers: str
) -> Response:
    return await http.post(
        "/v1/auth/verify", json={"challengeId": challenge, "code": code, "deviceId": device}, headers=headers
    )


# -- codes ---------------------------------------------------------------------------------------


async def test_first_sign_in_creates_a_tier_0_customer_who_must_set_a_pin(http: AsyncClient) -> None:
    phone = next_phone()
    challenge = await request_code(http, phone, **{"Accept-Language": "ru-RU,ru;q=0.9"})
    sms = (await http.get("/dev/sms", params={"phone": phone})).json()["messages"][0]
    assert sms["text"].startswith("Ваш код Körpü: ")  # the SMS speaks the app's language
    response = await _verify(http, challenge, sms["code"])
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["newCustomer"] is True
    assert tokens["pinStatus"] == "set_required"
    assert tokens["tokenType"] == "Bearer"
    assert tokens["expiresIn"] == 900
    headers = {"Authorization": f"Bearer {tokens['accessToken']}"}

    blocked = await http.get("/v1/me", headers=headers)
    assert blocked.status_code == 403
    assert blocked.json()["code"] == "pin_required"
    assert blocked.json()["pinSet"] is False

    assert (await http.post("/v1/auth/pin", json={"pin": "2580"}, headers=headers)).status_code == 204
    me = await http.get("/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["phone"] == phone
    assert me.json()["kycTier"] == 0
    assert me.json()["pinSet"] is True
    assert me.json()["language"] == "en"


async def test_returning_customer_on_a_new_device_must_prove_the_pin(http: AsyncClient) -> None:
    first = await sign_in(http, pin="2580")
    challenge = await request_code(http, first.phone)
    response = await _verify(http, challenge, await read_code(http, first.phone), device="new-phone-42")
    assert response.json()["newCustomer"] is False
    assert response.json()["customerId"] == first.customer_id
    assert response.json()["pinStatus"] == "check_required"
    headers = {"Authorization": f"Bearer {response.json()['accessToken']}"}
    refused = await http.get("/v1/me", headers=headers)
    assert refused.json()["code"] == "pin_required"
    assert refused.json()["pinSet"] is True
    assert (await http.post("/v1/auth/pin/check", json={"pin": "2580"}, headers=headers)).status_code == 204
    assert (await http.get("/v1/me", headers=headers)).status_code == 200


async def test_wrong_codes_count_down_then_burn_the_challenge(http: AsyncClient) -> None:
    phone = next_phone()
    challenge = await request_code(http, phone)
    code = await read_code(http, phone)
    wrong = "000000" if code != "000000" else "111111"
    left = []
    for _ in range(4):
        response = await _verify(http, challenge, wrong)
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_code"
        left.append(response.json()["attemptsLeft"])
    assert left == [4, 3, 2, 1]
    fifth = await _verify(http, challenge, wrong)
    assert (fifth.status_code, fifth.json()["code"]) == (429, "code_attempts_exhausted")
    # Even the right code is refused now: the challenge is burnt.
    right = await _verify(http, challenge, code)
    assert (right.status_code, right.json()["code"]) == (429, "code_attempts_exhausted")


async def test_a_code_works_once(http: AsyncClient) -> None:
    phone = next_phone()
    challenge = await request_code(http, phone)
    code = await read_code(http, phone)
    assert (await _verify(http, challenge, code)).status_code == 200
    again = await _verify(http, challenge, code)
    assert (again.status_code, again.json()["code"]) == (409, "challenge_used")


async def test_an_expired_code_is_refused(http: AsyncClient, engine: AsyncEngine) -> None:
    phone = next_phone()
    challenge = await request_code(http, phone)
    async with engine.begin() as connection:  # five minutes pass
        await connection.execute(
            update(otp_challenges)
            .where(otp_challenges.c.id == uuid.UUID(challenge))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    response = await _verify(http, challenge, await read_code(http, phone))
    assert (response.status_code, response.json()["code"]) == (422, "code_expired")


async def test_unknown_challenge_is_404(http: AsyncClient) -> None:
    response = await _verify(http, str(uuid.uuid4()), "123456")
    assert (response.status_code, response.json()["code"]) == (404, "challenge_not_found")


@pytest.mark.parametrize(
    ("phone", "code"),
    [("79161234567", "invalid_phone"), ("+7 916", "invalid_phone"), ("+994124970000", "phone_not_mobile")],
)
async def test_numbers_that_cannot_get_an_sms_are_refused(http: AsyncClient, phone: str, code: str) -> None:
    response = await http.post("/v1/auth/otp", json={"phone": phone})
    assert response.status_code == 422
    assert response.json()["code"] == code


async def test_codes_for_one_number_are_rate_limited(http: AsyncClient) -> None:
    phone = next_phone()
    await request_code(http, phone)
    again = await http.post("/v1/auth/otp", json={"phone": phone})
    assert again.status_code == 429
    assert again.json()["code"] == "otp_rate_limited"
    assert 1 <= int(again.headers["retry-after"]) <= 30
    assert again.json()["retryAfter"] == int(again.headers["retry-after"])


async def test_concurrent_code_requests_for_one_number_send_one_code(http: AsyncClient) -> None:
    phone = next_phone()
    responses = await asyncio.gather(*(http.post("/v1/auth/otp", json={"phone": phone}) for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [200, 429, 429, 429, 429, 429]
    assert len((await http.get("/dev/sms", params={"phone": phone})).json()["messages"]) == 1


async def test_code_requests_per_client_address_are_rate_limited(http: AsyncClient) -> None:
    statuses = [
        (await http.post("/v1/auth/otp", json={"phone": next_phone()})).status_code for _ in range(21)
    ]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    last = await http.post("/v1/auth/otp", json={"phone": next_phone()})
    assert last.json()["code"] == "rate_limited"


async def test_problem_titles_and_details_follow_accept_language(http: AsyncClient) -> None:
    response = await http.post("/v1/auth/otp", json={"phone": "nonsense"}, headers={"Accept-Language": "tr"})
    body = response.json()
    assert body["code"] == "invalid_phone"  # the code never changes with the language
    assert body["title"] == "Geçersiz telefon numarası"
    assert response.headers["content-language"] == "tr"
    az = await http.post("/v1/auth/otp", json={"phone": "nonsense"}, headers={"Accept-Language": "az-AZ"})
    assert az.json()["title"] == "Yanlış telefon nömrəsi"


# -- the PIN -------------------------------------------------------------------------------------


async def test_five_wrong_pins_lock_the_pin_even_against_the_right_one(
    http: AsyncClient, engine: AsyncEngine
) -> None:
    session = await sign_in(http, pin="2580")
    answers = []
    for _ in range(5):
        response = await http.post("/v1/auth/pin/check", json={"pin": "0000"}, headers=session.headers)
        answers.append((response.status_code, response.json()["code"], response.json().get("attemptsLeft")))
    assert answers == [
        (403, "wrong_pin", 4),
        (403, "wrong_pin", 3),
        (403, "wrong_pin", 2),
        (403, "wrong_pin", 1),
        (423, "pin_locked", None),
    ]
    locked = await http.post("/v1/auth/pin/check", json={"pin": "2580"}, headers=session.headers)
    assert (locked.status_code, locked.json()["code"]) == (423, "pin_locked")
    assert 14 * 60 <= int(locked.headers["retry-after"]) <= 15 * 60
    assert datetime.fromisoformat(locked.json()["lockedUntil"]) > datetime.now(UTC)

    async with engine.begin() as connection:  # fifteen minutes pass
        await connection.execute(
            update(customers)
            .where(customers.c.id == session.customer_id)
            .values(pin_locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert (
        await http.post("/v1/auth/pin/check", json={"pin": "2580"}, headers=session.headers)
    ).status_code == 204
    # The count starts again from zero after a right PIN.
    wrong = await http.post("/v1/auth/pin/check", json={"pin": "0000"}, headers=session.headers)
    assert wrong.json()["attemptsLeft"] == 4


async def test_parallel_wrong_pins_cannot_exceed_the_limit(http: AsyncClient) -> None:
    session = await sign_in(http, pin="2580")
    responses = await asyncio.gather(
        *(
            http.post("/v1/auth/pin/check", json={"pin": f"{n:04d}"}, headers=session.headers)
            for n in range(10)
        )
    )
    codes = sorted(r.json()["code"] for r in responses)
    assert codes.count("wrong_pin") == 4
    assert codes.count("pin_locked") == 6


async def test_pin_rules(http: AsyncClient, engine: AsyncEngine) -> None:
    session = await sign_in(http, pin=None)
    for bad in ("123", "1234567", "12a4", "١٢٣٤"):
        response = await http.post("/v1/auth/pin", json={"pin": bad}, headers=session.headers)
        assert (response.status_code, response.json()["code"]) == (422, "invalid_pin_format"), bad
    check = await http.post("/v1/auth/pin/check", json={"pin": "1234"}, headers=session.headers)
    assert (check.status_code, check.json()["code"]) == (409, "pin_not_set")
    assert (await http.post("/v1/auth/pin", json={"pin": "2580"}, headers=session.headers)).status_code == 204

    overwrite = await http.post("/v1/auth/pin", json={"pin": "1111"}, headers=session.headers)
    assert (overwrite.status_code, overwrite.json()["code"]) == (409, "pin_already_set")
    wrong_current = await http.post(
        "/v1/auth/pin", json={"pin": "1111", "currentPin": "9999"}, headers=session.headers
    )
    assert wrong_current.json()["code"] == "wrong_pin"
    changed = await http.post(
        "/v1/auth/pin", json={"pin": "1111", "currentPin": "2580"}, headers=session.headers
    )
    assert changed.status_code == 204
    assert (
        await http.post("/v1/auth/pin/check", json={"pin": "1111"}, headers=session.headers)
    ).status_code == 204

    async with engine.connect() as connection:
        stored = await connection.scalar(
            select(customers.c.pin_hash).where(customers.c.id == session.customer_id)
        )
    assert stored.startswith("$argon2id$")
    assert "1111" not in stored


# -- tokens --------------------------------------------------------------------------------------


async def test_refresh_rotates_and_a_replayed_token_ends_the_session(http: AsyncClient) -> None:
    session = await sign_in(http)
    body = {"refreshToken": session.refresh_token, "deviceId": session.device_id}
    first = await http.post("/v1/auth/refresh", json=body)
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refreshToken"] != session.refresh_token
    assert rotated["pinStatus"] == "verified"
    new_headers = {"Authorization": f"Bearer {rotated['accessToken']}"}
    assert (await http.get("/v1/me", headers=new_headers)).status_code == 200

    replay = await http.post("/v1/auth/refresh", json=body)
    assert (replay.status_code, replay.json()["code"]) == (401, "refresh_token_reused")
    # The whole family is gone: the rotated refresh token and every access token of the session.
    after = await http.post(
        "/v1/auth/refresh", json={"refreshToken": rotated["refreshToken"], "deviceId": session.device_id}
    )
    assert (after.status_code, after.json()["code"]) == (401, "session_revoked")
    me = await http.get("/v1/me", headers=new_headers)
    assert (me.status_code, me.json()["code"]) == (401, "session_revoked")


async def test_concurrent_refreshes_with_one_token_leave_no_live_session(
    http: AsyncClient, engine: AsyncEngine
) -> None:
    session = await sign_in(http)
    body = {"refreshToken": session.refresh_token, "deviceId": session.device_id}
    responses = await asyncio.gather(*(http.post("/v1/auth/refresh", json=body) for _ in range(4)))
    assert sum(r.status_code == 200 for r in responses) <= 1
    async with engine.connect() as connection:
        revoked = await connection.scalar(
            select(auth_sessions.c.revoked_reason).where(auth_sessions.c.customer_id == session.customer_id)
        )
    assert revoked == "refresh_reuse"


async def test_refresh_token_from_another_device_is_refused_and_ends_the_session(http: AsyncClient) -> None:
    session = await sign_in(http)
    stolen = await http.post(
        "/v1/auth/refresh", json={"refreshToken": session.refresh_token, "deviceId": "attacker-device"}
    )
    assert (stolen.status_code, stolen.json()["code"]) == (401, "invalid_refresh_token")
    me = await http.get("/v1/me", headers=session.headers)
    assert me.json()["code"] == "session_revoked"


async def test_logout_ends_access_and_refresh_at_once(http: AsyncClient) -> None:
    session = await sign_in(http)
    other_device = await sign_in(http, session.phone, pin="1234")
    assert (await http.post("/v1/auth/logout", headers=session.headers)).status_code == 204
    assert (await http.get("/v1/me", headers=session.headers)).json()["code"] == "session_revoked"
    refresh = await http.post(
        "/v1/auth/refresh", json={"refreshToken": session.refresh_token, "deviceId": session.device_id}
    )
    assert refresh.json()["code"] == "session_revoked"
    # Signing out one device leaves the others signed in.
    assert (await http.get("/v1/me", headers=other_device.headers)).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-token", "Bearer eyJhbGciOiJub25lIn0.e30."],
)
async def test_requests_without_a_valid_token_are_401(http: AsyncClient, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await http.get("/v1/recipients", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_tampered_and_expired_tokens_are_refused(http: AsyncClient, settings: Settings) -> None:
    session = await sign_in(http)
    head, payload, signature = session.access_token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    tampered = await http.get("/v1/me", headers={"Authorization": f"Bearer {head}.{payload}.{flipped}"})
    assert tampered.json()["code"] == "unauthorized"

    claims = jwt.decode(session.access_token, options={"verify_signature": False})
    tokens = AccessTokens(IdentityKeys.from_settings(settings).access_token, timedelta(minutes=15))
    old, _ = tokens.issue(
        int(claims["sub"]), uuid.UUID(claims["sid"]), claims["did"], datetime.now(UTC) - timedelta(minutes=16)
    )
    expired = await http.get("/v1/me", headers={"Authorization": f"Bearer {old}"})
    assert (expired.status_code, expired.json()["code"]) == (401, "token_expired")

    other_key = AccessTokens(b"k" * 32, timedelta(minutes=15))
    forged, _ = other_key.issue(
        int(claims["sub"]), uuid.UUID(claims["sid"]), claims["did"], datetime.now(UTC)
    )
    assert (await http.get("/v1/me", headers={"Authorization": f"Bearer {forged}"})).json()[
        "code"
    ] == "unauthorized"


async def test_a_blocked_customer_is_refused_everywhere(http: AsyncClient, engine: AsyncEngine) -> None:
    session = await sign_in(http)
    async with engine.begin() as connection:
        await set_customer_status(connection, session.customer_id, "blocked")
    assert (await http.get("/v1/me", headers=session.headers)).json()["code"] == "account_blocked"
    refresh = await http.post(
        "/v1/auth/refresh", json={"refreshToken": session.refresh_token, "deviceId": session.device_id}
    )
    assert (refresh.status_code, refresh.json()["code"]) == (403, "account_blocked")
    challenge = await request_code(http, session.phone)
    verify = await _verify(http, challenge, await read_code(http, session.phone))
    assert (verify.status_code, verify.json()["code"]) == (403, "account_blocked")
