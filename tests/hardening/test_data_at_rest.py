"""Data at rest: after a compact end-to-end story, no plaintext personal data in the database or the logs.

The story (tests/hardening/world.py, then :func:`_story`) signs customers up with their phones,
names and a date of birth, adds recipients paid by IBAN, card and wallet, funds wallets through
partner A, sends money (one transfer held by sanctions screening), submits a passport and an
address for KYC, and has officers review it, view the image, approve it, act on the case and
release the transfer; partner A reconciles a settlement window. Then every column of every table
is read raw (text, blobs, JSON, dates alike), and so is every log line written meanwhile: none may
hold a name, a phone number, a date of birth, a document number, an address, an IBAN or a card
number, as typed, folded to lower-case ASCII, or JSON-escaped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from anyascii import anyascii
from httpx import AsyncClient
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.logs import JsonFormatter
from tests.hardening.world import World


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines(live_server: str) -> Iterator[list[str]]:
    """Every log line the app writes from here on, formatted as in production (after the app
    factory has configured logging, before the world is built)."""
    handler = _Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler.lines
    root.removeHandler(handler)


def needles(world: World) -> dict[bytes, str]:
    """Byte strings that must not be found, with what each one is."""
    s = world.secrets
    found: dict[bytes, str] = {}
    for label, value in [
        *[("name", name) for name in s.names()],
        *[("phone", phone) for phone in world.phones],
        *[("phone", phone.lstrip("+")) for phone in world.phones],
        ("date of birth", s.birth_date),
        ("passport number", s.passport),
        ("IBAN", s.iban),
        ("address", s.address),
        ("card number", s.card),
    ]:
        for form in {value, value.lower(), anyascii(value).lower()}:
            found[form.encode()] = f"{label} {value!r}"
            found[json.dumps(form)[1:-1].encode()] = f"{label} {value!r} (JSON-escaped)"
    return found


async def database_cells(engine: AsyncEngine) -> list[tuple[str, str, bytes]]:
    """(table, column, raw bytes) of every non-null cell of every table."""
    cells = []
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        for table in tables:
            rows = await conn.execute(text(f'SELECT * FROM "{table}"'))
            for row in rows.mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                    cells.append((table, column, raw))
    return cells


async def _story(http: AsyncClient, world: World) -> None:
    """What happens after sign-up: officers at work, a customer editing a recipient."""
    officer = world.staff["officer"]
    submission = world.ids["submission_id"]
    assert (
        await http.get(f"/backoffice/v1/kyc/submissions/{submission}", headers=officer)
    ).status_code == 200
    image = await http.get(f"/backoffice/v1/kyc/documents/{world.ids['document_id']}/image", headers=officer)
    assert image.status_code == 200
    approved = await http.post(
        f"/backoffice/v1/kyc/submissions/{submission}/approve", json={"reason": "matches"}, headers=officer
    )
    assert approved.status_code == 200, approved.text
    me = await http.get("/v1/me", headers=world.sender.headers)
    assert me.json()["kycTier"] == 2  # the approval reached the customer's profile
    acted = await http.post(
        f"/backoffice/v1/cases/{world.ids['case_id']}/actions",
        json={"action": "hold", "reason": "waiting for the source of funds"},
        headers=officer,
    )
    assert acted.status_code == 200, acted.text
    released = await http.post(
        f"/backoffice/v1/release-requests/{world.ids['request_id']}/approve",
        json={"reason": "a namesake, not the listed person"},
        headers=world.staff["senior_officer"],
    )
    assert released.status_code == 200, released.text
    renamed = await http.patch(
        f"/v1/recipients/{world.ids['recipient_id']}",
        json={"givenName": world.secrets.recipient_given},
        headers=world.sender.headers,
    )
    assert renamed.status_code == 200, renamed.text
    # A few refusals, whose log lines must not quote the input either.
    wrong = await http.post("/v1/auth/otp", json={"phone": world.sender.phone + "9"})
    assert wrong.status_code == 422
    refused = await http.post(
        "/v1/recipients",
        json={
            "givenName": "x",
            "familyName": "y",
            "country": "AZ",
            "payout": {"method": "card", "cardNumber": "1"},
        },
        headers=world.sender.headers,
    )
    assert refused.status_code == 422


async def test_no_plaintext_personal_data_in_the_database_or_the_logs(
    log_lines: list[str], world: World, http: AsyncClient, engine: AsyncEngine
) -> None:
    await _story(http, world)
    forbidden = needles(world)
    cells = await database_cells(engine)
    # The dump reads what it should: the sender's quote corridor is there in plain text.
    assert any(b"RU-AZ-RUB-AZN" in raw for _, _, raw in cells)
    assert any(table == "customers" for table, _, _ in cells)
    found = sorted(
        {
            f"{table}.{column}: {what}"
            for table, column, raw in cells
            for needle, what in forbidden.items()
            if needle in raw or needle in raw.lower()
        }
    )
    assert not found, "plaintext personal data at rest:\n" + "\n".join(found)
    assert len(log_lines) > 20
    logged = sorted(
        {
            f"{what} in {line[:300]}"
            for line in log_lines
            for needle, what in forbidden.items()
            if needle.decode() in line
        }
    )
    assert not logged, "personal data in the logs:\n" + "\n".join(logged)
