"""Personal data sealing: round trips, refuses tampering and wrong context, rotates keys."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.privacy import BlindIndex, Sealer, UnsealError

KEY1, KEY2 = os.urandom(32), os.urandom(32)


@given(st.text(max_size=200))
def test_seal_round_trip_and_hides_plaintext(text: str) -> None:
    sealer = Sealer({1: KEY1})
    sealed = sealer.seal_text(text, "customer.name")
    assert sealer.open_text(sealed, "customer.name") == text
    if len(text) >= 4:
        assert text.encode() not in sealed


def test_wrong_context_and_tampering_are_refused() -> None:
    sealer = Sealer({1: KEY1})
    sealed = sealer.seal_text("AA1234567", "kyc.document_number")
    with pytest.raises(UnsealError):
        sealer.open_text(sealed, "customer.name")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(UnsealError):
        sealer.open_text(tampered, "kyc.document_number")


def test_rotation_opens_old_and_seals_with_newest() -> None:
    old = Sealer({1: KEY1}).seal_text("Məmmədov", "c")
    rotated = Sealer({1: KEY1, 2: KEY2})
    assert rotated.open_text(old, "c") == "Məmmədov"
    assert rotated.seal_text("x", "c")[1:3] == b"\x00\x02"
    with pytest.raises(UnsealError):
        Sealer({2: KEY2}).open_text(old, "c")


def test_blind_index_is_stable_keyed_and_contextual() -> None:
    index = BlindIndex(KEY1)
    assert index.digest("+994501234567", "phone") == index.digest("+994501234567", "phone")
    assert index.digest("+994501234567", "phone") != index.digest("+994501234568", "phone")
    assert index.digest("+994501234567", "phone") != index.digest("+994501234567", "other")
    assert BlindIndex(KEY2).digest("+994501234567", "phone") != index.digest("+994501234567", "phone")
