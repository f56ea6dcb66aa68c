"""The numbers of sign-in security: token lifetimes, code and PIN limits, and the PIN hash's cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

__all__ = ["Argon2Cost", "IdentityPolicy"]


@dataclass(frozen=True, slots=True)
class Argon2Cost:
    """Argon2id parameters of the PIN hash."""

    time_cost: int = 3
    """Passes over memory."""
    memory_cost_kib: int = 65536
    """Memory per hash in KiB (64 MiB: RFC 9106's low-memory recommendation)."""
    parallelism: int = 4
    """Lanes."""


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    """How long things live and how many tries people get."""

    access_token_ttl: timedelta = timedelta(minutes=15)
    """Lifetime of an access token; the app refreshes before it ends."""
    refresh_token_ttl: timedelta = timedelta(days=30)
    """Lifetime of one refresh token; each use rotates it."""
    session_max_age: timedelta = timedelta(days=90)
    """Absolute end of a sign-in on a device, however often it refreshes."""
    otp_ttl: timedelta = timedelta(minutes=5)
    """How long a sign-in code is valid."""
    otp_digits: int = 6
    """Length of a sign-in code."""
    otp_max_attempts: int = 5
    """Wrong codes allowed per challenge before it is burnt."""
    otp_resend_interval: timedelta = timedelta(seconds=30)
    """Minimum time between two codes for one phone number."""
    otp_per_phone_window: timedelta = timedelta(hours=1)
    """Window of :attr:`otp_per_phone_limit`."""
    otp_per_phone_limit: int = 5
    """Codes one phone number may request per :attr:`otp_per_phone_window`."""
    pin_max_attempts: int = 5
    """Consecutive wrong PINs before the PIN locks."""
    pin_lockout: timedelta = timedelta(minutes=15)
    """How long a PIN stays locked."""
    argon2: Argon2Cost = Argon2Cost()
    """Cost of the PIN hash."""

    @classmethod
    def for_environment(cls, env: str) -> IdentityPolicy:
        """The policy of ``env``: tests use a cheaper (still memory-hard) PIN hash to stay fast."""
        if env == "test":
            return cls(argon2=Argon2Cost(time_cost=1, memory_cost_kib=8192, parallelism=1))
        return cls()
