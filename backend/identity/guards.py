"""Who may call what on ``/v1``: authentication middleware and the dependencies handlers use.

Every handler under ``/v1/`` requires a signed-in customer whose session has proved the PIN,
unless it says otherwise in its ``opt``::

    @get("/corridors", opt=auth_level(AuthLevel.PUBLIC))         # nobody is checked
    @get("/quotes/{id:str}", opt=auth_level(AuthLevel.OPTIONAL)) # principal when a token is sent
    @post("/auth/pin", opt=auth_level(AuthLevel.SESSION))        # signed in, PIN not yet proved

Denying by default means a new route cannot be left open by forgetting a decorator. Handlers get
the caller by declaring a parameter ``principal: CustomerPrincipal`` (or
``optional_principal: CustomerPrincipal | None``); both are app-wide dependencies.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.identity.container import Identity, identity_from_state
from backend.identity.errors import PinRequired, Unauthorized
from backend.identity.principal import CustomerPrincipal, PinStatus

__all__ = [
    "AUTH_OPT_KEY",
    "AuthLevel",
    "CustomerAuthMiddleware",
    "CustomerPrincipal",
    "auth_level",
    "current_customer",
    "identity_dependencies",
    "optional_customer",
]

AUTH_OPT_KEY = "auth"
_PROTECTED_PREFIX = "/v1/"


class AuthLevel(StrEnum):
    """What a ``/v1`` handler asks of its caller."""

    PUBLIC = "public"
    """Nothing; no token is read."""
    OPTIONAL = "optional"
    """A token is checked when one is sent; ``optional_principal`` is ``None`` otherwise."""
    SESSION = "session"
    """A live session, PIN proved or not (the PIN endpoints themselves, logout)."""
    CUSTOMER = "customer"
    """A live session that has set or proved the PIN: the default."""


def auth_level(level: AuthLevel) -> dict[str, Any]:
    """The ``opt`` a handler (or controller, or router) passes to choose its :class:`AuthLevel`."""
    return {AUTH_OPT_KEY: level.value}


class CustomerAuthMiddleware:
    """Resolves the bearer token of ``/v1`` requests to a :class:`CustomerPrincipal` in ``scope["user"]``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"].startswith(_PROTECTED_PREFIX):
            handler = scope.get("route_handler")
            level = AuthLevel((getattr(handler, "opt", None) or {}).get(AUTH_OPT_KEY, AuthLevel.CUSTOMER))
            if level is not AuthLevel.PUBLIC:
                scope["user"] = await _principal(scope, level)
        await self.app(scope, receive, send)


async def _principal(scope: Scope, level: AuthLevel) -> CustomerPrincipal | None:
    header = ASGIConnection[Any, Any, Any, Any](scope).headers.get("authorization")
    if header is None and level is AuthLevel.OPTIONAL:
        return None
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    identity: Identity = identity_from_state(Litestar.from_scope(scope).state)
    principal = await identity.auth.authenticate(token.strip())
    if level is AuthLevel.CUSTOMER and principal.pin_status is not PinStatus.VERIFIED:
        raise PinRequired(pin_set=principal.pin_status is PinStatus.CHECK_REQUIRED)
    return principal


async def current_customer(request: Request[Any, Any, Any]) -> CustomerPrincipal:
    """Dependency ``principal``: the signed-in customer (401 when there is none)."""
    user = request.scope.get("user")
    if not isinstance(user, CustomerPrincipal):
        raise Unauthorized()
    return user


async def optional_customer(request: Request[Any, Any, Any]) -> CustomerPrincipal | None:
    """Dependency ``optional_principal``: the signed-in customer, or ``None`` for an anonymous call."""
    user = request.scope.get("user")
    return user if isinstance(user, CustomerPrincipal) else None


def identity_dependencies() -> dict[str, Provide]:
    """App-wide dependencies: ``principal``, ``optional_principal`` and ``identity``."""
    return {
        "principal": Provide(current_customer),
        "optional_principal": Provide(optional_customer),
        "identity": Provide(identity_from_state, sync_to_thread=False),
    }
