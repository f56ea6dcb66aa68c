"""The checks a transfer passes before money moves: tier limits, screening of both parties, and
the monitoring rules, combined into one decision (allow, review or block).

Limits refuse outright (422, nothing stored). Screening and monitoring never refuse silently:
``review`` holds the transfer for an officer and ``block`` stops it, both with an alert in the
customer's case so that the decision and its reasons are on record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.kyc import Converter, LimitUsage, TierLimits, check_limits, lock_customer
from compliance.monitoring import RuleSet, TransferFacts, evaluate
from compliance.monitoring.engine import DAY_HOURS, MONTH_HOURS, want_history
from compliance.monitoring.history import History, read_history
from compliance.screening import Subject
from ledger.money import Money

__all__ = ["CheckOutcome", "PartiesScreener", "ScreeningVerdict", "run_checks"]

Decision = Literal["allow", "review", "block"]


@dataclass(frozen=True, slots=True)
class ScreeningVerdict:
    """What screening both parties decided, with reasons shaped for an alert."""

    decision: Literal["clear", "review", "hit"]
    reasons: list[dict[str, Any]] = field(default_factory=list)


class PartiesScreener(Protocol):
    """Screens the sender and the recipient in the caller's transaction (records the results)."""

    async def __call__(
        self,
        conn: AsyncConnection,
        sender: tuple[str, Subject],
        recipient: tuple[str, Subject],
    ) -> ScreeningVerdict: ...


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    decision: Decision
    screening: list[dict[str, Any]]
    monitoring: list[dict[str, Any]]
    facts: TransferFacts

    @property
    def reasons(self) -> list[dict[str, Any]]:
        return [*self.screening, *self.monitoring]

    @property
    def source(self) -> Literal["screening", "monitoring"]:
        """Which check raised the alert (screening when both did: a listed name weighs more)."""
        return "screening" if self.screening else "monitoring"


ConverterSource = Callable[[], Awaitable[Converter]]


async def run_checks(
    conn: AsyncConnection,
    *,
    facts: TransferFacts,
    rules: RuleSet,
    total_to_pay: Money,
    sender: tuple[str, Subject],
    recipient: tuple[str, Subject],
    screen: PartiesScreener,
    convert: Converter,
    now: datetime,
    sender_locked: bool = False,
) -> CheckOutcome:
    """Limits first (they refuse), then screening and monitoring (they decide).

    The sender is locked first (see :func:`~compliance.kyc.check_limits`), unless
    ``sender_locked`` says the caller already holds the lock of
    :func:`~compliance.kyc.limits_lock_key` in this transaction; then what the limits and every
    monitoring rule read of the past is read in one statement (a statement after the lock, so it
    sees every transfer of the sender committed before).
    """
    limits = rules.tier_limits()
    if not sender_locked:
        await lock_customer(conn, facts.customer_ref)
    wanted = want_history(facts, rules, now, convert=convert)
    wanted.sent_hours |= {DAY_HOURS, MONTH_HOURS}
    history = await read_history(
        conn,
        wanted,
        transfer_ref=facts.transfer_ref,
        customer_ref=facts.customer_ref,
        recipient_ref=facts.recipient_ref,
        now=now,
    )
    decision = await check_limits(
        conn,
        facts.customer_ref,
        facts.tier,
        total_to_pay,
        now,
        convert,
        limits,
        usage=_usage(facts, limits, history),
    )
    decision.raise_if_refused()
    verdict = await screen(conn, sender, recipient)
    monitoring = await evaluate(conn, facts, rules, now, convert=convert, history=history)
    combined: Decision = "allow"
    if verdict.decision == "hit" or monitoring.outcome == "block":
        combined = "block"
    elif verdict.decision == "review" or monitoring.outcome == "review":
        combined = "review"
    return CheckOutcome(
        decision=combined,
        screening=verdict.reasons,
        monitoring=[hit.to_json() for hit in monitoring.hits],
        facts=facts,
    )


def _usage(facts: TransferFacts, limits: Mapping[int, TierLimits], history: History) -> LimitUsage | None:
    """The limit usage from the history read for monitoring; ``None`` when the history cannot say
    (no limits for the tier, or limits in another currency than the history's sums), and
    :func:`check_limits` reads it itself."""
    tier_limits = limits.get(facts.tier)
    currency = facts.base_amount.currency
    if tier_limits is None or tier_limits.per_transfer.currency != currency:
        return None
    return LimitUsage(
        tier=facts.tier,
        limits=tier_limits,
        sent_day=Money.from_minor(history.sent_in(DAY_HOURS).base_minor, currency),
        sent_month=Money.from_minor(history.sent_in(MONTH_HOURS).base_minor, currency),
    )
