"""Who is calling: the customer, device and session behind a request's access token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["CustomerPrincipal", "PinStatus"]


class PinStatus(StrEnum):
    """Where a sign-in session stands with the PIN."""

    SET_REQUIRED = "set_required"
    """The customer has no PIN yet: ``POST /v1/auth/pin`` comes next."""
    CHECK_REQUIRED = "check_required"
    """The customer has a PIN and this session has not proved it: ``POST /v1/auth/pin/check``."""
    VERIFIED = "verified"
    """This session has set or proved the PIN."""


@dataclass(frozen=True, slots=True)
class CustomerPrincipal:
    """The authenticated customer of a request (``request.user`` on ``/v1`` routes)."""

    customer_id: int
    """``customers.id``."""
    device_id: str
    """The app installation the session is bound to (as the app reported it)."""
    kyc_tier: int
    """The customer's KYC tier as of this request (0 after phone verification)."""
    session_id: uuid.UUID
    """The sign-in session (refresh-token family)."""
    pin_status: PinStatus
    """Whether this session has proved the PIN."""
    language: str
    """The customer's preferred language (``en``, ``az``, ``ru``, ``tr``)."""

    @property
    def pin_verified(self) -> bool:
        return self.pin_status is PinStatus.VERIFIED
