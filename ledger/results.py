"""Turning what a batch decided and wrote, or what is stored, into :class:`Entry` values.

Shared by every way of posting (:mod:`ledger.journal`): a created entry is built from its
canonical request and the sequence number and timestamps the database gave it; a replay from
the stored entry, once the request's hash is found equal to the stored one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ledger.errors import LedgerError, error_for_code
from ledger.model import Entry, EntryKind, Phase, Posting, Side
from ledger.money import Money
from ledger.planning import Decision, Plan, State, StoredEntry

__all__ = ["build_entry", "build_posting", "build_result", "replay_entry"]


def replay_entry(form: dict[str, Any], stored: StoredEntry) -> Entry | LedgerError:
    """The stored entry for a request with its id: a replay, or a conflict if the content differs."""
    if stored.request_hash != form["h"]:
        return error_for_code("entry_conflict", f"entry {form['id']} was already posted with other content")
    return build_entry(
        form,
        seq=stored.seq,
        postings=stored.legs,
        expires_at=stored.expires_at,
        effective_at=stored.effective_at,
        created_at=stored.created_at,
        replayed=True,
    )


def build_result(
    form: dict[str, Any],
    decision: Decision,
    decided: Plan,
    written: Sequence[tuple[int, datetime, datetime] | StoredEntry],
    state: State,
) -> Entry | LedgerError:
    """What the caller gets for one request of a planned and written batch."""
    if decision.status not in ("created", "replayed"):
        return error_for_code(decision.status, decision.detail or decision.status)
    replayed = decision.status == "replayed"
    stored = decision.stored
    if decision.planned is not None:
        outcome = written[decision.planned]
        if isinstance(outcome, StoredEntry):  # another transaction stored it first
            stored, replayed = outcome, True
        else:
            seq, created_at, effective_at = outcome
            planned = decided.entries[decision.planned]
            return build_entry(
                form,
                seq=seq,
                postings=[
                    [account_id, state.accounts[account_id].code, side, phase, units, currency]
                    for account_id, side, phase, units, currency in planned.legs
                ],
                expires_at=planned.expires_at,
                effective_at=effective_at,
                created_at=created_at,
                replayed=replayed,
            )
    assert stored is not None
    return replay_entry(form, stored)


def build_entry(
    form: dict[str, Any],
    *,
    seq: int,
    postings: Sequence[Sequence[Any]],
    expires_at: datetime | None,
    effective_at: datetime,
    created_at: datetime,
    replayed: bool,
) -> Entry:
    return Entry(
        id=form["uid"],
        seq=seq,
        kind=_KINDS[form["k"]],
        postings=tuple(build_posting(leg) for leg in postings),
        pending_id=form.get("hold_uid"),
        expires_at=expires_at,
        reference=form.get("r"),
        metadata=form.get("m") or {},
        effective_at=effective_at,
        created_at=created_at,
        replayed=replayed,
    )


_KINDS = {kind.value: kind for kind in EntryKind}
_SIDES = {side.value: side for side in Side}
_PHASES = {phase.value: phase for phase in Phase}


def build_posting(leg: Sequence[Any]) -> Posting:
    account_id, code, side, phase, amount, currency = leg
    return Posting(
        account_id=account_id,
        account_code=code,
        side=_SIDES[side],
        phase=_PHASES[phase],
        amount=Money.from_minor(amount, currency),
    )
