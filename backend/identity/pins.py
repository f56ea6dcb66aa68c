"""PIN hashing: Argon2id (memory-hard) over a peppered PIN, and the PIN format rule."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.identity.errors import InvalidPinFormat
from backend.identity.policy import Argon2Cost

__all__ = ["PinHasher", "check_pin_format"]

_PIN_FORMAT = re.compile(r"^[0-9]{4,6}$")


def check_pin_format(pin: str) -> None:
    """Raise :class:`InvalidPinFormat` unless ``pin`` is 4 to 6 ASCII digits."""
    if not _PIN_FORMAT.match(pin):
        raise InvalidPinFormat()


@dataclass(frozen=True, slots=True)
class PinHasher:
    """Hashes and verifies PINs; the slow work runs in a worker thread to keep the event loop free."""

    pepper: bytes
    """Secret mixed into every PIN (kept outside the database)."""
    cost: Argon2Cost
    """Argon2id parameters for new hashes."""
    _hasher: PasswordHasher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "_hasher",
            PasswordHasher(
                time_cost=self.cost.time_cost,
                memory_cost=self.cost.memory_cost_kib,
                parallelism=self.cost.parallelism,
            ),
        )

    def _peppered(self, customer_id: int, pin: str) -> bytes:
        # Binding the customer id means equal PINs of two customers never hash alike, even before salt.
        return hmac.new(self.pepper, f"{customer_id}:{pin}".encode(), hashlib.sha256).digest()

    async def hash(self, customer_id: int, pin: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, self._peppered(customer_id, pin))

    async def verify(self, customer_id: int, pin: str, stored_hash: str) -> bool:
        peppered = self._peppered(customer_id, pin)
        try:
            return await asyncio.to_thread(self._hasher.verify, stored_hash, peppered)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether ``stored_hash`` was made with other parameters than :attr:`cost`."""
        return self._hasher.check_needs_rehash(stored_hash)
