"""``/policy``: the policy dashboard in a browser, behind a sign-in form.

Signing in (username, password, TOTP code) opens the same staff session as
``POST /backoffice/v1/auth/login`` and puts its token in the HttpOnly, SameSite=Strict
``korpu_staff`` cookie, which the staff guards already accept; the page needs no script and never
sees the token. A sign-in POST from another origin is refused (login CSRF).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from backend.policy.api import POLICY_ROLES
from backend.policy.pages import dashboard_page, sign_in_page
from backend.policy.service import PolicyService, parse_corridor
from backend.staff.guards import STAFF_COOKIE, bearer_token
from backend.staff.service import AccountLocked, SessionInvalid, StaffPrincipal, authenticate, login, logout
from compliance.audit import record_audit
from compliance.privacy import Sealer

__all__ = ["PolicyDashboardController"]

_SESSION_SECONDS = 8 * 3600
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make the browser send "Origin: null"
    "Cache-Control": "no-store",
}
_DEFAULT_CORRIDOR = "RUSAZE"


def _html(body: str, status: int = 200, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(body, media_type=MediaType.HTML, status_code=status, headers=_HEADERS, cookies=cookies)


def _same_origin(request: Request[Any, Any, Any]) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def _signed_in(request: Request[Any, Any, Any], state: State) -> StaffPrincipal | None:
    token = bearer_token(request)
    if not token:
        return None
    try:
        async with state.engine.begin() as conn:
            return await authenticate(conn, token)
    except SessionInvalid:
        return None


class PolicyDashboardController(Controller):
    path = "/policy"
    tags = ["policy dashboard"]
    include_in_schema = False

    @get("/", summary="The dashboard")
    async def dashboard(
        self, request: Request[Any, Any, Any], state: State, corridor: str | None = None
    ) -> Response[str] | Redirect:
        principal = await _signed_in(request, state)
        if principal is None:
            return Redirect("/policy/sign-in", status_code=303)
        if not principal.has_any(*POLICY_ROLES):
            return _html(sign_in_page("Your role does not include the policy dashboard."), status=403)
        service = PolicyService(state)
        corridors = await service.corridors()
        codes = [item.source_country + item.destination_country for item in corridors]
        selected = (
            corridor.upper() if corridor else (_DEFAULT_CORRIDOR if _DEFAULT_CORRIDOR in codes else None)
        )
        if selected is None and codes:
            selected = codes[0]
        series = await service.series(*parse_corridor(selected)) if selected else None
        table = await service.indicators(None, weighted=False)
        return _html(dashboard_page(principal.username, corridors, selected, series, table))

    @get("/sign-in", summary="Sign-in form")
    async def sign_in_form(self) -> Response[str]:
        return _html(sign_in_page())

    @post("/sign-in", summary="Sign in", status_code=303)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        state: State,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[str] | Redirect:
        if not _same_origin(request):
            return _html(sign_in_page("Sign in from this site's own form."), status=403)
        username = (data.get("username") or "").strip()[:64]
        password = (data.get("password") or "")[:256]
        code = (data.get("totp") or "").strip()
        if not username or not password or not (len(code) == 6 and code.isdigit()):
            return _html(sign_in_page("Enter your username, password and the 6-digit code."), status=400)
        sealer = Sealer(state.settings.secrets.data_keys)
        async with state.engine.begin() as conn:
            outcome = await login(conn, sealer, username, password, code)
            if isinstance(outcome, Exception):
                await record_audit(
                    conn,
                    "anonymous",
                    "staff.login_failed",
                    "staff_username",
                    username,
                    details={"code": outcome.code},
                )
            else:
                await record_audit(
                    conn, outcome.principal.actor, "staff.login", "staff", str(outcome.principal.staff_id)
                )
        if isinstance(outcome, AccountLocked):
            return _html(sign_in_page(str(outcome)), status=423)
        if isinstance(outcome, Exception):
            return _html(sign_in_page("Username, password or code is wrong."), status=401)
        cookie = Cookie(
            key=STAFF_COOKIE,
            value=outcome.token,
            httponly=True,
            samesite="strict",
            secure=state.settings.env == "prod",
            path="/",
            max_age=_SESSION_SECONDS,
        )
        return Redirect("/policy", status_code=303, cookies=[cookie])

    @post("/sign-out", summary="Sign out", status_code=303)
    async def sign_out(self, request: Request[Any, Any, Any], state: State) -> Redirect:
        token = bearer_token(request)
        if token and _same_origin(request):
            async with state.engine.begin() as conn:
                await logout(conn, token)
        return Redirect(
            "/policy/sign-in",
            status_code=303,
            cookies=[
                Cookie(key=STAFF_COOKIE, value="", max_age=0, path="/", httponly=True, samesite="strict")
            ],
        )
