"""Domain errors of the compliance capability, each with a stable ``code`` and an HTTP ``status``.

The web layer turns them into problem details (see backend/problems.py); the message is safe to
show to the caller and never carries personal data.
"""

from __future__ import annotations

__all__ = [
    "BlockedTransferNeedsRelease",
    "CaseActionNotAllowed",
    "CaseNotFound",
    "ComplianceError",
    "DocumentNotFound",
    "FourEyesRequired",
    "InvalidKycSubmission",
    "InvalidRuleParams",
    "KycSubmissionNotPending",
    "KycSubmissionPending",
    "ReasonRequired",
    "ReleaseNotAllowed",
    "ReleaseRequestNotFound",
    "RuleChangedConcurrently",
    "SeniorOfficerRequired",
    "SubmissionNotFound",
    "TransferNotReviewed",
    "UnknownRule",
]


class ComplianceError(Exception):
    """Base of every compliance error."""

    code = "compliance_error"
    status = 422


class ReasonRequired(ComplianceError):
    code = "reason_required"
    status = 422


class CaseNotFound(ComplianceError):
    code = "case_not_found"
    status = 404


class TransferNotReviewed(ComplianceError):
    code = "transfer_not_in_review"
    status = 404


class CaseActionNotAllowed(ComplianceError):
    code = "case_action_not_allowed"
    status = 409


class BlockedTransferNeedsRelease(ComplianceError):
    code = "blocked_transfer_needs_release"
    status = 409


class SeniorOfficerRequired(ComplianceError):
    code = "senior_officer_required"
    status = 403


class FourEyesRequired(ComplianceError):
    code = "four_eyes_required"
    status = 403


class ReleaseRequestNotFound(ComplianceError):
    code = "release_request_not_found"
    status = 404


class ReleaseNotAllowed(ComplianceError):
    code = "release_not_allowed"
    status = 409


class SubmissionNotFound(ComplianceError):
    code = "kyc_submission_not_found"
    status = 404


class DocumentNotFound(ComplianceError):
    code = "kyc_document_not_found"
    status = 404


class KycSubmissionPending(ComplianceError):
    code = "kyc_submission_pending"
    status = 409


class KycSubmissionNotPending(ComplianceError):
    code = "kyc_submission_already_reviewed"
    status = 409


class InvalidKycSubmission(ComplianceError):
    code = "invalid_kyc_submission"
    status = 422


class UnknownRule(ComplianceError):
    code = "monitoring_rule_not_found"
    status = 404


class InvalidRuleParams(ComplianceError):
    code = "invalid_rule_params"
    status = 422


class RuleChangedConcurrently(ComplianceError):
    code = "monitoring_rule_changed_concurrently"
    status = 409
