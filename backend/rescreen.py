"""Re-screening every customer and payee after a list update, and alerting officers to what is new.

:func:`rescreen_everyone` feeds :func:`compliance.screening.rescreen_all` with every customer and
every payee of a live recipient (:mod:`backend.screening_subjects`) and, after each batch commits,
opens a screening alert for each ``review`` or ``hit`` result that is *new*: the subject's screening
before this one was clear, less severe, or lacked one of these live matches. A match that already
alerted (and stayed the same) does not alert again at every list update, and a match an officer
cleared is not live. Alerts go to customers' cases: a payee's finding goes to the case of every
customer who pays them, its reasons naming the ``payee:`` reference and that customer's recipients.

Run it with ``korpu compliance rescreen`` (and it runs after ``korpu compliance lists load`` when a
list moved on).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.compliance_refs import customer_ref
from backend.identity.keys import PersonalData
from backend.screening_subjects import Payee, all_subjects, payee_directory
from compliance.cases import open_alert
from compliance.screening import (
    RescreenJob,
    Screener,
    ScreeningNotReady,
    ScreeningRecord,
    rescreen_all,
    rescreen_findings,
    screening_history,
)

__all__ = ["RescreenReport", "is_new_finding", "rescreen_everyone"]

logger = logging.getLogger("korpu.screening")

_SEVERITY = {"clear": 0, "review": 1, "hit": 2}
_FINDINGS_PAGE = 500


@dataclass(frozen=True, slots=True)
class RescreenReport:
    """What a re-screening did."""

    job: RescreenJob
    """The finished job (counts of subjects, reviews and hits, the list versions used)."""
    alerts_opened: int
    """Alerts opened for new findings (one per customer concerned)."""


def _live(record: ScreeningRecord) -> set[tuple[str, str]]:
    return {(m.entry_key, m.entry_fingerprint) for m in record.matches if not m.cleared}


def is_new_finding(record: ScreeningRecord, previous: ScreeningRecord | None) -> bool:
    """Whether ``record`` (a review or hit) tells officers something ``previous`` did not."""
    if previous is None or _SEVERITY[record.decision] > _SEVERITY[previous.decision]:
        return True
    return bool(_live(record) - _live(previous))


def _alert_reasons(record: ScreeningRecord, recipient_ids: list[int] | None) -> list[dict[str, Any]]:
    extra: dict[str, Any] = {"subjectRef": record.subject_ref, "rescreenJobId": record.rescreen_job_id}
    if recipient_ids is not None:
        extra["recipientIds"] = recipient_ids
    return [
        {
            "reason": f"screening_{match.decision}",
            **match.to_json(),
            "listVersions": dict(record.list_versions),
            **extra,
        }
        for match in record.matches
        if not match.cleared
    ]


def _concerned(subject_ref: str, payees: Mapping[str, Payee]) -> list[tuple[str, list[int] | None]]:
    """The customers whose case a finding about ``subject_ref`` goes to, with their recipients."""
    payee = payees.get(subject_ref)
    if payee is None:
        return [(subject_ref, None)]
    return [(customer_ref(owner), ids) for owner, ids in sorted(payee.recipients.items())]


async def _alert_new_findings(
    conn: AsyncConnection, job_id: int, after_id: int, payees: Mapping[str, Payee]
) -> tuple[int, int]:
    """Open alerts for the job's new findings after ``after_id``; returns (last id seen, alerts)."""
    opened = 0
    while True:
        findings = await rescreen_findings(conn, job_id, after_id=after_id, limit=_FINDINGS_PAGE)
        for record in findings:
            previous = await screening_history(conn, record.subject_ref, limit=1, before_id=record.id)
            if not is_new_finding(record, previous[0] if previous else None):
                continue
            outcome: Literal["review", "block"] = "block" if record.decision == "hit" else "review"
            for owner, recipient_ids in _concerned(record.subject_ref, payees):
                reasons = _alert_reasons(record, recipient_ids)
                await open_alert(conn, owner, None, "screening", reasons, outcome=outcome)
                opened += 1
        if findings:
            after_id = findings[-1].id
        if len(findings) < _FINDINGS_PAGE:
            return after_id, opened


async def rescreen_everyone(
    engine: AsyncEngine,
    screener: Screener,
    personal: PersonalData,
    *,
    progress_cb: Callable[[RescreenJob], Awaitable[None] | None] | None = None,
    batch_size: int = 100,
) -> RescreenReport:
    """Re-screen every customer and payee against the screener's current lists (pinned for the
    whole job), opening alerts for new findings batch by batch; returns the finished job.

    Raises :class:`compliance.screening.ScreeningNotReady`, and records no job, when no list is
    loaded: an empty re-screening would clear everyone.
    """
    if screener.index.is_empty:
        raise ScreeningNotReady("no screening list is loaded; nothing to re-screen against")
    payees = await payee_directory(engine, personal)
    seen = {"after_id": 0, "alerts": 0}

    async def after_batch(job: RescreenJob) -> None:
        async with engine.begin() as conn:
            seen["after_id"], opened = await _alert_new_findings(conn, job.id, seen["after_id"], payees)
        seen["alerts"] += opened
        if progress_cb is not None:
            outcome = progress_cb(job)
            if inspect.isawaitable(outcome):
                await outcome

    job = await rescreen_all(
        engine, screener, all_subjects(engine, personal, payees), after_batch, batch_size=batch_size
    )
    logger.info(
        "re-screening job %s done: %s subjects, %s reviews, %s hits, %s alerts",
        job.id,
        job.subjects_done,
        job.reviews,
        job.hits,
        seen["alerts"],
    )
    return RescreenReport(job=job, alerts_opened=seen["alerts"])
