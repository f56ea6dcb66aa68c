"""The checks a transfer passes before money moves: tier limits, screening of both parties, and
the monitoring rules, combined into one decision (allow, review or block).

Limits refuse outright (422, nothing stored). Screening and monitoring never refuse silently:
``review`` holds the transfer for an officer and ``block`` stops it, both with an alert in the
customer's case so that the decision and its reasons are on record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.kyc import Converter, check_limits
from compliance.monitoring import TransferFacts, evaluate, load_rules
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
    total_to_pay: Money,
    sender: tuple[str, Subject],
    recipient: tuple[str, Subject],
    screen: PartiesScreener,
    convert: Converter,
    now: datetime,
) -> CheckOutcome:
    """Limits first (they refuse), then screening and monitoring (they decide)."""
    rules = await load_rules(conn)
    decision = await check_limits(
        conn, facts.customer_ref, facts.tier, total_to_pay, now, convert, rules.tier_limits()
    )
    decision.raise_if_refused()
    verdict = await screen(conn, sender, recipient)
    monitoring = await evaluate(conn, facts, rules, now, convert=convert)
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
