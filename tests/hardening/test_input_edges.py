"""Inputs (and one output) the fuzzer found answering wrongly: each is now right on both databases."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from backend.input_guard import _JSON_NUL, has_nul
from tests.hardening.world import World

BIG = "755705409467189821440"  # past the largest BIGINT


@pytest.mark.parametrize(
    ("raw", "nul"),
    [
        (rb'{"a": "x\u0000y"}', True),
        (rb'{"a": "\\\u0000"}', True),  # an escaped backslash, then a NUL
        (rb'{"a": "\\u0000"}', False),  # the six characters \u0000, no NUL
        (rb'{"a": "\\\\u0000"}', False),
        (b'{"a": "x\x00"}', True),
        (rb'{"a": "\u00001"}', True),
        (rb'{"a": "u0000"}', False),
    ],
)
def test_a_json_nul_is_told_from_an_escaped_backslash(raw: bytes, nul: bool) -> None:
    assert has_nul(raw, _JSON_NUL) is nul


async def test_ids_past_bigint_are_refused_not_crashed(world: World, http: AsyncClient) -> None:
    officer = world.staff["officer"]
    for url, headers in [
        (f"/v1/recipients/{BIG}", world.sender.headers),
        (f"/backoffice/v1/cases/{BIG}", officer),
        (f"/backoffice/v1/kyc/submissions/{BIG}", officer),
        (f"/backoffice/v1/kyc/documents/{BIG}/image", officer),
        (f"/backoffice/v1/screening/rescreen-jobs/{BIG}", officer),
        ("/v1/recipients/0", world.sender.headers),
    ]:
        response = await http.get(url, headers=headers)
        assert response.status_code == 400, (url, response.text)
        assert response.json()["code"] == "validation_error"


async def test_back_office_cursors_are_checked_before_the_database(world: World, http: AsyncClient) -> None:
    for cursor in (BIG, "²", "٣", "-1"):
        response = await http.get(
            "/backoffice/v1/alerts", params={"cursor": cursor}, headers=world.staff["officer"]
        )
        assert response.status_code == 400, (cursor, response.text)
        assert response.json()["code"] == "invalid_cursor"


async def test_nul_characters_are_refused_before_anything_is_written(world: World, http: AsyncClient) -> None:
    officer = world.staff["officer"]
    case = f"/backoffice/v1/cases/{world.ids['case_id']}"
    acted = await http.post(f"{case}/actions", json={"action": "hold", "reason": "a\x00b"}, headers=officer)
    assert acted.status_code == 400, acted.text
    assert acted.json()["code"] == "nul_character"
    history = (await http.get(case, headers=officer)).json()["actions"]
    assert [action["action"] for action in history] == ["release_requested"]  # the world's, nothing new
    queried = await http.get("/backoffice/v1/alerts", params={"status": "open\x00"}, headers=officer)
    assert queried.json()["code"] == "nul_character"
    in_path = await http.get("/v1/quotes/abc%00def", headers=world.sender.headers)
    assert in_path.json()["code"] == "nul_character"
    form = await http.post("/policy/sign-in", data={"username": "a\x00", "password": "x", "totp": "123456"})
    assert form.status_code == 400
    # Authentication still answers first, and a backslash followed by "u0000" is just text.
    anonymous = await http.post(f"{case}/actions", json={"action": "hold", "reason": "a\x00b"})
    assert anonymous.status_code == 401
    text = await http.post(
        f"{case}/actions", json={"action": "hold", "reason": "path C:\\u0000"}, headers=officer
    )
    assert text.status_code == 200, text.text


async def test_screening_times_carry_their_offset_on_both_databases(world: World, http: AsyncClient) -> None:
    officer = world.staff["officer"]
    lists = (await http.get("/backoffice/v1/screening/lists", headers=officer)).json()
    results = await http.get(
        "/backoffice/v1/screening/results", params={"subjectRef": world.ids["customer_ref"]}, headers=officer
    )
    times = [item["loadedAt"] for item in lists["items"]] + [
        item["screenedAt"] for item in results.json()["items"]
    ]
    assert len(times) >= 2
    assert all(moment.endswith(("Z", "+00:00")) for moment in times), times
