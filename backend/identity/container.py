"""The identity capability put together once per application, from the settings and the engine."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.datastructures import State
from litestar.stores.registry import StoreRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.identity.auth import AuthService
from backend.identity.clock import Clock, utc_now
from backend.identity.keys import IdentityKeys, PersonalData
from backend.identity.pin_service import PinService
from backend.identity.pins import PinHasher
from backend.identity.policy import IdentityPolicy
from backend.identity.profiles import ProfileService
from backend.identity.recipients import RecipientService
from backend.identity.sms import HttpSmsProvider, InboxSmsProvider, SmsProvider
from backend.identity.tokens import AccessTokens
from backend.settings import Settings

__all__ = ["DEV_SMS_STORE", "Identity", "build_identity", "identity_from_state"]

DEV_SMS_STORE = "dev_sms"
"""Name of the store that holds the dev SMS inbox."""


@dataclass(frozen=True, slots=True)
class Identity:
    """The services of the identity capability (``app.state.identity``)."""

    auth: AuthService
    """Codes, sign-in, refresh, logout, and access-token checks."""
    pins: PinService
    """Set and check PINs (with lockout)."""
    profiles: ProfileService
    """``/v1/me``."""
    recipients: RecipientService
    """``/v1/recipients``."""
    personal_data: PersonalData
    """Sealing and blind indexes, for the functions that take a connection."""
    policy: IdentityPolicy
    """The limits in force."""
    inbox: InboxSmsProvider | None
    """The dev SMS inbox, when codes are not really sent."""


def build_identity(
    settings: Settings,
    engine: AsyncEngine,
    stores: StoreRegistry,
    *,
    sms: SmsProvider | None = None,
    clock: Clock = utc_now,
    policy: IdentityPolicy | None = None,
) -> Identity:
    """Wire the identity services; ``sms``, ``clock`` and ``policy`` are for tests to replace."""
    policy = policy or IdentityPolicy.for_environment(settings.env)
    keys = IdentityKeys.from_settings(settings)
    personal = PersonalData.from_settings(settings)
    inbox: InboxSmsProvider | None = None
    if sms is None:
        if settings.sms_url:
            sms = HttpSmsProvider(settings.sms_url, settings.sms_token)
        else:
            inbox = InboxSmsProvider(stores.get(DEV_SMS_STORE), clock=clock)
            sms = inbox
    elif isinstance(sms, InboxSmsProvider):
        inbox = sms
    return Identity(
        auth=AuthService(
            engine=engine,
            policy=policy,
            personal_data=personal,
            access_tokens=AccessTokens(keys.access_token, policy.access_token_ttl),
            otp_key=keys.otp,
            sms=sms,
            clock=clock,
        ),
        pins=PinService(
            engine=engine, policy=policy, hasher=PinHasher(keys.pin_pepper, policy.argon2), clock=clock
        ),
        profiles=ProfileService(engine=engine, personal_data=personal, clock=clock),
        recipients=RecipientService(engine=engine, personal_data=personal, clock=clock),
        personal_data=personal,
        policy=policy,
        inbox=inbox,
    )


def identity_from_state(state: State) -> Identity:
    """The application's :class:`Identity` (a Litestar dependency: ``identity: Identity``)."""
    identity: Identity = state.identity
    return identity
