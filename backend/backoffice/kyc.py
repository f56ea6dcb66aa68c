"""Back office: the KYC review queue, a submission with its documents, the document images, and
the officer's approval or rejection. Views of personal data are audited, each one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import Parameter
from pydantic import Field

from backend.backoffice.common import OFFICERS, Camel, after_id, next_cursor, officer_of, vault_of
from backend.backoffice.hooks import hooks_of
from backend.staff.guards import StaffPrincipal
from compliance.audit import record_audit
from compliance.kyc_review import (
    SubmissionView,
    approve_submission,
    document_image,
    get_submission,
    list_submissions,
    reject_submission,
)

__all__ = ["KycReviewController"]

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size.")]


class SubmissionOut(Camel):
    id: int
    customer_ref: str
    target_tier: int
    status: str
    submitted_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    rejection_reason: str | None
    document_kinds: list[str]

    @classmethod
    def of(cls, view: SubmissionView) -> SubmissionOut:
        return cls(
            id=view.id,
            customer_ref=view.customer_ref,
            target_tier=view.target_tier,
            status=view.status,
            submitted_at=view.submitted_at,
            reviewed_at=view.reviewed_at,
            reviewed_by=view.reviewed_by,
            rejection_reason=view.rejection_reason,
            document_kinds=view.document_kinds,
        )


class SubmissionPage(Camel):
    items: list[SubmissionOut]
    next_cursor: str | None


class DocumentOut(Camel):
    id: int
    kind: str
    issuing_country: str | None
    number: str | None
    content_type: str
    size_bytes: int
    used_by_other_customers: list[str]
    image_url: str


class EnhancedDetailsOut(Camel):
    address: str
    source_of_funds: str


class SubmissionDetailOut(Camel):
    submission: SubmissionOut
    documents: list[DocumentOut]
    details: EnhancedDetailsOut | None


class ApproveIn(Camel):
    reason: str | None = Field(default=None, max_length=2000)


class RejectIn(Camel):
    reason: str = Field(max_length=500, description="Shown to the customer: say what to fix.")


class KycReviewController(Controller):
    path = "/backoffice/v1/kyc"
    tags = ["back office: KYC review"]
    guards = OFFICERS

    @get("/submissions", summary="The KYC review queue, oldest first")
    async def queue(
        self,
        state: State,
        staff: StaffPrincipal,
        status: str | None = "submitted",
        customer_ref: Annotated[str | None, Parameter(query="customerRef")] = None,
        limit: Limit = 50,
        cursor: str | None = None,
    ) -> SubmissionPage:
        officer_of(staff)
        async with state.engine.connect() as conn:
            views = await list_submissions(
                conn, status=status, customer_ref=customer_ref, after_id=after_id(cursor), limit=limit
            )
        items = [SubmissionOut.of(view) for view in views]
        return SubmissionPage(
            items=items, next_cursor=next_cursor(items, limit, items[-1].id if items else None)
        )

    @get("/submissions/{submission_id:int}", summary="One submission with its documents (audited)")
    async def submission(
        self, submission_id: int, state: State, staff: StaffPrincipal
    ) -> SubmissionDetailOut:
        officer = officer_of(staff)
        async with state.engine.begin() as conn:
            detail = await get_submission(conn, vault_of(state), submission_id)
            await record_audit(
                conn,
                officer.actor,
                "kyc.submission_viewed",
                "kyc_submission",
                str(submission_id),
                details={"customerRef": detail.submission.customer_ref},
            )
        return SubmissionDetailOut(
            submission=SubmissionOut.of(detail.submission),
            documents=[
                DocumentOut(
                    id=doc.id,
                    kind=doc.kind,
                    issuing_country=doc.issuing_country,
                    number=doc.number,
                    content_type=doc.content_type,
                    size_bytes=doc.size_bytes,
                    used_by_other_customers=doc.used_by_other_customers,
                    image_url=f"/backoffice/v1/kyc/documents/{doc.id}/image",
                )
                for doc in detail.documents
            ],
            details=(
                EnhancedDetailsOut(
                    address=detail.details.address, source_of_funds=detail.details.source_of_funds
                )
                if detail.details
                else None
            ),
        )

    @get(
        "/documents/{document_id:int}/image",
        summary="A document image, for officers only (every view audited)",
        media_type="application/octet-stream",
    )
    async def image(self, document_id: int, state: State, staff: StaffPrincipal) -> Response[bytes]:
        officer = officer_of(staff)
        async with state.engine.begin() as conn:
            opened = await document_image(conn, vault_of(state), document_id)
            await record_audit(
                conn,
                officer.actor,
                "kyc.document_viewed",
                "kyc_document",
                str(document_id),
                details={"submissionId": opened.submission_id, "customerRef": opened.customer_ref},
            )
        return Response(
            opened.image,
            media_type=opened.content_type,
            headers={
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Content-Disposition": f'inline; filename="document-{document_id}"',
            },
        )

    @post("/submissions/{submission_id:int}/approve", status_code=200, summary="Approve: the tier changes")
    async def approve(
        self, submission_id: int, data: ApproveIn, state: State, staff: StaffPrincipal
    ) -> SubmissionOut:
        officer = officer_of(staff)
        async with state.engine.begin() as conn:
            view = await approve_submission(
                conn, submission_id, officer, hooks_of(state).set_tier, reason=data.reason
            )
        return SubmissionOut.of(view)

    @post("/submissions/{submission_id:int}/reject", status_code=200, summary="Reject with a reason")
    async def reject(
        self, submission_id: int, data: RejectIn, state: State, staff: StaffPrincipal
    ) -> SubmissionOut:
        officer = officer_of(staff)
        async with state.engine.begin() as conn:
            view = await reject_submission(conn, submission_id, officer, data.reason)
        return SubmissionOut.of(view)
