"""The back office over real HTTP: each role allowed only what it should, the KYC review with
audited image views, case actions and the four-eyes release, and monitoring rules as data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pyotp
import pytest
import uvicorn
from argon2 import PasswordHasher
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.app import create_app
from backend.backoffice import ComplianceHooks, HookNotWired
from backend.backoffice.hooks import hooks_of
from backend.settings import Settings
from backend.staff import service as staff_service
from backend.staff.service import create_staff, login
from compliance.audit import read_audit
from compliance.cases import open_alert
from compliance.kyc_review import DocumentUpload, KycVault, submit_kyc
from compliance.privacy import BlindIndex, Sealer
from tests.compliance_helpers import RecordingSink

PASSWORD = "a long enough passphrase"
ROLES = ("officer", "officer_2", "senior_officer", "policy_analyst", "operator", "admin")
JPEG = b"\xff\xd8\xff\xe0" + b"passport photo page" * 10


class Tiers:
    def __init__(self) -> None:
        self.changes: list[tuple[str, int]] = []

    async def set_tier(self, conn: AsyncConnection, customer_ref: str, tier: int) -> None:
        self.changes.append((customer_ref, tier))


@dataclass
class Wiring:
    sink: RecordingSink
    tiers: Tiers


@pytest.fixture
def wiring() -> Wiring:
    return Wiring(RecordingSink(), Tiers())


@pytest.fixture
async def live_server(settings: Settings, engine: AsyncEngine, wiring: Wiring) -> AsyncIterator[str]:
    """As conftest's, with the compliance hooks wired to recorders."""
    app = create_app(settings, engine=engine)
    app.state.compliance_hooks = ComplianceHooks(transfers=wiring.sink, set_tier=wiring.tiers.set_tier)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    await task


@pytest.fixture
async def staff(
    engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> dict[str, dict[str, str]]:
    """Authorization headers per role (``officer_2`` is a second officer), plus their actor names."""
    # Six accounts per test: a cheap argon2 cost keeps the file fast (sign-in itself is tested in
    # test_staff.py with the real cost).
    monkeypatch.setattr(
        staff_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    sealer = Sealer(settings.secrets.data_keys)
    headers: dict[str, dict[str, str]] = {}
    for name in ROLES:
        role = "officer" if name == "officer_2" else name
        async with engine.begin() as conn:
            staff_id, secret = await create_staff(conn, sealer, name, [role], PASSWORD)
            session = await login(conn, sealer, name, PASSWORD, pyotp.TOTP(secret).now())
        assert not isinstance(session, Exception)
        headers[name] = {"Authorization": f"Bearer {session.token}", "X-Actor": f"staff:{staff_id}"}
    return headers


def auth(staff: dict[str, dict[str, str]], role: str) -> dict[str, str]:
    return {"Authorization": staff[role]["Authorization"]}


@pytest.fixture
async def seeded(engine: AsyncEngine, settings: Settings) -> dict[str, int]:
    """One KYC submission and one case with a blocked transfer."""
    vault = KycVault(Sealer(settings.secrets.data_keys), BlindIndex(settings.secrets.secret_key))
    async with engine.begin() as conn:
        submission_id = await submit_kyc(
            conn,
            vault,
            "cust-1",
            1,
            [DocumentUpload("passport", JPEG, "image/jpeg", number="C01234567", issuing_country="AZ")],
            current_tier=0,
        )
        case_id = await open_alert(
            conn,
            "cust-1",
            "tr-1",
            "screening",
            [{"rule": "ofac_sdn", "reason": "SDN match"}],
            outcome="block",
        )
    return {"submission": submission_id, "document": 1, "case": case_id}


OFFICERS = {"officer", "officer_2", "senior_officer"}
READERS = OFFICERS | {"policy_analyst", "admin"}
REASON = {"reason": "checked against the registry"}

MATRIX = [
    ("GET", "/backoffice/v1/kyc/submissions", None, OFFICERS),
    ("GET", "/backoffice/v1/kyc/submissions/{submission}", None, OFFICERS),
    ("GET", "/backoffice/v1/kyc/documents/{document}/image", None, OFFICERS),
    ("POST", "/backoffice/v1/kyc/submissions/{submission}/reject", REASON, OFFICERS),
    ("POST", "/backoffice/v1/kyc/submissions/{submission}/approve", {}, OFFICERS),
    ("GET", "/backoffice/v1/alerts", None, OFFICERS),
    ("GET", "/backoffice/v1/cases", None, OFFICERS),
    ("GET", "/backoffice/v1/cases/{case}", None, OFFICERS),
    ("POST", "/backoffice/v1/cases/{case}/actions", {"action": "report", **REASON}, OFFICERS),
    ("GET", "/backoffice/v1/release-requests", None, OFFICERS),
    ("POST", "/backoffice/v1/transfers/tr-1/release-requests", REASON, OFFICERS),
    ("POST", "/backoffice/v1/release-requests/1/reject", REASON, OFFICERS),
    ("GET", "/backoffice/v1/monitoring/rules", None, READERS),
    ("GET", "/backoffice/v1/monitoring/rules/velocity_24h/versions", None, READERS),
    ("GET", "/backoffice/v1/monitoring/stats?days=7", None, READERS),
    ("PUT", "/backoffice/v1/monitoring/rules/round_amount", {"enabled": False, **REASON}, {"senior_officer"}),
]


async def test_each_role_is_allowed_only_what_it_should(
    http: AsyncClient, staff: dict[str, dict[str, str]], seeded: dict[str, int]
) -> None:
    wrong: list[str] = []
    for method, template, body, allowed in MATRIX:
        path = template.format(**seeded)
        anonymous = await http.request(method, path, json=body)
        if anonymous.status_code != 401:
            wrong.append(f"anonymous {method} {path}: {anonymous.status_code}")
        for role in ROLES:
            response = await http.request(method, path, json=body, headers=auth(staff, role))
            denied = response.status_code == 403
            if denied == (role in allowed):
                wrong.append(f"{role} {method} {path}: {response.status_code} {response.text[:120]}")
    assert wrong == []


async def test_kyc_review_shows_the_image_to_officers_and_audits_each_view(
    http: AsyncClient,
    staff: dict[str, dict[str, str]],
    seeded: dict[str, int],
    engine: AsyncEngine,
    wiring: Wiring,
) -> None:
    officer = auth(staff, "officer")
    queue = (await http.get("/backoffice/v1/kyc/submissions", headers=officer)).json()
    assert [item["id"] for item in queue["items"]] == [seeded["submission"]]
    assert queue["items"][0]["documentKinds"] == ["passport"]
    assert "number" not in str(queue)  # the queue carries no personal data
    detail = (
        await http.get(f"/backoffice/v1/kyc/submissions/{seeded['submission']}", headers=officer)
    ).json()
    assert detail["documents"][0]["number"] == "C01234567"
    image = await http.get(detail["documents"][0]["imageUrl"], headers=officer)
    assert image.status_code == 200
    assert image.content == JPEG
    assert image.headers["content-type"] == "image/jpeg"
    assert image.headers["cache-control"] == "no-store"
    again = await http.get(detail["documents"][0]["imageUrl"], headers=auth(staff, "senior_officer"))
    assert again.status_code == 200
    async with engine.connect() as conn:
        views = [(e.actor, e.action) for e in await read_audit(conn, subject_type="kyc_document")]
    assert views == [
        (staff["senior_officer"]["X-Actor"], "kyc.document_viewed"),
        (staff["officer"]["X-Actor"], "kyc.document_viewed"),
    ]
    approved = await http.post(
        f"/backoffice/v1/kyc/submissions/{seeded['submission']}/approve", json={}, headers=officer
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert wiring.tiers.changes == [("cust-1", 1)]


async def test_a_rejection_without_a_reason_is_refused(
    http: AsyncClient, staff: dict[str, dict[str, str]], seeded: dict[str, int]
) -> None:
    path = f"/backoffice/v1/kyc/submissions/{seeded['submission']}/reject"
    response = await http.post(path, json={"reason": " "}, headers=auth(staff, "officer"))
    assert response.status_code == 422
    assert response.json()["code"] == "reason_required"
    missing = await http.post(path, json={}, headers=auth(staff, "officer"))
    assert missing.status_code == 400
    queue = (await http.get("/backoffice/v1/kyc/submissions", headers=auth(staff, "officer"))).json()
    assert queue["items"][0]["status"] == "submitted"


async def test_four_eyes_release_over_http(
    http: AsyncClient, staff: dict[str, dict[str, str]], seeded: dict[str, int], wiring: Wiring
) -> None:
    first, second = auth(staff, "officer"), auth(staff, "officer_2")
    clear = await http.post(
        f"/backoffice/v1/cases/{seeded['case']}/actions", json={"action": "clear", **REASON}, headers=first
    )
    assert clear.status_code == 409
    assert clear.json()["code"] == "blocked_transfer_needs_release"
    requested = await http.post("/backoffice/v1/transfers/tr-1/release-requests", json=REASON, headers=first)
    assert requested.status_code == 201, requested.text
    request_id = requested.json()["id"]
    pending = (await http.get("/backoffice/v1/release-requests", headers=second)).json()["items"]
    assert [item["id"] for item in pending] == [request_id]
    same = await http.post(
        f"/backoffice/v1/release-requests/{request_id}/approve", json=REASON, headers=first
    )
    assert same.status_code == 403
    assert same.json()["code"] == "four_eyes_required"
    assert wiring.sink.calls == []
    approved = await http.post(
        f"/backoffice/v1/release-requests/{request_id}/approve", json=REASON, headers=second
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["decidedBy"] == staff["officer_2"]["X-Actor"]
    assert wiring.sink.calls == [("release", "tr-1")]
    closed = await http.post(
        f"/backoffice/v1/cases/{seeded['case']}/actions",
        json={"action": "clear", "reason": "namesake, released"},
        headers=first,
    )
    assert closed.json()["caseStatus"] == "closed"
    case = (await http.get(f"/backoffice/v1/cases/{seeded['case']}", headers=first)).json()
    assert [a["action"] for a in case["actions"]] == ["release_requested", "release_approved", "clear"]
    assert case["transfers"] == {"tr-1": "released"}


async def test_case_actions_need_a_reason_and_a_known_action(
    http: AsyncClient, staff: dict[str, dict[str, str]], seeded: dict[str, int]
) -> None:
    path = f"/backoffice/v1/cases/{seeded['case']}/actions"
    no_reason = await http.post(path, json={"action": "hold", "reason": ""}, headers=auth(staff, "officer"))
    assert no_reason.status_code == 422
    assert no_reason.json()["code"] == "reason_required"
    unknown = await http.post(path, json={"action": "ignore", **REASON}, headers=auth(staff, "officer"))
    assert unknown.status_code == 400
    held = await http.post(path, json={"action": "escalate", **REASON}, headers=auth(staff, "officer"))
    assert held.json()["caseStatus"] == "escalated"
    junior = await http.post(path, json={"action": "hold", **REASON}, headers=auth(staff, "officer_2"))
    assert junior.status_code == 403
    assert junior.json()["code"] == "senior_officer_required"


async def test_a_senior_officer_tunes_a_rule_and_everyone_sees_the_version(
    http: AsyncClient, staff: dict[str, dict[str, str]]
) -> None:
    change = {
        "params": {"windowHours": 24, "maxCount": 8, "maxSum": {"amount": "6000.00", "currency": "USD"}},
        "reason": "payday batches caused false alarms",
    }
    saved = await http.put(
        "/backoffice/v1/monitoring/rules/velocity_24h", json=change, headers=auth(staff, "senior_officer")
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1
    rules = (await http.get("/backoffice/v1/monitoring/rules", headers=auth(staff, "policy_analyst"))).json()
    velocity = next(rule for rule in rules["items"] if rule["name"] == "velocity_24h")
    assert velocity["params"]["maxCount"] == 8
    versions = (
        await http.get(
            "/backoffice/v1/monitoring/rules/velocity_24h/versions", headers=auth(staff, "officer")
        )
    ).json()["items"]
    assert [(v["changedBy"], v["reason"]) for v in versions] == [
        (staff["senior_officer"]["X-Actor"], "payday batches caused false alarms")
    ]
    bad = await http.put(
        "/backoffice/v1/monitoring/rules/velocity_24h",
        json={"params": {"windowHours": -1, "maxCount": 2}, "reason": "x y z"},
        headers=auth(staff, "senior_officer"),
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_rule_params"


async def test_unwired_hooks_fail_loudly() -> None:
    from litestar.datastructures import State

    hooks = hooks_of(State({}))
    with pytest.raises(HookNotWired):
        await hooks.transfers.on_release(None, "tr-1")  # type: ignore[arg-type]
    with pytest.raises(HookNotWired):
        await hooks.set_tier(None, "cust-1", 1)  # type: ignore[arg-type]
