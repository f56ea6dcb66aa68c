"""KYC tiers, their sending limits in a base currency, and the regulatory thresholds around them.

Tiers: 0 phone verified (may receive only), 1 identity document verified (may send within the
per-transfer, per-day and per-month limits), 2 enhanced: address and source of funds (higher
limits). Limits are in one base currency (USD by default); an amount in another currency is
converted through a caller-supplied :data:`Converter` (the lead wires ``fx``), so this module does
not depend on fx's names. "Per day" and "per month" are rolling windows (24 hours, 30 days) over
the transfers recorded in ``monitoring_events``, so a limit cannot be doubled around midnight.

Regulatory thresholds (:class:`RegulatoryThresholds`) have documented defaults in docs/compliance.md:
FATF Recommendation 16 (transfers of USD/EUR 1,000 or more carry full originator and beneficiary
data) and Azerbaijan's AML law (20,000 AZN with linked transactions added up triggers enhanced
checks; the monitoring rule ``edd_linked_transactions`` applies it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import IntEnum

from sqlalchemy import and_, bindparam, case, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from compliance.clock import as_utc
from compliance.tables import Timestamp, monitoring_events
from ledger.money import Money
from sqldirect import direct

__all__ = [
    "DAY",
    "DEFAULT_THRESHOLDS",
    "DEFAULT_TIER_LIMITS",
    "MONTH",
    "Converter",
    "LimitDecision",
    "LimitExceeded",
    "LimitUsage",
    "PartyInfo",
    "RegulatoryThresholds",
    "Tier",
    "TierLimits",
    "check_limits",
    "limit_usage",
    "limits_lock_key",
    "lock_customer",
    "to_base",
    "travel_rule_applies",
    "travel_rule_missing",
]

Converter = Callable[[Money, str], Money]
"""Converts an amount into the given currency (the lead passes fx's converter)."""

DAY = timedelta(hours=24)
MONTH = timedelta(days=30)


class Tier(IntEnum):
    """How well we know a customer."""

    PHONE_VERIFIED = 0
    """Phone number verified: may receive money, may not send."""
    IDENTITY_VERIFIED = 1
    """Identity document reviewed and approved."""
    ENHANCED = 2
    """Address and source of funds reviewed and approved as well."""


@dataclass(frozen=True, slots=True)
class TierLimits:
    """What a customer of one tier may send, in the base currency."""

    per_transfer: Money
    """Largest single transfer; zero means the tier may not send at all."""
    per_day: Money
    """Sum of transfers over the last 24 hours, this one included."""
    per_month: Money
    """Sum of transfers over the last 30 days, this one included."""

    @property
    def may_send(self) -> bool:
        return self.per_transfer.is_positive()


def _usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


DEFAULT_TIER_LIMITS: Mapping[int, TierLimits] = {
    Tier.PHONE_VERIFIED: TierLimits(_usd("0"), _usd("0"), _usd("0")),
    Tier.IDENTITY_VERIFIED: TierLimits(_usd("1000.00"), _usd("2000.00"), _usd("5000.00")),
    Tier.ENHANCED: TierLimits(_usd("10000.00"), _usd("15000.00"), _usd("50000.00")),
}
"""Defaults (USD) until the ``tier_limits`` monitoring rule says otherwise; see docs/compliance.md."""


@dataclass(frozen=True, slots=True)
class RegulatoryThresholds:
    """Thresholds set by regulation; configurable because regulators move them."""

    travel_rule: tuple[Money, ...] = field(
        default_factory=lambda: (Money(Decimal(1000), "USD"), Money(Decimal(1000), "EUR"))
    )
    """FATF R.16: at or above these, a transfer carries full originator and beneficiary data. An
    amount in one of these currencies compares directly; any other is converted to the first."""
    enhanced_checks: Money = field(default_factory=lambda: Money(Decimal(20000), "AZN"))
    """Azerbaijan AML law: enhanced checks at or above this sum, linked transactions added up."""
    linked_window: timedelta = MONTH
    """Transactions of one customer within this window count as linked (our policy choice)."""


DEFAULT_THRESHOLDS = RegulatoryThresholds()


def to_base(amount: Money, base_currency: str, convert: Converter) -> Money:
    """``amount`` in ``base_currency`` (unchanged when it already is)."""
    return amount if amount.currency == base_currency else convert(amount, base_currency)


@dataclass(frozen=True, slots=True)
class LimitUsage:
    """What a customer has sent in the rolling windows, and what is left."""

    tier: int
    limits: TierLimits
    sent_day: Money
    sent_month: Money

    @property
    def remaining_day(self) -> Money:
        return max(self.limits.per_day - self.sent_day, Money.zero(self.sent_day.currency))

    @property
    def remaining_month(self) -> Money:
        return max(self.limits.per_month - self.sent_month, Money.zero(self.sent_month.currency))

    @property
    def remaining_now(self) -> Money:
        """The largest transfer the customer may send right now."""
        return min(self.limits.per_transfer, self.remaining_day, self.remaining_month)


@dataclass(frozen=True, slots=True)
class LimitDecision:
    """The outcome of :func:`check_limits`."""

    allowed: bool
    """True when the transfer fits every limit of the tier."""
    code: str | None
    """Why not: ``tier_may_not_send``, ``per_transfer_limit``, ``daily_limit`` or ``monthly_limit``."""
    reason: str | None
    """The same, for a person (no personal data)."""
    amount: Money
    """The transfer in the base currency."""
    usage: LimitUsage
    """Usage and remaining amounts before this transfer."""

    def raise_if_refused(self) -> None:
        if not self.allowed:
            raise LimitExceeded(self)


class LimitExceeded(Exception):
    """A transfer over the sender's tier limits (HTTP 422 with the limit's code)."""

    status = 422

    def __init__(self, decision: LimitDecision) -> None:
        super().__init__(decision.reason or "over the limit")
        self.decision = decision
        self.code = decision.code or "limit_exceeded"
        self.extra = {
            "remaining": decision.usage.remaining_now.to_json(),
            "tier": decision.usage.tier,
        }


_SINCE_DAY: BindParameter[datetime] = bindparam("since_day", type_=Timestamp)
_SINCE_MONTH: BindParameter[datetime] = bindparam("since_month", type_=Timestamp)
_SENT_IN_WINDOWS = select(
    func.coalesce(
        func.sum(case((monitoring_events.c.created_at > _SINCE_DAY, monitoring_events.c.base_amount_minor))),
        0,
    ),
    func.coalesce(func.sum(monitoring_events.c.base_amount_minor), 0),
).where(
    and_(
        monitoring_events.c.customer_ref == bindparam("customer_ref"),
        monitoring_events.c.created_at > _SINCE_MONTH,
        monitoring_events.c.created_at <= bindparam("until"),
    )
)


async def limit_usage(
    conn: AsyncConnection,
    customer_ref: str,
    tier: int,
    now: datetime,
    limits: Mapping[int, TierLimits] = DEFAULT_TIER_LIMITS,
) -> LimitUsage:
    """What ``customer_ref`` sent in the last 24 hours and 30 days, against the tier's limits."""
    tier_limits = limits[tier]
    currency = tier_limits.per_transfer.currency
    now = as_utc(now)
    row = (
        await conn.execute(
            _SENT_IN_WINDOWS,
            {"customer_ref": customer_ref, "since_day": now - DAY, "since_month": now - MONTH, "until": now},
        )
    ).one()
    return LimitUsage(
        tier=tier,
        limits=tier_limits,
        sent_day=Money.from_minor(int(row[0]), currency),
        sent_month=Money.from_minor(int(row[1]), currency),
    )


_ADVISORY_LOCK = direct(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"))


def limits_lock_key(customer_ref: str) -> str:
    """The advisory lock key that serialises one customer's limit checks: a caller that reads the
    customer's row first may take it in that statement instead of :func:`lock_customer`."""
    return f"korpu.limits:{customer_ref}"


async def lock_customer(conn: AsyncConnection, customer_ref: str) -> None:
    """Serialise limit checks of one customer until the current transaction ends (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        await _ADVISORY_LOCK.rows(conn, {"key": limits_lock_key(customer_ref)})


async def check_limits(
    conn: AsyncConnection,
    customer_ref: str,
    tier: int,
    amount: Money,
    now: datetime,
    convert: Converter,
    limits: Mapping[int, TierLimits] = DEFAULT_TIER_LIMITS,
    *,
    usage: LimitUsage | None = None,
) -> LimitDecision:
    """Whether ``customer_ref`` at ``tier`` may send ``amount`` now; writes nothing.

    Reads the transfers :func:`compliance.monitoring.record_event` recorded. Run it in the
    transaction that records this transfer: on PostgreSQL it takes a transaction-scoped advisory
    lock per customer (held until that transaction ends), so two concurrent transfers of one
    customer cannot both slip under a limit; SQLite already has a single writer. A caller that
    took :func:`lock_customer` itself and then read the usage (with the rest of the history the
    monitoring rules need, in one statement) passes ``usage``: nothing is read again.
    """
    if usage is None:
        await lock_customer(conn, customer_ref)
        usage = await limit_usage(conn, customer_ref, tier, now, limits)
    tier_limits = usage.limits
    base = to_base(amount, tier_limits.per_transfer.currency, convert)
    code: str | None = None
    reason: str | None = None
    if not tier_limits.may_send:
        code, reason = "tier_may_not_send", f"KYC tier {tier} may receive money but not send it"
    elif base > tier_limits.per_transfer:
        code = "per_transfer_limit"
        reason = f"over the tier {tier} limit of {tier_limits.per_transfer} per transfer"
    elif usage.sent_day + base > tier_limits.per_day:
        code, reason = "daily_limit", f"over the tier {tier} limit of {tier_limits.per_day} in 24 hours"
    elif usage.sent_month + base > tier_limits.per_month:
        code, reason = "monthly_limit", f"over the tier {tier} limit of {tier_limits.per_month} in 30 days"
    return LimitDecision(allowed=code is None, code=code, reason=reason, amount=base, usage=usage)


@dataclass(frozen=True, slots=True)
class PartyInfo:
    """What a transfer carries about one party, for FATF R.16 (the travel rule)."""

    name: str | None = None
    account: str | None = None
    """Account number, wallet id or a unique transaction reference."""
    address: str | None = None
    national_id: str | None = None
    customer_number: str | None = None
    date_of_birth: date | None = None
    place_of_birth: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


def travel_rule_applies(
    amount: Money, convert: Converter, thresholds: RegulatoryThresholds = DEFAULT_THRESHOLDS
) -> bool:
    """True when ``amount`` is at or above the R.16 threshold (full party data required)."""
    for threshold in thresholds.travel_rule:
        if threshold.currency == amount.currency:
            return amount >= threshold
    first = thresholds.travel_rule[0]
    return convert(amount, first.currency) >= first


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def travel_rule_missing(
    amount: Money,
    originator: PartyInfo,
    beneficiary: PartyInfo,
    convert: Converter,
    thresholds: RegulatoryThresholds = DEFAULT_THRESHOLDS,
) -> list[str]:
    """The R.16 fields this transfer lacks (empty when complete), as ``party.field`` names.

    Every transfer needs both names and both account numbers (or a unique reference). At or over
    the threshold the originator must also be identified by an address, a national identity number,
    a customer identification number, or date and place of birth (INR.16 paragraph 6).
    """
    missing = [
        f"{party}.{name}"
        for party, info in (("originator", originator), ("beneficiary", beneficiary))
        for name in ("name", "account")
        if _blank(getattr(info, name))
    ]
    if travel_rule_applies(amount, convert, thresholds):
        identified = (
            not _blank(originator.address)
            or not _blank(originator.national_id)
            or not _blank(originator.customer_number)
            or (originator.date_of_birth is not None and not _blank(originator.place_of_birth))
        )
        if not identified:
            missing.append("originator.address|nationalId|customerNumber|dateAndPlaceOfBirth")
    return missing
