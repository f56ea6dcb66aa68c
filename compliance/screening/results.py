"""Screening results: recording each screening with the list versions it used, a subject's
screening history for the back office, and the one call the transfer flow makes
(:func:`screen_subject`: screen, apply the cleared-match memory, record)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import RowMapping, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.clock import as_utc
from compliance.rows import RowInsert
from compliance.screening.memory import apply_cleared_memory
from compliance.screening.model import Decision, Match, ScreeningResult, Subject
from compliance.screening.screener import Screener
from compliance.screening.tables import screening_results

__all__ = [
    "ScreeningRecord",
    "latest_screening",
    "record_screening",
    "record_screenings",
    "rescreen_findings",
    "screen_subject",
    "screen_subjects",
    "screening_history",
    "screening_record",
]

_HISTORY = (
    select(screening_results)
    .where(screening_results.c.subject_ref == bindparam("subject_ref"))
    .where(screening_results.c.id < bindparam("before_id"))
    .order_by(screening_results.c.id.desc())
    .limit(bindparam("limit"))
)
_NO_CURSOR = 2**62
_BY_ID = select(screening_results).where(screening_results.c.id == bindparam("record_id"))
_FINDINGS = (
    select(screening_results)
    .where(screening_results.c.rescreen_job_id == bindparam("job_id"))
    .where(screening_results.c.id > bindparam("after_id"))
    .where(screening_results.c.decision != "clear")
    .order_by(screening_results.c.id)
    .limit(bindparam("limit"))
)


@dataclass(frozen=True, slots=True)
class ScreeningRecord:
    """A stored screening."""

    id: int
    """Row id (also the history cursor)."""
    subject_ref: str
    """Who was screened (``customer:42``, ``recipient:7``)."""
    subject_fingerprint: str
    """Keyed fingerprint of the subject's data at the time."""
    screened_at: datetime
    """When."""
    trigger: str
    """Why: ``onboarding``, ``transfer``, ``rescreen``, ``manual``..."""
    decision: Decision
    """``clear``, ``review`` or ``hit`` after the cleared-match memory."""
    top_score: Decimal
    """Score of the strongest live match (4 decimals)."""
    top_entry_key: str | None
    """Its list entry."""
    list_versions: Mapping[str, int]
    """Version of every list used."""
    matches: tuple[Match, ...]
    """Every match kept, cleared ones flagged."""
    rescreen_job_id: int | None
    """The re-screen job that made it, if any."""


async def record_screening(
    conn: AsyncConnection,
    subject_ref: str,
    result: ScreeningResult,
    *,
    trigger: str = "manual",
    rescreen_job_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Store ``result`` for ``subject_ref``; returns the record id."""
    (record_id,) = await record_screenings(
        conn, [(subject_ref, result)], trigger=trigger, rescreen_job_id=rescreen_job_id, now=now
    )
    assert record_id is not None  # written at once, its id returned
    return record_id


async def record_screenings(
    conn: AsyncConnection,
    results: Sequence[tuple[str, ScreeningResult]],
    *,
    trigger: str = "manual",
    rescreen_job_id: int | None = None,
    now: datetime | None = None,
    insert_row: RowInsert | None = None,
) -> list[int | None]:
    """Store each ``(subject_ref, result)`` in one statement; returns the record ids in order, or
    ``None`` for each row handed to ``insert_row`` (the caller's statement writes it later)."""
    screened_at = now or datetime.now(UTC)
    rows = []
    for subject_ref, result in results:
        top = result.top_match
        rows.append(
            {
                "subject_ref": subject_ref,
                "subject_fingerprint": result.subject_fingerprint,
                "screened_at": screened_at,
                "trigger": trigger,
                "decision": result.decision,
                "top_score": Decimal(f"{result.top_score:.4f}"),
                "top_entry_key": top.entry_key if top else None,
                "list_versions": json.dumps(dict(result.list_versions), sort_keys=True),
                "matches": json.dumps([match.to_json() for match in result.matches], ensure_ascii=False),
                "rescreen_job_id": rescreen_job_id,
            }
        )
    if insert_row is not None:
        for row in rows:
            await insert_row(conn, screening_results, row)
        return [None] * len(rows)
    if not rows:
        return []
    inserted = await conn.execute(_INSERT_RETURNING_ID, rows)
    return [int(record_id) for record_id in inserted.scalars()]


_INSERT_RETURNING_ID = screening_results.insert().returning(
    screening_results.c.id, sort_by_parameter_order=True
)


async def screen_subject(
    conn: AsyncConnection,
    screener: Screener,
    subject_ref: str,
    subject: Subject,
    *,
    trigger: str,
    rescreen_job_id: int | None = None,
) -> tuple[ScreeningResult, int]:
    """Screen, honour cleared matches, record; returns the effective result and the record id."""
    ((result, record_id),) = await screen_subjects(
        conn, screener, [(subject_ref, subject)], trigger=trigger, rescreen_job_id=rescreen_job_id
    )
    assert record_id is not None  # written at once, its id returned
    return result, record_id


async def screen_subjects(
    conn: AsyncConnection,
    screener: Screener,
    subjects: Sequence[tuple[str, Subject]],
    *,
    trigger: str,
    rescreen_job_id: int | None = None,
    insert_row: RowInsert | None = None,
) -> list[tuple[ScreeningResult, int | None]]:
    """:func:`screen_subject` for several subjects, their records written in one statement (or
    through ``insert_row``, see :func:`record_screenings`)."""
    results = [
        (subject_ref, await apply_cleared_memory(conn, subject_ref, screener.screen(subject)))
        for subject_ref, subject in subjects
    ]
    record_ids = await record_screenings(
        conn, results, trigger=trigger, rescreen_job_id=rescreen_job_id, insert_row=insert_row
    )
    return [(result, record_id) for (_, result), record_id in zip(results, record_ids, strict=True)]


async def screening_history(
    conn: AsyncConnection, subject_ref: str, *, limit: int = 50, before_id: int | None = None
) -> list[ScreeningRecord]:
    """A subject's screenings, newest first; page with ``before_id`` = the last id seen."""
    rows = await conn.execute(
        _HISTORY,
        {"subject_ref": subject_ref, "before_id": before_id or _NO_CURSOR, "limit": limit},
    )
    return [_record(row._mapping) for row in rows]


async def latest_screening(conn: AsyncConnection, subject_ref: str) -> ScreeningRecord | None:
    """The subject's most recent screening, if any."""
    found = await screening_history(conn, subject_ref, limit=1)
    return found[0] if found else None


async def screening_record(conn: AsyncConnection, record_id: int) -> ScreeningRecord | None:
    """One stored screening, or ``None``."""
    row = (await conn.execute(_BY_ID, {"record_id": record_id})).first()
    return None if row is None else _record(row._mapping)


async def rescreen_findings(
    conn: AsyncConnection, job_id: int, *, after_id: int = 0, limit: int = 500
) -> list[ScreeningRecord]:
    """The ``review`` and ``hit`` results of a re-screen job, oldest first; page with ``after_id``."""
    rows = await conn.execute(_FINDINGS, {"job_id": job_id, "after_id": after_id, "limit": limit})
    return [_record(row._mapping) for row in rows]


def _record(row: RowMapping) -> ScreeningRecord:
    return ScreeningRecord(
        id=int(row["id"]),
        subject_ref=str(row["subject_ref"]),
        subject_fingerprint=str(row["subject_fingerprint"]),
        screened_at=as_utc(row["screened_at"]),  # SQLite returns it naive
        trigger=str(row["trigger"]),
        decision=row["decision"],
        top_score=Decimal(str(row["top_score"])),
        top_entry_key=row["top_entry_key"],
        list_versions=json.loads(str(row["list_versions"])),
        matches=tuple(Match.from_json(raw) for raw in json.loads(str(row["matches"]))),
        rescreen_job_id=row["rescreen_job_id"],
    )
