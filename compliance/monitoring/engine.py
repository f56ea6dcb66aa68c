"""The monitoring engine: runs every enabled rule on a transfer and its history, and decides.

Each rule kind says what it reads of the history (:func:`want_history`), all of which is read in
one statement (:mod:`compliance.monitoring.history`); then each rule's checker returns a
:class:`RuleHit` with a reason a person can read, or nothing. The outcome is ``block`` when any
hit blocks, ``review`` when any hit asks for review, ``allow`` otherwise. The transfer being
evaluated is left out of the history (by its ``transfer_ref``), so evaluating before or after
:func:`record_event` agrees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.clock import as_utc
from compliance.kyc import DAY, MONTH, Converter, TierLimits, to_base
from compliance.monitoring.events import TransferFacts
from compliance.monitoring.history import History, HistoryWanted, read_history
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
from ledger.money import Money

__all__ = ["DAY_HOURS", "MONTH_HOURS", "MonitoringOutcome", "Outcome", "RuleHit", "evaluate", "want_history"]

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
    """What every checker needs: the transfer, its sender's history, the time and a converter."""

    def __init__(self, facts: TransferFacts, now: datetime, convert: Converter | None) -> None:
        self.facts = facts
        self.now = as_utc(now)
        self.base_currency = facts.base_amount.currency
        self._convert = convert
        self.history: History | None = None

    def to_base(self, amount: Money) -> Money:
        if amount.currency == self.base_currency:
            return amount
        if self._convert is None:
            raise ValueError(f"a rule in {amount.currency} needs a converter to {self.base_currency}")
        return to_base(amount, self.base_currency, self._convert)

    def base_money(self, minor_units: int) -> Money:
        return Money.from_minor(int(minor_units), self.base_currency)

    @property
    def past(self) -> History:
        assert self.history is not None, "the history is read before the checkers run"
        return self.history

    def band(self, params: StructuringParams) -> tuple[Money, Money] | None:
        """The structuring band ``[low, threshold)`` when this transfer falls in it."""
        threshold = self.to_base(params.threshold)
        low = Money.of(threshold.amount * (1 - params.margin_percent / Decimal(100)), threshold.currency)
        return (low, threshold) if low <= self.facts.base_amount < threshold else None


DAY_HOURS = int(DAY.total_seconds()) // 3600
"""The tier limits' daily window, in the hours :class:`HistoryWanted` counts in."""
MONTH_HOURS = int(MONTH.total_seconds()) // 3600
"""The tier limits' monthly window."""


def _wants(ctx: _Context, rule: Rule, wanted: HistoryWanted) -> None:
    """Add what ``rule`` will read of the history to ``wanted``."""
    params = rule.params
    if isinstance(params, TierLimitParams):
        wanted.sent_hours |= {DAY_HOURS, MONTH_HOURS}
    elif isinstance(params, VelocityParams | LinkedThresholdParams):
        wanted.sent_hours.add(params.window_hours)
    elif isinstance(params, StructuringParams):
        band = ctx.band(params)
        if band is not None:
            wanted.bands.add((params.window_hours, band[0].minor_units, band[1].minor_units))
    elif isinstance(params, FanInParams):
        wanted.other_senders_hours.add(params.window_hours)
    elif isinstance(params, FanOutParams):
        wanted.other_recipients_hours.add(params.window_hours)
    elif isinstance(params, NewRecipientParams):
        wanted.paid_before = True


Checker = Callable[[_Context, Rule], RuleHit | None]


def _hit(rule: Rule, reason: str, **details: Any) -> RuleHit:
    return RuleHit(rule.name, rule.kind.value, rule.action, reason, details)


def _tier_limit(ctx: _Context, rule: Rule) -> RuleHit | None:
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
        hours = DAY_HOURS if window == DAY else MONTH_HOURS
        sent = ctx.base_money(ctx.past.sent_in(hours).base_minor) + amount
        if sent > limit:
            return _hit(
                rule,
                f"{sent} sent in {label} with this transfer, over the tier {ctx.facts.tier} limit of {limit}",
                sent=sent.to_json(),
                limit=limit.to_json(),
            )
    return None


def _velocity(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, VelocityParams)
    past = ctx.past.sent_in(params.window_hours)
    count = past.count + 1
    sent = ctx.base_money(past.base_minor) + ctx.facts.base_amount
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


def _structuring(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, StructuringParams)
    band = ctx.band(params)
    if band is None:
        return None
    low, threshold = band
    count = ctx.past.bands[(params.window_hours, low.minor_units, threshold.minor_units)] + 1
    if count < params.min_count:
        return None
    return _hit(
        rule,
        f"{count} transfers between {low} and {threshold} within {params.window_hours} hours: "
        f"possible splitting to stay under {threshold}",
        count=count,
        threshold=threshold.to_json(),
    )


def _fan_in(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, FanInParams)
    senders = ctx.past.other_senders[params.window_hours] + 1
    if senders <= params.max_senders:
        return None
    return _hit(
        rule,
        f"recipient paid by {senders} different senders in {params.window_hours} hours, "
        f"more than {params.max_senders}",
        senders=senders,
        recipientRef=ctx.facts.recipient_ref,
    )


def _fan_out(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, FanOutParams)
    recipients = ctx.past.other_recipients[params.window_hours] + 1
    if recipients <= params.max_recipients:
        return None
    return _hit(
        rule,
        f"sender paid {recipients} different recipients in {params.window_hours} hours, "
        f"more than {params.max_recipients}",
        recipients=recipients,
    )


def _new_recipient_large(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, NewRecipientParams)
    minimum = ctx.to_base(params.min_amount)
    if ctx.facts.base_amount < minimum:
        return None
    if ctx.past.paid_before:
        return None
    return _hit(
        rule,
        f"first transfer to this recipient is {ctx.facts.base_amount}, at or above {minimum}",
        amount=ctx.facts.base_amount.to_json(),
    )


def _jurisdiction(ctx: _Context, rule: Rule) -> RuleHit | None:
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


def _round_amount(ctx: _Context, rule: Rule) -> RuleHit | None:
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


def _linked_threshold(ctx: _Context, rule: Rule) -> RuleHit | None:
    params = rule.params
    assert isinstance(params, LinkedThresholdParams)
    threshold = ctx.to_base(params.threshold)
    before = ctx.base_money(ctx.past.sent_in(params.window_hours).base_minor)
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


def want_history(
    facts: TransferFacts, rules: RuleSet, now: datetime, *, convert: Converter | None = None
) -> HistoryWanted:
    """What the enabled rules of ``rules`` will read of the history of ``facts``."""
    ctx = _Context(facts, now, convert)
    wanted = HistoryWanted()
    for rule in rules.enabled():
        _wants(ctx, rule, wanted)
    return wanted


async def evaluate(
    conn: AsyncConnection,
    facts: TransferFacts,
    rules: RuleSet,
    now: datetime,
    *,
    convert: Converter | None = None,
    history: History | None = None,
) -> MonitoringOutcome:
    """Run every enabled rule of ``rules`` on ``facts``; reads only (one statement, none when the
    caller passes the ``history`` it read for at least :func:`want_history`).

    ``convert`` turns rule thresholds in other currencies (the 20,000 AZN one) into the base
    currency of ``facts.base_amount``; without it such a rule raises ``ValueError``.
    """
    ctx = _Context(facts, now, convert)
    if history is None:
        history = await read_history(
            conn,
            want_history(facts, rules, now, convert=convert),
            transfer_ref=facts.transfer_ref,
            customer_ref=facts.customer_ref,
            recipient_ref=facts.recipient_ref,
            now=now,
        )
    ctx.history = history
    hits = [hit for rule in rules.enabled() if (hit := _CHECKERS[rule.kind](ctx, rule)) is not None]
    outcome: Outcome = "allow"
    if any(hit.action == "block" for hit in hits):
        outcome = "block"
    elif hits:
        outcome = "review"
    return MonitoringOutcome(outcome, tuple(hits))
