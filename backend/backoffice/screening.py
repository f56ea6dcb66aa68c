"""Back office: sanctions screening for officers. A subject's screening history (audited), the list
versions in force and before, the re-screening jobs with their progress, and clearing a match as a
false positive (with a required reason, in the audit trail), which the cleared-match memory then
honours until the subject's or the list entry's data change."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import Parameter
from pydantic import Field

from backend.backoffice.common import OFFICERS, Camel, after_id, next_cursor, officer_of
from backend.problems import Problem
from backend.screening import screener_of
from backend.staff.guards import StaffPrincipal
from compliance.audit import record_audit
from compliance.screening import (
    ListVersionInfo,
    Match,
    RescreenJob,
    ScreeningRecord,
    clear_match,
    current_versions,
    list_version_history,
    rescreen_due,
    rescreen_job,
    rescreen_jobs,
    screening_history,
    screening_record,
)

__all__ = ["ScreeningController"]

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size.")]
Decision = Literal["clear", "review", "hit"]


class MatchOut(Camel):
    entry_key: str
    list_name: str
    entry_id: str
    entry_name: str
    matched_name: str
    score: float
    name_score: float
    decision: Decision
    reasons: list[str]
    cleared: bool

    @classmethod
    def of(cls, match: Match) -> MatchOut:
        return cls(
            entry_key=match.entry_key,
            list_name=match.list_name,
            entry_id=match.entry_id,
            entry_name=match.entry_name,
            matched_name=match.matched_name,
            score=round(match.score, 4),
            name_score=round(match.name_score, 4),
            decision=match.decision,
            reasons=list(match.reasons),
            cleared=match.cleared,
        )


class ResultOut(Camel):
    id: int
    subject_ref: str
    screened_at: datetime
    trigger: str
    decision: Decision
    top_score: str = Field(description='Score of the strongest live match, e.g. "0.9312".')
    top_entry_key: str | None
    list_versions: dict[str, int]
    matches: list[MatchOut]
    rescreen_job_id: int | None

    @classmethod
    def of(cls, record: ScreeningRecord) -> ResultOut:
        return cls(
            id=record.id,
            subject_ref=record.subject_ref,
            screened_at=record.screened_at,
            trigger=record.trigger,
            decision=record.decision,
            top_score=str(record.top_score),
            top_entry_key=record.top_entry_key,
            list_versions=dict(record.list_versions),
            matches=[MatchOut.of(match) for match in record.matches],
            rescreen_job_id=record.rescreen_job_id,
        )


class ResultPage(Camel):
    items: list[ResultOut]
    next_cursor: str | None


class ListVersionOut(Camel):
    id: int
    list_name: str
    version: int
    source_format: str
    source_label: str | None
    published: str | None
    entry_count: int
    checksum: str
    loaded_at: datetime
    loaded_by: str | None

    @classmethod
    def of(cls, info: ListVersionInfo) -> ListVersionOut:
        return cls(**{name: getattr(info, name) for name in cls.model_fields})


class CurrentListsOut(Camel):
    items: list[ListVersionOut]
    """The current version of every list."""
    rescreen_due: bool
    """The lists moved on since the last completed re-screening."""
    screener_versions: dict[str, int]
    """The versions this server process screens against right now (it refreshes periodically)."""


class ListVersionPage(Camel):
    items: list[ListVersionOut]
    next_cursor: str | None


class JobOut(Camel):
    id: int
    status: str
    list_versions: dict[str, int]
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    subjects_done: int
    reviews: int
    hits: int
    error: str | None

    @classmethod
    def of(cls, job: RescreenJob) -> JobOut:
        return cls(
            id=job.id,
            status=job.status,
            list_versions=dict(job.list_versions),
            started_at=job.started_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
            subjects_done=job.subjects_done,
            reviews=job.reviews,
            hits=job.hits,
            error=job.error,
        )


class JobPage(Camel):
    items: list[JobOut]
    next_cursor: str | None


class ClearMatchIn(Camel):
    entry_key: str = Field(max_length=160, description="The match to clear, e.g. `ofac-sdn:10278`.")
    reason: str = Field(min_length=3, max_length=2000, description="Why this is not the listed person.")


class ClearMatchOut(Camel):
    result_id: int
    subject_ref: str
    entry_key: str
    newly_cleared: bool
    """``False`` when the same match, with the same data on both sides, was already cleared."""


class ScreeningController(Controller):
    path = "/backoffice/v1/screening"
    tags = ["back office: screening"]
    guards = OFFICERS

    @get("/results", summary="A subject's screenings, newest first (audited)")
    async def results(
        self,
        state: State,
        staff: StaffPrincipal,
        subject_ref: Annotated[
            str, Parameter(query="subjectRef", max_length=128, description="`customer:42` or `payee:<hash>`.")
        ],
        limit: Limit = 50,
        cursor: str | None = None,
    ) -> ResultPage:
        officer = officer_of(staff)
        async with state.engine.begin() as conn:
            records = await screening_history(conn, subject_ref, limit=limit, before_id=after_id(cursor))
            await record_audit(
                conn, officer.actor, "screening.history_viewed", "screening_subject", subject_ref
            )
        items = [ResultOut.of(record) for record in records]
        return ResultPage(items=items, next_cursor=next_cursor(items, limit, items[-1].id if items else None))

    @post(
        "/results/{result_id:int}/clear",
        status_code=200,
        summary="Clear a match as a false positive (remembered until either side's data change)",
    )
    async def clear(
        self, result_id: int, data: ClearMatchIn, state: State, staff: StaffPrincipal
    ) -> ClearMatchOut:
        officer = officer_of(staff)
        reason = data.reason.strip()
        if len(reason) < 3:
            raise Problem(422, "reason_required", "Clearing a match needs a reason (at least 3 characters).")
        async with state.engine.begin() as conn:
            record = await screening_record(conn, result_id)
            if record is None:
                raise Problem(404, "screening_result_not_found", f"No screening result {result_id}.")
            match = next((m for m in record.matches if m.entry_key == data.entry_key), None)
            if match is None:
                raise Problem(
                    404, "screening_match_not_found", "That list entry is not a match of this result."
                )
            newly = await clear_match(
                conn,
                record.subject_ref,
                record.subject_fingerprint,
                match.entry_key,
                match.entry_fingerprint,
                cleared_by=officer.actor,
                reason=reason,
            )
            await record_audit(
                conn,
                officer.actor,
                "screening.match_cleared",
                "screening_subject",
                record.subject_ref,
                reason,
                {"resultId": result_id, "entryKey": match.entry_key, "newlyCleared": newly},
            )
        return ClearMatchOut(
            result_id=result_id,
            subject_ref=record.subject_ref,
            entry_key=match.entry_key,
            newly_cleared=newly,
        )

    @get("/lists", summary="The current version of every list, and whether a re-screening is due")
    async def lists(self, state: State, staff: StaffPrincipal) -> CurrentListsOut:
        officer_of(staff)
        async with state.engine.connect() as conn:
            current = await current_versions(conn)
            due = await rescreen_due(conn)
        return CurrentListsOut(
            items=[ListVersionOut.of(info) for info in current.values()],
            rescreen_due=due,
            screener_versions=screener_of(state).list_versions,
        )

    @get("/lists/versions", summary="Stored list versions, newest first")
    async def list_versions(
        self,
        state: State,
        staff: StaffPrincipal,
        list_name: Annotated[str | None, Parameter(query="listName", max_length=64)] = None,
        limit: Limit = 50,
        cursor: str | None = None,
    ) -> ListVersionPage:
        officer_of(staff)
        async with state.engine.connect() as conn:
            infos = await list_version_history(
                conn, list_name=list_name, limit=limit, before_id=after_id(cursor)
            )
        items = [ListVersionOut.of(info) for info in infos]
        return ListVersionPage(
            items=items, next_cursor=next_cursor(items, limit, items[-1].id if items else None)
        )

    @get("/rescreen-jobs", summary="Re-screening jobs and their progress, newest first")
    async def jobs(
        self, state: State, staff: StaffPrincipal, limit: Limit = 20, cursor: str | None = None
    ) -> JobPage:
        officer_of(staff)
        async with state.engine.connect() as conn:
            found = await rescreen_jobs(conn, limit=limit, before_id=after_id(cursor))
        items = [JobOut.of(job) for job in found]
        return JobPage(items=items, next_cursor=next_cursor(items, limit, items[-1].id if items else None))

    @get("/rescreen-jobs/{job_id:int}", summary="One re-screening job")
    async def job(self, job_id: int, state: State, staff: StaffPrincipal) -> JobOut:
        officer_of(staff)
        async with state.engine.connect() as conn:
            found = await rescreen_job(conn, job_id)
        if found is None:
            raise Problem(404, "rescreen_job_not_found", f"No re-screening job {job_id}.")
        return JobOut.of(found)
