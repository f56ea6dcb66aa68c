"""Transaction monitoring: rules as data, the transfer history they read, and the engine."""

from compliance.monitoring.engine import MonitoringOutcome, Outcome, RuleHit, evaluate
from compliance.monitoring.events import TransferFacts, record_event
from compliance.monitoring.rules import DEFAULT_RULES, Rule, RuleKind, RuleSet, parse_params
from compliance.monitoring.store import RuleCache, RuleVersion, load_rules, rule_history, save_rule

__all__ = [
    "DEFAULT_RULES",
    "MonitoringOutcome",
    "Outcome",
    "Rule",
    "RuleCache",
    "RuleHit",
    "RuleKind",
    "RuleSet",
    "RuleVersion",
    "TransferFacts",
    "evaluate",
    "load_rules",
    "parse_params",
    "record_event",
    "rule_history",
    "save_rule",
]
