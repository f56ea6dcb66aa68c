"""Who may call what: the authorization matrix of every route, in one table.

Each route of the app (``"METHOD /path/{param:type}"``, as Litestar registers it) has an
:class:`Access` saying which roles are allowed. ``tests/hardening/test_authz.py`` enumerates the
routes from the app itself, so a new endpoint fails the suite until it is classified here, and
calls each route as each role of :data:`tests.hardening.world.ROLES`:

* a role that is not allowed gets 401, 403 or 404 (a browser page: a redirect to its sign-in
  form or a 403 page), never a 2xx;
* an allowed role is not refused (no 401/403) and causes no 5xx;
* on ``owner`` routes the path names an object of the owner (the sender, or partner A): the owner
  reaches it, everyone else of the same kind (another customer, partner B) gets 404 exactly as
  for an object that does not exist, and the owner gets 404 for the other one's object;
* no answer to anyone but the sender carries the sender's personal data, except to the officers
  (their work) and partner A (the beneficiary of the payouts it makes).

Path parameters, and ``{name}`` placeholders in bodies, are filled by name from
:attr:`tests.hardening.world.World.ids`.
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
PARTNERS = frozenset({"partner_a", "partner_b"})
OPERATORS = frozenset({"operator", "admin"})
"""Partner operations: outbox, reconciliation exceptions, settlement windows, partner banks."""
OFFICERS = frozenset({"officer", "senior_officer"})
"""Compliance decisions and personal data: officers themselves; admin manages staff, not cases."""
RULE_READERS = OFFICERS | {"analyst", "admin"}
ANALYSTS = frozenset({"analyst", "admin"})
NO_BEARER = EVERYONE - STAFF - CUSTOMERS
"""A ``/v1`` route that reads a token when one is sent: anonymous callers (and partners, who send
no bearer token) are served, a staff token is refused as not a customer's."""
SENDER = frozenset({"sender"})
PARTNER_A = frozenset({"partner_a"})
FRESH_KEY = {"Idempotency-Key": "fresh"}

REASON = {"reason": "checked against the registry"}


@dataclass(frozen=True)
class Access:
    """Who may call a route, and how the suite calls it."""

    allowed: frozenset[str]
    """Roles that are served (the rest are refused)."""
    owner: str | None = None
    """The path names this role's own object (``sender`` or ``partner_a``): the others of its
    kind must get 404."""
    json: Any = None
    """Request body sent by every role (``"{quote_id}"`` is replaced by the world's id)."""
    content: tuple[str, bytes] | None = None
    """A raw body: (content type, bytes)."""
    headers: dict[str, str] | None = None
    """Extra headers; an ``Idempotency-Key`` of ``fresh`` is a new key on every call."""
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
    "GET /v1/me/kyc": Access(CUSTOMERS),
    "POST /v1/me/kyc": Access(
        CUSTOMERS,
        json={
            "documents": [
                {"kind": "passport", "contentType": "image/jpeg", "image": "/9j/4A==", "number": "C1"}
            ]
        },
    ),
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
    "GET /v1/recipients/{recipient_id:int}": Access(SENDER, owner="sender"),
    "PATCH /v1/recipients/{recipient_id:int}": Access(SENDER, owner="sender", json={"country": "AZ"}),
    "DELETE /v1/recipients/{recipient_id:int}": Access(SENDER, owner="sender"),
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
    "GET /v1/quotes/{quote_id:str}": Access(
        SENDER, owner="sender", note="a signed-in customer's quote is theirs"
    ),
    "POST /v1/transfers": Access(
        CUSTOMERS, json={"quoteId": "{quote_id}", "recipientId": "{recipient_id}"}, headers=FRESH_KEY
    ),
    "GET /v1/transfers": Access(CUSTOMERS),
    "GET /v1/transfers/{transfer_id:str}": Access(SENDER, owner="sender"),
    "GET /v1/transfers/{transfer_id:str}/receipt": Access(SENDER, owner="sender"),
    "POST /v1/transfers/{transfer_id:str}/cancel": Access(SENDER, owner="sender"),
    "GET /v1/wallet": Access(CUSTOMERS),
    "GET /v1/wallet/history": Access(CUSTOMERS, query={"currency": "RUB"}),
    "POST /v1/wallet/topups": Access(
        CUSTOMERS, json={"amount": {"amount": "100.00", "currency": "RUB"}}, headers=FRESH_KEY
    ),
    "POST /v1/wallet/cashouts": Access(
        CUSTOMERS,
        json={"amount": {"amount": "100.00", "currency": "RUB"}, "iban": "AZ21NABZ00000000137010001944"},
        headers=FRESH_KEY,
    ),
    # --- partner banks (every request signed) ------------------------------------------------
    "GET /partner/v1/me": Access(PARTNERS),
    "GET /partner/v1/payouts": Access(PARTNERS, query={"status": "confirmed"}),
    "GET /partner/v1/payouts/{payout_id:str}": Access(PARTNER_A, owner="partner_a"),
    "POST /partner/v1/payouts/{payout_id:str}/confirm": Access(
        PARTNER_A, owner="partner_a", json={"partnerReference": "KAP-1"}
    ),
    "POST /partner/v1/payouts/{payout_id:str}/fail": Access(
        PARTNER_A, owner="partner_a", json={"reason": "account closed"}
    ),
    "GET /partner/v1/settlement/positions": Access(PARTNERS),
    "GET /partner/v1/settlement/windows": Access(PARTNERS),
    "GET /partner/v1/settlement/windows/{window_id:str}": Access(PARTNER_A, owner="partner_a"),
    "GET /partner/v1/settlement/windows/{window_id:str}/statement.csv": Access(PARTNER_A, owner="partner_a"),
    "GET /partner/v1/settlement/windows/{window_id:str}/statement.xml": Access(PARTNER_A, owner="partner_a"),
    "POST /partner/v1/settlement/windows/{window_id:str}/reconciliations": Access(
        PARTNER_A, owner="partner_a", content=("text/csv", b"statement_id,currency\r\n")
    ),
    "GET /partner/v1/settlement/reconciliations/{run_id:str}": Access(PARTNER_A, owner="partner_a"),
    "GET /partner/v1/settlement/reconciliations/{run_id:str}/report.csv": Access(
        PARTNER_A, owner="partner_a"
    ),
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
    "GET /backoffice/v1/screening/results": Access(OFFICERS, query={"subjectRef": "{customer_ref}"}),
    "POST /backoffice/v1/screening/results/{result_id:int}/clear": Access(
        OFFICERS, json={"entryKey": "ofac-sdn:1", **REASON}
    ),
    "GET /backoffice/v1/screening/lists": Access(OFFICERS),
    "GET /backoffice/v1/screening/lists/versions": Access(OFFICERS),
    "GET /backoffice/v1/screening/rescreen-jobs": Access(OFFICERS),
    "GET /backoffice/v1/screening/rescreen-jobs/{job_id:int}": Access(OFFICERS),
    "GET /backoffice/v1/monitoring/rules": Access(RULE_READERS),
    "GET /backoffice/v1/monitoring/rules/{name:str}/versions": Access(RULE_READERS),
    "PUT /backoffice/v1/monitoring/rules/{name:str}": Access(
        frozenset({"senior_officer"}), json={"enabled": True, **REASON}
    ),
    "GET /backoffice/v1/monitoring/stats": Access(RULE_READERS),
    "GET /backoffice/v1/outbox": Access(OPERATORS),
    "POST /backoffice/v1/outbox/{event_id:str}/redrive": Access(OPERATORS),
    "GET /backoffice/v1/partners": Access(OPERATORS),
    "GET /backoffice/v1/reconciliation/exceptions": Access(OPERATORS),
    "POST /backoffice/v1/reconciliation/exceptions/{exception_id:str}/resolve": Access(
        OPERATORS, json={"note": "checked with the bank"}
    ),
    "GET /backoffice/v1/settlement/windows": Access(OPERATORS),
    "POST /backoffice/v1/settlement/windows/{window_id:str}/close": Access(OPERATORS),
    "POST /backoffice/v1/settlement/windows/{window_id:str}/settle": Access(
        OPERATORS, json={"reference": "SET-1"}
    ),
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
