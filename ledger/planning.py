"""Deciding a batch of requests in memory, in order, against the state loaded for it.

The store (:mod:`ledger.store_pg`, :mod:`ledger.store_sqlite`) loads, under the locks that keep it
current until commit, everything the batch can touch: its accounts (the counters of every
ordinary account), its holds, and the entries that already carry its ids. :func:`plan` then
decides each request in order, exactly as if they were posted one by one (a later request sees
the counters and holds an earlier one left), and produces the outcome of each and the rows to
write. Writing is then a handful of set-based statements for the whole batch, however large.

Hot (sharded) accounts carry no balance limit (a CHECK forbids it), so their counters are never
needed for a decision and are not loaded; only their deltas are written, to this transaction's
shard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

__all__ = [
    "CP",
    "CQ",
    "DP",
    "DQ",
    "AccountRow",
    "Decision",
    "HoldRow",
    "Plan",
    "PlannedEntry",
    "State",
    "StoredEntry",
    "Wanted",
    "plan",
    "wanted",
]

# Counter positions.
DP, CP, DQ, CQ = range(4)


@dataclass(slots=True)
class AccountRow:
    id: int
    code: str
    currency: str
    shards: int
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    counters: list[int] | None = None
    """Debits/credits posted/pending, for an ordinary account (locked); ``None`` for a hot one."""
    shard: int = 0
    """For a hot account: the shard row this transaction writes."""


@dataclass(slots=True)
class HoldRow:
    id: UUID
    kind: str
    """The stored entry's kind: a hold is ``pending``; anything else is not a hold."""
    expires_at: datetime | None
    legs: list[tuple[int, str, int, str]]
    """The held legs: ``(account_id, side, minor units, currency)``, in posting order."""
    open: bool
    """Not yet posted, voided or expired."""
    resolved_by: tuple[str, UUID] | None = None
    """The kind and id of the entry that resolved it, when known."""


@dataclass(slots=True)
class StoredEntry:
    id: UUID
    seq: int
    request_hash: str
    created_at: datetime
    effective_at: datetime
    expires_at: datetime | None
    legs: list[list[Any]] = field(default_factory=list)
    """``[account_id, code, side, phase, minor units, currency]`` per posting."""


@dataclass(slots=True)
class State:
    accounts: dict[int, AccountRow]
    by_code: dict[str, AccountRow]
    holds: dict[UUID, HoldRow]
    existing: dict[UUID, StoredEntry]


@dataclass(slots=True)
class PlannedEntry:
    item: int
    """Index of the request in the batch."""
    id: UUID
    kind: str
    pending_id: UUID | None
    expires_at: datetime | None
    reference: str | None
    metadata: Any
    request_hash: str
    effective_at: datetime | None
    legs: list[tuple[int, str, str, int, str]]
    """``(account_id, side, phase, minor units, currency)`` in posting order."""
    touches_ordinary_account: bool
    new_hold: bool


@dataclass(slots=True)
class Decision:
    """The outcome of one request."""

    status: str
    """``created``, ``replayed``, or a refusal code."""
    detail: str | None = None
    planned: int | None = None
    """For ``created``, and for a replay of an entry created earlier in the batch: its index in
    :attr:`Plan.entries`."""
    stored: StoredEntry | None = None
    """For a replay of an entry stored before the batch."""


@dataclass(slots=True)
class Plan:
    decisions: list[Decision]
    entries: list[PlannedEntry]
    holds_closed: list[UUID]
    """Open holds (stored before the batch) this batch resolves."""


def _refused(code: str, detail: str) -> Decision:
    return Decision(code, detail)


class _Planner:
    def __init__(self, state: State, now: datetime) -> None:
        self.state = state
        self.now = now
        self.entries: list[PlannedEntry] = []
        self.by_id: dict[UUID, int] = {}
        self.holds_closed: list[UUID] = []
        self.new_holds: set[UUID] = set()

    def decide(self, index: int, form: dict[str, Any]) -> Decision:
        entry_id: UUID = form["uid"]
        earlier = self.by_id.get(entry_id)
        if earlier is not None:
            same = self.entries[earlier].request_hash == form["h"]
            return Decision("replayed", planned=earlier) if same else self._conflict(entry_id)
        stored = self.state.existing.get(entry_id)
        if stored is not None:
            return (
                Decision("replayed", stored=stored)
                if stored.request_hash == form["h"]
                else self._conflict(entry_id)
            )
        if "hold" in form:
            return self._resolve(index, entry_id, form)
        return self._standard(index, entry_id, form)

    @staticmethod
    def _conflict(entry_id: UUID) -> Decision:
        return _refused("entry_conflict", f"entry {entry_id} was already posted with other content")

    def _standard(self, index: int, entry_id: UUID, form: dict[str, Any]) -> Decision:
        phase = "pending" if form["k"] == "pending" else "posted"
        legs: list[tuple[int, str, str, int, str]] = []
        for code, account_id, side, units, currency in form["p"]:
            account = (
                self.state.by_code.get(code) if code is not None else self.state.accounts.get(account_id)
            )
            if account is None:
                return _refused("unknown_account", f"no account {code if code is not None else account_id}")
            if account.currency != currency:
                return _refused(
                    "currency_mismatch", f"account {account.code} is in {account.currency}, not {currency}"
                )
            legs.append((account.id, side, phase, units, currency))
        breach = self._apply_if_allowed(legs)
        if breach is not None:
            return breach
        expires_at: datetime | None = form.get("xt")
        planned = self._plan(index, entry_id, form, legs, pending_id=None, expires_at=expires_at)
        if phase == "pending":
            self.state.holds[entry_id] = HoldRow(
                id=entry_id,
                kind="pending",
                expires_at=expires_at,
                legs=[(account_id, side, units, currency) for account_id, side, _, units, currency in legs],
                open=True,
            )
            self.entries[planned].new_hold = True
            self.new_holds.add(entry_id)
        return Decision("created", planned=planned)

    def _resolve(self, index: int, entry_id: UUID, form: dict[str, Any]) -> Decision:
        kind, hold_id = form["k"], form["hold_uid"]
        at: datetime = form.get("tt") or self.now
        hold = self.state.holds.get(hold_id)
        if hold is None:
            return _refused("hold_not_found", f"no hold {hold_id}")
        if hold.kind != "pending":
            return _refused("hold_not_pending", f"entry {hold_id} is not a hold")
        if not hold.open:
            by_kind, by_id = hold.resolved_by or ("another", "?")
            return _refused(
                "hold_not_pending", f"hold {hold_id} was already resolved by {by_kind} entry {by_id}"
            )
        if kind == "post_pending" and hold.expires_at is not None and hold.expires_at <= at:
            return _refused("hold_expired", f"hold {hold_id} expired at {hold.expires_at.isoformat()}")
        if kind == "expire_pending" and (hold.expires_at is None or hold.expires_at > at):
            return _refused("hold_not_expired", f"hold {hold_id} has not expired")
        amounts = _posted_amounts(form, hold.legs)
        if isinstance(amounts, Decision):
            return amounts
        legs = [
            (account_id, side, "released", units, currency) for account_id, side, units, currency in hold.legs
        ]
        legs += [
            (account_id, side, "posted", posted, currency)
            for (account_id, side, _, currency), posted in zip(hold.legs, amounts, strict=True)
            if posted > 0
        ]
        breach = self._apply_if_allowed(legs)
        if breach is not None:
            return breach
        planned = self._plan(index, entry_id, form, legs, pending_id=hold_id, expires_at=None)
        hold.open = False
        hold.resolved_by = (kind, entry_id)
        if hold_id not in self.new_holds:
            self.holds_closed.append(hold_id)
        return Decision("created", planned=planned)

    def _apply_if_allowed(self, legs: Sequence[tuple[int, str, str, int, str]]) -> Decision | None:
        """Add the legs to the in-memory counters, or the refusal if a balance limit would break."""
        deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for account_id, side, phase, units, _ in legs:
            column = (DP if side == "debit" else CP) + (0 if phase == "posted" else 2)
            deltas[account_id][column] += -units if phase == "released" else units
        for account_id in sorted(deltas):
            account = self.state.accounts[account_id]
            if account.counters is None:
                continue  # a hot account: no balance limit
            dp, cp, dq, cq = (
                value + delta for value, delta in zip(account.counters, deltas[account_id], strict=True)
            )
            if (account.debits_must_not_exceed_credits and dp + dq > cp) or (
                account.credits_must_not_exceed_debits and cp + cq > dp
            ):
                return _refused("insufficient_funds", f"account {account.code} has insufficient funds")
        for account_id, delta in deltas.items():
            counters = self.state.accounts[account_id].counters
            if counters is not None:
                for column in range(4):
                    counters[column] += delta[column]
        return None

    def _plan(
        self,
        index: int,
        entry_id: UUID,
        form: dict[str, Any],
        legs: list[tuple[int, str, str, int, str]],
        *,
        pending_id: UUID | None,
        expires_at: datetime | None,
    ) -> int:
        self.entries.append(
            PlannedEntry(
                item=index,
                id=entry_id,
                kind=form["k"],
                pending_id=pending_id,
                expires_at=expires_at,
                reference=form.get("r"),
                metadata=form.get("m") or {},
                request_hash=form["h"],
                effective_at=form.get("et"),
                legs=legs,
                touches_ordinary_account=any(
                    self.state.accounts[leg[0]].counters is not None for leg in legs
                ),
                new_hold=False,
            )
        )
        self.by_id[entry_id] = len(self.entries) - 1
        return len(self.entries) - 1


def _posted_amounts(form: dict[str, Any], held: list[tuple[int, str, int, str]]) -> list[int] | Decision:
    """Minor units to post per held leg (all zero for a void or an expiry), or the refusal."""
    if form["k"] != "post_pending":
        return [0] * len(held)
    asked = form.get("a")
    if asked is None:
        return [units for _, _, units, _ in held]
    if len(asked) != len(held):
        return _refused(
            "invalid_amounts", f"the hold has {len(held)} postings but {len(asked)} amounts were given"
        )
    net: dict[str, int] = defaultdict(int)
    for number, ((units, currency), (_, side, held_units, held_currency)) in enumerate(
        zip(asked, held, strict=True), start=1
    ):
        if currency != held_currency:
            return _refused(
                "invalid_amounts",
                f"amount {number} is in {currency} but the held posting is in {held_currency}",
            )
        if units > held_units:
            return _refused(
                "invalid_amounts", f"amount {number} is more than the {held_units} minor units held"
            )
        net[currency] += units if side == "debit" else -units
    if any(net.values()):
        return _refused("invalid_amounts", "the partial amounts do not balance per currency")
    if not any(units for units, _ in asked):
        return _refused("invalid_amounts", "nothing to post: void the hold instead")
    return [units for units, _ in asked]


def plan(forms: Sequence[dict[str, Any]], state: State, now: datetime) -> Plan:
    """Decide each canonical request in order; ``state`` is updated as they would leave it."""
    planner = _Planner(state, now)
    decisions = [planner.decide(index, form) for index, form in enumerate(forms)]
    return Plan(decisions=decisions, entries=planner.entries, holds_closed=planner.holds_closed)


@dataclass(frozen=True, slots=True)
class Wanted:
    """What a batch can touch, for the store to load."""

    entry_ids: list[UUID]
    hold_ids: list[UUID]
    codes: list[str]
    account_ids: list[int]


def wanted(forms: Sequence[dict[str, Any]]) -> Wanted:
    codes: set[str] = set()
    account_ids: set[int] = set()
    hold_ids: set[UUID] = set()
    for form in forms:
        if "hold" in form:
            hold_ids.add(form["hold_uid"])
        for code, account_id, *_ in form.get("p", ()):
            if code is not None:
                codes.add(code)
            else:
                account_ids.add(account_id)
    return Wanted(
        entry_ids=sorted({form["uid"] for form in forms}),
        hold_ids=sorted(hold_ids),
        codes=sorted(codes),
        account_ids=sorted(account_ids),
    )
