"""Back office: the monitoring rules in force, their version history, and changing a rule.

Officers, senior officers and policy analysts read the rules and each rule's alert outcomes (the
false-alarm rate that tells whether a threshold is too tight); only a senior officer changes a rule
(each change is a new version with a reason, in the audit trail).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from litestar import Controller, get, put
from litestar.datastructures import State
from litestar.params import Parameter
from pydantic import Field

from backend.backoffice.common import Camel, officer_of
from backend.problems import Problem
from backend.staff.guards import StaffPrincipal, require_roles
from compliance.alert_stats import rule_alert_stats
from compliance.clock import utc_now
from compliance.monitoring import Rule, load_rules, rule_history, save_rule

__all__ = ["MonitoringRulesController", "MonitoringStatsController"]


class RuleOut(Camel):
    name: str
    kind: str
    action: str
    enabled: bool
    version: int
    params: dict[str, Any]

    @classmethod
    def of(cls, rule: Rule) -> RuleOut:
        return cls(
            name=rule.name,
            kind=rule.kind.value,
            action=rule.action,
            enabled=rule.enabled,
            version=rule.version,
            params=rule.params_json(),
        )


class RuleList(Camel):
    items: list[RuleOut]


class RuleVersionOut(Camel):
    rule: RuleOut
    changed_by: str
    reason: str
    changed_at: datetime


class RuleVersionList(Camel):
    items: list[RuleVersionOut]


class RuleChangeIn(Camel):
    reason: str = Field(max_length=2000, description="Why the rule changes (kept with the version).")
    kind: str | None = Field(default=None, description="Only for a new rule.")
    action: Literal["review", "block"] | None = None
    enabled: bool | None = None
    params: dict[str, Any] | None = None


class MonitoringRulesController(Controller):
    path = "/backoffice/v1/monitoring/rules"
    tags = ["back office: monitoring rules"]

    @get("/", guards=[require_roles("officer", "senior_officer", "policy_analyst")], summary="Rules in force")
    async def rules(self, state: State) -> RuleList:
        async with state.engine.connect() as conn:
            rules = await load_rules(conn)
        return RuleList(items=[RuleOut.of(rule) for rule in rules.rules])

    @get(
        "/{name:str}/versions",
        guards=[require_roles("officer", "senior_officer", "policy_analyst")],
        summary="Stored versions of a rule, oldest first",
    )
    async def versions(self, name: str, state: State) -> RuleVersionList:
        async with state.engine.connect() as conn:
            versions = await rule_history(conn, name)
        return RuleVersionList(
            items=[
                RuleVersionOut(
                    rule=RuleOut.of(v.rule), changed_by=v.changed_by, reason=v.reason, changed_at=v.changed_at
                )
                for v in versions
            ]
        )

    @put(
        "/{name:str}",
        guards=[require_roles("senior_officer")],
        summary="Change or add a rule (senior officer)",
    )
    async def change(self, name: str, data: RuleChangeIn, state: State, staff: StaffPrincipal) -> RuleOut:
        officer = officer_of(staff)
        if not officer.is_senior:
            raise Problem(403, "senior_officer_required", "Only a senior officer changes monitoring rules.")
        async with state.engine.begin() as conn:
            rule = await save_rule(
                conn,
                name,
                actor=officer.actor,
                reason=data.reason,
                now=utc_now(),
                kind=data.kind,
                action=data.action,
                enabled=data.enabled,
                params=data.params,
            )
        cache = state.get("monitoring_rules")
        if cache is not None:  # this process applies the change at once, the others within its ttl
            cache.invalidate()
        return RuleOut.of(rule)


class RuleStatsOut(Camel):
    rule: str
    alerts: int
    cleared: int
    blocked: int
    open: int
    false_alarm_rate: str | None = Field(description='Cleared among decided alerts, e.g. "0.750".')


class RuleStatsList(Camel):
    since: datetime
    items: list[RuleStatsOut]


class MonitoringStatsController(Controller):
    path = "/backoffice/v1/monitoring/stats"
    tags = ["back office: monitoring rules"]

    @get(
        "/",
        guards=[require_roles("officer", "senior_officer", "policy_analyst")],
        summary="Per rule: alerts raised and how they ended (false-alarm rate)",
    )
    async def stats(self, state: State, days: Annotated[int, Parameter(ge=1, le=366)] = 30) -> RuleStatsList:
        since = utc_now() - timedelta(days=days)
        async with state.engine.connect() as conn:
            stats = await rule_alert_stats(conn, since)
        return RuleStatsList(
            since=since,
            items=[
                RuleStatsOut(
                    rule=s.rule,
                    alerts=s.alerts,
                    cleared=s.cleared,
                    blocked=s.blocked,
                    open=s.open,
                    false_alarm_rate=str(s.false_alarm_rate) if s.false_alarm_rate is not None else None,
                )
                for s in stats
            ],
        )
