"""KYC: tier limits in the base currency, FATF R.16 data checks, and document submission and review
with personal data sealed at rest."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.settings import Settings
from compliance.audit import read_audit
from compliance.errors import (
    InvalidKycSubmission,
    KycSubmissionNotPending,
    KycSubmissionPending,
    ReasonRequired,
)
from compliance.kyc import (
    LimitExceeded,
    PartyInfo,
    check_limits,
    limit_usage,
    travel_rule_applies,
    travel_rule_missing,
)
from compliance.kyc_review import (
    DocumentUpload,
    EnhancedDetails,
    KycVault,
    approve_submission,
    document_image,
    get_submission,
    list_submissions,
    reject_submission,
    submit_kyc,
)
from compliance.monitoring import record_event
from compliance.officers import NotAnOfficer, Officer
from compliance.privacy import BlindIndex, Sealer
from compliance.tables import kyc_submissions
from ledger.money import Money
from tests.compliance_helpers import NOW, convert, facts

OFFICER = Officer("staff:1", frozenset({"officer"}))
JPEG = b"\xff\xd8\xff\xe0" + b"passport photo page" * 10
PNG = b"\x89PNG\r\n\x1a\n" + b"utility bill" * 10
PDF = b"%PDF-1.7\n" + b"payslip" * 10


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


# --- limits -------------------------------------------------------------------------------------


async def test_tier_0_may_receive_but_not_send(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        decision = await check_limits(conn, "c1", 0, usd("1.00"), NOW, convert)
    assert not decision.allowed
    assert decision.code == "tier_may_not_send"


async def test_tier_1_limits_per_transfer_day_and_month(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for days_ago in (25, 20, 10, 5):
            await record_event(conn, facts("1000.00", customer="c1", tier=1), NOW - timedelta(days=days_ago))
        await record_event(conn, facts("500.00", customer="c1", tier=1), NOW - timedelta(hours=1))
        assert (await check_limits(conn, "c1", 1, usd("1000.01"), NOW, convert)).code == "per_transfer_limit"
        # 4,500 in 30 days: 500 more is exactly the monthly 5,000.
        assert (await check_limits(conn, "c1", 1, usd("500.00"), NOW, convert)).allowed
        monthly = await check_limits(conn, "c1", 1, usd("500.01"), NOW, convert)
        assert monthly.code == "monthly_limit"
        with pytest.raises(LimitExceeded) as raised:
            monthly.raise_if_refused()
        assert raised.value.code == "monthly_limit"
        assert raised.value.extra["remaining"] == {"amount": "500.00", "currency": "USD"}
        # 31 days on, the oldest transfer no longer counts.
        later = NOW + timedelta(days=6)
        assert (await check_limits(conn, "c1", 1, usd("1000.00"), later, convert)).allowed


async def test_the_daily_limit_is_a_rolling_24_hours(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await record_event(conn, facts("1000.00", customer="c1", tier=1), NOW - timedelta(hours=23))
        await record_event(conn, facts("900.00", customer="c1", tier=1), NOW - timedelta(hours=1))
        assert (await check_limits(conn, "c1", 1, usd("100.01"), NOW, convert)).code == "daily_limit"
        usage = await limit_usage(conn, "c1", 1, NOW)
        assert usage.remaining_now == usd("100.00")
        assert (await check_limits(conn, "c1", 1, usd("1000.00"), NOW + timedelta(hours=2), convert)).allowed


async def test_limits_convert_other_currencies_to_usd(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        # 1,700 AZN is exactly USD 1,000 at CBAR's 1.7000; one qəpik more is over.
        assert (await check_limits(conn, "c1", 1, Money(Decimal("1700.00"), "AZN"), NOW, convert)).allowed
        over = await check_limits(conn, "c1", 1, Money(Decimal("1700.02"), "AZN"), NOW, convert)
    assert over.code == "per_transfer_limit"
    assert over.amount.currency == "USD"


# --- FATF R.16 ----------------------------------------------------------------------------------


def test_travel_rule_threshold_is_usd_or_eur_1000() -> None:
    assert travel_rule_applies(usd("1000.00"), convert)
    assert not travel_rule_applies(usd("999.99"), convert)
    assert travel_rule_applies(Money(Decimal("1000.00"), "EUR"), convert)
    assert not travel_rule_applies(Money(Decimal("999.99"), "EUR"), convert)
    assert travel_rule_applies(Money(Decimal("1700.00"), "AZN"), convert)
    assert not travel_rule_applies(Money(Decimal("1699.98"), "AZN"), convert)


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2))
def test_names_and_accounts_are_always_required_and_identity_from_the_threshold(amount: Decimal) -> None:
    money = Money(amount, "USD")
    bare = travel_rule_missing(money, PartyInfo(), PartyInfo(), convert)
    assert {"originator.name", "originator.account", "beneficiary.name", "beneficiary.account"} <= set(bare)
    named = PartyInfo(name="A", account="AZ21NABZ00000000137010001944")
    missing = travel_rule_missing(money, named, named, convert)
    assert (missing != []) == (amount >= 1000)
    identified = PartyInfo(name="A", account="x", national_id="AZE1234567")
    assert travel_rule_missing(money, identified, named, convert) == []


# --- submissions --------------------------------------------------------------------------------


@pytest.fixture
def vault(settings: Settings) -> KycVault:
    return KycVault(Sealer(settings.secrets.data_keys), BlindIndex(settings.secrets.secret_key))


def passport(number: str = "C 0123 4567") -> DocumentUpload:
    return DocumentUpload("passport", JPEG, "image/jpeg", number=number, issuing_country="AZ")


class Tiers:
    """A stand-in for the identity capability's customer tiers."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, int]] = []

    async def set_tier(self, conn: AsyncConnection, customer_ref: str, tier: int) -> None:
        self.changes.append((customer_ref, tier))


async def test_submission_is_sealed_at_rest_and_opens_for_the_reviewer(
    engine: AsyncEngine, vault: KycVault
) -> None:
    async with engine.begin() as conn:
        submission_id = await submit_kyc(conn, vault, "c1", 1, [passport()], current_tier=0, now=NOW)
    async with engine.connect() as conn:
        raw = (await conn.execute(text("SELECT number_sealed, image_sealed FROM kyc_documents"))).one()
        assert b"C01234567" not in bytes(raw[0])
        assert b"passport photo page" not in bytes(raw[1])
        detail = await get_submission(conn, vault, submission_id)
        image = await document_image(conn, vault, detail.documents[0].id)
    assert detail.documents[0].number == "C01234567"
    assert detail.submission.status == "submitted"
    assert image.image == JPEG
    assert image.content_type == "image/jpeg"


async def test_approval_raises_the_tier_and_is_audited(engine: AsyncEngine, vault: KycVault) -> None:
    tiers = Tiers()
    async with engine.begin() as conn:
        submission_id = await submit_kyc(conn, vault, "c1", 1, [passport()], current_tier=0, now=NOW)
        approved = await approve_submission(conn, submission_id, OFFICER, tiers.set_tier, now=NOW)
        with pytest.raises(KycSubmissionNotPending):
            await approve_submission(conn, submission_id, OFFICER, tiers.set_tier, now=NOW)
        events = [(e.actor, e.action) for e in await read_audit(conn)]
    assert approved.status == "approved"
    assert tiers.changes == [("c1", 1)]
    assert ("staff:1", "kyc.approved") in events
    assert ("customer:c1", "kyc.submitted") in events


async def test_rejection_needs_a_reason_and_frees_the_customer_to_resubmit(
    engine: AsyncEngine, vault: KycVault
) -> None:
    async with engine.begin() as conn:
        first = await submit_kyc(conn, vault, "c1", 1, [passport()], current_tier=0, now=NOW)
        with pytest.raises(KycSubmissionPending):
            await submit_kyc(conn, vault, "c1", 1, [passport()], current_tier=0, now=NOW)
        with pytest.raises(ReasonRequired):
            await reject_submission(conn, first, OFFICER, "  ", now=NOW)
        rejected = await reject_submission(conn, first, OFFICER, "photo page unreadable", now=NOW)
        second = await submit_kyc(conn, vault, "c1", 1, [passport()], current_tier=0, now=NOW)
        queue = await list_submissions(conn)
    assert rejected.rejection_reason == "photo page unreadable"
    assert [s.id for s in queue] == [second]


async def test_only_officers_review(engine: AsyncEngine, vault: KycVault) -> None:
    admin = Officer("staff:9", frozenset({"admin"}))
    async with engine.begin() as conn:
        submission_id = await submit_kyc(conn, vault, "c1", 1, [passport()], current_tier=0, now=NOW)
        with pytest.raises(NotAnOfficer):
            await approve_submission(conn, submission_id, admin, Tiers().set_tier, now=NOW)


async def test_one_passport_on_two_customers_is_shown_to_the_reviewer(
    engine: AsyncEngine, vault: KycVault
) -> None:
    async with engine.begin() as conn:
        await submit_kyc(conn, vault, "c1", 1, [passport("C01234567")], current_tier=0, now=NOW)
        second = await submit_kyc(conn, vault, "c2", 1, [passport("c-0123-4567")], current_tier=0, now=NOW)
        detail = await get_submission(conn, vault, second)
    assert detail.documents[0].used_by_other_customers == ["c1"]


async def test_tier_2_needs_address_and_source_of_funds(engine: AsyncEngine, vault: KycVault) -> None:
    documents = [
        DocumentUpload("proof_of_address", PNG, "image/png"),
        DocumentUpload("source_of_funds", PDF, "application/pdf"),
    ]
    details = EnhancedDetails(address="Nizami küç. 10, Bakı", source_of_funds="salary, construction work")
    async with engine.begin() as conn:
        with pytest.raises(InvalidKycSubmission, match="address and a source-of-funds"):
            await submit_kyc(conn, vault, "c1", 2, documents, current_tier=1, now=NOW)
        with pytest.raises(InvalidKycSubmission, match="tier 1"):
            await submit_kyc(conn, vault, "c1", 2, documents, details, current_tier=0, now=NOW)
        submission_id = await submit_kyc(conn, vault, "c1", 2, documents, details, current_tier=1, now=NOW)
        detail = await get_submission(conn, vault, submission_id)
        raw = (await conn.execute(select(kyc_submissions.c.details_sealed))).scalar_one()
    assert detail.details == details
    assert b"Nizami" not in raw


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (DocumentUpload("passport", PNG, "image/jpeg", "C01234567", "AZ"), "not a image/jpeg file"),
        (DocumentUpload("passport", JPEG, "image/gif", "C01234567", "AZ"), "JPEG, PNG or PDF"),
        (DocumentUpload("passport", JPEG, "image/jpeg", None, "AZ"), "needs its number"),
        (DocumentUpload("passport", JPEG, "image/jpeg", "C01234567", "Azerbaijan"), "issuing country"),
        (DocumentUpload("selfie", JPEG, "image/jpeg"), "unknown document kind"),
        (DocumentUpload("proof_of_address", PNG, "image/png"), "tier 1 needs a passport"),
    ],
)
async def test_bad_submissions_are_refused_and_store_nothing(
    engine: AsyncEngine, vault: KycVault, document: DocumentUpload, message: str
) -> None:
    async with engine.begin() as conn:
        with pytest.raises(InvalidKycSubmission, match=message):
            await submit_kyc(conn, vault, "c1", 1, [document], current_tier=0, now=NOW)
        assert (await conn.execute(select(func.count()).select_from(kyc_submissions))).scalar_one() == 0


@pytest.mark.postgres_only
async def test_two_concurrent_transfers_cannot_both_slip_under_the_daily_limit(engine: AsyncEngine) -> None:
    import asyncio

    async def send(ref: str) -> bool:
        async with engine.begin() as conn:
            decision = await check_limits(conn, "c1", 1, usd("600.00"), NOW, convert)
            if decision.allowed:
                await asyncio.sleep(0.2)  # both would read the history before either writes
                await record_event(conn, facts("600.00", customer="c1", tier=1, ref=ref), NOW)
            return decision.allowed

    # 1,000 already sent today: one more 600 fits under the 2,000 daily limit, two do not.
    async with engine.begin() as conn:
        await record_event(conn, facts("1000.00", customer="c1", tier=1), NOW - timedelta(hours=1))
    outcomes = await asyncio.gather(send("a"), send("b"))
    assert sorted(outcomes) == [False, True]
