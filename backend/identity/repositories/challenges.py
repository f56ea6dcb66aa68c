"""Sign-in challenges: one per code sent, counted per phone for the rate limit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.identity.clock import as_utc
from backend.identity.tables import otp_challenges

__all__ = [
    "ChallengeRecord",
    "RecentChallenges",
    "consume",
    "count_attempt",
    "delete_challenge",
    "get_for_update",
    "insert_challenge",
    "purge_old",
    "recent_for_phone",
]


@dataclass(frozen=True, slots=True)
class ChallengeRecord:
    id: uuid.UUID
    phone_index: str
    phone_sealed: bytes
    code_hash: str
    attempts: int
    expires_at: datetime
    consumed: bool


@dataclass(frozen=True, slots=True)
class RecentChallenges:
    """The codes one phone asked for within a window."""

    count: int
    oldest: datetime | None
    newest_pending: datetime | None
    """The newest code not used yet (a used code does not delay a new sign-in)."""


_RECENT = select(
    func.count(),
    func.min(otp_challenges.c.created_at),
    func.max(case((otp_challenges.c.consumed_at.is_(None), otp_challenges.c.created_at))),
).where(
    otp_challenges.c.phone_index == bindparam("phone_index"), otp_challenges.c.created_at > bindparam("since")
)
_INSERT = insert(otp_challenges)
_PURGE = delete(otp_challenges).where(
    otp_challenges.c.phone_index == bindparam("phone_index"),
    otp_challenges.c.created_at < bindparam("before"),
)
_DELETE = delete(otp_challenges).where(otp_challenges.c.id == bindparam("challenge_id"))
_GET = select(*otp_challenges.c).where(otp_challenges.c.id == bindparam("challenge_id")).with_for_update()
_COUNT_ATTEMPT = (
    update(otp_challenges)
    .where(otp_challenges.c.id == bindparam("challenge_id"))
    .values(attempts=otp_challenges.c.attempts + 1)
)
_CONSUME = (
    update(otp_challenges)
    .where(otp_challenges.c.id == bindparam("challenge_id"), otp_challenges.c.consumed_at.is_(None))
    .values(consumed_at=bindparam("now"))
)


async def recent_for_phone(
    connection: AsyncConnection, phone_index: str, since: datetime
) -> RecentChallenges:
    row = (await connection.execute(_RECENT, {"phone_index": phone_index, "since": since})).one()
    return RecentChallenges(
        count=int(row[0]),
        oldest=None if row[1] is None else as_utc(row[1]),
        newest_pending=None if row[2] is None else as_utc(row[2]),
    )


async def insert_challenge(
    connection: AsyncConnection,
    *,
    challenge_id: uuid.UUID,
    phone_index: str,
    phone_sealed: bytes,
    code_hash: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await connection.execute(
        _INSERT,
        {
            "id": challenge_id,
            "phone_index": phone_index,
            "phone_sealed": phone_sealed,
            "code_hash": code_hash,
            "attempts": 0,
            "created_at": now,
            "expires_at": expires_at,
            "consumed_at": None,
        },
    )


async def purge_old(connection: AsyncConnection, phone_index: str, before: datetime) -> None:
    """Forget this phone's challenges older than ``before`` (they only served the rate limit)."""
    await connection.execute(_PURGE, {"phone_index": phone_index, "before": before})


async def delete_challenge(connection: AsyncConnection, challenge_id: uuid.UUID) -> None:
    await connection.execute(_DELETE, {"challenge_id": challenge_id})


async def get_for_update(connection: AsyncConnection, challenge_id: uuid.UUID) -> ChallengeRecord | None:
    row = (await connection.execute(_GET, {"challenge_id": challenge_id})).first()
    if row is None:
        return None
    m = row._mapping
    return ChallengeRecord(
        id=m["id"],
        phone_index=m["phone_index"],
        phone_sealed=m["phone_sealed"],
        code_hash=m["code_hash"],
        attempts=int(m["attempts"]),
        expires_at=as_utc(m["expires_at"]),
        consumed=m["consumed_at"] is not None,
    )


async def count_attempt(connection: AsyncConnection, challenge_id: uuid.UUID) -> None:
    await connection.execute(_COUNT_ATTEMPT, {"challenge_id": challenge_id})


async def consume(connection: AsyncConnection, challenge_id: uuid.UUID, now: datetime) -> bool:
    result = await connection.execute(_CONSUME, {"challenge_id": challenge_id, "now": now})
    return result.rowcount == 1
