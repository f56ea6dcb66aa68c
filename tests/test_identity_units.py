"""The identity building blocks on their own: card and IBAN checks, names, phone numbers, access
tokens, PIN hashing, and the SMS providers (the HTTP one against httpx.MockTransport)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.stores.memory import MemoryStore

from backend.identity.errors import (
    IbanCountryMismatch,
    InvalidCardNumber,
    InvalidIban,
    InvalidName,
    InvalidPinFormat,
    SmsUnavailable,
)
from backend.identity.phones import normalise_mobile_phone, normalise_phone, region_of
from backend.identity.pins import PinHasher, check_pin_format
from backend.identity.policy import Argon2Cost
from backend.identity.sms import HttpSmsProvider, InboxSmsProvider
from backend.identity.tokens import (
    AccessTokenExpired,
    AccessTokenInvalid,
    AccessTokens,
    hash_refresh_token,
    new_refresh_token,
)
from backend.identity.validation import card_scheme, clean_card_number, clean_iban, clean_name, luhn_valid

CHEAP = Argon2Cost(time_cost=1, memory_cost_kib=8192, parallelism=1)


def _check_digit(body: str) -> str:
    """The Luhn check digit, computed the textbook way (double every second digit from the right)."""
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char) * (2 if index % 2 == 0 else 1)
        total += digit // 10 + digit % 10
    return str((10 - total % 10) % 10)


@settings(max_examples=200)
@given(st.text(alphabet="0123456789", min_size=12, max_size=18), st.data())
def test_luhn_accepts_valid_numbers_and_catches_any_single_wrong_digit(
    body: str, data: st.DataObject
) -> None:
    number = body + _check_digit(body)
    assert luhn_valid(number)
    position = data.draw(st.integers(0, len(number) - 1))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    assert not luhn_valid(number[:position] + replacement + number[position + 1 :])


@pytest.mark.parametrize(
    ("number", "scheme"),
    [
        ("4111 1111 1111 1111", "visa"),
        ("5555-5555-5555-4444", "mastercard"),
        ("2221000000000009", "mastercard"),
        ("2200000000000004", "mir"),
        ("378282246310005", "amex"),
    ],
)
def test_cards_are_cleaned_and_only_the_last_four_kept_in_clear(number: str, scheme: str) -> None:
    card = clean_card_number(number)
    assert card.digits == number.replace(" ", "").replace("-", "")
    assert card.last4 == card.digits[-4:]
    assert card.scheme == scheme == card_scheme(card.digits)


@pytest.mark.parametrize(
    "number", ["4111 1111 1111 1112", "411111111111", "4111x11111111111", "４１１１１１１１１１１１１１１１"]
)
def test_bad_cards_are_refused(number: str) -> None:
    with pytest.raises(InvalidCardNumber):
        clean_card_number(number)


def test_ibans_are_checked_and_tied_to_the_country() -> None:
    assert clean_iban("az21 nabz 0000 0000 1370 1000 1944", "AZ") == "AZ21NABZ00000000137010001944"
    with pytest.raises(InvalidIban):
        clean_iban("AZ22NABZ00000000137010001944", "AZ")  # check digits off by one
    with pytest.raises(InvalidIban):
        clean_iban("AZ21NABZ0000000013701000194", "AZ")  # one character short
    with pytest.raises(IbanCountryMismatch):
        clean_iban("DE89370400440532013000", "AZ")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Məmmədova", "Məmmədova"),
        ("  Anna   Maria ", "Anna Maria"),
        ("O'Brien", "O'Brien"),
        ("Al-Həsən", "Al-Həsən"),
        ("St. John", "St. John"),
        ("Алексей", "Алексей"),
        ("Gu\u0308l", "Gül"),  # NFC: a decomposed ü is stored composed
    ],
)
def test_names_of_any_script_are_accepted(raw: str, clean: str) -> None:
    assert clean_name(raw, "givenName") == clean


@pytest.mark.parametrize("raw", ["", "   ", "R2D2", "a--b", "-Ali", "x" * 101, "Robert'); DROP TABLE"])
def test_names_that_are_not_names_are_refused(raw: str) -> None:
    with pytest.raises(InvalidName):
        clean_name(raw, "givenName")


def test_phone_numbers_become_e164() -> None:
    assert normalise_phone("+7 (916) 123-45-67") == "+79161234567"
    assert normalise_phone("89161234567") is None  # a national form without country code is ambiguous
    assert normalise_phone("+7916") is None
    assert normalise_mobile_phone("+994 50 111 22 33") == ("+994501112233", True)
    assert normalise_mobile_phone("+994 12 497 00 00") == ("+994124970000", False)
    assert region_of("+994501112233") == "AZ"


def test_pin_format() -> None:
    for good in ("1234", "123456"):
        check_pin_format(good)
    for bad in ("123", "1234567", "12 34", "١٢٣٤", ""):
        with pytest.raises(InvalidPinFormat):
            check_pin_format(bad)


# -- tokens --------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_access_tokens_round_trip_and_expire() -> None:
    tokens = AccessTokens(os.urandom(32), timedelta(minutes=15))
    session = uuid.uuid4()
    token, expires_at = tokens.issue(42, session, "device-1", NOW)
    claims = tokens.verify(token, NOW + timedelta(minutes=14))
    assert (claims.customer_id, claims.session_id, claims.device_id) == (42, session, "device-1")
    assert expires_at == NOW + timedelta(minutes=15)
    with pytest.raises(AccessTokenExpired):
        tokens.verify(token, NOW + timedelta(minutes=15))


def test_access_tokens_of_other_keys_algorithms_or_audiences_are_refused() -> None:
    key = os.urandom(32)
    tokens = AccessTokens(key, timedelta(minutes=15))
    token, _ = tokens.issue(42, uuid.uuid4(), "device-1", NOW)
    with pytest.raises(AccessTokenInvalid):
        AccessTokens(os.urandom(32), timedelta(minutes=15)).verify(token, NOW)
    claims = jwt.decode(token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(AccessTokenInvalid):
        tokens.verify(unsigned, NOW)
    other_audience = jwt.encode({**claims, "aud": "korpu-backoffice"}, key, algorithm="HS256")
    with pytest.raises(AccessTokenInvalid):
        tokens.verify(other_audience, NOW)


def test_refresh_tokens_are_random_and_stored_as_a_hash() -> None:
    first, second = new_refresh_token(), new_refresh_token()
    assert first != second
    assert len(first) > 40
    assert hash_refresh_token(first) == hash_refresh_token(first)
    assert first not in hash_refresh_token(first)


# -- PIN hashing ---------------------------------------------------------------------------------


async def test_pin_hashes_are_argon2id_peppered_and_bound_to_the_customer() -> None:
    pepper = os.urandom(32)
    hasher = PinHasher(pepper, CHEAP)
    stored = await hasher.hash(7, "2580")
    assert stored.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert await hasher.verify(7, "2580", stored)
    assert not await hasher.verify(7, "2581", stored)
    assert not await hasher.verify(8, "2580", stored)  # another customer with the same PIN
    assert not await PinHasher(os.urandom(32), CHEAP).verify(
        7, "2580", stored
    )  # the database alone is not enough
    assert not await hasher.verify(7, "2580", "not a hash")
    assert PinHasher(pepper, Argon2Cost()).needs_rehash(stored)
    assert not hasher.needs_rehash(stored)


def test_the_production_pin_hash_is_memory_hard() -> None:
    from backend.identity.policy import IdentityPolicy

    assert IdentityPolicy.for_environment("prod").argon2.memory_cost_kib >= 64 * 1024
    assert IdentityPolicy.for_environment("dev").argon2.memory_cost_kib >= 64 * 1024


# -- SMS -----------------------------------------------------------------------------------------


async def test_the_http_gateway_gets_the_number_text_and_token() -> None:
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"id": "msg-1"})

    provider = HttpSmsProvider("https://sms.example/send", "s3cret", transport=httpx.MockTransport(gateway))
    await provider.send("+79161234567", "Your code is 123456")
    assert len(seen) == 1
    assert seen[0].method == "POST"
    assert str(seen[0].url) == "https://sms.example/send"
    assert seen[0].headers["authorization"] == "Bearer s3cret"
    assert json.loads(seen[0].content) == {"to": "+79161234567", "text": "Your code is 123456"}


@pytest.mark.parametrize("failure", ["status", "network"])
async def test_a_failing_gateway_is_sms_unavailable(failure: str) -> None:
    def gateway(request: httpx.Request) -> httpx.Response:
        if failure == "network":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(500)

    provider = HttpSmsProvider("https://sms.example/send", transport=httpx.MockTransport(gateway))
    with pytest.raises(SmsUnavailable):
        await provider.send("+79161234567", "hello")


async def test_the_dev_inbox_keeps_the_newest_messages_per_number() -> None:
    inbox = InboxSmsProvider(MemoryStore(), keep=3)
    for n in range(5):
        await inbox.send("+79161234567", f"message {n}")
    await inbox.send("+994501112233", "other")
    assert [m.text for m in await inbox.messages("+79161234567")] == ["message 4", "message 3", "message 2"]
    assert [m.text for m in await inbox.messages("+994501112233")] == ["other"]
    assert await inbox.messages("+905321234567") == []


def _counting_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    decoded: list[str] = []
    original = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return original(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return decoded


def test_a_verified_token_is_not_decoded_again_but_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = AccessTokens(os.urandom(32), timedelta(minutes=15))
    token, _ = tokens.issue(42, uuid.uuid4(), "device-1", NOW)
    decoded = _counting_decodes(monkeypatch)
    first = tokens.verify(token, NOW)
    again = tokens.verify(token, NOW + timedelta(minutes=5))
    assert again == first
    assert decoded == [token]
    with pytest.raises(AccessTokenExpired):
        tokens.verify(token, NOW + timedelta(minutes=15))


def test_a_token_that_failed_is_checked_in_full_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = AccessTokens(os.urandom(32), timedelta(minutes=15))
    token, _ = tokens.issue(42, uuid.uuid4(), "device-1", NOW)
    tokens.verify(token, NOW)
    header, _, signature = token.split(".")
    forged_claims = jwt.decode(token, options={"verify_signature": False}) | {"sub": "43"}
    forged_payload = jwt.encode(forged_claims, b"x" * 32, algorithm="HS256").split(".")[1]
    forged = f"{header}.{forged_payload}.{signature}"  # the kept token's signature on other claims
    decoded = _counting_decodes(monkeypatch)
    for _ in range(2):
        with pytest.raises(AccessTokenInvalid):
            tokens.verify(forged, NOW)
    assert decoded == [forged, forged]


def test_the_oldest_verified_token_is_forgotten_first(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = AccessTokens(os.urandom(32), timedelta(minutes=15), kept=2)
    first, second, third = (tokens.issue(n, uuid.uuid4(), "device-1", NOW)[0] for n in (1, 2, 3))
    decoded = _counting_decodes(monkeypatch)
    for token in (first, second, third, third, second, first):
        tokens.verify(token, NOW)
    assert decoded == [first, second, third, first]
