"""What the customer's KYC endpoints say to people: the errors and the status lines, as message ids
of the ``backend/i18n`` catalogs so that they reach the app in its ``Accept-Language``.

Each error has a stable ``code``, an HTTP ``status``, a ``title`` and a ``message`` (both catalog
ids). Specifics a developer needs (which document, the library's own explanation) travel in
``extra``, so every sentence stays translatable whole.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

__all__ = [
    "STATUS_TEXT",
    "KycAlreadyPending",
    "KycAlreadyVerified",
    "KycError",
    "KycFileNotAccepted",
    "KycIdentityFirst",
    "KycProfileIncomplete",
    "KycSubmissionRefused",
    "all_kyc_errors",
    "all_kyc_message_ids",
]


class KycError(Exception):
    """Base of the customer-facing KYC errors; :mod:`backend.problems` renders them."""

    code: ClassVar[str] = "kyc_error"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "Error"
    message: ClassVar[str] = "Error"

    def __init__(self, **extra: Any) -> None:
        super().__init__(self.message)
        self.extra: dict[str, Any] = extra


class KycProfileIncomplete(KycError):
    code, status, title = "kyc_profile_incomplete", 422, "Profile incomplete"
    message = "Add your name and date of birth to your profile before sending documents."


class KycAlreadyPending(KycError):
    code, status, title = "kyc_submission_pending", 409, "Documents already under review"
    message = "Your documents are already being reviewed. Wait for the answer before sending new ones."


class KycAlreadyVerified(KycError):
    code, status, title = "kyc_already_verified", 409, "Already verified"
    message = "You already have this verification level."


class KycIdentityFirst(KycError):
    code, status, title = "kyc_identity_first", 422, "Identity not verified yet"
    message = "Verify your identity document first."


class KycFileNotAccepted(KycError):
    code, status, title = "kyc_file_not_accepted", 422, "File not accepted"
    message = "Send each document as a JPEG, PNG or PDF file of at most 5 MB that matches its declared type."


class KycSubmissionRefused(KycError):
    code, status, title = "invalid_kyc_submission", 422, "Documents not accepted"
    message = "The documents do not meet the requirements of this verification level."


STATUS_TEXT: Final = {
    "none": "You have not sent any documents yet.",
    "submitted": "Your documents are being reviewed.",
    "approved": "Your documents were approved.",
    "rejected": "Your documents were not accepted. See the reason and send them again.",
}
"""The line the app shows for each state of the customer's latest submission."""


def all_kyc_errors() -> list[type[KycError]]:
    """Every concrete KYC error, for the translation test."""
    return sorted(KycError.__subclasses__(), key=lambda cls: cls.code)


def all_kyc_message_ids() -> list[str]:
    """Every message id this module shows."""
    ids = [*STATUS_TEXT.values()]
    for error in all_kyc_errors():
        ids += [error.title, error.message]
    return ids
