"""How each rule's alerts ended: the figures that tell whether a threshold buries officers in
false alarms. An alert counts as cleared or blocked by its case's resolution, open otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.clock import as_utc
from compliance.tables import Timestamp, alerts, cases

__all__ = ["RuleAlertStats", "rule_alert_stats"]


@dataclass(frozen=True, slots=True)
class RuleAlertStats:
    """The alerts one rule raised in a period, by how their cases ended."""

    rule: str
    alerts: int
    cleared: int
    blocked: int
    open: int

    @property
    def false_alarm_rate(self) -> Decimal | None:
        """Cleared among decided alerts (None until one is decided)."""
        decided = self.cleared + self.blocked
        return (Decimal(self.cleared) / decided).quantize(Decimal("0.001")) if decided else None


_ALERTS_SINCE = (
    select(alerts.c.reasons, cases.c.resolution)
    .join(cases, cases.c.id == alerts.c.case_id)
    .where(alerts.c.created_at >= bindparam("since", type_=Timestamp))
)


async def rule_alert_stats(conn: AsyncConnection, since: datetime) -> list[RuleAlertStats]:
    """Per rule, alerts created since ``since``: how many, cleared, blocked, still open."""
    rows = await conn.execute(_ALERTS_SINCE, {"since": as_utc(since)})
    counts: dict[str, list[int]] = {}
    for reasons, resolution in rows:
        for rule in {str(reason.get("rule") or "unnamed") for reason in reasons}:
            tally = counts.setdefault(rule, [0, 0, 0, 0])
            tally[0] += 1
            tally[{"cleared": 1, "blocked": 2}.get(resolution or "", 3)] += 1
    return [RuleAlertStats(rule, *tally) for rule, tally in sorted(counts.items())]
