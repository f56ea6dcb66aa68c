"""The list store: versioned snapshots of each screening list, loaded with sanity checks, and the
current index built from them.

Loading a list (:func:`store_snapshot`) refuses an empty list and one that shrank by more than the
policy allows against the current version (an operator may force a shrink they have checked);
an identical list (same checksum) is not stored again. An accepted list becomes version N+1 of its
list in one INSERT: readers see the old version or the new one, never a mix. Every process then
picks it up with :func:`refresh_screener`, which builds a new index off the event loop and swaps it
into the :class:`~compliance.screening.screener.Screener` in one assignment.
"""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.screening.errors import ListRejected, ScreeningError
from compliance.screening.index import ScreeningIndex
from compliance.screening.model import ListSnapshot
from compliance.screening.screener import Screener
from compliance.screening.tables import list_versions

__all__ = [
    "ListVersionInfo",
    "LoadOutcome",
    "SanityPolicy",
    "SnapshotCorrupt",
    "build_current_index",
    "current_versions",
    "list_version_history",
    "load_current_snapshots",
    "refresh_screener",
    "store_snapshot",
]


class SnapshotCorrupt(ScreeningError):
    """A stored snapshot whose bytes no longer match its checksum."""

    code = "screening_snapshot_corrupt"
    status = 500


@dataclass(frozen=True, slots=True)
class SanityPolicy:
    """What a new list version must satisfy before it replaces the current one."""

    max_shrink: float = 0.10
    """Largest share of entries a list may lose between versions (0.10 = 10%)."""


@dataclass(frozen=True, slots=True)
class ListVersionInfo:
    """A stored list version, without its payload."""

    id: int
    """Row id."""
    list_name: str
    """Which list."""
    version: int
    """1, 2, ... per list."""
    source_format: str
    """``ofac-csv``, ``un-xml`` or ``pep-csv``."""
    source_label: str | None
    """Where the operator loaded it from (a file name)."""
    published: str | None
    """The publisher's own date, when the file says."""
    entry_count: int
    """Number of entries."""
    checksum: str
    """SHA-256 of the canonical snapshot."""
    loaded_at: datetime
    """When it was stored."""
    loaded_by: str | None
    """Who stored it."""


@dataclass(frozen=True, slots=True)
class LoadOutcome:
    """What :func:`store_snapshot` did."""

    list_name: str
    """Which list."""
    version: int
    """The version now current (the new one, or the unchanged current one)."""
    changed: bool
    """``False`` when the list was identical to the current version and nothing was stored."""
    entry_count: int
    """Entries in the loaded list."""
    previous_count: int | None
    """Entries in the version it replaced, if any."""


_INFO_COLUMNS = (
    list_versions.c.id,
    list_versions.c.list_name,
    list_versions.c.version,
    list_versions.c.source_format,
    list_versions.c.source_label,
    list_versions.c.published,
    list_versions.c.entry_count,
    list_versions.c.checksum,
    list_versions.c.loaded_at,
    list_versions.c.loaded_by,
)
_LATEST = (
    select(list_versions.c.list_name, func.max(list_versions.c.version).label("version"))
    .group_by(list_versions.c.list_name)
    .subquery("latest")
)
_CURRENT_INFO = (
    select(*_INFO_COLUMNS)
    .join(
        _LATEST,
        (_LATEST.c.list_name == list_versions.c.list_name) & (_LATEST.c.version == list_versions.c.version),
    )
    .order_by(list_versions.c.list_name)
)
_CURRENT_PAYLOADS = (
    select(
        list_versions.c.list_name,
        list_versions.c.version,
        list_versions.c.source_format,
        list_versions.c.published,
        list_versions.c.checksum,
        list_versions.c.payload,
    )
    .join(
        _LATEST,
        (_LATEST.c.list_name == list_versions.c.list_name) & (_LATEST.c.version == list_versions.c.version),
    )
    .order_by(list_versions.c.list_name)
)
_LATEST_OF_LIST = (
    select(list_versions.c.version, list_versions.c.entry_count, list_versions.c.checksum)
    .where(list_versions.c.list_name == bindparam("list_name"))
    .order_by(list_versions.c.version.desc())
    .limit(1)
)


async def store_snapshot(
    conn: AsyncConnection,
    snapshot: ListSnapshot,
    *,
    policy: SanityPolicy | None = None,
    allow_shrink: bool = False,
    source_label: str | None = None,
    loaded_by: str | None = None,
    now: datetime | None = None,
) -> LoadOutcome:
    """Store ``snapshot`` as the next version of its list, after the sanity checks.

    Raises :class:`ListRejected` (nothing stored) when the list is empty or, unless
    ``allow_shrink``, has lost more than ``policy.max_shrink`` of the current version's entries.
    """
    policy = policy or SanityPolicy()
    count = len(snapshot.entries)
    if count == 0:
        raise ListRejected(f"{snapshot.list_name}: the new list is empty; refusing it", reason="empty")
    current = (await conn.execute(_LATEST_OF_LIST, {"list_name": snapshot.list_name})).first()
    checksum = snapshot.checksum
    if current is not None and current.checksum == checksum:
        return LoadOutcome(snapshot.list_name, current.version, False, count, current.entry_count)
    if current is not None and not allow_shrink and count < current.entry_count * (1 - policy.max_shrink):
        lost = 1 - count / current.entry_count
        raise ListRejected(
            f"{snapshot.list_name}: the new list has {count} entries against {current.entry_count} in "
            f"version {current.version} ({lost:.0%} fewer, more than the {policy.max_shrink:.0%} allowed); "
            "refusing it",
            reason="shrank",
        )
    version = 1 if current is None else current.version + 1
    await conn.execute(
        list_versions.insert().values(
            list_name=snapshot.list_name,
            version=version,
            source_format=snapshot.source_format,
            source_label=source_label,
            published=snapshot.published,
            entry_count=count,
            checksum=checksum,
            payload=snapshot.compressed(),
            loaded_at=now or datetime.now(UTC),
            loaded_by=loaded_by,
        )
    )
    return LoadOutcome(
        snapshot.list_name, version, True, count, None if current is None else current.entry_count
    )


async def current_versions(conn: AsyncConnection) -> dict[str, ListVersionInfo]:
    """The current version of every list, by list name."""
    rows = (await conn.execute(_CURRENT_INFO)).all()
    return {row.list_name: ListVersionInfo(**row._mapping) for row in rows}


async def list_version_history(
    conn: AsyncConnection, *, list_name: str | None = None, limit: int = 50, before_id: int | None = None
) -> list[ListVersionInfo]:
    """Stored versions, newest first (cursor: ``before_id``), optionally of one list."""
    statement = select(*_INFO_COLUMNS).order_by(list_versions.c.id.desc()).limit(limit)
    if list_name is not None:
        statement = statement.where(list_versions.c.list_name == list_name)
    if before_id is not None:
        statement = statement.where(list_versions.c.id < before_id)
    rows = (await conn.execute(statement)).all()
    return [ListVersionInfo(**row._mapping) for row in rows]


async def load_current_snapshots(conn: AsyncConnection) -> dict[str, tuple[int, ListSnapshot]]:
    """The current snapshot of every list, checksums verified."""
    snapshots: dict[str, tuple[int, ListSnapshot]] = {}
    for row in (await conn.execute(_CURRENT_PAYLOADS)).all():
        raw = zlib.decompress(row.payload)
        if hashlib.sha256(raw).hexdigest() != row.checksum:
            raise SnapshotCorrupt(f"{row.list_name} version {row.version} does not match its checksum")
        snapshot = ListSnapshot.from_compressed(row.list_name, row.source_format, row.payload, row.published)
        snapshots[row.list_name] = (row.version, snapshot)
    return snapshots


async def build_current_index(conn: AsyncConnection) -> ScreeningIndex:
    """An index over the current version of every list (built in a worker thread)."""
    snapshots = await load_current_snapshots(conn)
    return await asyncio.to_thread(ScreeningIndex, snapshots)


async def refresh_screener(conn: AsyncConnection, screener: Screener) -> bool:
    """Swap a new index into ``screener`` if the stored versions moved on; ``True`` if it did."""
    stored = {name: info.version for name, info in (await current_versions(conn)).items()}
    if stored == screener.list_versions:
        return False
    screener.swap(await build_current_index(conn))
    return True
