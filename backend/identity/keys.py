"""Key material of the identity capability, derived from the service's secrets.

One secret (``settings.secrets.secret_key``) would be dangerous to use for several jobs at once, so
each job gets its own key, derived with HMAC-SHA256 under a purpose label. Personal data is sealed
with the versioned ``data_keys`` and looked up through blind indexes (:mod:`compliance.privacy`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from backend.settings import Settings
from compliance.privacy import BlindIndex, Sealer

__all__ = ["IdentityKeys", "PersonalData", "SealContext", "derive_key"]


class SealContext:
    """Associated data of each sealed column: a value sealed for one column does not open in another."""

    CUSTOMER_PHONE = "customer.phone"
    CUSTOMER_GIVEN_NAME = "customer.given_name"
    CUSTOMER_FAMILY_NAME = "customer.family_name"
    CUSTOMER_BIRTH_DATE = "customer.birth_date"
    RECIPIENT_GIVEN_NAME = "recipient.given_name"
    RECIPIENT_FAMILY_NAME = "recipient.family_name"
    RECIPIENT_IBAN = "recipient.iban"
    RECIPIENT_CARD_NUMBER = "recipient.card_number"
    RECIPIENT_WALLET_PHONE = "recipient.wallet_phone"


def derive_key(secret_key: bytes, purpose: str) -> bytes:
    """A 32-byte key for one ``purpose``; keys of different purposes are unrelated."""
    return hmac.new(secret_key, f"korpu.identity.{purpose}.v1".encode(), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class IdentityKeys:
    """Secret keys of sign-in."""

    access_token: bytes
    """HMAC-SHA256 key of access tokens (HS256 JWTs)."""
    otp: bytes
    """Key of the keyed hash of sign-in codes (a 6-digit code hashed without a key is trivially reversed)."""
    pin_pepper: bytes
    """Pepper mixed into PINs before Argon2, so a stolen database alone cannot be searched for PINs."""

    @classmethod
    def from_settings(cls, settings: Settings) -> IdentityKeys:
        secret = settings.secrets.secret_key
        return cls(
            access_token=derive_key(secret, "access-token"),
            otp=derive_key(secret, "otp"),
            pin_pepper=derive_key(secret, "pin-pepper"),
        )


@dataclass(frozen=True, slots=True)
class PersonalData:
    """Seals personal data and makes the blind indexes used to look it up."""

    sealer: Sealer
    """AES-256-GCM with the versioned data keys."""
    index: BlindIndex
    """Keyed hashes for equality look-ups."""

    PHONE = "phone"
    """Blind-index context of phone numbers: customers and wallet recipients share it, so they match."""

    @classmethod
    def from_settings(cls, settings: Settings) -> PersonalData:
        return cls(Sealer(settings.secrets.data_keys), BlindIndex(settings.secrets.secret_key))

    def seal(self, value: str, context: str) -> bytes:
        return self.sealer.seal_text(value, context)

    def seal_optional(self, value: str | None, context: str) -> bytes | None:
        return None if value is None else self.sealer.seal_text(value, context)

    def open(self, sealed: bytes, context: str) -> str:
        return self.sealer.open_text(sealed, context)

    def open_optional(self, sealed: bytes | None, context: str) -> str | None:
        return None if sealed is None else self.sealer.open_text(sealed, context)

    def phone_index(self, e164: str) -> str:
        """The blind index of a phone number already in E.164 form."""
        return self.index.digest(e164, self.PHONE)
