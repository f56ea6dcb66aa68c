"""Rules as data in the database: each change is a new, append-only version of a rule.

:func:`load_rules` gives the rule set in force: the built-in defaults, each replaced by its latest
stored version, plus rules that exist only in the database. :func:`save_rule` validates and stores
a new version with who changed it and why; old versions stay for the audit. :class:`RuleCache`
keeps the rule set a process read for a few seconds, so that a transfer does not read it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.audit import record_audit
from compliance.clock import as_utc
from compliance.errors import InvalidRuleParams, ReasonRequired, RuleChangedConcurrently, UnknownRule
from compliance.monitoring.rules import ACTIONS, DEFAULT_RULES, Rule, RuleKind, RuleSet, parse_params
from compliance.tables import monitoring_rule_versions

__all__ = ["RuleCache", "RuleVersion", "load_rules", "rule_history", "save_rule"]

_v = monitoring_rule_versions.c
_LATEST = select(monitoring_rule_versions).where(
    tuple_(_v.name, _v.version).in_(select(_v.name, func.max(_v.version)).group_by(_v.name))
)
_HISTORY = select(monitoring_rule_versions).order_by(_v.version)
_INSERT = insert(monitoring_rule_versions)


@dataclass(frozen=True, slots=True)
class RuleVersion:
    """One stored version of a rule, with who changed it and why."""

    rule: Rule
    changed_by: str
    reason: str
    changed_at: datetime


def _rule_from_row(row: Any) -> Rule:
    return Rule(
        name=row.name,
        kind=RuleKind(row.kind),
        action=row.action,
        params=parse_params(row.kind, row.params),
        enabled=bool(row.enabled),
        version=int(row.version),
    )


async def load_rules(conn: AsyncConnection, defaults: RuleSet = DEFAULT_RULES) -> RuleSet:
    """The rules in force: ``defaults`` overridden by their latest stored versions."""
    stored = {row.name: _rule_from_row(row) for row in await conn.execute(_LATEST)}
    rules = [stored.pop(rule.name, rule) for rule in defaults.rules]
    rules += sorted(stored.values(), key=lambda rule: rule.name)
    return RuleSet(tuple(rules))


class RuleCache:
    """The rules in force as one process last read them, read again after ``ttl`` seconds.

    Every transfer is checked against the rules; reading them is a round trip per transfer
    (docs/performance.md). A change an officer saves (:func:`save_rule`) applies at once in the
    process that saved it (call :meth:`invalidate`) and within ``ttl`` seconds in every other one.
    """

    def __init__(
        self,
        ttl: float = 5.0,
        defaults: RuleSet = DEFAULT_RULES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._defaults = defaults
        self._clock = clock
        self._rules: RuleSet | None = None
        self._read_at = 0.0

    async def get(self, conn: AsyncConnection) -> RuleSet:
        """The rules in force, from the cache while it is fresh."""
        now = self._clock()
        if self._rules is None or now - self._read_at >= self._ttl:
            self._rules = await load_rules(conn, self._defaults)
            self._read_at = now
        return self._rules

    def invalidate(self) -> None:
        """Forget the rules (a rule was saved): the next :meth:`get` reads them."""
        self._rules = None


async def rule_history(conn: AsyncConnection, name: str) -> list[RuleVersion]:
    """Every stored version of rule ``name``, oldest first."""
    rows = await conn.execute(_HISTORY.where(_v.name == name))
    return [
        RuleVersion(_rule_from_row(row), row.changed_by, row.reason, as_utc(row.changed_at)) for row in rows
    ]


async def save_rule(
    conn: AsyncConnection,
    name: str,
    *,
    actor: str,
    reason: str,
    now: datetime,
    kind: str | None = None,
    action: str | None = None,
    enabled: bool | None = None,
    params: dict[str, Any] | None = None,
    defaults: RuleSet = DEFAULT_RULES,
) -> Rule:
    """Store a new version of rule ``name``; omitted fields keep their current value.

    A rule that does not exist yet needs ``kind``, ``action`` and ``params``. The kind of an
    existing rule cannot change (make a new rule instead).
    """
    if not reason or not reason.strip():
        raise ReasonRequired("a change to a monitoring rule needs a reason")
    if not name or len(name) > 64 or not name.replace("_", "").isalnum() or name != name.lower():
        raise InvalidRuleParams("a rule name is lowercase letters, digits and underscores, at most 64")
    current = (await load_rules(conn, defaults)).get(name)
    if current is None and (kind is None or action is None or params is None):
        raise UnknownRule(f"no rule {name!r}; a new rule needs kind, action and params")
    if current is not None and kind is not None and kind != current.kind.value:
        raise InvalidRuleParams(f"rule {name!r} is of kind {current.kind.value}; its kind cannot change")
    new_kind = RuleKind(kind) if current is None and kind in set(RuleKind) else None
    if current is None and new_kind is None:
        raise InvalidRuleParams(f"unknown rule kind {kind!r}")
    rule_kind = current.kind if current is not None else new_kind
    assert rule_kind is not None
    new_action = action if action is not None else (current.action if current else None)
    if new_action not in ACTIONS:
        raise InvalidRuleParams("action must be 'review' or 'block'")
    parsed = parse_params(rule_kind, params) if params is not None else current.params  # type: ignore[union-attr]
    rule = Rule(
        name=name,
        kind=rule_kind,
        action=new_action,  # type: ignore[arg-type]  # checked against ACTIONS above
        params=parsed,
        enabled=enabled if enabled is not None else (current.enabled if current else True),
        version=(current.version if current else 0) + 1,
    )
    try:
        async with conn.begin_nested():
            await conn.execute(
                _INSERT,
                {
                    "name": rule.name,
                    "version": rule.version,
                    "kind": rule.kind.value,
                    "action": rule.action,
                    "enabled": rule.enabled,
                    "params": rule.params_json(),
                    "changed_by": actor,
                    "reason": reason.strip(),
                    "changed_at": as_utc(now),
                },
            )
    except IntegrityError:
        raise RuleChangedConcurrently(f"rule {name!r} changed meanwhile; reload and try again") from None
    await record_audit(
        conn,
        actor,
        "monitoring_rule.changed",
        "monitoring_rule",
        name,
        reason.strip(),
        {
            "version": rule.version,
            "action": rule.action,
            "enabled": rule.enabled,
            "params": rule.params_json(),
        },
        now=as_utc(now),
    )
    return rule
