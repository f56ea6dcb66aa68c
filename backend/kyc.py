"""The customer's side of KYC: send documents for the next tier, and see where the review stands.

:class:`KycService` sits between ``mobile_api/kyc.py`` and :mod:`compliance.kyc_review`. A
submission is checked against the customer's profile (a name and date of birth to verify) and
tier, stored sealed for an officer, and the customer is screened against the sanctions lists right
away (trigger ``kyc``); a ``review`` or ``hit`` opens a screening alert in the customer's case.
The customer is never told about screening: a sanctions match must not tip anyone off.

Demo mode (``settings.demo_kyc_auto_approve``, on by default in dev, refused in prod) approves a
submission as soon as it is stored, in the same transaction, as the officer
``system:demo-auto-approve``, but only when the screening came back ``clear``.

:func:`identity_set_tier` is the :data:`compliance.kyc_review.SetTier` the back office approves
with: it moves ``customer:<id>`` to a tier through the identity capability.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.compliance_refs import customer_id_of, customer_ref
from backend.identity.errors import CustomerNotFound
from backend.identity.keys import PersonalData
from backend.identity.profiles import Profile, load_profile, set_kyc_tier
from backend.identity.repositories import customers
from backend.kyc_errors import (
    KycAlreadyPending,
    KycAlreadyVerified,
    KycFileNotAccepted,
    KycIdentityFirst,
    KycProfileIncomplete,
    KycSubmissionRefused,
)
from backend.screening_subjects import customer_subject
from compliance.cases import open_alert
from compliance.errors import InvalidKycSubmission, KycSubmissionPending
from compliance.kyc_review import (
    ALLOWED_CONTENT_TYPES,
    MAX_IMAGE_BYTES,
    DocumentUpload,
    EnhancedDetails,
    KycVault,
    SubmissionView,
    approve_submission,
    latest_submission,
    submit_kyc,
)
from compliance.officers import Officer
from compliance.privacy import BlindIndex, Sealer
from compliance.screening import Decision, Screener, ScreeningNotReady, screen_subject

__all__ = [
    "DEMO_APPROVER",
    "KycDocument",
    "KycRequest",
    "KycService",
    "KycState",
    "KycStatus",
    "identity_set_tier",
    "kyc_service_of",
]

KycState = Literal["none", "submitted", "approved", "rejected"]
TOP_TIER = 2

DEMO_APPROVER = Officer("system:demo-auto-approve", frozenset({"officer"}))
"""Who approves in demo mode, as the audit trail names it."""


async def identity_set_tier(conn: AsyncConnection, ref: str, tier: int) -> None:
    """Move ``customer:<id>`` to KYC ``tier`` in the caller's transaction (404 for any other ref)."""
    customer_id = customer_id_of(ref)
    if customer_id is None:
        raise CustomerNotFound()
    await set_kyc_tier(conn, customer_id, tier)


@dataclass(frozen=True, slots=True)
class KycDocument:
    """One document as the app sends it."""

    kind: str
    """``passport``, ``national_id``, ``residence_permit``, ``proof_of_address`` or ``source_of_funds``."""
    image: bytes
    """The file itself."""
    content_type: str
    """``image/jpeg``, ``image/png`` or ``application/pdf``; must match the file's first bytes."""
    number: str | None = None
    """Document number (identity documents)."""
    issuing_country: str | None = None
    """ISO 3166-1 alpha-2 (identity documents)."""


@dataclass(frozen=True, slots=True)
class KycRequest:
    """A submission: documents for ``target_tier`` (the next tier when ``None``)."""

    documents: Sequence[KycDocument]
    target_tier: int | None = None
    address: str | None = None
    """Tier 2: residential address."""
    source_of_funds: str | None = None
    """Tier 2: where the money comes from, in the customer's words."""


@dataclass(frozen=True, slots=True)
class KycStatus:
    """Where the customer's KYC stands, as the customer may see it."""

    status: KycState
    """State of the latest submission, ``none`` when there is none."""
    current_tier: int
    """The customer's tier now."""
    submission_id: int | None = None
    target_tier: int | None = None
    submitted_at: datetime | None = None
    reviewed_at: datetime | None = None
    rejection_reason: str | None = None
    """The officer's reason, when rejected (what to fix)."""
    document_kinds: tuple[str, ...] = ()


def _status(current_tier: int, view: SubmissionView | None) -> KycStatus:
    if view is None:
        return KycStatus(status="none", current_tier=current_tier)
    return KycStatus(
        status=view.status,  # type: ignore[arg-type]  # the table's check constraint holds it
        current_tier=current_tier,
        submission_id=view.id,
        target_tier=view.target_tier,
        submitted_at=view.submitted_at,
        reviewed_at=view.reviewed_at,
        rejection_reason=view.rejection_reason if view.status == "rejected" else None,
        document_kinds=tuple(view.document_kinds),
    )


def _target_tier(profile: Profile, requested: int | None) -> int:
    if profile.kyc_tier >= TOP_TIER or (requested is not None and requested <= profile.kyc_tier):
        raise KycAlreadyVerified(currentTier=profile.kyc_tier)
    target = profile.kyc_tier + 1 if requested is None else requested
    if target > profile.kyc_tier + 1:
        raise KycIdentityFirst(currentTier=profile.kyc_tier)
    return target


def _check_files(documents: Sequence[KycDocument]) -> None:
    for position, document in enumerate(documents):
        signatures = ALLOWED_CONTENT_TYPES.get(document.content_type)
        if (
            signatures is None
            or not 0 < len(document.image) <= MAX_IMAGE_BYTES
            or not document.image.startswith(signatures)
        ):
            raise KycFileNotAccepted(document=position)


class KycService:
    """``GET`` and ``POST /v1/me/kyc``."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        vault: KycVault,
        personal: PersonalData,
        screener: Screener,
        auto_approve: bool,
    ) -> None:
        self._engine = engine
        self._vault = vault
        self._personal = personal
        self._screener = screener
        self._auto_approve = auto_approve

    @classmethod
    def for_state(cls, state: State) -> KycService:
        """Built from the app's settings, engine and screener; demo approval never in prod."""
        settings = state.settings
        secrets = settings.secrets
        return cls(
            engine=state.engine,
            vault=KycVault(Sealer(secrets.data_keys), BlindIndex(secrets.secret_key)),
            personal=state.identity.personal_data,
            screener=state.screener,
            auto_approve=settings.demo_kyc_auto_approve and settings.env != "prod",
        )

    async def status(self, customer_id: int) -> KycStatus:
        """The customer's latest submission and tier."""
        async with self._engine.connect() as conn:
            record = await customers.get(conn, customer_id)  # the tier only: nothing unsealed
            if record is None:
                raise CustomerNotFound()
            return _status(record.kyc_tier, await latest_submission(conn, customer_ref(customer_id)))

    async def submit(self, customer_id: int, request: KycRequest) -> KycStatus:
        """Store a submission for review (and screen the customer); bad input changes nothing."""
        ref = customer_ref(customer_id)
        _check_files(request.documents)
        async with self._engine.begin() as conn:
            profile = await load_profile(conn, self._personal, customer_id)
            target = _target_tier(profile, request.target_tier)
            if not (profile.given_name and profile.family_name and profile.birth_date):
                raise KycProfileIncomplete()
            submission_id = await self._store(conn, ref, target, profile.kyc_tier, request)
            decision = await self._screen(conn, customer_id)
            if self._auto_approve and decision == "clear":
                await approve_submission(
                    conn,
                    submission_id,
                    DEMO_APPROVER,
                    identity_set_tier,
                    reason="demo auto-approval (KORPU_DEMO_KYC_AUTO_APPROVE)",
                )
            record = await customers.get(conn, customer_id)
            assert record is not None  # loaded above, in this transaction
            return _status(record.kyc_tier, await latest_submission(conn, ref))

    async def _store(
        self, conn: AsyncConnection, ref: str, target: int, current: int, request: KycRequest
    ) -> int:
        uploads = [
            DocumentUpload(d.kind, d.image, d.content_type, d.number, d.issuing_country)
            for d in request.documents
        ]
        details = None
        if request.address is not None or request.source_of_funds is not None:
            details = EnhancedDetails(request.address or "", request.source_of_funds or "")
        try:
            return await submit_kyc(
                conn,
                self._vault,
                ref,
                target,
                uploads,
                details if target == TOP_TIER else None,
                current_tier=current,
            )
        except KycSubmissionPending:
            raise KycAlreadyPending() from None
        except InvalidKycSubmission as exc:
            raise KycSubmissionRefused(problem=str(exc)) from None

    async def _screen(self, conn: AsyncConnection, customer_id: int) -> Decision | None:
        """Screen the customer at onboarding; a review or hit opens an alert. ``None`` when no list
        is loaded (the transfer screening will decide ``review`` then)."""
        subject = await customer_subject(conn, self._personal, customer_id)
        if subject is None:
            return None
        ref = customer_ref(customer_id)
        try:
            result, _ = await screen_subject(conn, self._screener, ref, subject, trigger="kyc")
        except ScreeningNotReady:
            return None
        if result.decision != "clear":
            outcome: Literal["review", "block"] = "block" if result.decision == "hit" else "review"
            reasons = [{**reason, "subjectRef": ref} for reason in result.alert_reasons()]
            await open_alert(conn, ref, None, "screening", reasons, outcome=outcome)
        return result.decision


def kyc_service_of(state: State) -> KycService:
    """The application's :class:`KycService` (``app.state.kyc``)."""
    service: KycService = state.kyc
    return service
