"""The errors of the fx capability, each with a stable ``code`` and the HTTP ``status`` it maps to.

The web layer renders them as RFC 9457 problem details without knowing this module (the contract is
duck-typed: class attributes ``code`` and ``status``, ``str(error)`` safe to show, optional
``extra`` merged into the problem document).
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AmountNotPositive",
    "AmountOutsideLimits",
    "FxError",
    "PayoutMethodUnavailable",
    "PriceUnavailable",
    "QuoteAlreadyUsed",
    "QuoteExpired",
    "QuoteNotFound",
    "RateFeedError",
    "RateStale",
    "RateUnavailable",
    "UnknownCorridor",
]


class FxError(Exception):
    """Base of every fx error."""

    code: ClassVar[str] = "fx_error"
    status: ClassVar[int] = 422

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.extra: dict[str, Any] = extra


class RateFeedError(FxError):
    """A rate source could not be fetched or its document could not be read."""

    code = "rate_feed_error"
    status = 502


class RateUnavailable(FxError):
    """No source of the corridor quotes the pair at all."""

    code = "rate_unavailable"
    status = 503


class RateStale(FxError):
    """The newest rate for the pair is older than the corridor allows; no quote is made on it."""

    code = "rate_stale"
    status = 503


class UnknownCorridor(FxError):
    """No active corridor has this code."""

    code = "unknown_corridor"
    status = 422


class PayoutMethodUnavailable(FxError):
    """The corridor exists but does not pay out this way."""

    code = "payout_method_unavailable"
    status = 422


class PriceUnavailable(FxError):
    """The corridor and payout method have no price in force at this moment."""

    code = "price_unavailable"
    status = 503


class AmountOutsideLimits(FxError):
    """The send amount is below the minimum or above the maximum of the corridor (or customer tier)."""

    code = "amount_outside_limits"
    status = 422


class AmountNotPositive(FxError):
    """The amount asked for, or the amount that would arrive, is zero or negative."""

    code = "amount_not_positive"
    status = 422


class QuoteNotFound(FxError):
    """No quote has this id."""

    code = "quote_not_found"
    status = 404


class QuoteExpired(FxError):
    """The quote's guaranteed-rate window has closed; ask for a new quote."""

    code = "quote_expired"
    status = 409


class QuoteAlreadyUsed(FxError):
    """The quote has already funded a transfer; a quote funds at most one."""

    code = "quote_already_used"
    status = 409
