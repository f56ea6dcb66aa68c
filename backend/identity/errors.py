"""Errors of the identity capability, each with a stable ``code``, an HTTP ``status``, a ``title``
and a default ``message``.

Titles and messages are English message ids of the ``backend/i18n`` catalogs, so the problem
details a caller gets are in the language of its ``Accept-Language``. Numbers a client needs (tries
left, when a lock ends) travel in ``extra`` rather than inside the sentence, which keeps every
message translatable as a whole.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

__all__ = [
    "AccountBlocked",
    "ChallengeNotFound",
    "ChallengeUsed",
    "CodeAttemptsExhausted",
    "CodeExpired",
    "CustomerNotFound",
    "IbanCountryMismatch",
    "IdentityError",
    "InvalidBirthDate",
    "InvalidCardNumber",
    "InvalidCode",
    "InvalidCountry",
    "InvalidCursor",
    "InvalidIban",
    "InvalidName",
    "InvalidPhone",
    "InvalidPinFormat",
    "InvalidRefreshToken",
    "InvalidWalletPhone",
    "OtpRateLimited",
    "PhoneNotMobile",
    "PinAlreadySet",
    "PinLocked",
    "PinNotSet",
    "PinRequired",
    "RecipientNotFound",
    "RefreshTokenReused",
    "SessionRevoked",
    "SmsUnavailable",
    "TokenExpired",
    "Unauthorized",
    "VerifiedProfileLocked",
    "WrongPin",
    "all_identity_errors",
]


class IdentityError(Exception):
    """Base of the identity errors; :mod:`backend.problems` renders them as problem+json."""

    code: ClassVar[str] = "identity_error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Error"
    message: ClassVar[str] = "Error"

    def __init__(self, **extra: Any) -> None:
        super().__init__(self.message)
        self.extra: dict[str, Any] = extra
        self.headers: dict[str, str] = {}


class InvalidPhone(IdentityError):
    code, status, title = "invalid_phone", 422, "Invalid phone number"
    message = "This is not a valid phone number. Enter it with the country code, e.g. +994 50 123 45 67."


class PhoneNotMobile(IdentityError):
    code, status, title = "phone_not_mobile", 422, "Not a mobile number"
    message = "Codes are sent by SMS, so this must be a mobile number."


class OtpRateLimited(IdentityError):
    code, status, title = "otp_rate_limited", 429, "Too many codes requested"
    message = "Too many codes were requested for this number. Wait a little before asking again."

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(retryAfter=retry_after_seconds)
        self.headers["Retry-After"] = str(retry_after_seconds)


class SmsUnavailable(IdentityError):
    code, status, title = "sms_unavailable", 503, "SMS not sent"
    message = "We could not send the SMS right now. Please try again in a minute."


class ChallengeNotFound(IdentityError):
    code, status, title = "challenge_not_found", 404, "Sign-in not found"
    message = "This sign-in attempt does not exist. Request a new code."


class ChallengeUsed(IdentityError):
    code, status, title = "challenge_used", 409, "Code already used"
    message = "This code has already been used. Request a new code."


class CodeExpired(IdentityError):
    code, status, title = "code_expired", 422, "Code expired"
    message = "This code has expired. Request a new code."


class InvalidCode(IdentityError):
    code, status, title = "invalid_code", 422, "Wrong code"
    message = "The code is not correct."

    def __init__(self, attempts_left: int) -> None:
        super().__init__(attemptsLeft=attempts_left)


class CodeAttemptsExhausted(IdentityError):
    code, status, title = "code_attempts_exhausted", 429, "Too many wrong codes"
    message = "Too many wrong codes were entered. Request a new code."


class AccountBlocked(IdentityError):
    code, status, title = "account_blocked", 403, "Account blocked"
    message = "This account is blocked. Please contact support."


class Unauthorized(IdentityError):
    code, status, title = "unauthorized", 401, "Sign-in required"
    message = "Sign in to continue."

    def __init__(self) -> None:
        super().__init__()
        self.headers["WWW-Authenticate"] = "Bearer"


class TokenExpired(IdentityError):
    code, status, title = "token_expired", 401, "Session expired"
    message = "Your access token has expired. Refresh it."

    def __init__(self) -> None:
        super().__init__()
        self.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'


class SessionRevoked(IdentityError):
    code, status, title = "session_revoked", 401, "Signed out"
    message = "This session has ended. Sign in again."


class InvalidRefreshToken(IdentityError):
    code, status, title = "invalid_refresh_token", 401, "Signed out"
    message = "This refresh token is not valid. Sign in again."


class RefreshTokenReused(IdentityError):
    code, status, title = "refresh_token_reused", 401, "Signed out for safety"
    message = (
        "This refresh token was already used, so the session has been closed for your safety. Sign in again."
    )


class PinRequired(IdentityError):
    code, status, title = "pin_required", 403, "PIN required"
    message = "Enter your PIN to continue."

    def __init__(self, pin_set: bool) -> None:
        super().__init__(pinSet=pin_set)


class PinNotSet(IdentityError):
    code, status, title = "pin_not_set", 409, "No PIN yet"
    message = "Set a PIN first."


class PinAlreadySet(IdentityError):
    code, status, title = "pin_already_set", 409, "PIN already set"
    message = "A PIN is already set. Give the current PIN to change it."


class InvalidPinFormat(IdentityError):
    code, status, title = "invalid_pin_format", 422, "Invalid PIN"
    message = "A PIN is 4 to 6 digits."


class WrongPin(IdentityError):
    code, status, title = "wrong_pin", 403, "Wrong PIN"
    message = "The PIN is not correct."

    def __init__(self, attempts_left: int) -> None:
        super().__init__(attemptsLeft=attempts_left)


class PinLocked(IdentityError):
    code, status, title = "pin_locked", 423, "PIN locked"
    message = "Too many wrong PIN attempts. Your PIN is locked for a while; try again later."

    def __init__(self, locked_until: datetime, retry_after_seconds: int) -> None:
        super().__init__(lockedUntil=locked_until.isoformat(), retryAfter=retry_after_seconds)
        self.locked_until = locked_until
        self.headers["Retry-After"] = str(retry_after_seconds)


class InvalidName(IdentityError):
    code, status, title = "invalid_name", 422, "Invalid name"
    message = "Names may contain letters, spaces, hyphens and apostrophes only."

    def __init__(self, field: str) -> None:
        super().__init__(field=field)


class InvalidBirthDate(IdentityError):
    code, status, title = "invalid_birth_date", 422, "Invalid date of birth"
    message = "The date of birth must be a real date in the past."


class VerifiedProfileLocked(IdentityError):
    code, status, title = "verified_profile_locked", 409, "Verified details cannot change"
    message = "Your name and date of birth were verified and cannot be changed here. Please contact support."


class CustomerNotFound(IdentityError):
    code, status, title = "customer_not_found", 404, "Customer not found"
    message = "There is no such customer."


class RecipientNotFound(IdentityError):
    code, status, title = "recipient_not_found", 404, "Recipient not found"
    message = "There is no such recipient."


class InvalidIban(IdentityError):
    code, status, title = "invalid_iban", 422, "Invalid IBAN"
    message = "This IBAN is not valid. Check it and try again."


class IbanCountryMismatch(IdentityError):
    code, status, title = "iban_country_mismatch", 422, "IBAN from another country"
    message = "The IBAN must belong to a bank in the recipient's country."


class InvalidCardNumber(IdentityError):
    code, status, title = "invalid_card_number", 422, "Invalid card number"
    message = "This card number is not valid. Check it and try again."


class InvalidWalletPhone(IdentityError):
    code, status, title = "invalid_wallet_phone", 422, "Invalid wallet phone number"
    message = "The wallet phone number is not valid. Enter it with the country code."


class InvalidCountry(IdentityError):
    code, status, title = "invalid_country", 422, "Invalid country"
    message = "This is not a known country code."


class InvalidCursor(IdentityError):
    code, status, title = "invalid_cursor", 400, "Invalid cursor"
    message = "This cursor is not valid."


def all_identity_errors() -> list[type[IdentityError]]:
    """Every concrete identity error, for the docs' table and the translation test."""
    return sorted(IdentityError.__subclasses__(), key=lambda cls: cls.code)
