"""``/v1/me/kyc``: send identity documents for review, and see where the review stands.

Documents travel as JSON with each file base64-encoded (RFC 4648, standard alphabet): one request,
one schema, and the app does not need a multipart encoder. A file decodes to at most 5 MiB, a
submission to at most :data:`MAX_SUBMISSION_BYTES`, and a request body is refused (413) above
:data:`MAX_BODY_BYTES`. The declared ``contentType`` must be JPEG, PNG or PDF and match the file's
first bytes.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from pydantic import BeforeValidator, Field, model_validator

from backend.i18n import Translator, translator, translator_for
from backend.identity.guards import CustomerPrincipal
from backend.kyc import KycDocument, KycRequest, KycStatus, kyc_service_of
from backend.kyc_errors import STATUS_TEXT
from compliance.kyc_review import MAX_IMAGE_BYTES
from mobile_api.schemas import CamelModel

__all__ = ["MAX_BODY_BYTES", "MAX_SUBMISSION_BYTES", "KycController"]

MAX_SUBMISSION_BYTES = 12 * 1024 * 1024
"""Decoded files of one submission together (a passport photo is typically well under 3 MiB)."""
MAX_BODY_BYTES = MAX_SUBMISSION_BYTES * 4 // 3 + 1024 * 1024
"""The request body limit: the files in base64 plus room for the rest of the JSON."""
_MAX_BASE64_CHARS = (MAX_IMAGE_BYTES + 2) // 3 * 4


def _decode_base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("a file is a base64 string")
    if len(value) > _MAX_BASE64_CHARS:
        raise ValueError(f"a file decodes to at most {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64 (standard alphabet, with padding)") from None


Base64File = Annotated[bytes, BeforeValidator(_decode_base64)]
DocumentKind = Literal["passport", "national_id", "residence_permit", "proof_of_address", "source_of_funds"]
ContentType = Literal["image/jpeg", "image/png", "application/pdf"]


class KycDocumentIn(CamelModel):
    kind: DocumentKind
    content_type: ContentType
    """Must match the file: JPEG, PNG or PDF."""
    image: Base64File = Field(
        description="The file, base64-encoded (standard alphabet, padded); at most 5 MiB decoded.",
        json_schema_extra={"contentEncoding": "base64"},
    )
    number: str | None = Field(default=None, max_length=64)
    """Document number; required for passport, national_id, residence_permit."""
    issuing_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    """ISO 3166-1 alpha-2; required for identity documents."""


class KycSubmissionIn(CamelModel):
    """Documents for the next verification level (``targetTier`` defaults to current tier + 1).

    Tier 1: a passport, national identity card or residence permit. Tier 2 (after tier 1): a proof of
    address and a source-of-funds document, with ``address`` and ``sourceOfFunds``."""

    documents: list[KycDocumentIn] = Field(min_length=1, max_length=6)
    target_tier: Literal[1, 2] | None = None
    address: str | None = Field(default=None, max_length=500)
    source_of_funds: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _within_the_size_limit(self) -> KycSubmissionIn:
        if sum(len(document.image) for document in self.documents) > MAX_SUBMISSION_BYTES:
            raise ValueError(f"the files of one submission add up to at most {MAX_SUBMISSION_BYTES} bytes")
        return self


class KycStatusResponse(CamelModel):
    status: Literal["none", "submitted", "approved", "rejected"]
    """Of the latest submission: ``none`` (nothing sent), ``submitted`` (being reviewed), ``approved``,
    ``rejected`` (see ``rejectionReason``)."""
    status_text: str
    """The status as a sentence in the caller's language."""
    current_tier: int
    """0 phone verified (may receive only), 1 identity verified, 2 enhanced."""
    submission_id: int | None
    target_tier: int | None
    submitted_at: datetime | None
    reviewed_at: datetime | None
    rejection_reason: str | None
    """What the officer asks to fix, when rejected (in the officer's words)."""
    document_kinds: list[str]


def _reply(status: KycStatus, language: Translator) -> KycStatusResponse:
    return KycStatusResponse(
        status=status.status,
        status_text=language.gettext(STATUS_TEXT[status.status]),
        current_tier=status.current_tier,
        submission_id=status.submission_id,
        target_tier=status.target_tier,
        submitted_at=status.submitted_at,
        reviewed_at=status.reviewed_at,
        rejection_reason=status.rejection_reason,
        document_kinds=list(status.document_kinds),
    )


def _language(request: Request[Any, Any, Any], principal: CustomerPrincipal) -> Translator:
    header = request.headers.get("accept-language")
    return translator_for(header) if header else translator(principal.language)


class KycController(Controller):
    path = "/v1/me/kyc"
    tags = ["KYC"]

    @get("", summary="Where my KYC review stands")
    async def status(
        self, request: Request[Any, Any, Any], principal: CustomerPrincipal, state: State
    ) -> KycStatusResponse:
        status = await kyc_service_of(state).status(principal.customer_id)
        return _reply(status, _language(request, principal))

    @post(
        "",
        status_code=201,
        summary="Send documents for the next verification level",
        request_max_body_size=MAX_BODY_BYTES,
    )
    async def submit(
        self,
        data: KycSubmissionIn,
        request: Request[Any, Any, Any],
        principal: CustomerPrincipal,
        state: State,
    ) -> KycStatusResponse:
        submission = KycRequest(
            documents=[
                KycDocument(d.kind, d.image, d.content_type, d.number, d.issuing_country)
                for d in data.documents
            ],
            target_tier=data.target_tier,
            address=data.address,
            source_of_funds=data.source_of_funds,
        )
        status = await kyc_service_of(state).submit(principal.customer_id, submission)
        return _reply(status, _language(request, principal))
