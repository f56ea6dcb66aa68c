"""Who may call what: the authorization matrix of every route, in one table.

Each route of the app (``"METHOD /path/{param:type}"``, as Litestar registers it) has an
:class:`Access` saying which roles are allowed. ``tests/hardening/test_authz.py`` enumerates the
routes from the app itself, so a new endpoint fails the suite until it is classified here, and
calls each route as each role of :data:`tests.hardening.world.ROLES`:

* a role that is not allowed gets 401, 403 or 404 (a browser page: a redirect to its sign-in
  form or a 403 page), never a 2xx;
* an allowed role is not refused (no 401/403) and causes no 5xx;
* on ``owner`` routes the path names the sender's object: the sender reads it, every other
  customer gets 404 exactly as for an object that does not exist, and the sender gets 404 for
  the other sender's object;
* no answer to anyone but the sender (and the officers, whose work it is) carries the sender's
  personal data.

Path parameters are filled by name from :attr:`tests.hardening.world.World.ids`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["MATRIX", "Access"]

EVERYONE = frozenset(
    {
        "anonymous",
        "sender",
        "other_sender",
        "recipient",
        "partner_a",
        "partner_b",
        "officer",
        "senior_officer",
        "analyst",
        "operator",
        "admin",
    }
)
CUSTOMERS = frozenset({"sender", "other_sender", "recipient"})
STAFF = frozenset({"officer", "senior_officer", "analyst", "operator", "admin"})
OFFICERS = frozenset({"officer", "senior_officer"})
"""Compliance decisions and personal data: officers themselves; admin manages staff, not cases."""
RULE_READERS = OFFICERS | {"analyst", "admin"}
ANALYSTS = frozenset({"analyst", "admin"})
NO_BEARER = EVERYONE - STAFF - CUSTOMERS
"""A ``/v1`` route that reads a token when one is sent: anonymous callers (and partners, who send
no bearer token) are served, a staff token is refused as not a customer's."""
OWNER = frozenset({"sender"})

REASON = {"reason": "checked against the registry"}


@dataclass(frozen=True)
class Access:
    """Who may call a route, and how the suite calls it."""

    allowed: frozenset[str]
    """Roles that are served (the rest are refused)."""
    owner: bool = False
    """The path names the sender's own object; other customers must get 404."""
    json: Any = None
    """Request body sent by every role."""
    query: dict[str, str] | None = None
    form: dict[str, str] | None = None
    """A form post (the browser sign-in)."""
    credential_in_body: bool = False
    """The caller proves who they are in the body (a code, a password, a refresh token): a wrong
    one is a 401 for anyone, so an allowed role may get 401 too."""
    ends_session: bool = False
    """Signs the caller out: called after every other route."""
    page: bool = False
    """A browser page: refused as a redirect to /policy/sign-in or a 403 page."""
    note: str = ""


MATRIX: dict[str, Access] = {
    # --- operations --------------------------------------------------------------------------
    "GET /health": Access(EVERYONE),
    "GET /ready": Access(EVERYONE),
    "GET /metrics": Access(EVERYONE, note="aggregates only; restrict to the scraper at the proxy"),
    "GET /schema": Access(EVERYONE),
    "GET /schema/openapi.json": Access(EVERYONE),
    "GET /schema/oauth2-redirect.html": Access(EVERYONE),
    "GET /schema/{path:str}": Access(EVERYONE),
    "GET /dev/sms": Access(
        EVERYONE, query={"phone": "+79160000000"}, note="dev and test only; never in prod"
    ),
    # --- mobile: sign-in ----------------------------------------------------------------------
    "POST /v1/auth/otp": Access(EVERYONE, json="fresh phone"),
    "POST /v1/auth/verify": Access(
        EVERYONE,
        json={
            "challengeId": "6f1c9a3e-0000-4000-8000-000000000000",
            "code": "000000",
            "deviceId": "device-matrix",
        },
        credential_in_body=True,
    ),
    "POST /v1/auth/refresh": Access(
        EVERYONE,
        json={"refreshToken": "not-a-refresh-token", "deviceId": "device-matrix"},
        credential_in_body=True,
    ),
    "POST /v1/auth/pin": Access(CUSTOMERS, json={"pin": "1234", "currentPin": "1234"}),
    "POST /v1/auth/pin/check": Access(CUSTOMERS, json={"pin": "1234"}),
    "POST /v1/auth/logout": Access(CUSTOMERS, ends_session=True),
    # --- mobile: profile, recipients, prices ---------------------------------------------------
    "GET /v1/me": Access(CUSTOMERS),
    "PATCH /v1/me": Access(CUSTOMERS, json={"language": "az"}),
    "GET /v1/recipients": Access(CUSTOMERS),
    "POST /v1/recipients": Access(
        CUSTOMERS,
        json={
            "givenName": "Aysel",
            "familyName": "Məmmədli",
            "country": "AZ",
            "payout": {"method": "cash_pickup"},
        },
    ),
    "GET /v1/recipients/{recipient_id:int}": Access(OWNER, owner=True),
    "PATCH /v1/recipients/{recipient_id:int}": Access(OWNER, owner=True, json={"country": "AZ"}),
    "DELETE /v1/recipients/{recipient_id:int}": Access(OWNER, owner=True),
    "GET /v1/corridors": Access(EVERYONE),
    "GET /v1/compare": Access(
        EVERYONE,
        query={"sendCountry": "RU", "receiveCountry": "AZ", "sendCurrency": "RUB", "amount": "14000"},
    ),
    "POST /v1/quotes": Access(
        NO_BEARER | CUSTOMERS,
        json={
            "corridor": "RU-AZ-RUB-AZN",
            "payoutMethod": "card",
            "sendAmount": {"amount": "14000.00", "currency": "RUB"},
        },
        note="anonymous quotes show a price before sign-up",
    ),
    "GET /v1/quotes/{quote_id:str}": Access(OWNER, owner=True, note="a signed-in customer's quote is theirs"),
    # --- back office ---------------------------------------------------------------------------
    "POST /backoffice/v1/auth/login": Access(
        EVERYONE, json={"username": "nobody", "password": "wrong", "totp": "000000"}, credential_in_body=True
    ),
    "POST /backoffice/v1/auth/logout": Access(STAFF, ends_session=True),
    "GET /backoffice/v1/me": Access(STAFF),
    "GET /backoffice/v1/kyc/submissions": Access(OFFICERS),
    "GET /backoffice/v1/kyc/submissions/{submission_id:int}": Access(OFFICERS),
    "GET /backoffice/v1/kyc/documents/{document_id:int}/image": Access(OFFICERS),
    "POST /backoffice/v1/kyc/submissions/{submission_id:int}/approve": Access(OFFICERS, json={}),
    "POST /backoffice/v1/kyc/submissions/{submission_id:int}/reject": Access(OFFICERS, json=REASON),
    "GET /backoffice/v1/alerts": Access(OFFICERS),
    "GET /backoffice/v1/cases": Access(OFFICERS),
    "GET /backoffice/v1/cases/{case_id:int}": Access(OFFICERS),
    "POST /backoffice/v1/cases/{case_id:int}/actions": Access(OFFICERS, json={"action": "report", **REASON}),
    "GET /backoffice/v1/release-requests": Access(OFFICERS),
    "POST /backoffice/v1/transfers/{transfer_ref:str}/release-requests": Access(OFFICERS, json=REASON),
    "POST /backoffice/v1/release-requests/{request_id:int}/approve": Access(OFFICERS, json=REASON),
    "POST /backoffice/v1/release-requests/{request_id:int}/reject": Access(OFFICERS, json=REASON),
    "GET /backoffice/v1/monitoring/rules": Access(RULE_READERS),
    "GET /backoffice/v1/monitoring/rules/{name:str}/versions": Access(RULE_READERS),
    "PUT /backoffice/v1/monitoring/rules/{name:str}": Access(
        frozenset({"senior_officer"}), json={"enabled": True, **REASON}
    ),
    "GET /backoffice/v1/monitoring/stats": Access(RULE_READERS),
    # --- policy --------------------------------------------------------------------------------
    "GET /policy/v1/periods": Access(ANALYSTS),
    "GET /policy/v1/corridors": Access(ANALYSTS),
    "GET /policy/v1/corridors/{corridor:str}/series": Access(ANALYSTS),
    "GET /policy/v1/indicators": Access(ANALYSTS),
    "GET /policy/v1/indicators.csv": Access(ANALYSTS),
    "GET /policy": Access(ANALYSTS, page=True),
    "GET /policy/sign-in": Access(EVERYONE, page=True),
    "POST /policy/sign-in": Access(
        EVERYONE,
        page=True,
        form={"username": "nobody", "password": "wrong", "totp": "000000"},
        credential_in_body=True,
    ),
    "POST /policy/sign-out": Access(EVERYONE, page=True, ends_session=True),
}
