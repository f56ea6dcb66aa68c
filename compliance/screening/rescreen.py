"""Re-screening every customer and recipient after a list update, as a job with visible progress.

The caller feeds subjects as an async iterator of ``(subject_ref, Subject)``. The job pins the
screener's index when it starts, so every subject of one job is screened against the same list
versions, which the job row records. Each result goes through the cleared-match memory and is
recorded with trigger ``rescreen``.

Given an engine, the job commits its progress batch by batch (so the back office sees it move,
and work done survives a crash); given a connection, everything happens in the caller's
transaction.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import RowMapping, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from compliance.screening.model import Subject
from compliance.screening.results import screen_subject
from compliance.screening.screener import Screener
from compliance.screening.store import current_versions
from compliance.screening.tables import rescreen_jobs as jobs_table

__all__ = [
    "ProgressCallback",
    "RescreenJob",
    "latest_rescreen_versions",
    "rescreen_all",
    "rescreen_due",
    "rescreen_job",
    "rescreen_jobs",
]

JobStatus = Literal["running", "done", "failed"]


@dataclass(frozen=True, slots=True)
class RescreenJob:
    """A re-screening job and its progress."""

    id: int
    """Row id."""
    status: JobStatus
    """``running``, ``done`` or ``failed``."""
    list_versions: Mapping[str, int]
    """The list versions every subject of the job was screened against."""
    started_at: datetime
    """When it started."""
    updated_at: datetime
    """Last progress update."""
    finished_at: datetime | None
    """When it ended, if it has."""
    subjects_done: int
    """Subjects screened so far."""
    reviews: int
    """Of which ``review``."""
    hits: int
    """Of which ``hit``."""
    error: str | None
    """Why it failed (exception type and message), if it did."""


ProgressCallback = Callable[[RescreenJob], Awaitable[None] | None]

_BY_ID = select(jobs_table).where(jobs_table.c.id == bindparam("job_id"))
_LATEST_DONE = (
    select(jobs_table.c.list_versions)
    .where(jobs_table.c.status == "done")
    .order_by(jobs_table.c.id.desc())
    .limit(1)
)
_UPDATE = (
    jobs_table.update()
    .where(jobs_table.c.id == bindparam("job_id"))
    .values(
        status=bindparam("status"),
        updated_at=bindparam("now"),
        finished_at=bindparam("finished_at"),
        subjects_done=bindparam("done"),
        reviews=bindparam("reviews"),
        hits=bindparam("hits"),
        error=bindparam("error"),
    )
)


async def rescreen_all(
    conn_or_engine: AsyncConnection | AsyncEngine,
    screener: Screener,
    subjects: AsyncIterable[tuple[str, Subject]],
    progress_cb: ProgressCallback | None = None,
    *,
    batch_size: int = 100,
) -> RescreenJob:
    """Screen every subject again; returns the finished job. On failure the job is marked
    ``failed`` (committed, with an engine) and the exception propagates."""
    pinned = screener.pinned()
    versions = dict(pinned.list_versions)
    now = datetime.now(UTC)
    async with _unit(conn_or_engine) as conn:
        inserted = await conn.execute(
            jobs_table.insert()
            .values(
                status="running",
                list_versions=json.dumps(versions, sort_keys=True),
                started_at=now,
                updated_at=now,
                subjects_done=0,
                reviews=0,
                hits=0,
            )
            .returning(jobs_table.c.id)
        )
        job_id = int(inserted.scalar_one())
    counts = {"done": 0, "reviews": 0, "hits": 0}
    batch: list[tuple[str, Subject]] = []
    try:
        async for item in subjects:
            batch.append(item)
            if len(batch) >= batch_size:
                await _screen_batch(conn_or_engine, pinned, job_id, batch, counts, progress_cb)
                batch = []
        await _screen_batch(conn_or_engine, pinned, job_id, batch, counts, progress_cb, final=True)
    except BaseException as exc:
        async with _unit(conn_or_engine) as conn:
            await _save(conn, job_id, "failed", counts, error=f"{type(exc).__name__}: {exc}"[:1000])
        raise
    async with _unit(conn_or_engine) as conn:
        job = await rescreen_job(conn, job_id)
    assert job is not None
    return job


async def _screen_batch(
    conn_or_engine: AsyncConnection | AsyncEngine,
    screener: Screener,
    job_id: int,
    batch: list[tuple[str, Subject]],
    counts: dict[str, int],
    progress_cb: ProgressCallback | None,
    *,
    final: bool = False,
) -> None:
    async with _unit(conn_or_engine) as conn:
        for subject_ref, subject in batch:
            result, _ = await screen_subject(
                conn, screener, subject_ref, subject, trigger="rescreen", rescreen_job_id=job_id
            )
            counts["done"] += 1
            counts["reviews"] += result.decision == "review"
            counts["hits"] += result.decision == "hit"
        job = await _save(conn, job_id, "done" if final else "running", counts)
    if progress_cb is not None:
        outcome = progress_cb(job)
        if inspect.isawaitable(outcome):
            await outcome


async def _save(
    conn: AsyncConnection,
    job_id: int,
    status: JobStatus,
    counts: Mapping[str, int],
    *,
    error: str | None = None,
) -> RescreenJob:
    now = datetime.now(UTC)
    await conn.execute(
        _UPDATE,
        {
            "job_id": job_id,
            "status": status,
            "now": now,
            "finished_at": None if status == "running" else now,
            "done": counts["done"],
            "reviews": counts["reviews"],
            "hits": counts["hits"],
            "error": error,
        },
    )
    job = await rescreen_job(conn, job_id)
    assert job is not None
    return job


def _unit(conn_or_engine: AsyncConnection | AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    """A transaction of its own with an engine; the caller's connection as it is otherwise."""
    if isinstance(conn_or_engine, AsyncEngine):
        return conn_or_engine.begin()
    return _borrowed(conn_or_engine)


@asynccontextmanager
async def _borrowed(conn: AsyncConnection):  # type: ignore[no-untyped-def]
    yield conn


async def rescreen_job(conn: AsyncConnection, job_id: int) -> RescreenJob | None:
    """One job, or ``None``."""
    row = (await conn.execute(_BY_ID, {"job_id": job_id})).first()
    return _job(row._mapping) if row is not None else None


async def rescreen_jobs(
    conn: AsyncConnection, *, limit: int = 20, before_id: int | None = None
) -> list[RescreenJob]:
    """Jobs, newest first; page with ``before_id`` = the last id seen."""
    statement = select(jobs_table).order_by(jobs_table.c.id.desc()).limit(limit)
    if before_id is not None:
        statement = statement.where(jobs_table.c.id < before_id)
    return [_job(row._mapping) for row in await conn.execute(statement)]


async def latest_rescreen_versions(conn: AsyncConnection) -> dict[str, int] | None:
    """The list versions of the last completed job, or ``None`` if no job completed."""
    row = (await conn.execute(_LATEST_DONE)).first()
    return None if row is None else dict(json.loads(row.list_versions))


async def rescreen_due(conn: AsyncConnection) -> bool:
    """Whether the stored lists moved on since the last completed re-screening."""
    stored = {name: info.version for name, info in (await current_versions(conn)).items()}
    if not stored:
        return False
    return await latest_rescreen_versions(conn) != stored


def _job(row: RowMapping) -> RescreenJob:
    return RescreenJob(
        id=int(row["id"]),
        status=row["status"],
        list_versions=json.loads(str(row["list_versions"])),
        started_at=row["started_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
        subjects_done=int(row["subjects_done"]),
        reviews=int(row["reviews"]),
        hits=int(row["hits"]),
        error=row["error"],
    )
