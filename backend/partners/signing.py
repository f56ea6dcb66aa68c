"""Signatures on the wire, both ways. Pure functions, shared by the server, the mock bank and the docs.

Requests from a partner to ``/partner/v1`` carry::

    Korpu-Key: <key id>
    Korpu-Signature: t=<unix seconds>,n=<nonce>,v1=<hex HMAC-SHA256(secret, signing string)>
    signing string = "<t>.<nonce>.<METHOD>.<target>.<hex SHA-256(body)>"

where ``nonce`` is 16 to 64 random characters from ``A-Z a-z 0-9 _ -`` (fresh for every request, so
two identical requests in the same second still differ), ``target`` is the path and query exactly
as sent on the request line (``/partner/v1/payouts?status=pending``), and an empty body hashes as
zero bytes.

Messages from us to a partner (webhooks and payout instructions) follow Standard Webhooks:
``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256(key,
"<id>.<timestamp>.<body>")>`` where ``key`` is the base64-decoded part of the ``whsec_...`` secret;
during a secret rotation the header carries one signature per valid secret, separated by spaces.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping

__all__ = [
    "SIGNATURE_TOLERANCE_SECONDS",
    "WebhookVerificationError",
    "new_nonce",
    "new_webhook_secret",
    "parse_signature_header",
    "request_signature",
    "request_signature_header",
    "signing_string",
    "verify_webhook",
    "webhook_headers",
    "webhook_signature",
]

SIGNATURE_TOLERANCE_SECONDS = 300
"""How far a signature's timestamp may be from our clock, either way: five minutes."""
_WEBHOOK_PREFIX = "whsec_"


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def signing_string(timestamp: int, nonce: str, method: str, target: str, body: bytes) -> str:
    """The text a partner signs: ``"<t>.<nonce>.<METHOD>.<target>.<hex sha256(body)>"``."""
    return f"{timestamp}.{nonce}.{method.upper()}.{target}.{hashlib.sha256(body).hexdigest()}"


def request_signature(secret: str, timestamp: int, nonce: str, method: str, target: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of :func:`signing_string` under the API secret (its UTF-8 bytes)."""
    message = signing_string(timestamp, nonce, method, target, body).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def request_signature_header(
    secret: str, timestamp: int, method: str, target: str, body: bytes, nonce: str | None = None
) -> str:
    """The ``Korpu-Signature`` header value (a fresh nonce unless one is given)."""
    nonce = nonce or new_nonce()
    return f"t={timestamp},n={nonce},v1={request_signature(secret, timestamp, nonce, method, target, body)}"


def parse_signature_header(value: str) -> tuple[int, str, list[str]]:
    """``(t, nonce, [v1 signatures])`` from a ``Korpu-Signature`` header; ``ValueError`` when malformed."""
    timestamp: int | None = None
    nonce: str | None = None
    signatures: list[str] = []
    for part in value.split(","):
        name, sep, item = part.strip().partition("=")
        if not sep:
            raise ValueError("Korpu-Signature is t=<unix seconds>,n=<nonce>,v1=<hex>")
        if name == "t":
            if not item.isdigit() or len(item) > 12:
                raise ValueError("t must be unix seconds")
            timestamp = int(item)
        elif name == "n":
            if not 16 <= len(item) <= 64 or any(
                not (ch.isascii() and (ch.isalnum() or ch in "_-")) for ch in item
            ):
                raise ValueError("n must be 16 to 64 characters of A-Z a-z 0-9 _ -")
            nonce = item
        elif name == "v1":
            if len(item) != 64 or any(ch not in "0123456789abcdef" for ch in item):
                raise ValueError("v1 must be 64 lowercase hex digits")
            signatures.append(item)
    if timestamp is None or nonce is None or not signatures:
        raise ValueError("Korpu-Signature needs t, n and at least one v1")
    return timestamp, nonce, signatures


def new_webhook_secret() -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return _WEBHOOK_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _webhook_key(secret: str) -> bytes:
    encoded = secret.removeprefix(_WEBHOOK_PREFIX)
    return base64.b64decode(encoded)


def webhook_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 signature>`` of one message under one ``whsec_`` secret."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_webhook_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(secrets_: Iterable[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret in ``secrets_``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(webhook_signature(s, message_id, timestamp, body) for s in secrets_),
    }


class WebhookVerificationError(ValueError):
    """A webhook whose headers or signature do not check out."""


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: int,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> str:
    """Check a Standard Webhooks message as a receiver must; return its ``webhook-id``."""
    message_id = headers.get("webhook-id")
    timestamp_text = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not message_id or not timestamp_text or not signatures or not timestamp_text.isdigit():
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    timestamp = int(timestamp_text)
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError("webhook timestamp outside the tolerance")
    expected = webhook_signature(secret, message_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures.split(" ")):
        raise WebhookVerificationError("no valid signature")
    return message_id
