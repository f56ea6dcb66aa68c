"""Transaction monitoring: each rule fires when it should and stays quiet when it should not,
outcomes combine as block > review > allow, and rules are data an officer can change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from compliance.errors import InvalidRuleParams, ReasonRequired
from compliance.monitoring import (
    DEFAULT_RULES,
    MonitoringOutcome,
    RuleSet,
    TransferFacts,
    evaluate,
    load_rules,
    record_event,
    rule_history,
    save_rule,
)
from tests.compliance_helpers import NOW, convert, facts


def only(name: str) -> RuleSet:
    rule = DEFAULT_RULES.get(name)
    assert rule is not None
    return RuleSet((rule,))


async def run(engine: AsyncEngine, rule: str, subject: TransferFacts, at=NOW) -> MonitoringOutcome:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return await evaluate(conn, subject, only(rule), at, convert=convert)


async def history(engine: AsyncEngine, *items: tuple[TransferFacts, timedelta]) -> None:
    async with engine.begin() as conn:
        for item, ago in items:
            await record_event(conn, item, NOW - ago)


def fired(outcome: MonitoringOutcome) -> list[str]:
    return [hit.rule for hit in outcome.hits]


# --- tier limits --------------------------------------------------------------------------------


async def test_tier_limit_blocks_tier_0_and_oversized_transfers(engine: AsyncEngine) -> None:
    zero = await run(engine, "tier_limits", facts("10.00", tier=0))
    assert zero.outcome == "block"
    assert "may receive money but not send" in zero.hits[0].reason
    over = await run(engine, "tier_limits", facts("1000.01", tier=1))
    assert over.outcome == "block"
    at_limit = await run(engine, "tier_limits", facts("1000.00", tier=1))
    assert at_limit.outcome == "allow"


async def test_tier_limit_adds_up_the_last_24_hours_but_not_older(engine: AsyncEngine) -> None:
    await history(
        engine,
        (facts("1000.00", tier=1), timedelta(hours=2)),
        (facts("900.00", tier=1), timedelta(hours=3)),
        (facts("900.00", tier=1), timedelta(hours=30)),
    )
    assert (await run(engine, "tier_limits", facts("100.00", tier=1))).outcome == "allow"  # 2,000 exactly
    over_day = await run(engine, "tier_limits", facts("100.01", tier=1))
    assert over_day.outcome == "block"
    assert "2000.01 USD sent in 24 hours" in over_day.hits[0].reason
    later = await run(engine, "tier_limits", facts("100.01", tier=1), NOW + timedelta(hours=23))
    assert later.outcome == "allow"


# --- velocity -----------------------------------------------------------------------------------


async def test_velocity_fires_on_the_sixth_transfer_in_24_hours(engine: AsyncEngine) -> None:
    await history(engine, *[(facts("10.00"), timedelta(hours=h)) for h in (1, 2, 3, 4)])
    assert (await run(engine, "velocity_24h", facts("10.00"))).outcome == "allow"  # 5th
    await history(engine, (facts("10.00"), timedelta(hours=5)))
    sixth = await run(engine, "velocity_24h", facts("10.00"))
    assert sixth.outcome == "review"
    assert sixth.hits[0].reason.startswith("6 transfers in 24 hours")


async def test_velocity_counts_only_the_window_and_the_sender(engine: AsyncEngine) -> None:
    await history(
        engine,
        *[(facts("10.00"), timedelta(hours=25 + h)) for h in range(5)],
        *[(facts("10.00", customer="someone-else"), timedelta(hours=1)) for _ in range(5)],
    )
    assert (await run(engine, "velocity_24h", facts("10.00"))).outcome == "allow"


async def test_velocity_fires_on_the_sum(engine: AsyncEngine) -> None:
    await history(engine, (facts("4000.00"), timedelta(hours=3)))
    assert (await run(engine, "velocity_24h", facts("1000.00"))).outcome == "allow"  # exactly 5000
    hit = await run(engine, "velocity_24h", facts("1000.01"))
    assert hit.outcome == "review"
    assert "5000.01 USD sent in 24 hours" in hit.hits[0].reason


# --- structuring --------------------------------------------------------------------------------


async def test_structuring_three_just_under_1000_within_24_hours(engine: AsyncEngine) -> None:
    await history(engine, (facts("950.00"), timedelta(hours=20)), (facts("990.00"), timedelta(hours=6)))
    outcome = await run(engine, "structuring_24h", facts("999.99"))
    assert outcome.outcome == "review"
    assert "3 transfers between 900.00 USD and 1000.00 USD" in outcome.hits[0].reason


@pytest.mark.parametrize(
    ("earlier", "now_amount", "why"),
    [
        (("950.00", "990.00"), "1000.00", "this one is at the threshold, not under it"),
        (("950.00", "990.00"), "899.99", "this one is below the band"),
        (("950.00", "850.00"), "990.00", "only two fall in the band"),
    ],
)
async def test_structuring_stays_quiet(
    engine: AsyncEngine, earlier: tuple[str, str], now_amount: str, why: str
) -> None:
    await history(engine, *[(facts(amount), timedelta(hours=2)) for amount in earlier])
    assert (await run(engine, "structuring_24h", facts(now_amount))).outcome == "allow", why


async def test_structuring_ignores_transfers_older_than_24_hours(engine: AsyncEngine) -> None:
    await history(engine, (facts("950.00"), timedelta(hours=25)), (facts("990.00"), timedelta(hours=6)))
    assert (await run(engine, "structuring_24h", facts("999.99"))).outcome == "allow"


async def test_structuring_converts_the_send_currency(engine: AsyncEngine) -> None:
    # 1,650 AZN is 970.59 USD at 1.7: just under the USD 1,000 threshold.
    await history(
        engine,
        (facts("1650.00", currency="AZN"), timedelta(hours=1)),
        (facts("1650.00", currency="AZN"), timedelta(hours=2)),
    )
    assert (await run(engine, "structuring_24h", facts("1650.00", currency="AZN"))).outcome == "review"


# --- fan-in / fan-out ---------------------------------------------------------------------------


async def test_fan_in_six_senders_to_one_recipient(engine: AsyncEngine) -> None:
    await history(
        engine, *[(facts("50.00", customer=f"s{i}", recipient="mule"), timedelta(days=1)) for i in range(4)]
    )
    assert (
        await run(engine, "fan_in_7d", facts("50.00", customer="s4", recipient="mule"))
    ).outcome == "allow"
    await history(engine, (facts("50.00", customer="s4", recipient="mule"), timedelta(days=1)))
    outcome = await run(engine, "fan_in_7d", facts("50.00", customer="s5", recipient="mule"))
    assert outcome.outcome == "review"
    assert "6 different senders" in outcome.hits[0].reason


async def test_fan_in_counts_distinct_senders_within_7_days(engine: AsyncEngine) -> None:
    await history(
        engine,
        *[(facts("50.00", customer="s0", recipient="mum"), timedelta(days=1)) for _ in range(6)],
        *[(facts("50.00", customer=f"old{i}", recipient="mum"), timedelta(days=8)) for i in range(6)],
    )
    assert (await run(engine, "fan_in_7d", facts("50.00", customer="s1", recipient="mum"))).outcome == "allow"


async def test_fan_out_one_sender_to_six_recipients(engine: AsyncEngine) -> None:
    await history(engine, *[(facts("50.00", recipient=f"r{i}"), timedelta(days=2)) for i in range(5)])
    assert (await run(engine, "fan_out_7d", facts("50.00", recipient="r0"))).outcome == "allow"
    outcome = await run(engine, "fan_out_7d", facts("50.00", recipient="r5"))
    assert outcome.outcome == "review"
    assert "6 different recipients" in outcome.hits[0].reason


# --- new recipient, jurisdictions, round amounts -------------------------------------------------


async def test_large_first_transfer_to_a_new_recipient(engine: AsyncEngine) -> None:
    assert (await run(engine, "new_recipient_large", facts("750.00", recipient="new"))).outcome == "review"
    assert (await run(engine, "new_recipient_large", facts("749.99", recipient="new"))).outcome == "allow"
    await history(engine, (facts("20.00", recipient="known"), timedelta(days=200)))
    assert (await run(engine, "new_recipient_large", facts("900.00", recipient="known"))).outcome == "allow"


async def test_high_risk_jurisdictions(engine: AsyncEngine) -> None:
    blocked = await run(engine, "fatf_call_for_action", facts(country="IR"))
    assert blocked.outcome == "block"
    assert "IR" in blocked.hits[0].reason
    assert (await run(engine, "fatf_call_for_action", facts(country="AZ", origin="KP"))).outcome == "block"
    assert (await run(engine, "fatf_increased_monitoring", facts(country="SY"))).outcome == "review"
    assert (
        await run(engine, "fatf_increased_monitoring", facts(country="AZ", origin="RU"))
    ).outcome == "allow"


async def test_round_amounts(engine: AsyncEngine) -> None:
    assert (await run(engine, "round_amount", facts("3000.00"))).outcome == "review"
    assert (await run(engine, "round_amount", facts("3000.50"))).outcome == "allow"
    assert (await run(engine, "round_amount", facts("1000.00"))).outcome == "allow"  # under USD 2,000
    # 200,000 RUB is USD 2,500 and a multiple of 1,000 roubles.
    assert (await run(engine, "round_amount", facts("200000.00", currency="RUB"))).outcome == "review"


# --- Azerbaijan's 20,000 AZN with linked transactions added up -----------------------------------


async def test_linked_transactions_reaching_20000_azn_call_for_enhanced_checks(engine: AsyncEngine) -> None:
    # 20,000 AZN = 11,764.71 USD at 1.7.
    await history(engine, (facts("6000.00"), timedelta(days=10)), (facts("5000.00"), timedelta(days=1)))
    under = await run(engine, "edd_linked_transactions", facts("764.70"))
    assert under.outcome == "allow"
    crossing = await run(engine, "edd_linked_transactions", facts("764.71"))
    assert crossing.outcome == "review"
    assert "enhanced checks required" in crossing.hits[0].reason


async def test_linked_transactions_outside_30_days_are_not_linked(engine: AsyncEngine) -> None:
    await history(engine, (facts("11000.00"), timedelta(days=31)))
    assert (await run(engine, "edd_linked_transactions", facts("1000.00"))).outcome == "allow"


# --- the whole rule set -------------------------------------------------------------------------


async def test_a_quiet_transfer_is_allowed_by_every_default_rule(engine: AsyncEngine) -> None:
    await history(engine, (facts("120.00"), timedelta(days=3)))
    async with engine.connect() as conn:
        outcome = await evaluate(conn, facts("150.00"), DEFAULT_RULES, NOW, convert=convert)
    assert outcome == MonitoringOutcome("allow", ())


async def test_block_wins_over_review_and_every_hit_keeps_its_reason(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        outcome = await evaluate(
            conn, facts("5000.00", country="IR", recipient="brand-new"), DEFAULT_RULES, NOW, convert=convert
        )
    assert outcome.outcome == "block"
    assert set(fired(outcome)) == {"fatf_call_for_action", "new_recipient_large", "round_amount"}
    assert all(hit.reason for hit in outcome.hits)


async def test_every_rule_reads_the_history_in_one_statement(engine: AsyncEngine) -> None:
    """All default rules fire together from one read, with the figures a rule-by-rule read gives."""
    sender, recipient = "customer:busy", "payee:popular"
    near_threshold = [facts("990.00", customer=sender, recipient=f"payee:{i}") for i in range(6)]
    others_paying = [facts("10.00", customer=f"customer:{i}", recipient=recipient) for i in range(6)]
    await history(
        engine,
        *[(item, timedelta(hours=i + 1)) for i, item in enumerate(near_threshold)],
        *[(item, timedelta(hours=2)) for item in others_paying],
    )
    subject = facts("995.00", customer=sender, recipient=recipient)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's transaction start, not a read
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with engine.connect() as conn:
            outcome = await evaluate(conn, subject, DEFAULT_RULES, NOW, convert=convert)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert {"velocity_24h", "structuring_24h", "fan_in_7d", "fan_out_7d"} <= set(fired(outcome))
    for rule in ("velocity_24h", "structuring_24h", "fan_in_7d", "fan_out_7d"):
        assert fired(await run(engine, rule, subject)) == [rule]


async def test_evaluation_leaves_the_transfer_itself_out_of_its_history(engine: AsyncEngine) -> None:
    subject = facts("999.00")
    await history(engine, (facts("990.00"), timedelta(hours=1)), (subject, timedelta(0)))
    assert (await run(engine, "structuring_24h", subject)).outcome == "allow"  # 2 in band, not 3


async def test_a_disabled_rule_never_fires(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await save_rule(conn, "fatf_call_for_action", actor="staff:1", reason="test", now=NOW, enabled=False)
        rules = await load_rules(conn)
        outcome = await evaluate(conn, facts(country="IR"), rules, NOW, convert=convert)
    assert outcome.outcome == "allow"


# --- rules as data ------------------------------------------------------------------------------


async def test_an_officer_tunes_a_threshold_and_the_engine_follows(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        saved = await save_rule(
            conn,
            "velocity_24h",
            actor="staff:7",
            reason="too many false alarms from payday batches",
            now=NOW,
            params={"windowHours": 24, "maxCount": 2},
        )
    assert saved.version == 1
    await history(engine, (facts("10.00"), timedelta(hours=1)), (facts("10.00"), timedelta(hours=2)))
    async with engine.connect() as conn:
        rules = await load_rules(conn)
        outcome = await evaluate(conn, facts("10.00"), rules, NOW, convert=convert)
        versions = await rule_history(conn, "velocity_24h")
    assert fired(outcome) == ["velocity_24h"]
    assert rules.get("velocity_24h").version == 1  # type: ignore[union-attr]
    assert [(v.rule.version, v.changed_by, v.reason) for v in versions] == [
        (1, "staff:7", "too many false alarms from payday batches")
    ]


async def test_a_new_rule_can_be_added_as_data(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await save_rule(
            conn,
            "round_amount_small",
            actor="staff:7",
            reason="pilot corridor pattern",
            now=NOW,
            kind="round_amount",
            action="review",
            params={"multiple": "100", "minAmount": {"amount": "500.00", "currency": "USD"}},
        )
        rules = await load_rules(conn)
    assert rules.rules[-1].name == "round_amount_small"
    assert len(rules.rules) == len(DEFAULT_RULES.rules) + 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"windowHours": 0, "maxCount": 3}, "windowHours must be a whole number"),
        ({"windowHours": 24}, "needs maxCount, maxSum or both"),
        ({"windowHours": 24, "maxSum": {"amount": 5000, "currency": "USD"}}, "decimal string"),
        ({"windowHours": 24, "maxSum": {"amount": "5.001", "currency": "USD"}}, "decimal places"),
        ({"windowHours": 24, "maxCount": 3, "surprise": 1}, "unknown parameters: surprise"),
    ],
)
async def test_bad_rule_params_are_refused_and_change_nothing(
    engine: AsyncEngine, params: dict[str, object], message: str
) -> None:
    async with engine.begin() as conn:
        with pytest.raises(InvalidRuleParams, match=message):
            await save_rule(conn, "velocity_24h", actor="staff:7", reason="x y z", now=NOW, params=params)
        assert await rule_history(conn, "velocity_24h") == []


async def test_a_rule_change_needs_a_reason(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        with pytest.raises(ReasonRequired):
            await save_rule(conn, "velocity_24h", actor="staff:7", reason=" ", now=NOW, enabled=False)


async def test_rule_versions_are_append_only_in_the_database(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await save_rule(conn, "round_amount", actor="staff:7", reason="quieter", now=NOW, enabled=False)
    for statement in (
        "UPDATE monitoring_rule_versions SET enabled = true",
        "DELETE FROM monitoring_rule_versions",
    ):
        with pytest.raises((DBAPIError, IntegrityError)):
            async with engine.begin() as conn:
                await conn.execute(text(statement))


async def test_default_params_survive_a_json_round_trip() -> None:
    from compliance.monitoring.rules import params_to_json, parse_params

    for rule in DEFAULT_RULES.rules:
        assert parse_params(rule.kind, params_to_json(rule.params)) == rule.params
