"""The PIN: set it, change it, check it, with a lockout after repeated wrong tries.

A check first *reserves* an attempt in the database (committed), then runs the slow Argon2 check,
then records the outcome. Counting before checking means parallel guesses cannot slip past the
limit, and a lock set by one process holds for all of them.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.identity.clock import Clock, seconds_until
from backend.identity.errors import CustomerNotFound, PinAlreadySet, PinLocked, PinNotSet, WrongPin
from backend.identity.pins import PinHasher, check_pin_format
from backend.identity.policy import IdentityPolicy
from backend.identity.repositories import customers, sessions

__all__ = ["PinService"]


class PinService:
    """Setting and checking customers' PINs."""

    def __init__(
        self, *, engine: AsyncEngine, policy: IdentityPolicy, hasher: PinHasher, clock: Clock
    ) -> None:
        self._engine = engine
        self._policy = policy
        self._hasher = hasher
        self._clock = clock

    async def set_pin(
        self,
        customer_id: int,
        new_pin: str,
        *,
        current_pin: str | None = None,
        session_id: uuid.UUID | None = None,
    ) -> None:
        """Set the first PIN, or change it given the current one; the session counts as verified."""
        check_pin_format(new_pin)
        async with self._engine.connect() as connection:
            record = await customers.get(connection, customer_id)
        if record is None:
            raise CustomerNotFound()
        if record.pin_hash is not None:
            if current_pin is None:
                raise PinAlreadySet()
            await self.check(customer_id, current_pin)
            async with self._engine.connect() as connection:
                record = await customers.get(connection, customer_id)
            assert record is not None
        new_hash = await self._hasher.hash(customer_id, new_pin)
        async with self._engine.begin() as connection:
            replaced = await customers.replace_pin_hash(
                connection, customer_id, old_hash=record.pin_hash, new_hash=new_hash, now=self._clock()
            )
            if not replaced:
                raise PinAlreadySet()
            if session_id is not None:
                await sessions.mark_pin_verified(connection, session_id)

    async def check(self, customer_id: int, pin: str, *, session_id: uuid.UUID | None = None) -> None:
        """Return when ``pin`` is right; raise :class:`WrongPin`, :class:`PinLocked` or :class:`PinNotSet`.

        With ``session_id``, a right PIN also unlocks that sign-in session (see ``PinStatus``).
        """
        check_pin_format(pin)
        policy = self._policy
        now = self._clock()
        async with self._engine.begin() as connection:
            attempt = await customers.reserve_pin_attempt(
                connection, customer_id, max_attempts=policy.pin_max_attempts, now=now
            )
            record = None if attempt is not None else await customers.get(connection, customer_id)
        if attempt is None:
            if record is None:
                raise CustomerNotFound()
            if record.pin_hash is None:
                raise PinNotSet()
            # Locked, or the last allowed attempt is being checked right now by another request.
            locked_until = record.pin_locked_until or now + policy.pin_lockout
            raise PinLocked(locked_until, seconds_until(locked_until, now))
        right = await self._hasher.verify(customer_id, pin, attempt.pin_hash)
        now = self._clock()
        async with self._engine.begin() as connection:
            if right:
                await customers.reset_pin_attempts(connection, customer_id)
                if session_id is not None:
                    await sessions.mark_pin_verified(connection, session_id)
            elif attempt.attempts >= policy.pin_max_attempts:
                await customers.lock_pin(connection, customer_id, now + policy.pin_lockout)
        if right:
            if self._hasher.needs_rehash(attempt.pin_hash):
                await self._rehash(customer_id, pin, attempt.pin_hash)
            return
        if attempt.attempts >= policy.pin_max_attempts:
            raise PinLocked(now + policy.pin_lockout, seconds_until(now + policy.pin_lockout, now))
        raise WrongPin(policy.pin_max_attempts - attempt.attempts)

    async def _rehash(self, customer_id: int, pin: str, old_hash: str) -> None:
        """Move a PIN hash made with older Argon2 parameters to the current ones."""
        new_hash = await self._hasher.hash(customer_id, pin)
        async with self._engine.begin() as connection:
            await customers.replace_pin_hash(
                connection, customer_id, old_hash=old_hash, new_hash=new_hash, now=self._clock()
            )
