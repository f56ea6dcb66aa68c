"""Monitoring rules as data: each rule is a name, a kind, an action and typed, validated parameters.

A rule's parameters travel as JSON (camelCase keys, amounts as ``{"amount", "currency"}``) so that
officers can tune thresholds without a release; :func:`parse_params` validates them and refuses
anything it does not understand. :data:`DEFAULT_RULES` is the rule set the pilot starts with; the
figures and their sources are in docs/compliance.md.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal

from compliance.errors import InvalidRuleParams
from compliance.kyc import DEFAULT_TIER_LIMITS, TierLimits
from ledger.money import InvalidAmount, Money, UnknownCurrency

__all__ = [
    "DEFAULT_RULES",
    "FATF_CALL_FOR_ACTION",
    "FATF_INCREASED_MONITORING",
    "Action",
    "FanInParams",
    "FanOutParams",
    "JurisdictionParams",
    "LinkedThresholdParams",
    "NewRecipientParams",
    "RoundAmountParams",
    "Rule",
    "RuleKind",
    "RuleParams",
    "RuleSet",
    "StructuringParams",
    "TierLimitParams",
    "VelocityParams",
    "parse_params",
]

Action = Literal["review", "block"]
ACTIONS: tuple[Action, ...] = ("review", "block")


class RuleKind(StrEnum):
    """What a rule looks at."""

    TIER_LIMIT = "tier_limit"
    VELOCITY = "velocity"
    STRUCTURING = "structuring"
    FAN_IN = "fan_in"
    FAN_OUT = "fan_out"
    NEW_RECIPIENT_LARGE = "new_recipient_large"
    HIGH_RISK_JURISDICTION = "high_risk_jurisdiction"
    ROUND_AMOUNT = "round_amount"
    LINKED_THRESHOLD = "linked_threshold"


@dataclass(frozen=True, slots=True)
class TierLimitParams:
    """Sending limits per KYC tier (the one source of the limits ``check_limits`` applies)."""

    tiers: Mapping[int, TierLimits] = field(default_factory=lambda: dict(DEFAULT_TIER_LIMITS))
    """Per tier: largest transfer, sum over 24 hours, sum over 30 days, in the base currency."""


@dataclass(frozen=True, slots=True)
class VelocityParams:
    """Too many transfers, or too much money, from one sender in a rolling window."""

    window_hours: int
    """Length of the rolling window."""
    max_count: int | None = None
    """Fires when the sender's transfers in the window, this one included, exceed this count."""
    max_sum: Money | None = None
    """Fires when their sum, this one included, exceeds this amount."""


@dataclass(frozen=True, slots=True)
class StructuringParams:
    """Several transfers just under a threshold in a short time: splitting to stay below it."""

    threshold: Money
    """The threshold being dodged (by default FATF R.16's USD 1,000)."""
    margin_percent: Decimal
    """"Just under" means within this percentage below the threshold."""
    min_count: int
    """Fires when this many such transfers, this one included, fall in the window."""
    window_hours: int = 24
    """Length of the rolling window."""


@dataclass(frozen=True, slots=True)
class FanInParams:
    """Many different senders paying one recipient."""

    window_hours: int
    """Length of the rolling window."""
    max_senders: int
    """Fires when the distinct senders to the recipient, this one included, exceed this."""


@dataclass(frozen=True, slots=True)
class FanOutParams:
    """One sender paying many different recipients."""

    window_hours: int
    """Length of the rolling window."""
    max_recipients: int
    """Fires when the sender's distinct recipients, this one included, exceed this."""


@dataclass(frozen=True, slots=True)
class NewRecipientParams:
    """A large first transfer to a recipient the sender never paid before."""

    min_amount: Money
    """Fires for a first transfer at or above this amount."""


@dataclass(frozen=True, slots=True)
class JurisdictionParams:
    """Transfers to or from high-risk jurisdictions."""

    countries: tuple[str, ...]
    """ISO 3166-1 alpha-2 codes."""
    source: str = ""
    """Where the list comes from and its date, shown in the hit's reason."""


@dataclass(frozen=True, slots=True)
class RoundAmountParams:
    """Large amounts that are exact multiples of a round figure."""

    multiple: Decimal
    """In major units of the send currency (e.g. 1000)."""
    min_amount: Money
    """Only at or above this amount (smaller round amounts are everyday behaviour)."""


@dataclass(frozen=True, slots=True)
class LinkedThresholdParams:
    """A sender's linked transactions adding up to a threshold that calls for enhanced checks."""

    threshold: Money
    """Azerbaijan's AML law: 20,000 AZN."""
    window_hours: int
    """Transactions within this window count as linked."""


RuleParams = (
    TierLimitParams
    | VelocityParams
    | StructuringParams
    | FanInParams
    | FanOutParams
    | NewRecipientParams
    | JurisdictionParams
    | RoundAmountParams
    | LinkedThresholdParams
)

_PARAMS_BY_KIND: dict[RuleKind, type[Any]] = {
    RuleKind.TIER_LIMIT: TierLimitParams,
    RuleKind.VELOCITY: VelocityParams,
    RuleKind.STRUCTURING: StructuringParams,
    RuleKind.FAN_IN: FanInParams,
    RuleKind.FAN_OUT: FanOutParams,
    RuleKind.NEW_RECIPIENT_LARGE: NewRecipientParams,
    RuleKind.HIGH_RISK_JURISDICTION: JurisdictionParams,
    RuleKind.ROUND_AMOUNT: RoundAmountParams,
    RuleKind.LINKED_THRESHOLD: LinkedThresholdParams,
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One monitoring rule in force."""

    name: str
    """Stable identifier, e.g. ``structuring_24h``; hits and alerts quote it."""
    kind: RuleKind
    """What the rule looks at."""
    action: Action
    """What a hit asks for: ``review`` (an officer decides first) or ``block``."""
    params: RuleParams
    """Thresholds, typed per kind."""
    enabled: bool = True
    """A disabled rule never fires."""
    version: int = 0
    """0 for the built-in default, then 1, 2, ... for each stored change."""

    def params_json(self) -> dict[str, Any]:
        return params_to_json(self.params)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules in force at one moment."""

    rules: tuple[Rule, ...]

    def enabled(self) -> Iterable[Rule]:
        return (rule for rule in self.rules if rule.enabled)

    def get(self, name: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.name == name), None)

    def tier_limits(self) -> Mapping[int, TierLimits]:
        """The limits of the first ``tier_limit`` rule, or the defaults when there is none."""
        for rule in self.rules:
            if isinstance(rule.params, TierLimitParams):
                return rule.params.tiers
        return DEFAULT_TIER_LIMITS


# --- JSON <-> params ---------------------------------------------------------------------------

_CAMEL = re.compile(r"_([a-z])")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _camel(name: str) -> str:
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def _money_json(value: Money) -> dict[str, str]:
    return value.to_json()


def _parse_money(value: Any, where: str) -> Money:
    if not isinstance(value, Mapping) or set(value) != {"amount", "currency"}:
        raise InvalidRuleParams(f"{where} must be {{'amount': '1000.00', 'currency': 'USD'}}")
    if not isinstance(value["amount"], str):
        raise InvalidRuleParams(f"{where}.amount must be a decimal string")
    try:
        money = Money(Decimal(value["amount"]), str(value["currency"]))
    except (InvalidAmount, UnknownCurrency, InvalidOperation) as exc:
        raise InvalidRuleParams(f"{where}: {exc}") from None
    if money.amount < 0:
        raise InvalidRuleParams(f"{where} must not be negative")
    return money


def _parse_positive_int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidRuleParams(f"{where} must be a whole number of at least 1")
    return value


def _parse_decimal(value: Any, where: str) -> Decimal:
    if not isinstance(value, str):
        raise InvalidRuleParams(f"{where} must be a decimal string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise InvalidRuleParams(f"{where} must be a decimal string") from None
    if not number.is_finite() or number <= 0:
        raise InvalidRuleParams(f"{where} must be greater than zero")
    return number


def _parse_countries(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(c, str) and _COUNTRY.match(c) for c in value):
        raise InvalidRuleParams(f"{where} must be a list of ISO 3166-1 alpha-2 codes such as 'IR'")
    return tuple(sorted(set(value)))


def _parse_tiers(value: Any, where: str) -> dict[int, TierLimits]:
    if not isinstance(value, Mapping) or not value:
        raise InvalidRuleParams(f"{where} must map tiers ('0', '1', '2') to limits")
    tiers: dict[int, TierLimits] = {}
    currencies = set()
    for key, limits in value.items():
        if str(key) not in ("0", "1", "2"):
            raise InvalidRuleParams(f"{where}: unknown tier {key!r}")
        if not isinstance(limits, Mapping) or set(limits) != {"perTransfer", "perDay", "perMonth"}:
            raise InvalidRuleParams(f"{where}.{key} must have perTransfer, perDay and perMonth")
        parsed = TierLimits(
            per_transfer=_parse_money(limits["perTransfer"], f"{where}.{key}.perTransfer"),
            per_day=_parse_money(limits["perDay"], f"{where}.{key}.perDay"),
            per_month=_parse_money(limits["perMonth"], f"{where}.{key}.perMonth"),
        )
        currencies |= {parsed.per_transfer.currency, parsed.per_day.currency, parsed.per_month.currency}
        if not parsed.per_transfer <= parsed.per_day <= parsed.per_month:
            raise InvalidRuleParams(f"{where}.{key}: perTransfer <= perDay <= perMonth must hold")
        tiers[int(key)] = parsed
    if len(currencies) != 1:
        raise InvalidRuleParams(f"{where}: every limit must be in the one base currency")
    if set(tiers) != {0, 1, 2}:
        raise InvalidRuleParams(f"{where} must give limits for tiers 0, 1 and 2")
    return tiers


def _parse_value(value: Any, hint: Any, where: str) -> Any:
    optional = type(None) in typing.get_args(hint)
    if optional:
        if value is None:
            return None
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if hint is Money:
        return _parse_money(value, where)
    if hint is int:
        return _parse_positive_int(value, where)
    if hint is Decimal:
        return _parse_decimal(value, where)
    if hint == tuple[str, ...]:
        return _parse_countries(value, where)
    if hint is str:
        if not isinstance(value, str) or len(value) > 200:
            raise InvalidRuleParams(f"{where} must be a short text")
        return value
    if typing.get_origin(hint) is Mapping:
        return _parse_tiers(value, where)
    raise AssertionError(f"no parser for {hint}")  # a params class with an unsupported field type


def parse_params(kind: RuleKind | str, raw: Any) -> RuleParams:
    """Typed parameters of a rule of ``kind`` from JSON; :class:`InvalidRuleParams` when wrong."""
    try:
        params_class = _PARAMS_BY_KIND[RuleKind(kind)]
    except ValueError:
        raise InvalidRuleParams(f"unknown rule kind {kind!r}") from None
    if not isinstance(raw, Mapping):
        raise InvalidRuleParams("params must be a JSON object")
    hints = typing.get_type_hints(params_class)
    fields = {_camel(f.name): f for f in dataclasses.fields(params_class)}
    unknown = set(raw) - set(fields)
    if unknown:
        raise InvalidRuleParams(f"unknown parameters: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key, spec in fields.items():
        if key not in raw:
            has_default = (
                spec.default is not dataclasses.MISSING or spec.default_factory is not dataclasses.MISSING
            )
            if not has_default:
                raise InvalidRuleParams(f"missing parameter {key}")
            continue
        values[spec.name] = _parse_value(raw[key], hints[spec.name], key)
    params: RuleParams = params_class(**values)
    if isinstance(params, VelocityParams) and params.max_count is None and params.max_sum is None:
        raise InvalidRuleParams("a velocity rule needs maxCount, maxSum or both")
    if isinstance(params, StructuringParams) and params.margin_percent >= 100:
        raise InvalidRuleParams("marginPercent must be below 100")
    return params


def _json_value(value: Any) -> Any:
    if isinstance(value, Money):
        return _money_json(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return {
            str(tier): {
                "perTransfer": _money_json(limits.per_transfer),
                "perDay": _money_json(limits.per_day),
                "perMonth": _money_json(limits.per_month),
            }
            for tier, limits in sorted(value.items())
        }
    return value


def params_to_json(params: RuleParams) -> dict[str, Any]:
    """The JSON form :func:`parse_params` reads back."""
    return {_camel(f.name): _json_value(getattr(params, f.name)) for f in dataclasses.fields(params)}


# --- the defaults ------------------------------------------------------------------------------

FATF_CALL_FOR_ACTION: tuple[str, ...] = ("IR", "KP", "MM")
"""FATF "High-Risk Jurisdictions subject to a Call for Action" (June 2025): DPRK, Iran, Myanmar."""

FATF_INCREASED_MONITORING: tuple[str, ...] = tuple(
    sorted(
        (
            "DZ", "AO", "BO", "BG", "BF", "CM", "CI", "CD", "HT", "KE", "LA", "LB", "MC", "MZ",
            "NA", "NP", "NG", "ZA", "SS", "SY", "VE", "VN", "VG", "YE",
        )
    )
)  # fmt: skip
"""FATF "Jurisdictions under Increased Monitoring" (June 2025). Policy must keep it current."""


def _usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


DEFAULT_RULES = RuleSet(
    (
        Rule("tier_limits", RuleKind.TIER_LIMIT, "block", TierLimitParams()),
        Rule("velocity_24h", RuleKind.VELOCITY, "review", VelocityParams(24, 5, _usd("5000.00"))),
        Rule(
            "structuring_24h",
            RuleKind.STRUCTURING,
            "review",
            StructuringParams(_usd("1000.00"), Decimal("10"), 3, 24),
        ),
        Rule("fan_in_7d", RuleKind.FAN_IN, "review", FanInParams(168, 5)),
        Rule("fan_out_7d", RuleKind.FAN_OUT, "review", FanOutParams(168, 5)),
        Rule(
            "new_recipient_large", RuleKind.NEW_RECIPIENT_LARGE, "review", NewRecipientParams(_usd("750.00"))
        ),
        Rule(
            "fatf_call_for_action",
            RuleKind.HIGH_RISK_JURISDICTION,
            "block",
            JurisdictionParams(FATF_CALL_FOR_ACTION, "FATF call for action, June 2025"),
        ),
        Rule(
            "fatf_increased_monitoring",
            RuleKind.HIGH_RISK_JURISDICTION,
            "review",
            JurisdictionParams(FATF_INCREASED_MONITORING, "FATF increased monitoring, June 2025"),
        ),
        Rule(
            "round_amount",
            RuleKind.ROUND_AMOUNT,
            "review",
            RoundAmountParams(Decimal("1000"), _usd("2000.00")),
        ),
        Rule(
            "edd_linked_transactions",
            RuleKind.LINKED_THRESHOLD,
            "review",
            LinkedThresholdParams(Money(Decimal("20000"), "AZN"), 720),
        ),
    )
)
"""The rule set the pilot starts with (docs/compliance.md explains each figure)."""
