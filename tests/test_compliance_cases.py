"""Alerts and cases: grouping per customer, officer actions with reasons, four-eyes release of a
blocked transfer, escalation, the append-only history and the audit trail."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from compliance.audit import read_audit
from compliance.cases import (
    approve_release,
    decide,
    get_case,
    list_cases,
    open_alert,
    reject_release,
    request_release,
    transfer_state,
)
from compliance.errors import (
    BlockedTransferNeedsRelease,
    CaseActionNotAllowed,
    FourEyesRequired,
    ReasonRequired,
    ReleaseNotAllowed,
    SeniorOfficerRequired,
)
from compliance.officers import NotAnOfficer, Officer
from compliance.tables import cases
from tests.compliance_helpers import NOW, RecordingSink

ANNA = Officer("staff:1", frozenset({"officer"}))
BORIS = Officer("staff:2", frozenset({"officer"}))
SENIOR = Officer("staff:3", frozenset({"senior_officer"}))
ADMIN = Officer("staff:4", frozenset({"admin"}))
STRUCTURING = [{"rule": "structuring_24h", "reason": "3 transfers just under 1000.00 USD"}]
SANCTIONS = [{"rule": "ofac_sdn", "reason": "name matches an SDN entry (score 0.97)"}]


async def alert(
    engine: AsyncEngine, transfer: str | None, outcome: str = "review", customer: str = "c1"
) -> int:
    async with engine.begin() as conn:
        reasons = SANCTIONS if outcome == "block" else STRUCTURING
        source = "screening" if outcome == "block" else "monitoring"
        return await open_alert(conn, customer, transfer, source, reasons, outcome=outcome, now=NOW)  # type: ignore[arg-type]


async def test_alerts_of_one_customer_share_an_open_case(engine: AsyncEngine) -> None:
    first = await alert(engine, "t1")
    second = await alert(engine, "t2", "block")
    other = await alert(engine, "t3", customer="c2")
    assert first == second != other
    async with engine.connect() as conn:
        detail = await get_case(conn, first)
    assert [a.source for a in detail.alerts] == ["monitoring", "screening"]
    assert detail.transfers == {"t1": "in_review", "t2": "blocked"}
    assert detail.case.open_alerts == 2


async def test_clear_releases_transfers_closes_the_case_and_a_new_alert_opens_a_new_one(
    engine: AsyncEngine,
) -> None:
    case_id = await alert(engine, "t1")
    sink = RecordingSink()
    async with engine.begin() as conn:
        decision = await decide(conn, case_id, "clear", ANNA, "salary payments, documented", sink, now=NOW)
        assert await transfer_state(conn, "t1") == "released"
    assert decision.case_status == "closed"
    assert sink.calls == [("release", "t1")]
    assert await alert(engine, "t9") != case_id


async def test_every_action_needs_a_reason(engine: AsyncEngine) -> None:
    case_id = await alert(engine, "t1")
    async with engine.begin() as conn:
        for action in ("clear", "hold", "block", "escalate", "report"):
            with pytest.raises(ReasonRequired):
                await decide(conn, case_id, action, ANNA, " ", RecordingSink(), now=NOW)  # type: ignore[arg-type]
        assert (await get_case(conn, case_id)).actions == []


async def test_hold_then_block_tells_the_transfer_each_time(engine: AsyncEngine) -> None:
    case_id = await alert(engine, "t1")
    sink = RecordingSink()
    async with engine.begin() as conn:
        held = await decide(conn, case_id, "hold", ANNA, "asked customer for payslips", sink, now=NOW)
        blocked = await decide(conn, case_id, "block", ANNA, "no payslips after 14 days", sink, now=NOW)
        detail = await get_case(conn, case_id)
    assert held.case_status == "on_hold"
    assert blocked.case_status == "closed"
    assert detail.case.resolution == "blocked"
    assert sink.calls == [("hold", "t1"), ("block", "t1")]
    assert [(a.action, a.actor) for a in detail.actions] == [("hold", "staff:1"), ("block", "staff:1")]


async def test_clear_refuses_while_a_transfer_is_blocked(engine: AsyncEngine) -> None:
    case_id = await alert(engine, "t1", "block")
    async with engine.begin() as conn:
        with pytest.raises(BlockedTransferNeedsRelease):
            await decide(conn, case_id, "clear", ANNA, "false positive", RecordingSink(), now=NOW)


async def test_four_eyes_release_needs_a_second_officer(engine: AsyncEngine) -> None:
    await alert(engine, "t1", "block")
    sink = RecordingSink()
    async with engine.begin() as conn:
        request_id = await request_release(conn, "t1", ANNA, "namesake: different date of birth", now=NOW)
        with pytest.raises(FourEyesRequired):
            await approve_release(conn, request_id, ANNA, "I am sure", sink, now=NOW)
        with pytest.raises(NotAnOfficer):
            await approve_release(conn, request_id, ADMIN, "looks fine", sink, now=NOW)
        assert await transfer_state(conn, "t1") == "blocked"
        assert sink.calls == []
        released = await approve_release(
            conn, request_id, BORIS, "checked passport against SDN entry", sink, now=NOW
        )
        assert await transfer_state(conn, "t1") == "released"
        with pytest.raises(ReleaseNotAllowed):
            await approve_release(conn, request_id, SENIOR, "again", sink, now=NOW)
        events = [(e.actor, e.action) for e in await read_audit(conn)]
    assert released == "t1"
    assert sink.calls == [("release", "t1")]
    assert ("staff:1", "case.release_requested") in events
    assert ("staff:2", "case.release_approved") in events


async def test_one_pending_release_per_transfer_and_only_blocked_ones(engine: AsyncEngine) -> None:
    await alert(engine, "t1", "block")
    await alert(engine, "t2")
    async with engine.begin() as conn:
        request_id = await request_release(conn, "t1", ANNA, "namesake", now=NOW)
        with pytest.raises(ReleaseNotAllowed, match="already pending"):
            await request_release(conn, "t1", BORIS, "namesake", now=NOW)
        with pytest.raises(ReleaseNotAllowed, match="not blocked"):
            await request_release(conn, "t2", BORIS, "namesake", now=NOW)
        await reject_release(conn, request_id, BORIS, "the date of birth matches too", now=NOW)
        assert await transfer_state(conn, "t1") == "blocked"
        # Rejected: a new request may be made.
        await request_release(conn, "t1", BORIS, "new evidence from the customer", now=NOW)


async def test_an_escalated_case_is_decided_by_a_senior_officer(engine: AsyncEngine) -> None:
    case_id = await alert(engine, "t1", "block")
    sink = RecordingSink()
    async with engine.begin() as conn:
        await decide(conn, case_id, "escalate", ANNA, "possible PEP, above my authority", sink, now=NOW)
        with pytest.raises(SeniorOfficerRequired):
            await decide(conn, case_id, "hold", BORIS, "waiting", sink, now=NOW)
        request_id = await request_release(conn, "t1", BORIS, "not the PEP: different middle name", now=NOW)
        with pytest.raises(SeniorOfficerRequired):
            await approve_release(conn, request_id, ANNA, "agree", sink, now=NOW)
        await approve_release(conn, request_id, SENIOR, "agree after checking registry", sink, now=NOW)
        decision = await decide(conn, case_id, "clear", SENIOR, "all resolved", sink, now=NOW)
    assert decision.case_status == "closed"
    assert sink.calls == [("release", "t1")]


async def test_report_is_filed_once_and_may_follow_closing(engine: AsyncEngine) -> None:
    case_id = await alert(engine, "t1")
    sink = RecordingSink()
    async with engine.begin() as conn:
        await decide(conn, case_id, "block", ANNA, "structuring confirmed", sink, now=NOW)
        with pytest.raises(CaseActionNotAllowed, match="closed"):
            await decide(conn, case_id, "hold", ANNA, "too late", sink, now=NOW)
        await decide(conn, case_id, "report", ANNA, "STR filed with the FIU, ref 2026/114", sink, now=NOW)
        with pytest.raises(CaseActionNotAllowed, match="already reported"):
            await decide(conn, case_id, "report", BORIS, "again", sink, now=NOW)
        detail = await get_case(conn, case_id)
    assert detail.case.reported_at is not None


async def test_a_decision_on_one_transfer_leaves_the_case_open(engine: AsyncEngine) -> None:
    case_id = await alert(engine, "t1")
    await alert(engine, "t2")
    sink = RecordingSink()
    async with engine.begin() as conn:
        decision = await decide(conn, case_id, "clear", ANNA, "t1 is rent", sink, transfer_ref="t1", now=NOW)
        detail = await get_case(conn, case_id)
    assert decision.case_status == "open"
    assert detail.transfers == {"t1": "released", "t2": "in_review"}
    assert [a.status for a in detail.alerts] == ["closed", "open"]
    assert sink.calls == [("release", "t1")]


async def test_case_history_is_append_only(engine: AsyncEngine) -> None:
    case_id = await alert(engine, "t1")
    async with engine.begin() as conn:
        await decide(conn, case_id, "hold", ANNA, "waiting for documents", RecordingSink(), now=NOW)
    for statement in (
        "UPDATE compliance_case_actions SET reason = 'nothing'",
        "DELETE FROM compliance_case_actions",
    ):
        with pytest.raises((DBAPIError, IntegrityError)):
            async with engine.begin() as conn:
                await conn.execute(text(statement))


async def test_listing_cases_by_status_and_customer(engine: AsyncEngine) -> None:
    first = await alert(engine, "t1")
    second = await alert(engine, "t2", customer="c2")
    async with engine.connect() as conn:
        assert [c.id for c in await list_cases(conn, status="open")] == [first, second]
        assert [c.id for c in await list_cases(conn, customer_ref="c2")] == [second]
        assert [c.id for c in await list_cases(conn, after_id=first)] == [second]


@pytest.mark.postgres_only
async def test_concurrent_alerts_for_one_customer_open_one_case(engine: AsyncEngine) -> None:
    case_ids = await asyncio.gather(*[alert(engine, f"t{i}") for i in range(8)])
    assert len(set(case_ids)) == 1
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(cases))).scalar_one() == 1


async def test_rule_stats_show_how_each_rules_alerts_ended(engine: AsyncEngine) -> None:
    from compliance.alert_stats import rule_alert_stats

    cleared_case = await alert(engine, "t1", customer="c1")
    blocked_case = await alert(engine, "t2", customer="c2")
    await alert(engine, "t3", customer="c3")
    await alert(engine, "t4", "block", customer="c4")
    async with engine.begin() as conn:
        await decide(conn, cleared_case, "clear", ANNA, "rent payments", RecordingSink(), now=NOW)
        await decide(conn, blocked_case, "block", ANNA, "structuring confirmed", RecordingSink(), now=NOW)
        stats = {s.rule: s for s in await rule_alert_stats(conn, NOW)}
    structuring = stats["structuring_24h"]
    assert (structuring.alerts, structuring.cleared, structuring.blocked, structuring.open) == (3, 1, 1, 1)
    assert str(structuring.false_alarm_rate) == "0.500"
    assert stats["ofac_sdn"].false_alarm_rate is None
