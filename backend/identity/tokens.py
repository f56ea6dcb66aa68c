"""Access tokens (short-lived signed JWTs) and refresh tokens (random, stored only as a hash).

An access token is an HS256 JWT naming the customer (``sub``), the sign-in session (``sid``) and
the device (``did``). It is checked on every request together with the session's row, so signing
out or a revoked session takes effect at once rather than when the token expires. A refresh token is
256 random bits; the database keeps its SHA-256 only (the token is unguessable, so no key or slow
hash is needed) and each use replaces it with a new one.

A token's signature and claims never change, so :class:`AccessTokens` keeps the claims of tokens it
has verified (up to :data:`VERIFIED_KEPT`, oldest forgotten first) and checks only their expiry
when they come back: 0.2 µs where PyJWT's decoding takes about 100 µs of the server's CPU on every
request (docs/performance-history.md, session 9). Only a token that verified is kept, by its whole text:
one that failed, or differs from a kept one in any character, is checked in full.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import jwt

__all__ = [
    "VERIFIED_KEPT",
    "AccessClaims",
    "AccessTokenExpired",
    "AccessTokenInvalid",
    "AccessTokens",
    "hash_refresh_token",
    "new_refresh_token",
]

_ALGORITHM = "HS256"
_ISSUER = "korpu"
_AUDIENCE = "korpu-mobile"
_REFRESH_PREFIX = "krt_"
VERIFIED_KEPT = 10_000
"""Verified tokens whose claims one :class:`AccessTokens` keeps (a few MB; one per live session)."""


class AccessTokenInvalid(Exception):
    """Not a token we issued (bad signature, wrong audience, malformed)."""


class AccessTokenExpired(AccessTokenInvalid):
    """A token we issued whose time is up."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What an access token says."""

    customer_id: int
    """``sub``."""
    session_id: uuid.UUID
    """``sid``: the refresh-token family this access token belongs to."""
    device_id: str
    """``did``: the device the session is bound to."""
    expires_at: datetime
    """``exp``."""


@dataclass(frozen=True, slots=True)
class AccessTokens:
    """Issues and checks access tokens."""

    key: bytes
    """HMAC key (see :class:`backend.identity.keys.IdentityKeys`)."""
    ttl: timedelta
    """Lifetime of a token."""
    kept: int = VERIFIED_KEPT
    """How many verified tokens' claims to keep (0: verify every token in full)."""
    _verified: dict[str, AccessClaims] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Claims by token, in the order first verified."""

    def issue(
        self, customer_id: int, session_id: uuid.UUID, device_id: str, now: datetime
    ) -> tuple[str, datetime]:
        """A new token and the moment it expires."""
        expires_at = (now + self.ttl).replace(microsecond=0)
        payload = {
            "iss": _ISSUER,
            "aud": _AUDIENCE,
            "sub": str(customer_id),
            "sid": str(session_id),
            "did": device_id,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        return jwt.encode(payload, self.key, algorithm=_ALGORITHM, headers={"typ": "at+jwt"}), expires_at

    def verify(self, token: str, now: datetime) -> AccessClaims:
        """The claims of ``token``; raises :class:`AccessTokenExpired` or :class:`AccessTokenInvalid`."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._decode(token, now)
            if self.kept:
                if len(self._verified) >= self.kept:
                    del self._verified[next(iter(self._verified))]
                self._verified[token] = claims
        # Expiry is checked against the service's clock rather than PyJWT's, so tests can move time.
        if claims.expires_at <= now:
            raise AccessTokenExpired("expired")
        return claims

    def _decode(self, token: str, now: datetime) -> AccessClaims:
        """The claims of a token whose signature, issuer, audience and claims check out."""
        try:
            payload = jwt.decode(
                token,
                self.key,
                algorithms=[_ALGORITHM],
                audience=_AUDIENCE,
                issuer=_ISSUER,
                options={"require": ["exp", "iat", "sub", "sid", "did"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise AccessTokenInvalid(type(exc).__name__) from None
        try:
            claims = AccessClaims(
                customer_id=int(payload["sub"]),
                session_id=uuid.UUID(payload["sid"]),
                device_id=str(payload["did"]),
                expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=now.tzinfo),
            )
        except (ValueError, TypeError):
            raise AccessTokenInvalid("malformed claims") from None
        return claims


def new_refresh_token() -> str:
    """A fresh refresh token (shown to the client once, never stored)."""
    return _REFRESH_PREFIX + secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """What the database stores and looks up for ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()
