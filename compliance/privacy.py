"""Personal data at rest: AES-256-GCM sealing with versioned keys, and blind indexes for look-ups.

A sealed value is ``b"k" + version (2 bytes) + nonce (12 bytes) + ciphertext-and-tag``. The highest
key version seals; every version that still has data can open, so keys rotate by adding a version
and re-sealing in the background. The ``context`` (e.g. ``b"customer.phone"``) is bound as
associated data, so a ciphertext copied into another column does not open.

A blind index is an HMAC-SHA256 of the normalised value under a separate derived key: equal inputs
give equal digests (so ``WHERE phone_index = :digest`` works) while the database never holds the
value itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["BlindIndex", "Sealer", "UnsealError"]

_MAGIC = b"k"
_HEADER = struct.Struct(">H")
_NONCE_BYTES = 12


class UnsealError(ValueError):
    """A sealed value that cannot be opened: unknown key version, wrong context, or tampered."""

    code = "unseal_failed"
    status = 500


@dataclass(frozen=True, slots=True)
class Sealer:
    """Seals and opens personal data with AES-256-GCM."""

    keys: dict[int, bytes]
    """32-byte keys by version; the highest version seals."""
    _ciphers: dict[int, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a Sealer needs at least one key")
        object.__setattr__(self, "_ciphers", {v: AESGCM(k) for v, k in self.keys.items()})

    @property
    def current_version(self) -> int:
        return max(self.keys)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        version = self.current_version
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[version].encrypt(nonce, plaintext, context)
        return _MAGIC + _HEADER.pack(version) + nonce + sealed

    def open(self, sealed: bytes, context: bytes) -> bytes:
        if len(sealed) < 1 + _HEADER.size + _NONCE_BYTES + 16 or sealed[:1] != _MAGIC:
            raise UnsealError("not a sealed value")
        (version,) = _HEADER.unpack_from(sealed, 1)
        cipher = self._ciphers.get(version)
        if cipher is None:
            raise UnsealError(f"no key for version {version}")
        start = 1 + _HEADER.size
        try:
            return cipher.decrypt(
                sealed[start : start + _NONCE_BYTES], sealed[start + _NONCE_BYTES :], context
            )
        except Exception:
            raise UnsealError("sealed value does not open with this key and context") from None

    def seal_text(self, text: str, context: str) -> bytes:
        return self.seal(text.encode(), context.encode())

    def open_text(self, sealed: bytes, context: str) -> str:
        return self.open(sealed, context.encode()).decode()


@dataclass(frozen=True, slots=True)
class BlindIndex:
    """Keyed hashes for equality look-ups on personal data."""

    secret_key: bytes
    """The service secret; a purpose-specific key is derived from it."""
    _key: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_key", hmac.new(self.secret_key, b"korpu.blind-index.v1", "sha256").digest()
        )

    def digest(self, value: str, context: str) -> str:
        """Hex digest of ``value`` (already normalised by the caller, e.g. E.164) within ``context``."""
        message = context.encode() + b"\x00" + value.encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
