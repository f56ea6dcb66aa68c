"""Litestar guards and dependencies for staff routes.

Use ``guards=[require_roles("officer", "senior_officer")]`` on a handler or controller, and take
``staff: StaffPrincipal`` as a handler argument (provided by :data:`staff_dependencies`, registered
app-wide). ``admin`` passes every role check. The bearer token comes from the ``Authorization``
header, or from the ``korpu_staff`` HttpOnly cookie for server-rendered pages.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from backend.problems import Problem
from backend.staff.service import SessionInvalid, StaffPrincipal, authenticate

__all__ = ["STAFF_COOKIE", "StaffPrincipal", "bearer_token", "require_roles", "staff_dependencies"]

STAFF_COOKIE = "korpu_staff"
_SCOPE_KEY = "korpu.staff"


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    return connection.cookies.get(STAFF_COOKIE) or None


async def _principal(connection: ASGIConnection[Any, Any, Any, Any]) -> StaffPrincipal:
    cached = connection.scope.get("state", {}).get(_SCOPE_KEY)
    if isinstance(cached, StaffPrincipal):
        return cached
    token = bearer_token(connection)
    if not token:
        raise Problem(401, "unauthorized", "Staff sign-in required.", headers={"WWW-Authenticate": "Bearer"})
    try:
        async with connection.app.state.engine.begin() as conn:
            principal = await authenticate(conn, token)
    except SessionInvalid as exc:
        raise Problem(401, exc.code, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    connection.scope.setdefault("state", {})[_SCOPE_KEY] = principal
    return principal


def require_roles(*roles: str) -> Guard:
    """A guard admitting signed-in staff holding any of ``roles`` (admin always passes)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await _principal(connection)
        if roles and not principal.has_any(*roles):
            raise Problem(403, "forbidden", "Your role does not allow this.")

    return guard


async def _provide_staff(request: ASGIConnection[Any, Any, Any, Any]) -> StaffPrincipal:
    return await _principal(request)


staff_dependencies = {"staff": Provide(_provide_staff)}
"""Register app-wide so any staff handler can take ``staff: StaffPrincipal``."""
