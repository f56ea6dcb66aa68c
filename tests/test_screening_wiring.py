"""Screening wired into the service: both parties of a transfer screened (and ``review``, never
``clear``, when no list is loaded), the process screener loaded at start-up and refreshed without
leaking tasks, re-screening after a list update alerting on what is new, the officers' screening
views per role, and the operators' commands."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.app import create_app
from backend.compliance_refs import payee_ref
from backend.db import create_engine
from backend.identity.keys import PersonalData
from backend.identity.profiles import (
    BIRTH_DATE_CONTEXT,
    FAMILY_NAME_CONTEXT,
    GIVEN_NAME_CONTEXT,
    create_customer,
)
from backend.identity.recipients import PayoutInput, RecipientDraft, add_recipient
from backend.identity.repositories import customers
from backend.screening import build_screener, rescreen_everyone, screen_parties
from backend.settings import Settings
from backend.staff import service as staff_service
from backend.staff.service import create_staff
from compliance.audit import read_audit
from compliance.cases import list_alerts
from compliance.privacy import Sealer
from compliance.screening import (
    RescreenJob,
    Subject,
    clear_match,
    load_list,
    refresh_screener,
    rescreen_due,
    screening_history,
    store_snapshot,
)
from tests.signin import serve
from tests.transfer_support import transfer_world

ROOT = Path(__file__).resolve().parents[1]
TINY_OFAC = f"ofac-csv:{ROOT / 'tests' / 'data' / 'sanctions' / 'ofac-sdn-tiny'}"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PEP_HEADER = "id,full_name,aliases,date_of_birth,nationality,position\n"
PEP_V1 = PEP_HEADER + "pep-900,Vüqar Nəsibov,Vugar Nasibov,1970,AZ,Invented official\n"
PEP_V2 = PEP_V1 + (
    "pep-901,Tural Cəfərov,Tural Jafarov,1985-02-03,AZ,Invented deputy minister\n"
    "pep-902,Səbinə Rzayeva,Sabina Rzayeva,1979,AZ,Invented judge\n"
)
_phones = iter(range(1, 10_000))


@pytest.fixture(autouse=True)
def cheap_staff_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        staff_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


async def add_customer(
    conn: AsyncConnection,
    personal: PersonalData,
    given: str | None,
    family: str | None,
    born: date | None = None,
) -> int:
    customer_id = await create_customer(
        conn, personal, f"+7916555{next(_phones):04d}", language="en", now=NOW
    )
    await customers.update_profile(
        conn,
        customer_id,
        given_name_sealed=personal.seal_optional(given, GIVEN_NAME_CONTEXT),
        family_name_sealed=personal.seal_optional(family, FAMILY_NAME_CONTEXT),
        birth_date_sealed=personal.seal_optional(born.isoformat() if born else None, BIRTH_DATE_CONTEXT),
        language="en",
        now=NOW,
    )
    return customer_id


async def add_payee(
    conn: AsyncConnection, personal: PersonalData, owner: int, given: str, family: str
) -> int:
    draft = RecipientDraft(given, family, "AZ", PayoutInput("cash_pickup"))
    return await add_recipient(conn, personal, owner, draft, NOW)


async def store_list(engine: AsyncEngine, spec: str) -> None:
    async with engine.begin() as conn:
        await store_snapshot(conn, load_list(spec))


def pep_file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return f"pep-csv:{path}"


async def test_screen_parties_decides_review_when_no_list_is_loaded(
    settings: Settings, engine: AsyncEngine
) -> None:
    screener = build_screener(settings)
    async with engine.begin() as conn:
        outcome = await screen_parties(
            conn,
            screener,
            ("customer:1", Subject("Dmitry Khoroshev")),
            ("payee:1f2e", Subject("Leyla Əliyeva")),
        )
        history = await screening_history(conn, "customer:1")
    assert (outcome.decision, outcome.ready, outcome.alert_outcome) == ("review", False, "review")
    assert [(r["reason"], r["party"], r["subjectRef"]) for r in outcome.reasons] == [
        ("screening_not_ready", "sender", "customer:1"),
        ("screening_not_ready", "recipient", "payee:1f2e"),
    ]
    assert (outcome.sender.decision, outcome.recipient.decision) == ("review", "review")
    assert outcome.sender.result is None and outcome.sender.record_id is None
    assert history == []


async def test_screen_parties_screens_both_records_them_and_honours_cleared_matches(
    settings: Settings, engine: AsyncEngine
) -> None:
    await store_list(engine, TINY_OFAC)
    screener = build_screener(settings)
    sender = ("customer:7", Subject("Aynur Quliyeva", date(1990, 5, 5), "AZ"))
    listed = ("payee:3c4d", Subject("Дмитрий Юрьевич Хорошев"))
    async with engine.begin() as conn:
        await refresh_screener(conn, screener)
        outcome = await screen_parties(conn, screener, sender, listed)
    assert (outcome.decision, outcome.alert_outcome, outcome.list_versions) == (
        "hit",
        "block",
        {"ofac-sdn": 1},
    )
    assert (outcome.sender.decision, outcome.recipient.decision) == ("clear", "hit")
    assert {(r["party"], r["subjectRef"], r["entryKey"]) for r in outcome.reasons} == {
        ("recipient", "payee:3c4d", "ofac-sdn:48603")
    }
    assert outcome.recipient.result is not None
    match = outcome.recipient.result.matches[0]
    async with engine.begin() as conn:
        recorded = await screening_history(conn, "payee:3c4d")
        assert [(r.id, r.trigger, r.decision) for r in recorded] == [
            (outcome.recipient.record_id, "transfer", "hit")
        ]
        await clear_match(
            conn,
            "payee:3c4d",
            outcome.recipient.result.subject_fingerprint,
            match.entry_key,
            match.entry_fingerprint,
            cleared_by="staff:1",
            reason="another man, born in 1960",
        )
        again = await screen_parties(conn, screener, sender, listed)
    assert (again.decision, again.reasons, again.alert_outcome) == ("clear", [], None)


async def test_rescreening_after_a_list_update_alerts_on_new_findings_only(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    personal = PersonalData.from_settings(settings)
    async with engine.begin() as conn:
        tural = await add_customer(conn, personal, "Tural", "Cəfərov", date(1985, 2, 3))
        turals_sabina = await add_payee(conn, personal, tural, "Səbinə", "Rzayeva")
        aynur = await add_customer(conn, personal, "Aynur", "Quliyeva")
        await add_payee(conn, personal, aynur, "Kamran", "Əliyev")
        aynurs_sabina = await add_payee(conn, personal, aynur, "Səbinə", "Rzayeva")  # the same payee
        await add_customer(conn, personal, None, None)  # no name yet: nothing to screen
    sabina = payee_ref(personal.index, "cash_pickup", "Səbinə Rzayeva")
    screener = build_screener(settings)
    with pytest.raises(Exception, match="no screening list is loaded"):
        await rescreen_everyone(engine, screener, personal)

    await store_list(engine, pep_file(tmp_path, "v1.csv", PEP_V1))
    async with engine.connect() as conn:
        await refresh_screener(conn, screener)
    progress: list[RescreenJob] = []
    first = await rescreen_everyone(engine, screener, personal, progress_cb=progress.append, batch_size=2)
    # Two named customers and two payees (Səbinə once, however many senders pay her).
    assert (first.job.status, first.job.subjects_done, first.job.hits + first.job.reviews) == ("done", 4, 0)
    assert [job.subjects_done for job in progress] == [2, 4, 4]
    assert first.alerts_opened == 0

    await store_list(engine, pep_file(tmp_path, "v2.csv", PEP_V2))
    async with engine.connect() as conn:
        assert await rescreen_due(conn)
        await refresh_screener(conn, screener)
    second = await rescreen_everyone(engine, screener, personal)
    assert second.job.list_versions == {"pep-local": 2}
    assert second.alerts_opened == 3
    async with engine.connect() as conn:
        alerts = await list_alerts(conn, status="open")
        assert not await rescreen_due(conn)
    # Tural's own finding goes to his case; the payee's to the case of each customer who pays her.
    found = {
        (
            a.customer_ref,
            a.reasons[0]["subjectRef"],
            a.reasons[0]["entryKey"],
            tuple(a.reasons[0].get("recipientIds", ())),
        )
        for a in alerts
    }
    assert found == {
        (f"customer:{tural}", f"customer:{tural}", "pep-local:pep-901", ()),
        (f"customer:{tural}", sabina, "pep-local:pep-902", (turals_sabina,)),
        (f"customer:{aynur}", sabina, "pep-local:pep-902", (aynurs_sabina,)),
    }
    assert {a.source for a in alerts} == {"screening"}

    third = await rescreen_everyone(engine, screener, personal)
    assert (third.job.hits + third.job.reviews, third.alerts_opened) == (2, 0)


@pytest.mark.parametrize("role", ["admin", "operator", "policy_analyst"])
async def test_screening_views_are_for_officers_only(http: AsyncClient, make_staff: Any, role: str) -> None:
    headers = await make_staff(role)
    for path in (
        "/backoffice/v1/screening/results?subjectRef=customer:1",
        "/backoffice/v1/screening/lists",
        "/backoffice/v1/screening/lists/versions",
        "/backoffice/v1/screening/rescreen-jobs",
        "/backoffice/v1/screening/rescreen-jobs/1",
    ):
        assert (await http.get(path, headers=headers)).status_code == 403, path
        assert (await http.get(path)).status_code == 401, path
    body = {"entryKey": "ofac-sdn:48603", "reason": "not the same person"}
    assert (
        await http.post("/backoffice/v1/screening/results/1/clear", json=body, headers=headers)
    ).status_code == 403
    assert (await http.post("/backoffice/v1/screening/results/1/clear", json=body)).status_code == 401


async def test_officers_see_history_lists_and_jobs_and_clear_a_match_with_a_reason(
    http: AsyncClient, make_staff: Any, settings: Settings, engine: AsyncEngine
) -> None:
    personal = PersonalData.from_settings(settings)
    async with engine.begin() as conn:
        listed = await add_customer(conn, personal, "Dmitry", "Khoroshev", date(1993, 4, 17))
    await store_list(engine, TINY_OFAC)
    screener = build_screener(settings)
    async with engine.connect() as conn:
        await refresh_screener(conn, screener)
    job = (await rescreen_everyone(engine, screener, personal)).job
    ref = f"customer:{listed}"

    for role in ("officer", "senior_officer"):
        officer = await make_staff(role)
        history = await http.get(
            "/backoffice/v1/screening/results", params={"subjectRef": ref}, headers=officer
        )
        assert history.status_code == 200, history.text
        [result] = history.json()["items"]
        assert (result["decision"], result["trigger"], result["listVersions"]) == (
            "hit",
            "rescreen",
            {"ofac-sdn": 1},
        )
        assert result["matches"][0]["entryKey"] == "ofac-sdn:48603"
        assert result["matches"][0]["entryName"] == "KHOROSHEV, Dmitry Yuryevich"
        lists = (await http.get("/backoffice/v1/screening/lists", headers=officer)).json()
        assert [(i["listName"], i["version"], i["entryCount"]) for i in lists["items"]] == [
            ("ofac-sdn", 1, 17)
        ]
        assert lists["rescreenDue"] is False
        jobs = (await http.get("/backoffice/v1/screening/rescreen-jobs", headers=officer)).json()["items"]
        assert [(j["id"], j["status"], j["subjectsDone"], j["hits"]) for j in jobs] == [
            (job.id, "done", 1, 1)
        ]
        one = (await http.get(f"/backoffice/v1/screening/rescreen-jobs/{job.id}", headers=officer)).json()
        assert one["listVersions"] == {"ofac-sdn": 1}

    missing_reason = await http.post(
        f"/backoffice/v1/screening/results/{result['id']}/clear",
        json={"entryKey": "ofac-sdn:48603", "reason": "  "},
        headers=officer,
    )
    assert missing_reason.status_code in (400, 422)
    unknown_entry = await http.post(
        f"/backoffice/v1/screening/results/{result['id']}/clear",
        json={"entryKey": "ofac-sdn:1", "reason": "not him"},
        headers=officer,
    )
    assert unknown_entry.status_code == 404
    reason = "Born 1993 in Baku; the listed man is a Russian national, passport checked"
    cleared = await http.post(
        f"/backoffice/v1/screening/results/{result['id']}/clear",
        json={"entryKey": "ofac-sdn:48603", "reason": reason},
        headers=officer,
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json() == {
        "resultId": result["id"],
        "subjectRef": ref,
        "entryKey": "ofac-sdn:48603",
        "newlyCleared": True,
    }
    twice = await http.post(
        f"/backoffice/v1/screening/results/{result['id']}/clear",
        json={"entryKey": "ofac-sdn:48603", "reason": reason},
        headers=officer,
    )
    assert twice.json()["newlyCleared"] is False
    await rescreen_everyone(engine, screener, personal)
    latest = (
        await http.get(
            "/backoffice/v1/screening/results", params={"subjectRef": ref, "limit": 1}, headers=officer
        )
    ).json()
    assert latest["items"][0]["decision"] == "clear"
    assert latest["items"][0]["matches"][0]["cleared"] is True
    assert latest["nextCursor"] is not None
    older = await http.get(
        "/backoffice/v1/screening/results",
        params={"subjectRef": ref, "limit": 1, "cursor": latest["nextCursor"]},
        headers=officer,
    )
    assert [item["decision"] for item in older.json()["items"]] == ["hit"]

    async with engine.connect() as conn:
        events = await read_audit(conn, subject_type="screening_subject")
    assert [(e.action, e.subject_id) for e in events].count(("screening.history_viewed", ref)) == 4
    clears = [e for e in events if e.action == "screening.match_cleared"]
    assert sorted((e.reason, e.details["newlyCleared"]) for e in clears) == [(reason, False), (reason, True)]
    assert (await http.get("/backoffice/v1/screening/rescreen-jobs/999", headers=officer)).status_code == 404
    assert (
        await http.post(
            "/backoffice/v1/screening/results/999/clear",
            json={"entryKey": "ofac-sdn:48603", "reason": reason},
            headers=officer,
        )
    ).status_code == 404


def _refresh_tasks() -> list[asyncio.Task[Any]]:
    return [task for task in asyncio.all_tasks() if task.get_name() == "korpu.screening-refresh"]


async def test_the_app_loads_lists_at_start_refreshes_them_and_leaves_no_task_behind(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    await store_list(engine, TINY_OFAC)
    app = create_app(replace(settings, screening_refresh_seconds=1), engine=engine)
    async with serve(app):
        assert app.state.screener.list_versions == {"ofac-sdn": 1}
        assert len(_refresh_tasks()) == 1
        await store_list(engine, pep_file(tmp_path, "pep.csv", PEP_V1))
        for _ in range(50):
            if "pep-local" in app.state.screener.list_versions:
                break
            await asyncio.sleep(0.1)
        assert app.state.screener.list_versions == {"ofac-sdn": 1, "pep-local": 1}
    assert _refresh_tasks() == []
    for _ in range(3):
        async with serve(create_app(settings, engine=engine)):
            pass
    assert _refresh_tasks() == []


async def test_a_process_without_a_readable_database_starts_with_an_empty_screener(
    settings: Settings, tmp_path: Path
) -> None:
    empty = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unmigrated.sqlite3'}")
    app = create_app(replace(settings, database_url=str(empty.url)), engine=empty)
    try:
        async with serve(app) as url, AsyncClient(base_url=url) as client:
            assert (await client.get("/health")).status_code == 200
            assert app.state.screener.index.is_empty
    finally:
        await empty.dispose()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def operator_env(database_url: str, tmp: Path) -> dict[str, str]:
    """What an operator's shell holds: the database and the service's secrets."""
    return {
        "KORPU_ENV": "test",
        "KORPU_DATABASE_URL": database_url,
        "KORPU_VAR_DIR": str(tmp / "var"),
        "KORPU_SECRET_KEY": _b64(b"s" * 32),
        "KORPU_DATA_KEYS": "1:" + _b64(b"d" * 32),
        "KORPU_LEDGER_SIGNING_KEY": _b64(b"l" * 32),
    }


def korpu(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", "compliance", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_operators_rescreen_from_the_command_line(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    env = operator_env(database_url, tmp_path)
    personal = PersonalData.from_settings(Settings.from_env(env))
    async with engine.begin() as conn:
        await add_customer(conn, personal, "Tural", "Cəfərov", date(1985, 2, 3))
    nothing = korpu("rescreen", env=env)
    assert nothing.returncode == 1
    assert "no screening list loaded" in nothing.stderr
    loaded = korpu("lists", "load", pep_file(tmp_path, "pep.csv", PEP_V2), env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "pep-local: version 1 stored (3 entries)" in loaded.stdout
    assert "re-screening job 1: 1 customers and payees against pep-local v1" in loaded.stdout
    assert "1 new alerts" in loaded.stdout
    again = korpu("rescreen", "--json", env=env)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert (summary["job"], summary["subjects"], summary["alertsOpened"]) == (2, 1, 0)
    assert summary["listVersions"] == {"pep-local": 1}


async def test_a_match_cleared_on_a_transfer_stays_cleared_when_everyone_is_rescreened(
    engine: AsyncEngine, settings: Settings
) -> None:
    """The transfer flow and the re-screening describe a payee and a sender identically (same
    reference, same fingerprint), so an officer's "not this person" holds for both."""
    async with transfer_world(engine, settings) as world:
        sender = await world.customer()
        await world.fund(sender, "5000.00", "RUB")
        body = {
            "givenName": "Dmitry",
            "familyName": "Khoroshev",
            "country": "AZ",
            "payout": {"method": "bank_account", "iban": "AZ21NABZ00000000137010001944"},
        }
        created = await world.http.post("/v1/recipients", json=body, headers=sender.headers)
        quote = await world.quote(sender, "1000.00")
        sent = await world.send(sender, quote["id"], int(created.json()["id"]))
        assert sent.status_code == 201, sent.text
        personal = world.app.state.identity.personal_data
        payee = payee_ref(personal.index, "bank_account", "AZ21NABZ00000000137010001944")
        async with engine.connect() as conn:
            [on_transfer] = await screening_history(conn, payee)
            [sender_on_transfer] = await screening_history(conn, f"customer:{sender.customer_id}")
        assert (on_transfer.trigger, on_transfer.decision) == ("transfer", "hit")

        async with engine.begin() as conn:
            _, secret = await create_staff(
                conn,
                Sealer(settings.secrets.data_keys),
                "officer-1",
                ["officer"],
                "correct horse battery staple",
            )
        login = await world.http.post(
            "/backoffice/v1/auth/login",
            json={
                "username": "officer-1",
                "password": "correct horse battery staple",
                "totp": pyotp.TOTP(secret).now(),
            },
        )
        officer = {"Authorization": f"Bearer {login.json()['token']}"}
        cleared = await world.http.post(
            f"/backoffice/v1/screening/results/{on_transfer.id}/clear",
            json={"entryKey": "ofac-sdn:48603", "reason": "a namesake: different birth year and nationality"},
            headers=officer,
        )
        assert cleared.status_code == 200, cleared.text

        report = await rescreen_everyone(engine, world.app.state.screener, personal)
        async with engine.connect() as conn:
            [on_rescreen, _] = await screening_history(conn, payee)
            [sender_on_rescreen, _] = await screening_history(conn, f"customer:{sender.customer_id}")
        assert (on_rescreen.trigger, on_rescreen.decision) == ("rescreen", "clear")
        assert on_rescreen.subject_fingerprint == on_transfer.subject_fingerprint
        assert sender_on_rescreen.subject_fingerprint == sender_on_transfer.subject_fingerprint
        assert report.alerts_opened == 0
