"""Staff sign-in: password (argon2) plus a TOTP second factor, then a short opaque session token.

Sessions end after ``IDLE_TIMEOUT`` without use or ``ABSOLUTE_TIMEOUT`` after sign-in. The token is
shown once; the database keeps only its SHA-256. Five wrong sign-ins lock the account for
``LOCKOUT``; unknown user, wrong password and wrong code all answer the same ``invalid_credentials``
so that sign-in does not reveal which usernames exist. A TOTP code is accepted once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.staff.tables import staff_sessions, staff_users
from compliance.privacy import Sealer

__all__ = [
    "ABSOLUTE_TIMEOUT",
    "IDLE_TIMEOUT",
    "ROLES",
    "AccountLocked",
    "InvalidCredentials",
    "SessionInvalid",
    "StaffPrincipal",
    "StaffSession",
    "authenticate",
    "create_staff",
    "login",
    "logout",
]

ROLES = ("officer", "senior_officer", "policy_analyst", "operator", "admin")
IDLE_TIMEOUT = timedelta(minutes=15)
ABSOLUTE_TIMEOUT = timedelta(hours=8)
LOCKOUT = timedelta(minutes=15)
MAX_FAILED_LOGINS = 5
_TOTP_CONTEXT = "staff.totp_secret"
_hasher = PasswordHasher()


class InvalidCredentials(Exception):
    code = "invalid_credentials"
    status = 401


class AccountLocked(Exception):
    code = "account_locked"
    status = 423


class SessionInvalid(Exception):
    code = "session_invalid"
    status = 401


class UnknownRole(ValueError):
    code = "unknown_role"
    status = 422


@dataclass(frozen=True, slots=True)
class StaffPrincipal:
    """Who is acting in the back office."""

    staff_id: int
    username: str
    roles: frozenset[str]

    @property
    def actor(self) -> str:
        """How the audit trail names this person."""
        return f"staff:{self.staff_id}"

    def has_any(self, *roles: str) -> bool:
        return "admin" in self.roles or bool(self.roles.intersection(roles))


@dataclass(frozen=True, slots=True)
class StaffSession:
    token: str
    expires_at: datetime
    principal: StaffPrincipal


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def create_staff(
    conn: AsyncConnection,
    sealer: Sealer,
    username: str,
    roles: list[str],
    password: str,
    *,
    now: datetime | None = None,
) -> tuple[int, str]:
    """Create a staff account; returns its id and the TOTP secret to show once."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise UnknownRole(f"roles must be among {', '.join(ROLES)}; got {', '.join(unknown) or 'none'}")
    if len(password) < 12:
        raise ValueError("a staff password has at least 12 characters")
    totp_secret = pyotp.random_base32()
    result = await conn.execute(
        insert(staff_users).values(
            username=username,
            password_hash=_hasher.hash(password),
            totp_secret_sealed=sealer.seal_text(totp_secret, _TOTP_CONTEXT),
            roles=",".join(sorted(set(roles))),
            active=True,
            failed_logins=0,
            created_at=now or datetime.now(UTC),
        )
    )
    primary_key = result.inserted_primary_key
    assert primary_key is not None
    return int(primary_key[0]), totp_secret


async def login(
    conn: AsyncConnection,
    sealer: Sealer,
    username: str,
    password: str,
    totp_code: str,
    *,
    now: datetime | None = None,
) -> StaffSession | InvalidCredentials | AccountLocked:
    """Check the credentials; on failure the error is *returned*, not raised, so that the caller
    commits the failure count (and its audit row) before answering."""
    now = now or datetime.now(UTC)
    row = (
        (await conn.execute(select(staff_users).where(staff_users.c.username == username))).mappings().first()
    )
    if row is None or not row["active"]:
        _hasher.hash(password)  # spend the same time as a real check
        return InvalidCredentials("username, password or code is wrong")
    if row["locked_until"] is not None and _aware(row["locked_until"]) > now:
        return AccountLocked("too many failed sign-ins; try again later")
    totp = pyotp.TOTP(sealer.open_text(row["totp_secret_sealed"], _TOTP_CONTEXT))
    step = _matching_step(totp, totp_code, now)
    password_ok = _password_matches(row["password_hash"], password)
    code_fresh = step is not None and (row["totp_last_step"] is None or step > row["totp_last_step"])
    if not (password_ok and code_fresh):
        failed = row["failed_logins"] + 1
        locked = failed >= MAX_FAILED_LOGINS
        await conn.execute(
            update(staff_users)
            .where(staff_users.c.id == row["id"])
            .values(failed_logins=0 if locked else failed, locked_until=now + LOCKOUT if locked else None)
        )
        return InvalidCredentials("username, password or code is wrong")
    await conn.execute(
        update(staff_users)
        .where(staff_users.c.id == row["id"])
        .values(failed_logins=0, locked_until=None, totp_last_step=step)
    )
    token = secrets.token_urlsafe(32)
    expires_at = now + ABSOLUTE_TIMEOUT
    await conn.execute(
        insert(staff_sessions).values(
            token_hash=_token_hash(token),
            staff_id=row["id"],
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )
    principal = StaffPrincipal(row["id"], row["username"], frozenset(row["roles"].split(",")))
    return StaffSession(token=token, expires_at=expires_at, principal=principal)


def _matching_step(totp: pyotp.TOTP, code: str, now: datetime) -> int | None:
    """The 30-second step whose code is ``code``, allowing one step of clock drift either way."""
    current = int(now.timestamp()) // totp.interval
    for step in (current - 1, current, current + 1):
        if secrets.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except VerificationError:
        return False


_session_lookup = select(
    staff_sessions.c.staff_id,
    staff_sessions.c.last_seen_at,
    staff_sessions.c.expires_at,
    staff_sessions.c.revoked_at,
    staff_users.c.username,
    staff_users.c.roles,
    staff_users.c.active,
).join(staff_users, staff_users.c.id == staff_sessions.c.staff_id)


async def authenticate(conn: AsyncConnection, token: str, *, now: datetime | None = None) -> StaffPrincipal:
    """The principal behind a session token; refreshes the idle timer at most once a minute."""
    now = now or datetime.now(UTC)
    digest = _token_hash(token)
    row = (
        (await conn.execute(_session_lookup.where(staff_sessions.c.token_hash == digest))).mappings().first()
    )
    if (
        row is None
        or row["revoked_at"] is not None
        or not row["active"]
        or _aware(row["expires_at"]) <= now
        or _aware(row["last_seen_at"]) + IDLE_TIMEOUT <= now
    ):
        raise SessionInvalid("sign in again")
    if now - _aware(row["last_seen_at"]) > timedelta(minutes=1):
        await conn.execute(
            update(staff_sessions).where(staff_sessions.c.token_hash == digest).values(last_seen_at=now)
        )
    return StaffPrincipal(row["staff_id"], row["username"], frozenset(row["roles"].split(",")))


async def logout(conn: AsyncConnection, token: str, *, now: datetime | None = None) -> None:
    await conn.execute(
        update(staff_sessions)
        .where(staff_sessions.c.token_hash == _token_hash(token), staff_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC))
    )
