"""The list store, the cleared-match memory, screening history and the re-screen job, on SQLite and
PostgreSQL: versions with sanity checks, the atomic swap, "cleared stays cleared until data change"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from compliance.screening import (
    ListEntry,
    ListRejected,
    ListSnapshot,
    Screener,
    Subject,
    clear_match,
    current_versions,
    is_cleared,
    list_version_history,
    refresh_screener,
    rescreen_all,
    rescreen_due,
    rescreen_job,
    rescreen_jobs,
    screen_subject,
    screening_history,
    store_snapshot,
)
from compliance.screening.rescreen import RescreenJob
from compliance.screening.store import SanityPolicy, SnapshotCorrupt, load_current_snapshots
from compliance.screening.tables import list_versions, screening_results
from tests.screening.conftest import KEY


def pep_list(*names: str, list_name: str = "pep-local") -> ListSnapshot:
    entries = tuple(
        ListEntry(list_name=list_name, entry_id=f"p{i}", kind="person", names=(name,), nationalities=("AZ",))
        for i, name in enumerate(names)
    )
    return ListSnapshot(list_name, "pep-csv", entries)


TEN = [
    f"{given} {surname}"
    for given in ("Tural", "Leyla", "Anar", "Sevinj", "Kamran")
    for surname in ("Baghirov", "Mammadli")
]


async def test_versions_count_up_and_an_identical_list_is_not_stored_twice(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await store_snapshot(conn, pep_list(*TEN), source_label="pep.csv", loaded_by="ops")
        same = await store_snapshot(conn, pep_list(*TEN))
        second = await store_snapshot(conn, pep_list(*TEN, "Rashad Huseynov"))
    assert (first.version, first.changed) == (1, True)
    assert (same.version, same.changed) == (1, False)
    assert (second.version, second.changed, second.previous_count) == (2, True, 10)
    async with engine.connect() as conn:
        current = await current_versions(conn)
        history = await list_version_history(conn, list_name="pep-local")
    assert current["pep-local"].version == 2
    assert current["pep-local"].entry_count == 11
    assert [info.version for info in history] == [2, 1]
    assert history[1].source_label == "pep.csv"
    assert history[1].loaded_by == "ops"


async def test_an_empty_or_shrunken_list_is_refused_and_changes_nothing(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await store_snapshot(conn, pep_list(*TEN))
    with pytest.raises(ListRejected, match="empty") as empty:
        async with engine.begin() as conn:
            await store_snapshot(conn, pep_list())
    assert empty.value.reason == "empty"
    with pytest.raises(ListRejected, match=r"8 entries against 10 in version 1 \(20% fewer") as shrunk:
        async with engine.begin() as conn:
            await store_snapshot(conn, pep_list(*TEN[:8]), policy=SanityPolicy(max_shrink=0.1))
    assert shrunk.value.reason == "shrank"
    async with engine.connect() as conn:
        assert (await current_versions(conn))["pep-local"].version == 1
    async with engine.begin() as conn:
        nine = await store_snapshot(conn, pep_list(*TEN[:9]), policy=SanityPolicy(max_shrink=0.1))
        forced = await store_snapshot(conn, pep_list(*TEN[:2]), allow_shrink=True)
    assert (nine.version, forced.version) == (2, 3)


async def test_a_loaded_version_reaches_the_screener_on_refresh(engine: AsyncEngine) -> None:
    screener = Screener(fingerprint_key=KEY)
    async with engine.begin() as conn:
        await store_snapshot(conn, pep_list(*TEN))
        assert await refresh_screener(conn, screener)
        assert not await refresh_screener(conn, screener)
    assert screener.list_versions == {"pep-local": 1}
    assert screener.screen(Subject("Rashad Guseynov")).decision == "clear"
    async with engine.begin() as conn:
        await store_snapshot(conn, pep_list(*TEN, "Rashad Huseynov"))
        assert await refresh_screener(conn, screener)
    result = screener.screen(Subject("Rashad Guseynov"))
    assert result.decision == "hit"
    assert result.list_versions == {"pep-local": 2}


async def test_a_tampered_snapshot_is_detected(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await store_snapshot(conn, pep_list(*TEN))
        other = pep_list(*TEN[:5])
        await conn.execute(update(list_versions).values(payload=other.compressed()))
    async with engine.connect() as conn:
        with pytest.raises(SnapshotCorrupt):
            await load_current_snapshots(conn)


async def _loaded(engine: AsyncEngine, snapshot: ListSnapshot) -> Screener:
    screener = Screener(fingerprint_key=KEY)
    async with engine.begin() as conn:
        await store_snapshot(conn, snapshot)
        await refresh_screener(conn, screener)
    return screener


async def test_a_cleared_match_stays_quiet_until_the_entry_or_the_customer_changes(
    engine: AsyncEngine,
) -> None:
    screener = await _loaded(engine, pep_list("Rashad Huseynov", *TEN))
    customer = Subject("Rashad Guseynov", date(1985, 2, 1), "AZ")
    async with engine.begin() as conn:
        first, _ = await screen_subject(conn, screener, "customer:1", customer, trigger="onboarding")
        assert first.decision == "hit"
        match = first.matches[0]
        assert await clear_match(
            conn, "customer:1", first.subject_fingerprint, match.entry_key, match.entry_fingerprint,
            cleared_by="officer:7", reason="different person: born 1985, entry is a minister born 1960",
        )  # fmt: skip
        assert not await clear_match(
            conn, "customer:1", first.subject_fingerprint, match.entry_key, match.entry_fingerprint,
            cleared_by="officer:7", reason="again",
        )  # fmt: skip
        again, _ = await screen_subject(conn, screener, "customer:1", customer, trigger="transfer")
        assert again.decision == "clear"
        assert again.matches[0].cleared
        # Another customer with the same name is not covered by this customer's clearance.
        other, _ = await screen_subject(conn, screener, "customer:2", customer, trigger="transfer")
        assert other.decision == "hit"
        # The customer's data change: the match alerts again.
        moved, _ = await screen_subject(
            conn, screener, "customer:1", replace(customer, nationality="RU"), trigger="kyc"
        )
        assert moved.decision != "clear"
        assert not await is_cleared(
            conn, "customer:1", moved.subject_fingerprint, match.entry_key, match.entry_fingerprint
        )

    # The list entry's data change (a date of birth is added): the match alerts again.
    changed = pep_list("Rashad Huseynov", *TEN)
    entries = (replace(changed.entries[0], dates_of_birth=()), *changed.entries[1:])
    from compliance.screening.model import DateOfBirth

    entries = (replace(entries[0], dates_of_birth=(DateOfBirth(1985, 1985),)), *entries[1:])
    async with engine.begin() as conn:
        await store_snapshot(conn, ListSnapshot("pep-local", "pep-csv", entries))
        await refresh_screener(conn, screener)
        after_update, _ = await screen_subject(conn, screener, "customer:1", customer, trigger="rescreen")
    assert after_update.decision == "hit"
    assert not after_update.matches[0].cleared


async def test_screening_history_records_list_versions_newest_first(engine: AsyncEngine) -> None:
    screener = await _loaded(engine, pep_list("Rashad Huseynov", *TEN))
    async with engine.begin() as conn:
        for trigger in ("onboarding", "transfer", "transfer"):
            await screen_subject(conn, screener, "customer:1", Subject("Rashad Guseynov"), trigger=trigger)
        await screen_subject(conn, screener, "customer:2", Subject("Anar Mammadli"), trigger="onboarding")
    async with engine.connect() as conn:
        page = await screening_history(conn, "customer:1", limit=2)
        rest = await screening_history(conn, "customer:1", limit=2, before_id=page[-1].id)
        stored_names = (await conn.execute(select(screening_results.c.matches))).scalars().all()
    assert [r.trigger for r in page + rest] == ["transfer", "transfer", "onboarding"]
    assert all(r.list_versions == {"pep-local": 1} for r in page + rest)
    assert page[0].decision == "hit"
    assert page[0].top_entry_key == "pep-local:p0"
    assert page[0].matches[0].entry_name == "Rashad Huseynov"
    assert str(page[0].top_score) == f"{screener.screen(Subject('Rashad Guseynov')).top_score:.4f}"
    # The subject's own name is not stored with the result, only the list entry's.
    assert not any("Guseynov" in text for text in stored_names)


async def _subjects(count: int) -> AsyncIterator[tuple[str, Subject]]:
    for i in range(count):
        name = "Rashad Guseynov" if i % 10 == 0 else TEN[i % 10]
        yield f"customer:{i}", Subject(name)


async def test_rescreen_job_screens_everyone_against_one_version_and_reports_progress(
    engine: AsyncEngine,
) -> None:
    screener = await _loaded(engine, pep_list(*TEN))
    async with engine.connect() as conn:
        assert await rescreen_due(conn)
    progress: list[RescreenJob] = []
    job = await rescreen_all(engine, screener, _subjects(25), progress.append, batch_size=10)
    assert (job.status, job.subjects_done, job.list_versions) == ("done", 25, {"pep-local": 1})
    assert job.hits == 22  # the ten list names themselves, minus Rashad Guseynov, who is not listed yet
    assert [p.subjects_done for p in progress] == [10, 20, 25]
    assert [p.status for p in progress] == ["running", "running", "done"]
    async with engine.connect() as conn:
        assert not await rescreen_due(conn)
        history = await screening_history(conn, "customer:0")
    assert history[0].trigger == "rescreen"
    assert history[0].rescreen_job_id == job.id

    async with engine.begin() as conn:
        await store_snapshot(conn, pep_list(*TEN, "Rashad Huseynov"))
        await refresh_screener(conn, screener)
        assert await rescreen_due(conn)
    # With a connection the job runs inside the caller's transaction.
    async with engine.begin() as conn:
        second = await rescreen_all(conn, screener, _subjects(25))
    assert (second.hits, second.list_versions) == (25, {"pep-local": 2})
    async with engine.connect() as conn:
        jobs = await rescreen_jobs(conn)
        assert [j.id for j in jobs] == [second.id, job.id]
        assert not await rescreen_due(conn)


async def test_a_failed_rescreen_job_says_so(engine: AsyncEngine) -> None:
    screener = await _loaded(engine, pep_list(*TEN))

    async def broken() -> AsyncIterator[tuple[str, Subject]]:
        yield "customer:1", Subject("Tural Baghirov")
        raise RuntimeError("customer table unavailable")

    with pytest.raises(RuntimeError):
        await rescreen_all(engine, screener, broken(), batch_size=1)
    async with engine.connect() as conn:
        job = (await rescreen_jobs(conn))[0]
        assert (await rescreen_job(conn, job.id)) == job
        assert await rescreen_due(conn)
    assert job.status == "failed"
    assert job.subjects_done == 1
    assert job.error == "RuntimeError: customer table unavailable"


async def test_a_screening_hit_opens_a_case_alert_with_its_matches(engine: AsyncEngine) -> None:
    from compliance.cases import list_alerts, open_alert

    screener = await _loaded(engine, pep_list("Rashad Huseynov", *TEN))
    async with engine.begin() as conn:
        result, _ = await screen_subject(
            conn, screener, "customer:9", Subject("Rashad Guseynov"), trigger="transfer"
        )
        await open_alert(conn, "customer:9", None, "screening", result.alert_reasons(), outcome="block")
        alerts = await list_alerts(conn)
    assert len(alerts) == 1
    reason = alerts[0].reasons[0]
    assert reason["reason"] == "screening_hit"
    assert reason["entryKey"] == "pep-local:p0"
    assert reason["listVersions"] == {"pep-local": 1}
