"""The monitoring engine: runs every enabled rule on a transfer and its history, and decides.

Each rule kind has one checker; a checker reads ``monitoring_events`` through statements built
once at import (indexed by sender or recipient and time) and returns a :class:`RuleHit` with a
reason a person can read, or nothing. The outcome is ``block`` when any hit blocks, ``review`` when
any hit asks for review, ``allow`` otherwise. The transfer being evaluated is left out of the
history (by its ``transfer_ref``), so evaluating before or after :func:`record_event` agrees.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import and_, bindparam, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.clock import as_utc
from compliance.kyc import DAY, MONTH, Converter, TierLimits, to_base
from compliance.monitoring.events import TransferFacts
from compliance.monitoring.rules import (
    Action,
    FanInParams,
    FanOutParams,
    JurisdictionParams,
    LinkedThresholdParams,
    NewRecipientParams,
    RoundAmountParams,
    Rule,
    RuleKind,
    RuleSet,
    StructuringParams,
    TierLimitParams,
    VelocityParams,
)
from compliance.tables import Timestamp, monitoring_events
from ledger.money import Money

__all__ = ["MonitoringOutcome", "Outcome", "RuleHit", "evaluate"]

Outcome = Literal["allow", "review", "block"]


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One rule that fired, and why."""

    rule: str
    """The rule's name."""
    kind: str
    """The rule's kind."""
    action: Action
    """What the rule asks for."""
    reason: str
    """Why it fired, for an officer (identifiers and amounts, no personal data)."""
    details: dict[str, Any] = field(default_factory=dict)
    """The figures behind the reason, JSON-ready."""

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "action": self.action,
            "reason": self.reason,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class MonitoringOutcome:
    """What monitoring decided about one transfer."""

    outcome: Outcome
    hits: tuple[RuleHit, ...]


class _Context:
    """What every checker needs: the connection, the transfer, the time and a converter."""

    def __init__(
        self, conn: AsyncConnection, facts: TransferFacts, now: datetime, convert: Converter | None
    ) -> None:
        self.conn = conn
        self.facts = facts
        self.now = as_utc(now)
        self.base_currency = facts.base_amount.currency
        self._convert = convert

    def to_base(self, amount: Money) -> Money:
        if amount.currency == self.base_currency:
            return amount
        if self._convert is None:
            raise ValueError(f"a rule in {amount.currency} needs a converter to {self.base_currency}")
        return to_base(amount, self.base_currency, self._convert)

    def since(self, hours: int) -> datetime:
        return self.now - timedelta(hours=hours)

    def base_money(self, minor_units: int) -> Money:
        return Money.from_minor(int(minor_units), self.base_currency)

    async def scalar_row(self, statement: Any, **params: Any) -> Any:
        return (
            await self.conn.execute(
                statement, {"transfer_ref": self.facts.transfer_ref, "until": self.now, **params}
            )
        ).one()


_ev = monitoring_events.c
_SINCE = bindparam("since", type_=Timestamp)
_UNTIL = bindparam("until", type_=Timestamp)
_NOT_THIS = _ev.transfer_ref != bindparam("transfer_ref")
_BY_SENDER = and_(_ev.customer_ref == bindparam("customer_ref"), _NOT_THIS)
_IN_WINDOW = and_(_ev.created_at > _SINCE, _ev.created_at <= _UNTIL)

_SENDER_COUNT_SUM = select(func.count(), func.coalesce(func.sum(_ev.base_amount_minor), 0)).where(
    _BY_SENDER, _IN_WINDOW
)
_SENDER_BAND_COUNT = select(func.count()).where(
    _BY_SENDER,
    _IN_WINDOW,
    _ev.base_amount_minor >= bindparam("low"),
    _ev.base_amount_minor < bindparam("high"),
)
_SENDER_RECIPIENTS = select(func.count(distinct(_ev.recipient_ref))).where(
    _BY_SENDER, _IN_WINDOW, _ev.recipient_ref != bindparam("recipient_ref")
)
_RECIPIENT_SENDERS = select(func.count(distinct(_ev.customer_ref))).where(
    _ev.recipient_ref == bindparam("recipient_ref"),
    _NOT_THIS,
    _IN_WINDOW,
    _ev.customer_ref != bindparam("customer_ref"),
)
_PAID_BEFORE = select(func.count()).where(
    _BY_SENDER, _ev.recipient_ref == bindparam("recipient_ref"), _ev.created_at <= _UNTIL
)

Checker = Callable[[_Context, Rule], Awaitable[RuleHit | None]]


def _hit(rule: Rule, reason: str, **details: Any) -> RuleHit:
    return RuleHit(rule.name, rule.kind.value, rule.action, reason, details)


async def _tier_limit(ctx: _Context, rule: Rule) -> RuleHit | None:
    assert isinstance(rule.params, TierLimitParams)
    limits: TierLimits | None = rule.params.tiers.get(ctx.facts.tier)
    if limits is None:
        return _hit(rule, f"no limits are configured for KYC tier {ctx.facts.tier}", tier=ctx.facts.tier)
    amount = ctx.facts.base_amount
    if not limits.may_send:
        return _hit(rule, f"KYC tier {ctx.facts.tier} may receive money but not send it", tier=ctx.facts.tier)
    per_transfer = ctx.to_base(limits.per_transfer)
    if amount > per_transfer:
        return _hit(
            rule,
            f"{amount} is over the tier {ctx.facts.tier} limit of {per_transfer} per transfer",
            limit=per_transfer.to_json(),
        )
    for window, window_limit, label in (
        (DAY, limits.per_day, "24 hours"),
        (MONTH, limits.per_month, "30 days"),
    ):
        limit = ctx.to_base(window_limit)
        _, total = await ctx.scalar_row(
            _SENDER_COUNT_SUM, customer_ref=ctx.facts.customer_ref, since=ctx.now - window
        )
        sent = ctx.base_money(total) + amount
        if sent > limit:
            return _hit(
                rule,
                f"{sent} sent in {label} with this transfer, over the tier {ctx.facts.tier} limit of {limit}",
                sent=sent.to_json(),
                limit=limit.to_json(),
            )
    return None


async def _velocity(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, VelocityParams)
    count, total = await ctx.scalar_row(
        _SENDER_COUNT_SUM, customer_ref=ctx.facts.customer_ref, since=ctx.since(params.window_hours)
    )
    count += 1
    sent = ctx.base_money(total) + ctx.facts.base_amount
    if params.max_count is not None and count > params.max_count:
        return _hit(
            rule,
            f"{count} transfers in {params.window_hours} hours, more than {params.max_count}",
            count=count,
            windowHours=params.window_hours,
        )
    if params.max_sum is not None:
        limit = ctx.to_base(params.max_sum)
        if sent > limit:
            return _hit(
                rule,
                f"{sent} sent in {params.window_hours} hours, more than {limit}",
                sum=sent.to_json(),
                windowHours=params.window_hours,
            )
    return None


async def _structuring(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, StructuringParams)
    threshold = ctx.to_base(params.threshold)
    low = Money.of(threshold.amount * (1 - params.margin_percent / Decimal(100)), threshold.currency)
    amount = ctx.facts.base_amount
    if not low <= amount < threshold:
        return None
    (count,) = await ctx.scalar_row(
        _SENDER_BAND_COUNT,
        customer_ref=ctx.facts.customer_ref,
        since=ctx.since(params.window_hours),
        low=low.minor_units,
        high=threshold.minor_units,
    )
    count += 1
    if count < params.min_count:
        return None
    return _hit(
        rule,
        f"{count} transfers between {low} and {threshold} within {params.window_hours} hours: "
        f"possible splitting to stay under {threshold}",
        count=count,
        threshold=threshold.to_json(),
    )


async def _fan_in(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, FanInParams)
    (others,) = await ctx.scalar_row(
        _RECIPIENT_SENDERS,
        recipient_ref=ctx.facts.recipient_ref,
        customer_ref=ctx.facts.customer_ref,
        since=ctx.since(params.window_hours),
    )
    senders = others + 1
    if senders <= params.max_senders:
        return None
    return _hit(
        rule,
        f"recipient paid by {senders} different senders in {params.window_hours} hours, "
        f"more than {params.max_senders}",
        senders=senders,
        recipientRef=ctx.facts.recipient_ref,
    )


async def _fan_out(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, FanOutParams)
    (others,) = await ctx.scalar_row(
        _SENDER_RECIPIENTS,
        customer_ref=ctx.facts.customer_ref,
        recipient_ref=ctx.facts.recipient_ref,
        since=ctx.since(params.window_hours),
    )
    recipients = others + 1
    if recipients <= params.max_recipients:
        return None
    return _hit(
        rule,
        f"sender paid {recipients} different recipients in {params.window_hours} hours, "
        f"more than {params.max_recipients}",
        recipients=recipients,
    )


async def _new_recipient_large(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, NewRecipientParams)
    minimum = ctx.to_base(params.min_amount)
    if ctx.facts.base_amount < minimum:
        return None
    (paid_before,) = await ctx.scalar_row(
        _PAID_BEFORE, customer_ref=ctx.facts.customer_ref, recipient_ref=ctx.facts.recipient_ref
    )
    if paid_before:
        return None
    return _hit(
        rule,
        f"first transfer to this recipient is {ctx.facts.base_amount}, at or above {minimum}",
        amount=ctx.facts.base_amount.to_json(),
    )


async def _jurisdiction(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, JurisdictionParams)
    listed = [
        country
        for country in dict.fromkeys((ctx.facts.country, ctx.facts.origin_country))
        if country is not None and country in params.countries
    ]
    if not listed:
        return None
    source = f" ({params.source})" if params.source else ""
    return _hit(rule, f"high-risk jurisdiction {', '.join(listed)}{source}", countries=listed)


async def _round_amount(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, RoundAmountParams)
    minimum = ctx.to_base(params.min_amount)
    if ctx.facts.base_amount < minimum or ctx.facts.amount.amount % params.multiple != 0:
        return None
    return _hit(
        rule,
        f"round amount {ctx.facts.amount} (a multiple of {params.multiple}), at or above {minimum}",
        amount=ctx.facts.amount.to_json(),
    )


async def _linked_threshold(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, LinkedThresholdParams)
    threshold = ctx.to_base(params.threshold)
    _, total = await ctx.scalar_row(
        _SENDER_COUNT_SUM, customer_ref=ctx.facts.customer_ref, since=ctx.since(params.window_hours)
    )
    before = ctx.base_money(total)
    after = before + ctx.facts.base_amount
    # Fires on the transfer that crosses the threshold, not on every later one in the window.
    if not before < threshold <= after:
        return None
    return _hit(
        rule,
        f"linked transfers reach {after} in {params.window_hours} hours, at or above "
        f"{params.threshold} ({threshold}): enhanced checks required",
        sum=after.to_json(),
        threshold=params.threshold.to_json(),
    )


_CHECKERS: dict[RuleKind, Checker] = {
    RuleKind.TIER_LIMIT: _tier_limit,
    RuleKind.VELOCITY: _velocity,
    RuleKind.STRUCTURING: _structuring,
    RuleKind.FAN_IN: _fan_in,
    RuleKind.FAN_OUT: _fan_out,
    RuleKind.NEW_RECIPIENT_LARGE: _new_recipient_large,
    RuleKind.HIGH_RISK_JURISDICTION: _jurisdiction,
    RuleKind.ROUND_AMOUNT: _round_amount,
    RuleKind.LINKED_THRESHOLD: _linked_threshold,
}


async def evaluate(
    conn: AsyncConnection,
    facts: TransferFacts,
    rules: RuleSet,
    now: datetime,
    *,
    convert: Converter | None = None,
) -> MonitoringOutcome:
    """Run every enabled rule of ``rules`` on ``facts``; reads only.

    ``convert`` turns rule thresholds in other currencies (the 20,000 AZN one) into the base
    currency of ``facts.base_amount``; without it such a rule raises ``ValueError``.
    """
    ctx = _Context(conn, facts, now, convert)
    hits = [hit for rule in rules.enabled() if (hit := await _CHECKERS[rule.kind](ctx, rule)) is not None]
    outcome: Outcome = "allow"
    if any(hit.action == "block" for hit in hits):
        outcome = "block"
    elif hits:
        outcome = "review"
    return MonitoringOutcome(outcome, tuple(hits))
