"""The ledger's refusals, each with a stable ``code`` and the HTTP ``status`` it maps to.

A refused request changes nothing: every check runs before the first write of its entry.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccountConflict",
    "AccountCurrencyMismatch",
    "EntryConflict",
    "HoldExpired",
    "HoldNotExpired",
    "HoldNotFound",
    "HoldNotPending",
    "InsufficientFunds",
    "InvalidAmounts",
    "InvalidEntry",
    "LedgerError",
    "UnbalancedEntry",
    "UnknownAccount",
    "UnknownEntry",
    "error_for_code",
]


class LedgerError(Exception):
    """Base of the ledger's domain errors; ``str(error)`` is safe to show to the caller."""

    code = "ledger_error"
    status = 422

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.extra: dict[str, Any] = extra


class InvalidEntry(LedgerError):
    """The request is malformed: fewer than two postings, a non-positive amount, a bad expiry."""

    code = "invalid_entry"
    status = 422


class UnbalancedEntry(LedgerError):
    """For some currency the debits do not equal the credits."""

    code = "unbalanced_entry"
    status = 422


class EntryConflict(LedgerError):
    """The entry id was used before for a request with other content."""

    code = "entry_conflict"
    status = 422


class InsufficientFunds(LedgerError):
    """A posting would break an account's balance limit (``debits_must_not_exceed_credits`` etc.)."""

    code = "insufficient_funds"
    status = 422


class AccountCurrencyMismatch(LedgerError):
    """A posting's currency is not its account's currency."""

    code = "currency_mismatch"
    status = 422


class UnknownAccount(LedgerError):
    code = "unknown_account"
    status = 404


class UnknownEntry(LedgerError):
    code = "unknown_entry"
    status = 404


class AccountConflict(LedgerError):
    """An account with this code exists with another currency, normal side, flags or shards."""

    code = "account_conflict"
    status = 409


class HoldNotFound(LedgerError):
    code = "hold_not_found"
    status = 404


class HoldNotPending(LedgerError):
    """The hold was already posted, voided or expired (or the entry is not a hold)."""

    code = "hold_not_pending"
    status = 409


class HoldExpired(LedgerError):
    """The hold's expiry has passed; it can only be expired now."""

    code = "hold_expired"
    status = 409


class HoldNotExpired(LedgerError):
    code = "hold_not_expired"
    status = 409


class InvalidAmounts(LedgerError):
    """Partial amounts that do not fit the hold: wrong count, above the held amount, unbalanced."""

    code = "invalid_amounts"
    status = 422


_BY_CODE: dict[str, type[LedgerError]] = {
    cls.code: cls
    for cls in (
        InvalidEntry,
        UnbalancedEntry,
        EntryConflict,
        InsufficientFunds,
        AccountCurrencyMismatch,
        UnknownAccount,
        UnknownEntry,
        AccountConflict,
        HoldNotFound,
        HoldNotPending,
        HoldExpired,
        HoldNotExpired,
        InvalidAmounts,
    )
}


def error_for_code(code: str, message: str) -> LedgerError:
    """The exception for a refusal reported by the database as ``code``."""
    return _BY_CODE.get(code, LedgerError)(message)
