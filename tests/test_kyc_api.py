"""KYC from the customer's phone to the officer's decision, over real HTTP: documents sent, reviewed,
approved (the tier changes) or rejected (the customer sees why, in their language), one customer's
KYC never visible to another, bad input refused without a trace, and the dev-only auto-approval."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from babel.messages.pofile import read_po
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.app import create_app
from backend.i18n import LOCALES_DIR, SUPPORTED_LANGUAGES
from backend.kyc_errors import all_kyc_message_ids
from backend.settings import ConfigError, Settings
from backend.staff import service as staff_service
from compliance.cases import list_alerts
from compliance.kyc_review import list_submissions
from compliance.screening import load_list, store_snapshot
from tests.signin import SignedIn, serve, sign_in

SANCTIONS = Path(__file__).resolve().parent / "data" / "sanctions"
JPEG = b"\xff\xd8\xff\xe0" + b"passport photo page " * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"bank statement " * 40
PDF = b"%PDF-1.7\n" + b"employment contract " * 40


@pytest.fixture(autouse=True)
def cheap_staff_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    # Staff sign-in itself is tested with the real argon2 cost in test_staff.py.
    monkeypatch.setattr(
        staff_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def document(
    kind: str = "passport", data: bytes = JPEG, content_type: str = "image/jpeg", **extra: Any
) -> Any:
    body = {"kind": kind, "contentType": content_type, "image": base64.b64encode(data).decode(), **extra}
    if kind in ("passport", "national_id", "residence_permit"):
        body.setdefault("number", "C01234567")
        body.setdefault("issuingCountry", "AZ")
    return body


async def customer(
    http: AsyncClient, given: str | None = "Aynur", family: str = "Quliyeva", born: str = "1990-05-05"
) -> SignedIn:
    """A signed-in customer whose profile has a name and date of birth (unless ``given`` is None)."""
    session = await sign_in(http)
    if given is not None:
        changed = await http.patch(
            "/v1/me",
            json={"givenName": given, "familyName": family, "dateOfBirth": born},
            headers=session.headers,
        )
        assert changed.status_code == 200, changed.text
    return session


async def kyc(http: AsyncClient, session: SignedIn, **headers: str) -> dict[str, Any]:
    response = await http.get("/v1/me/kyc", headers={**session.headers, **headers})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def submit(http: AsyncClient, session: SignedIn, *documents: Any, **fields: Any) -> Any:
    return await http.post(
        "/v1/me/kyc", json={"documents": list(documents or [document()]), **fields}, headers=session.headers
    )


async def test_an_officer_approves_the_documents_and_the_customer_moves_up_a_tier(
    http: AsyncClient, make_staff: Any
) -> None:
    me = await customer(http)
    assert await kyc(http, me) == {
        "status": "none",
        "statusText": "You have not sent any documents yet.",
        "currentTier": 0,
        "submissionId": None,
        "targetTier": None,
        "submittedAt": None,
        "reviewedAt": None,
        "rejectionReason": None,
        "documentKinds": [],
    }
    sent = await submit(http, me)
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "submitted"
    assert sent.json()["statusText"] == "Your documents are being reviewed."
    assert (sent.json()["currentTier"], sent.json()["targetTier"]) == (0, 1)

    officer = await make_staff("officer")
    queue = (await http.get("/backoffice/v1/kyc/submissions", headers=officer)).json()["items"]
    assert [(item["customerRef"], item["documentKinds"]) for item in queue] == [
        (f"customer:{me.customer_id}", ["passport"])
    ]
    submission = queue[0]["id"]
    detail = (await http.get(f"/backoffice/v1/kyc/submissions/{submission}", headers=officer)).json()
    assert detail["documents"][0]["number"] == "C01234567"
    image = await http.get(detail["documents"][0]["imageUrl"], headers=officer)
    assert image.content == JPEG
    approved = await http.post(
        f"/backoffice/v1/kyc/submissions/{submission}/approve", json={}, headers=officer
    )
    assert approved.status_code == 200, approved.text

    status = await kyc(http, me)
    assert (status["status"], status["currentTier"], status["statusText"]) == (
        "approved",
        1,
        "Your documents were approved.",
    )
    assert (await http.get("/v1/me", headers=me.headers)).json()["kycTier"] == 1
    # Tier 2 is now open to them (and only now).
    enhanced = await submit(
        http,
        me,
        document("proof_of_address", PDF, "application/pdf"),
        document("source_of_funds", PNG, "image/png"),
        address="Nizami küç. 10, Bakı",
        sourceOfFunds="salary as a nurse",
    )
    assert enhanced.status_code == 201, enhanced.text
    assert (enhanced.json()["targetTier"], enhanced.json()["currentTier"]) == (2, 1)


async def test_a_rejection_reason_reaches_the_customer_who_may_send_again(
    http: AsyncClient, make_staff: Any
) -> None:
    me = await customer(http)
    submission = (await submit(http, me)).json()["submissionId"]
    officer = await make_staff("senior_officer")
    reason = "The photo page is unreadable; send a sharper photo."
    rejected = await http.post(
        f"/backoffice/v1/kyc/submissions/{submission}/reject", json={"reason": reason}, headers=officer
    )
    assert rejected.status_code == 200, rejected.text

    status = await kyc(http, me, **{"Accept-Language": "ru"})
    assert (status["status"], status["rejectionReason"], status["currentTier"]) == ("rejected", reason, 0)
    assert status["statusText"] == "Ваши документы не приняты. Посмотрите причину и отправьте их снова."
    again = await submit(http, me)
    assert again.status_code == 201, again.text
    assert (again.json()["status"], again.json()["rejectionReason"]) == ("submitted", None)
    assert again.json()["submissionId"] != submission


async def test_one_customer_never_sees_another_customers_kyc(http: AsyncClient, make_staff: Any) -> None:
    alice, bob = await customer(http, "Alia", "Həsənova"), await customer(http, "Babək", "Quliyev")
    submission = (await submit(http, alice, document(number="AA1234567"))).json()["submissionId"]
    officer = await make_staff("officer")
    reason = "Passport expired in 2019; send a valid one."
    await http.post(
        f"/backoffice/v1/kyc/submissions/{submission}/reject", json={"reason": reason}, headers=officer
    )

    bobs = await kyc(http, bob)
    assert (bobs["status"], bobs["submissionId"], bobs["rejectionReason"]) == ("none", None, None)
    assert reason not in (await http.get("/v1/me/kyc", headers=bob.headers)).text
    bobs_submission = (await submit(http, bob, document(number="BB7654321"))).json()
    assert bobs_submission["submissionId"] != submission
    alices = await kyc(http, alice)
    assert (alices["status"], alices["submissionId"], alices["rejectionReason"]) == (
        "rejected",
        submission,
        reason,
    )
    # Without a session there is nothing to see, and a customer's token opens no back-office door.
    assert (await http.get("/v1/me/kyc")).status_code == 401
    forged = await http.post(
        f"/backoffice/v1/kyc/submissions/{bobs_submission['submissionId']}/approve",
        json={},
        headers=bob.headers,
    )
    assert forged.status_code == 401
    assert (await kyc(http, bob))["status"] == "submitted"


async def test_bad_submissions_change_nothing_and_say_why_in_the_callers_language(
    http: AsyncClient, engine: AsyncEngine
) -> None:
    nameless = await customer(http, given=None)
    incomplete = await http.post(
        "/v1/me/kyc",
        json={"documents": [document()]},
        headers={**nameless.headers, "Accept-Language": "az"},
    )
    assert incomplete.status_code == 422
    assert incomplete.json()["code"] == "kyc_profile_incomplete"
    assert incomplete.json()["title"] == "Profil natamamdır"

    me = await customer(http)
    png_as_jpeg = await submit(http, me, document(data=PNG))
    assert png_as_jpeg.status_code == 422
    assert (png_as_jpeg.json()["code"], png_as_jpeg.json()["document"]) == ("kyc_file_not_accepted", 0)
    gif = await submit(http, me, document(data=b"GIF89a....", content_type="image/gif"))
    assert gif.status_code == 400
    not_base64 = await submit(http, me, {**document(), "image": "not base64!"})
    assert not_base64.status_code == 400
    assert not_base64.json()["code"] == "validation_error"
    too_big_file = await submit(http, me, document(data=b"\xff\xd8\xff" + bytes(5 * 1024 * 1024)))
    assert too_big_file.status_code == 400
    too_big_body = await http.post(
        "/v1/me/kyc",
        content=b'{"documents": [], "pad": "' + b"A" * (18 * 1024 * 1024) + b'"}',
        headers={**me.headers, "Content-Type": "application/json"},
    )
    assert too_big_body.status_code == 413
    no_number = await submit(http, me, document(number=None))
    assert no_number.status_code == 422
    assert no_number.json()["code"] == "invalid_kyc_submission"
    assert "number" in no_number.json()["problem"]
    tier_two_first = await submit(
        http,
        me,
        document("proof_of_address", PDF, "application/pdf"),
        document("source_of_funds", PDF, "application/pdf"),
        targetTier=2,
        address="Nizami küç. 10",
        sourceOfFunds="salary",
    )
    assert tier_two_first.status_code == 422
    assert tier_two_first.json()["code"] == "kyc_identity_first"

    assert (await kyc(http, me))["status"] == "none"
    async with engine.connect() as conn:
        assert await list_submissions(conn, status=None) == []

    assert (await submit(http, me)).status_code == 201
    twice = await http.post(
        "/v1/me/kyc", json={"documents": [document()]}, headers={**me.headers, "Accept-Language": "tr"}
    )
    assert twice.status_code == 409
    assert (twice.json()["code"], twice.json()["title"]) == (
        "kyc_submission_pending",
        "Belgeler zaten inceleniyor",
    )


async def test_demo_auto_approval_approves_clear_customers_but_not_listed_ones(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with engine.begin() as conn:
        await store_snapshot(conn, load_list(f"ofac-csv:{SANCTIONS / 'ofac-sdn-tiny'}"))
    app = create_app(replace(settings, demo_kyc_auto_approve=True), engine=engine)
    async with serve(app) as url, AsyncClient(base_url=url, timeout=30) as http:
        clear = await customer(http, "Aynur", "Quliyeva")
        approved = await submit(http, clear)
        assert approved.status_code == 201, approved.text
        assert (approved.json()["status"], approved.json()["currentTier"]) == ("approved", 1)

        listed = await customer(http, "Dmitry", "Khoroshev", "1993-04-17")
        waiting = await submit(http, listed, document(number="RU7654321", issuingCountry="RU"))
        assert waiting.status_code == 201, waiting.text
        assert (waiting.json()["status"], waiting.json()["currentTier"]) == ("submitted", 0)
        assert "screening" not in waiting.text  # nothing tips the customer off
    async with engine.connect() as conn:
        alerts = await list_alerts(conn, status="open")
        submissions = await list_submissions(conn, status=None)
    assert [(a.customer_ref, a.source, a.outcome) for a in alerts] == [
        (f"customer:{listed.customer_id}", "screening", "block")
    ]
    assert alerts[0].reasons[0]["entryKey"] == "ofac-sdn:48603"
    assert [(s.customer_ref, s.status, s.reviewed_by) for s in submissions] == [
        (f"customer:{clear.customer_id}", "approved", "system:demo-auto-approve"),
        (f"customer:{listed.customer_id}", "submitted", None),
    ]


def test_demo_auto_approval_is_on_in_dev_off_elsewhere_and_refused_in_prod(tmp_path: Path) -> None:
    base = {"KORPU_VAR_DIR": str(tmp_path / "var")}
    assert Settings.from_env({**base, "KORPU_ENV": "dev"}).demo_kyc_auto_approve is True
    assert Settings.from_env({**base, "KORPU_ENV": "test"}).demo_kyc_auto_approve is False
    assert (
        Settings.from_env(
            {**base, "KORPU_ENV": "dev", "KORPU_DEMO_KYC_AUTO_APPROVE": "0"}
        ).demo_kyc_auto_approve
        is False
    )
    prod = {
        **base,
        "KORPU_ENV": "prod",
        "KORPU_SMS_URL": "https://sms.example/send",
        "KORPU_SECRET_KEY": base64.urlsafe_b64encode(b"s" * 32).decode(),
        "KORPU_DATA_KEYS": "1:" + base64.urlsafe_b64encode(b"d" * 32).decode(),
        "KORPU_LEDGER_SIGNING_KEY": base64.urlsafe_b64encode(b"l" * 32).decode(),
    }
    assert Settings.from_env(prod).demo_kyc_auto_approve is False
    with pytest.raises(ConfigError, match="KORPU_DEMO_KYC_AUTO_APPROVE cannot be on in prod"):
        Settings.from_env({**prod, "KORPU_DEMO_KYC_AUTO_APPROVE": "1"})


def test_every_kyc_message_is_in_every_catalog() -> None:
    for language in SUPPORTED_LANGUAGES:
        with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
            catalog = {str(m.id): str(m.string) for m in read_po(source, locale=language) if m.id}
        missing = [msgid for msgid in all_kyc_message_ids() if not catalog.get(msgid)]
        assert missing == [], language
