"""Partner credentials: API keys whose secret is never stored, and webhook secrets sealed at rest.

An API key is a public key id (``kpk_...``) and a secret shown once. The secret is derived from the
key id under a server key that lives outside the database (``KORPU_SECRET_KEY``), so the database
holds only a keyed hash of it: a copy of the database is not enough to sign a request. Verifying a
request derives the secret again, checks it against the stored hash (a changed server key fails
closed, with a clear error, instead of accepting garbage) and checks the HMAC.

Webhook secrets must be readable to sign our messages, so they are sealed with AES-GCM under the
versioned data keys, bound to their column.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from compliance.privacy import Sealer

__all__ = ["PartnerSecrets", "new_key_id"]

_SECRET_LABEL = b"korpu.partner-api-secret.v1"
_HASH_LABEL = b"korpu.partner-api-secret-hash.v1"
WEBHOOK_SECRET_CONTEXT = "partners.webhook_secret"  # noqa: S105  (a label, not a secret)


def new_key_id() -> str:
    return "kpk_" + secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class PartnerSecrets:
    """Key material for partner credentials, from the service settings."""

    server_key: bytes
    """``settings.secrets.secret_key``; purpose-specific keys are derived from it."""
    sealer: Sealer
    """Seals webhook secrets with the data keys."""
    _derive_key: bytes = field(init=False, repr=False, compare=False)
    _hash_key: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_derive_key", hmac.new(self.server_key, _SECRET_LABEL, "sha256").digest())
        object.__setattr__(self, "_hash_key", hmac.new(self.server_key, _HASH_LABEL, "sha256").digest())

    def api_secret(self, key_id: str) -> str:
        """The secret of ``key_id`` (``kps_`` + 43 base64url characters)."""
        digest = hmac.new(self._derive_key, key_id.encode(), hashlib.sha256).digest()
        return "kps_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def secret_hash(self, secret: str) -> str:
        """The keyed hash stored in ``partner_api_keys.secret_hash``."""
        return hmac.new(self._hash_key, secret.encode(), hashlib.sha256).hexdigest()

    def seal_webhook_secret(self, secret: str) -> bytes:
        return self.sealer.seal_text(secret, WEBHOOK_SECRET_CONTEXT)

    def open_webhook_secret(self, sealed: bytes) -> str:
        return self.sealer.open_text(sealed, WEBHOOK_SECRET_CONTEXT)
