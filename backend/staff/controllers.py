"""Back-office sign-in, sign-out and "who am I"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from backend.problems import Problem
from backend.staff.guards import STAFF_COOKIE, StaffPrincipal, bearer_token, require_roles
from backend.staff.service import AccountLocked, login, logout
from compliance.audit import record_audit
from compliance.privacy import Sealer

__all__ = ["StaffAuthController"]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class LoginRequest(_Camel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp: str = Field(pattern=r"^\d{6}$", description="The 6-digit code from the authenticator app.")


class LoginResponse(_Camel):
    token: str
    expires_at: datetime
    roles: list[str]


class StaffMe(_Camel):
    id: int
    username: str
    roles: list[str]


class StaffAuthController(Controller):
    path = "/backoffice/v1"
    tags = ["back office: auth"]

    @post("/auth/login", status_code=200, summary="Staff sign-in with password and TOTP")
    async def sign_in(self, data: LoginRequest, state: State) -> Response[LoginResponse]:
        sealer = Sealer(state.settings.secrets.data_keys)
        async with state.engine.begin() as conn:
            outcome = await login(conn, sealer, data.username, data.password, data.totp)
            if isinstance(outcome, Exception):
                await record_audit(
                    conn,
                    "anonymous",
                    "staff.login_failed",
                    "staff_username",
                    data.username,
                    details={"code": outcome.code},
                )
            else:
                await record_audit(
                    conn, outcome.principal.actor, "staff.login", "staff", str(outcome.principal.staff_id)
                )
        if isinstance(outcome, AccountLocked):
            raise Problem(423, outcome.code, str(outcome))
        if isinstance(outcome, Exception):
            raise Problem(401, outcome.code, str(outcome))
        body = LoginResponse(
            token=outcome.token, expires_at=outcome.expires_at, roles=sorted(outcome.principal.roles)
        )
        cookie = Cookie(
            key=STAFF_COOKIE,
            value=outcome.token,
            httponly=True,
            samesite="strict",
            secure=state.settings.env == "prod",
            path="/",
            max_age=8 * 3600,
        )
        return Response(body, cookies=[cookie])

    @post("/auth/logout", guards=[require_roles()], status_code=204, summary="End this session")
    async def sign_out(self, request: Request[Any, Any, Any], staff: StaffPrincipal, state: State) -> None:
        token = bearer_token(request)
        async with state.engine.begin() as conn:
            if token:
                await logout(conn, token)
            await record_audit(conn, staff.actor, "staff.logout", "staff", str(staff.staff_id))

    @get("/me", guards=[require_roles()], summary="The signed-in staff member")
    async def me(self, staff: StaffPrincipal) -> StaffMe:
        return StaffMe(id=staff.staff_id, username=staff.username, roles=sorted(staff.roles))
