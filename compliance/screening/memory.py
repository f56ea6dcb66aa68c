"""The memory of cleared matches: once an officer clears "this customer is not that list entry",
the same match does not alert again for that customer until the list entry's data or the
customer's data change.

The memory is keyed by subject, list entry, and a fingerprint of each side
(:meth:`~compliance.screening.model.Subject.fingerprint`,
:meth:`~compliance.screening.model.ListEntry.fingerprint`): a new alias, date of birth or
nationality on the entry, or a new name, birth date or nationality of the customer, gives another
key, so the match alerts again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.screening.model import ScreeningResult
from compliance.screening.tables import cleared_matches

__all__ = ["apply_cleared_memory", "clear_match", "is_cleared"]

_ONE = (
    select(cleared_matches.c.id)
    .where(
        cleared_matches.c.subject_ref == bindparam("subject_ref"),
        cleared_matches.c.subject_fingerprint == bindparam("subject_fingerprint"),
        cleared_matches.c.entry_key == bindparam("entry_key"),
        cleared_matches.c.entry_fingerprint == bindparam("entry_fingerprint"),
    )
    .limit(1)
)
_FOR_SUBJECT = select(cleared_matches.c.entry_key, cleared_matches.c.entry_fingerprint).where(
    cleared_matches.c.subject_ref == bindparam("subject_ref"),
    cleared_matches.c.subject_fingerprint == bindparam("subject_fingerprint"),
)


async def is_cleared(
    conn: AsyncConnection,
    subject_ref: str,
    subject_fingerprint: str,
    entry_key: str,
    entry_fingerprint: str,
) -> bool:
    """Whether an officer cleared this entry for this subject, both with these very data."""
    params = {
        "subject_ref": subject_ref,
        "subject_fingerprint": subject_fingerprint,
        "entry_key": entry_key,
        "entry_fingerprint": entry_fingerprint,
    }
    return (await conn.execute(_ONE, params)).first() is not None


async def clear_match(
    conn: AsyncConnection,
    subject_ref: str,
    subject_fingerprint: str,
    entry_key: str,
    entry_fingerprint: str,
    *,
    cleared_by: str,
    reason: str,
    now: datetime | None = None,
) -> bool:
    """Remember that the match is a false positive; ``False`` if it was already remembered."""
    if await is_cleared(conn, subject_ref, subject_fingerprint, entry_key, entry_fingerprint):
        return False
    await conn.execute(
        cleared_matches.insert().values(
            subject_ref=subject_ref,
            subject_fingerprint=subject_fingerprint,
            entry_key=entry_key,
            entry_fingerprint=entry_fingerprint,
            cleared_by=cleared_by,
            reason=reason,
            cleared_at=now or datetime.now(UTC),
        )
    )
    return True


async def apply_cleared_memory(
    conn: AsyncConnection, subject_ref: str, result: ScreeningResult
) -> ScreeningResult:
    """``result`` with matches this subject had cleared flagged ``cleared``, and its decision and
    top score taken from the strongest match that is not cleared."""
    if not result.matches:
        return result
    rows = await conn.execute(
        _FOR_SUBJECT, {"subject_ref": subject_ref, "subject_fingerprint": result.subject_fingerprint}
    )
    cleared = {(row.entry_key, row.entry_fingerprint) for row in rows}
    if not cleared:
        return result
    matches = tuple(
        replace(match, cleared=True) if (match.entry_key, match.entry_fingerprint) in cleared else match
        for match in result.matches
    )
    live = [match for match in matches if not match.cleared]
    return replace(
        result,
        matches=matches,
        decision=live[0].decision if live else "clear",
        top_score=live[0].score if live else 0.0,
    )
