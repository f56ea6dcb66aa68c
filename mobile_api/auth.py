"""``/v1/auth``: sign in with a code sent by SMS, set or check the PIN, refresh tokens, sign out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, post
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT
from pydantic import Field

from backend.i18n import negotiate_language
from backend.identity.auth import TokenGrant
from backend.identity.container import Identity
from backend.identity.guards import AuthLevel, CustomerPrincipal, auth_level
from backend.identity.principal import PinStatus
from mobile_api.schemas import CamelModel

__all__ = ["AuthController"]

DeviceId = Annotated[str, Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
Pin = Annotated[str, Field(min_length=1, max_length=12)]


def _per_ip(store: str, per_minute: int) -> RateLimitConfig:
    """A per-client-address limit with its own counter store (counters of two limits never mix)."""
    return RateLimitConfig(rate_limit=("minute", per_minute), store=store)


_OTP_PER_IP = _per_ip("rate_limit_auth_otp", 20)
_VERIFY_PER_IP = _per_ip("rate_limit_auth_verify", 30)
_REFRESH_PER_IP = _per_ip("rate_limit_auth_refresh", 60)
_PIN_PER_IP = _per_ip("rate_limit_auth_pin", 30)


class OtpRequest(CamelModel):
    phone: Annotated[str, Field(max_length=32, examples=["+79161234567"])]
    """Mobile number in international form, with ``+`` and country code."""


class OtpChallenge(CamelModel):
    challenge_id: uuid.UUID
    expires_at: datetime
    resend_after: datetime


class VerifyRequest(CamelModel):
    challenge_id: uuid.UUID
    code: Annotated[str, Field(min_length=1, max_length=12)]
    device_id: DeviceId
    """A stable id of the app installation; the session is bound to it."""


class RefreshRequest(CamelModel):
    refresh_token: Annotated[str, Field(min_length=1, max_length=256)]
    device_id: DeviceId


class TokenResponse(CamelModel):
    access_token: str
    access_token_expires_at: datetime
    expires_in: int
    """Seconds until the access token expires."""
    refresh_token: str
    refresh_token_expires_at: datetime
    token_type: str = "Bearer"  # noqa: S105  (the OAuth token type, not a secret)
    customer_id: int
    new_customer: bool
    pin_status: PinStatus
    """``set_required``: call ``POST /v1/auth/pin``; ``check_required``: ``POST /v1/auth/pin/check``."""


class SetPinRequest(CamelModel):
    pin: Pin
    current_pin: Pin | None = None
    """Required to change an existing PIN."""


class CheckPinRequest(CamelModel):
    pin: Pin


def _tokens(grant: TokenGrant) -> TokenResponse:
    return TokenResponse(
        access_token=grant.access_token,
        access_token_expires_at=grant.access_token_expires_at,
        expires_in=grant.access_token_lifetime_seconds,
        refresh_token=grant.refresh_token,
        refresh_token_expires_at=grant.refresh_token_expires_at,
        customer_id=grant.customer_id,
        new_customer=grant.new_customer,
        pin_status=grant.pin_status,
    )


def _language(request: Request[Any, Any, Any]) -> str:
    return negotiate_language(request.headers.get("accept-language"))


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]

    @post(
        "/otp",
        status_code=HTTP_200_OK,
        opt=auth_level(AuthLevel.PUBLIC),
        middleware=[_OTP_PER_IP.middleware],
        summary="Send a sign-in code by SMS",
        description="Starts a sign-in for any mobile number; the SMS is in the `Accept-Language` language.",
    )
    async def request_code(
        self, data: OtpRequest, identity: Identity, request: Request[Any, Any, Any]
    ) -> OtpChallenge:
        started = await identity.auth.start_sign_in(data.phone, _language(request))
        return OtpChallenge(
            challenge_id=started.challenge_id,
            expires_at=started.expires_at,
            resend_after=started.resend_after,
        )

    @post(
        "/verify",
        status_code=HTTP_200_OK,
        opt=auth_level(AuthLevel.PUBLIC),
        middleware=[_VERIFY_PER_IP.middleware],
        summary="Exchange the code for tokens",
        description="Creates the customer on first sign-in (KYC tier 0). The PIN comes next.",
    )
    async def verify(
        self, data: VerifyRequest, identity: Identity, request: Request[Any, Any, Any]
    ) -> TokenResponse:
        grant = await identity.auth.verify(data.challenge_id, data.code, data.device_id, _language(request))
        return _tokens(grant)

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        opt=auth_level(AuthLevel.PUBLIC),
        middleware=[_REFRESH_PER_IP.middleware],
        summary="Rotate the refresh token",
        description="Each refresh token works once; presenting a used one ends the session.",
    )
    async def refresh(self, data: RefreshRequest, identity: Identity) -> TokenResponse:
        return _tokens(await identity.auth.refresh(data.refresh_token, data.device_id))

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        opt=auth_level(AuthLevel.SESSION),
        summary="Sign out this device",
    )
    async def logout(self, principal: CustomerPrincipal, identity: Identity) -> None:
        await identity.auth.logout(principal.session_id)

    @post(
        "/pin",
        status_code=HTTP_204_NO_CONTENT,
        opt=auth_level(AuthLevel.SESSION),
        middleware=[_PIN_PER_IP.middleware],
        summary="Set or change the PIN",
        description="4 to 6 digits. Changing it needs `currentPin`. Unlocks this session.",
    )
    async def set_pin(self, data: SetPinRequest, principal: CustomerPrincipal, identity: Identity) -> None:
        await identity.pins.set_pin(
            principal.customer_id, data.pin, current_pin=data.current_pin, session_id=principal.session_id
        )

    @post(
        "/pin/check",
        status_code=HTTP_204_NO_CONTENT,
        opt=auth_level(AuthLevel.SESSION),
        middleware=[_PIN_PER_IP.middleware],
        summary="Check the PIN",
        description="Unlocks this session. After 5 wrong PINs in a row the PIN locks for 15 minutes.",
    )
    async def check_pin(
        self, data: CheckPinRequest, principal: CustomerPrincipal, identity: Identity
    ) -> None:
        await identity.pins.check(principal.customer_id, data.pin, session_id=principal.session_id)
