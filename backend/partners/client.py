"""A reference client for the partner API: :func:`signed_headers`, and an ``httpx.Auth`` that signs
every request with them.

The mock bank uses it, the tests use it, and an integrator can read it as the specification in code::

    async with httpx.AsyncClient(base_url=url, auth=PartnerAuth(key_id, secret)) as client:
        await client.post(f"/partner/v1/payouts/{payout_id}/confirm", json={"partnerReference": "KAP-1"})
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator

import httpx

from backend.partners.signing import request_signature_header

__all__ = ["PartnerAuth", "signed_headers"]


def signed_headers(
    key_id: str, secret: str, now: int, method: str, target: str, body: bytes
) -> dict[str, str]:
    """``Korpu-Key`` and ``Korpu-Signature`` for a request to ``target`` (path and query, as they go
    on the wire) at Unix time ``now``."""
    return {
        "Korpu-Key": key_id,
        "Korpu-Signature": request_signature_header(secret, now, method, target, body),
    }


class PartnerAuth(httpx.Auth):
    """Adds ``Korpu-Key`` and ``Korpu-Signature`` to each request, signed at send time."""

    requires_request_body = True

    def __init__(self, key_id: str, secret: str, clock: Callable[[], float] = time.time) -> None:
        self.key_id = key_id
        self.secret = secret
        self.clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        target = request.url.raw_path.decode("ascii")  # path and query, as they go on the wire
        request.headers.update(
            signed_headers(
                self.key_id, self.secret, int(self.clock()), request.method, target, request.content
            )
        )
        yield request
