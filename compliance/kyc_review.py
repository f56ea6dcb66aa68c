"""KYC submissions from customers and their review by officers.

A customer submits documents for the next tier: tier 1 needs an identity document (passport,
national identity card or residence permit) with its number and issuing country; tier 2 needs a
proof of address and a source-of-funds document, with the address and a source-of-funds
declaration. Numbers, images and details are sealed at rest (AES-256-GCM, see
:mod:`compliance.privacy`); a blind index of each document number lets a reviewer see that the same
passport was already used by another customer. A submission is ``submitted``, then ``approved`` (the
customer's tier changes through the caller's ``set_tier``) or ``rejected`` with a reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.audit import record_audit
from compliance.clock import as_utc, utc_now
from compliance.errors import (
    DocumentNotFound,
    InvalidKycSubmission,
    KycSubmissionNotPending,
    KycSubmissionPending,
    ReasonRequired,
    SubmissionNotFound,
)
from compliance.officers import Officer
from compliance.privacy import BlindIndex, Sealer
from compliance.tables import kyc_documents, kyc_submissions

__all__ = [
    "ALLOWED_CONTENT_TYPES",
    "IDENTITY_KINDS",
    "MAX_IMAGE_BYTES",
    "DocumentImage",
    "DocumentKind",
    "DocumentUpload",
    "DocumentView",
    "EnhancedDetails",
    "KycVault",
    "SetTier",
    "SubmissionDetail",
    "SubmissionView",
    "approve_submission",
    "document_image",
    "get_submission",
    "latest_submission",
    "list_submissions",
    "reject_submission",
    "submit_kyc",
]

DocumentKind = Literal["passport", "national_id", "residence_permit", "proof_of_address", "source_of_funds"]
IDENTITY_KINDS = frozenset({"passport", "national_id", "residence_permit"})
_ALL_KINDS = IDENTITY_KINDS | {"proof_of_address", "source_of_funds"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_DOCUMENTS = 6
# The content type a customer claims must match the file's first bytes.
ALLOWED_CONTENT_TYPES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}
_NUMBER = re.compile(r"^[A-Z0-9]{3,32}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_NUMBER_CONTEXT = "kyc.document.number"
_IMAGE_CONTEXT = "kyc.document.image"
_DETAILS_CONTEXT = "kyc.submission.details"

SetTier = Callable[[AsyncConnection, str, int], Awaitable[None]]
"""Changes a customer's tier in the caller's transaction (the identity capability supplies it)."""


@dataclass(frozen=True, slots=True)
class KycVault:
    """The keys KYC data is sealed and indexed with."""

    sealer: Sealer
    index: BlindIndex


@dataclass(frozen=True, slots=True)
class DocumentUpload:
    """One document as the customer sends it."""

    kind: str
    """One of :data:`DocumentKind`."""
    image: bytes
    """JPEG, PNG or PDF, at most :data:`MAX_IMAGE_BYTES`."""
    content_type: str
    """``image/jpeg``, ``image/png`` or ``application/pdf``."""
    number: str | None = None
    """Document number; required for identity documents."""
    issuing_country: str | None = None
    """ISO 3166-1 alpha-2; required for identity documents."""


@dataclass(frozen=True, slots=True)
class EnhancedDetails:
    """What tier 2 adds besides documents."""

    address: str
    """Residential address."""
    source_of_funds: str
    """The customer's own account of where the money comes from (salary, business, ...)."""


@dataclass(frozen=True, slots=True)
class SubmissionView:
    id: int
    customer_ref: str
    target_tier: int
    status: str
    submitted_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    rejection_reason: str | None
    document_kinds: list[str]


@dataclass(frozen=True, slots=True)
class DocumentView:
    id: int
    kind: str
    issuing_country: str | None
    number: str | None
    content_type: str
    size_bytes: int
    used_by_other_customers: list[str]
    """Other customers whose submissions carry the same document number."""


@dataclass(frozen=True, slots=True)
class SubmissionDetail:
    submission: SubmissionView
    documents: list[DocumentView]
    details: EnhancedDetails | None


@dataclass(frozen=True, slots=True)
class DocumentImage:
    document_id: int
    submission_id: int
    customer_ref: str
    content_type: str
    image: bytes


def _normalise_number(number: str) -> str:
    return re.sub(r"[\s\-./]", "", number).upper()


def _check_document(document: DocumentUpload) -> None:
    if document.kind not in _ALL_KINDS:
        raise InvalidKycSubmission(f"unknown document kind {document.kind!r}")
    signatures = ALLOWED_CONTENT_TYPES.get(document.content_type)
    if signatures is None:
        raise InvalidKycSubmission("a document is a JPEG, PNG or PDF file")
    if not document.image or len(document.image) > MAX_IMAGE_BYTES:
        raise InvalidKycSubmission(f"a document file has 1 byte to {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    if not document.image.startswith(signatures):
        raise InvalidKycSubmission(f"the {document.kind} file is not a {document.content_type} file")
    if document.kind in IDENTITY_KINDS:
        if not document.number or not _NUMBER.match(_normalise_number(document.number)):
            raise InvalidKycSubmission(f"a {document.kind} needs its number (3 to 32 letters and digits)")
        if not document.issuing_country or not _COUNTRY.match(document.issuing_country):
            raise InvalidKycSubmission(f"a {document.kind} needs its issuing country (ISO alpha-2)")


def _check_submission(
    target_tier: int,
    current_tier: int,
    documents: Sequence[DocumentUpload],
    details: EnhancedDetails | None,
) -> None:
    if target_tier not in (1, 2):
        raise InvalidKycSubmission("documents are submitted for tier 1 or tier 2")
    if target_tier <= current_tier:
        raise InvalidKycSubmission(f"the customer is already at tier {current_tier}")
    if target_tier == 2 and current_tier < 1:
        raise InvalidKycSubmission("tier 2 needs an approved identity document (tier 1) first")
    if not documents or len(documents) > MAX_DOCUMENTS:
        raise InvalidKycSubmission(f"a submission has 1 to {MAX_DOCUMENTS} documents")
    for document in documents:
        _check_document(document)
    kinds = {document.kind for document in documents}
    if target_tier == 1 and not kinds & IDENTITY_KINDS:
        raise InvalidKycSubmission("tier 1 needs a passport, national identity card or residence permit")
    if target_tier == 2:
        missing = {"proof_of_address", "source_of_funds"} - kinds
        if missing:
            raise InvalidKycSubmission(f"tier 2 needs {' and '.join(sorted(missing))} documents")
        if details is None or not details.address.strip() or not details.source_of_funds.strip():
            raise InvalidKycSubmission("tier 2 needs the address and a source-of-funds declaration")


async def submit_kyc(
    conn: AsyncConnection,
    vault: KycVault,
    customer_ref: str,
    target_tier: int,
    documents: Sequence[DocumentUpload],
    details: EnhancedDetails | None = None,
    *,
    current_tier: int,
    now: datetime | None = None,
) -> int:
    """Store a submission for review; returns its id. Bad input changes nothing.

    ``kyc_submission_pending`` when the customer already has one waiting for review.
    """
    _check_submission(target_tier, current_tier, documents, details)
    now = as_utc(now or utc_now())
    sealed_details = None
    if target_tier == 2 and details is not None:
        payload = json.dumps({"address": details.address, "sourceOfFunds": details.source_of_funds})
        sealed_details = vault.sealer.seal_text(payload, _DETAILS_CONTEXT)
    try:
        async with conn.begin_nested():
            inserted = await conn.execute(
                insert(kyc_submissions).returning(kyc_submissions.c.id),
                {
                    "customer_ref": customer_ref,
                    "target_tier": target_tier,
                    "status": "submitted",
                    "pending_customer_ref": customer_ref,
                    "details_sealed": sealed_details,
                    "submitted_at": now,
                },
            )
    except IntegrityError:
        raise KycSubmissionPending("a KYC submission is already waiting for review") from None
    submission_id = int(inserted.scalar_one())
    for document in documents:
        number = _normalise_number(document.number) if document.number else None
        await conn.execute(
            insert(kyc_documents),
            {
                "submission_id": submission_id,
                "kind": document.kind,
                "issuing_country": document.issuing_country,
                "number_sealed": vault.sealer.seal_text(number, _NUMBER_CONTEXT) if number else None,
                "number_index": (
                    vault.index.digest(f"{document.issuing_country}:{number}", _NUMBER_CONTEXT)
                    if number
                    else None
                ),
                "image_sealed": vault.sealer.seal(document.image, _IMAGE_CONTEXT.encode()),
                "content_type": document.content_type,
                "size_bytes": len(document.image),
                "created_at": now,
            },
        )
    await record_audit(
        conn,
        f"customer:{customer_ref}",
        "kyc.submitted",
        "kyc_submission",
        str(submission_id),
        details={"targetTier": target_tier, "kinds": sorted(d.kind for d in documents)},
        now=now,
    )
    return submission_id


_s, _d = kyc_submissions.c, kyc_documents.c


def _submission_view(row: Any, kinds: list[str]) -> SubmissionView:
    return SubmissionView(
        id=int(row.id),
        customer_ref=row.customer_ref,
        target_tier=int(row.target_tier),
        status=row.status,
        submitted_at=as_utc(row.submitted_at),
        reviewed_at=as_utc(row.reviewed_at) if row.reviewed_at else None,
        reviewed_by=row.reviewed_by,
        rejection_reason=row.rejection_reason,
        document_kinds=kinds,
    )


async def _kinds_by_submission(conn: AsyncConnection, ids: list[int]) -> dict[int, list[str]]:
    kinds: dict[int, list[str]] = {submission_id: [] for submission_id in ids}
    if ids:
        rows = await conn.execute(
            select(_d.submission_id, _d.kind).where(_d.submission_id.in_(ids)).order_by(_d.id)
        )
        for row in rows:
            kinds[int(row.submission_id)].append(row.kind)
    return kinds


async def list_submissions(
    conn: AsyncConnection,
    *,
    status: str | None = "submitted",
    customer_ref: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[SubmissionView]:
    """The review queue, oldest first (no personal data); ``after_id`` is the cursor."""
    query = select(kyc_submissions).order_by(_s.id).limit(limit)
    if status is not None:
        query = query.where(_s.status == status)
    if customer_ref is not None:
        query = query.where(_s.customer_ref == customer_ref)
    if after_id is not None:
        query = query.where(_s.id > after_id)
    rows = list(await conn.execute(query))
    kinds = await _kinds_by_submission(conn, [int(row.id) for row in rows])
    return [_submission_view(row, kinds[int(row.id)]) for row in rows]


async def latest_submission(conn: AsyncConnection, customer_ref: str) -> SubmissionView | None:
    """The customer's most recent submission (what the app shows: waiting, approved, rejected why)."""
    row = (
        await conn.execute(
            select(kyc_submissions).where(_s.customer_ref == customer_ref).order_by(_s.id.desc()).limit(1)
        )
    ).one_or_none()
    if row is None:
        return None
    kinds = await _kinds_by_submission(conn, [int(row.id)])
    return _submission_view(row, kinds[int(row.id)])


def _open_number(vault: KycVault, sealed: bytes | None) -> str | None:
    return vault.sealer.open_text(sealed, _NUMBER_CONTEXT) if sealed else None


async def get_submission(conn: AsyncConnection, vault: KycVault, submission_id: int) -> SubmissionDetail:
    """One submission with its documents' numbers opened (for an officer); images stay sealed."""
    row = (await conn.execute(select(kyc_submissions).where(_s.id == submission_id))).one_or_none()
    if row is None:
        raise SubmissionNotFound(f"no KYC submission {submission_id}")
    documents = list(await conn.execute(select(kyc_documents).where(_d.submission_id == submission_id)))
    indexes = [doc.number_index for doc in documents if doc.number_index]
    shared: dict[str, set[str]] = {}
    if indexes:
        others = await conn.execute(
            select(_d.number_index, _s.customer_ref)
            .join(kyc_submissions, _s.id == _d.submission_id)
            .where(_d.number_index.in_(indexes), _s.customer_ref != row.customer_ref)
        )
        for other in others:
            shared.setdefault(other.number_index, set()).add(other.customer_ref)
    details = None
    if row.details_sealed is not None:
        opened = json.loads(vault.sealer.open_text(row.details_sealed, _DETAILS_CONTEXT))
        details = EnhancedDetails(address=opened["address"], source_of_funds=opened["sourceOfFunds"])
    return SubmissionDetail(
        submission=_submission_view(row, [doc.kind for doc in documents]),
        documents=[
            DocumentView(
                id=int(doc.id),
                kind=doc.kind,
                issuing_country=doc.issuing_country,
                number=vault.sealer.open_text(doc.number_sealed, _NUMBER_CONTEXT)
                if doc.number_sealed
                else None,
                content_type=doc.content_type,
                size_bytes=int(doc.size_bytes),
                used_by_other_customers=sorted(shared.get(doc.number_index, ())),
            )
            for doc in documents
        ],
        details=details,
    )


async def document_image(conn: AsyncConnection, vault: KycVault, document_id: int) -> DocumentImage:
    """A document's image, opened; the caller shows it only to officers and audits the view."""
    row = (
        await conn.execute(
            select(kyc_documents, _s.customer_ref)
            .join(kyc_submissions, _s.id == _d.submission_id)
            .where(_d.id == document_id)
        )
    ).one_or_none()
    if row is None:
        raise DocumentNotFound(f"no KYC document {document_id}")
    return DocumentImage(
        document_id=int(row.id),
        submission_id=int(row.submission_id),
        customer_ref=row.customer_ref,
        content_type=row.content_type,
        image=vault.sealer.open(row.image_sealed, _IMAGE_CONTEXT.encode()),
    )


async def _pending(conn: AsyncConnection, submission_id: int) -> Any:
    query = select(kyc_submissions).where(_s.id == submission_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        raise SubmissionNotFound(f"no KYC submission {submission_id}")
    if row.status != "submitted":
        raise KycSubmissionNotPending(f"KYC submission {submission_id} is already {row.status}")
    return row


async def approve_submission(
    conn: AsyncConnection,
    submission_id: int,
    officer: Officer,
    set_tier: SetTier,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> SubmissionView:
    """Approve: the customer moves to the submission's tier (through ``set_tier``, same transaction)."""
    officer.require_officer()
    now = as_utc(now or utc_now())
    row = await _pending(conn, submission_id)
    await conn.execute(
        update(kyc_submissions)
        .where(_s.id == submission_id)
        .values(status="approved", pending_customer_ref=None, reviewed_at=now, reviewed_by=officer.actor)
    )
    await set_tier(conn, row.customer_ref, int(row.target_tier))
    await record_audit(
        conn,
        officer.actor,
        "kyc.approved",
        "kyc_submission",
        str(submission_id),
        (reason or "").strip() or None,
        {"customerRef": row.customer_ref, "tier": int(row.target_tier)},
        now=now,
    )
    return (await list_submissions(conn, status=None, after_id=submission_id - 1, limit=1))[0]


async def reject_submission(
    conn: AsyncConnection,
    submission_id: int,
    officer: Officer,
    reason: str,
    *,
    now: datetime | None = None,
) -> SubmissionView:
    """Reject with a reason the customer will see (say what to fix, e.g. "photo page unreadable")."""
    officer.require_officer()
    text = (reason or "").strip()
    if len(text) < 3 or len(text) > 500:
        raise ReasonRequired("a rejection needs a reason of 3 to 500 characters")
    now = as_utc(now or utc_now())
    row = await _pending(conn, submission_id)
    await conn.execute(
        update(kyc_submissions)
        .where(_s.id == submission_id)
        .values(
            status="rejected",
            pending_customer_ref=None,
            reviewed_at=now,
            reviewed_by=officer.actor,
            rejection_reason=text,
        )
    )
    await record_audit(
        conn,
        officer.actor,
        "kyc.rejected",
        "kyc_submission",
        str(submission_id),
        text,
        {"customerRef": row.customer_ref, "tier": int(row.target_tier)},
        now=now,
    )
    return (await list_submissions(conn, status=None, after_id=submission_id - 1, limit=1))[0]
