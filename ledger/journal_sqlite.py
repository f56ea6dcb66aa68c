"""The SQLite journal: the same rules as the PostgreSQL batch function, in Python.

SQLite serialises writers (every transaction starts with ``BEGIN IMMEDIATE``), so no row locks are
needed: read, check, then write. Postings are written before their entry, whose insert trigger
checks that they balance (SQLite has no deferred triggers); ``seq`` is assigned here and ``tx_id``
equals it, which the trigger also checks.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.outcomes import CREATED, REPLAYED, Outcome, StoredLeg
from ledger.tables import account_shards, accounts, entries, open_holds, postings

__all__ = ["post"]

_Counters = list[int]  # debits_posted, credits_posted, debits_pending, credits_pending

_ENTRY_BY_ID = select(
    entries.c.seq,
    entries.c.kind,
    entries.c.request_hash,
    entries.c.created_at,
    entries.c.effective_at,
    entries.c.expires_at,
).where(entries.c.id == bindparam("id"))
_RESOLVED_BY = select(entries.c.kind, entries.c.id).where(entries.c.pending_id == bindparam("hold"))
_STORED_LEGS = (
    select(
        postings.c.account_id,
        accounts.c.code,
        postings.c.side,
        postings.c.phase,
        postings.c.amount,
        postings.c.currency,
        accounts.c.shards,
    )
    .join(accounts, accounts.c.id == postings.c.account_id)
    .where(postings.c.entry_seq == bindparam("seq"))
    .order_by(postings.c.id)
)
_OPEN_HOLD = select(open_holds.c.hold_id).where(open_holds.c.hold_id == bindparam("hold"))
_NEXT_SEQ = select(func.coalesce(func.max(entries.c.seq), 0) + 1)
_ACCOUNT_COLUMNS = (
    accounts.c.id,
    accounts.c.code,
    accounts.c.currency,
    accounts.c.shards,
    accounts.c.debits_must_not_exceed_credits,
    accounts.c.credits_must_not_exceed_debits,
    accounts.c.debits_posted,
    accounts.c.credits_posted,
    accounts.c.debits_pending,
    accounts.c.credits_pending,
)
_ACCOUNTS_BY_KEY = select(*_ACCOUNT_COLUMNS).where(
    or_(
        accounts.c.code.in_(bindparam("codes", expanding=True)),
        accounts.c.id.in_(bindparam("ids", expanding=True)),
    )
)
_ADD_TO_ACCOUNT = (
    accounts.update()
    .where(accounts.c.id == bindparam("account"))
    .values(
        debits_posted=accounts.c.debits_posted + bindparam("dp"),
        credits_posted=accounts.c.credits_posted + bindparam("cp"),
        debits_pending=accounts.c.debits_pending + bindparam("dq"),
        credits_pending=accounts.c.credits_pending + bindparam("cq"),
    )
)
_ADD_TO_SHARD = (
    account_shards.update()
    .where(account_shards.c.account_id == bindparam("account"), account_shards.c.shard == bindparam("slot"))
    .values(
        debits_posted=account_shards.c.debits_posted + bindparam("dp"),
        credits_posted=account_shards.c.credits_posted + bindparam("cp"),
        debits_pending=account_shards.c.debits_pending + bindparam("dq"),
        credits_pending=account_shards.c.credits_pending + bindparam("cq"),
    )
)
_INSERT_ENTRY = entries.insert()
_INSERT_POSTINGS = postings.insert()
_INSERT_OPEN_HOLD = open_holds.insert()
_DELETE_OPEN_HOLD = open_holds.delete().where(open_holds.c.hold_id == bindparam("hold"))


async def post(conn: AsyncConnection, forms: Sequence[dict[str, Any]], now: datetime) -> list[Outcome]:
    """The outcome of each canonical request, in order, written in the caller's transaction."""
    outcomes = []
    for form in forms:
        if "hold" in form:
            outcomes.append(await _resolve_hold(conn, form, now))
        else:
            outcomes.append(await _post_standard(conn, form, now))
    return outcomes


async def _replay(conn: AsyncConnection, form: dict[str, Any]) -> Outcome | None:
    row = (await conn.execute(_ENTRY_BY_ID, {"id": UUID(form["id"])})).first()
    if row is None:
        return None
    if row.request_hash != form["h"]:
        return Outcome.refused("entry_conflict", f"entry {form['id']} was already posted with other content")
    legs = [list(leg[:6]) for leg in await conn.execute(_STORED_LEGS, {"seq": row.seq})]
    return Outcome(REPLAYED, None, row.seq, row.created_at, row.effective_at, row.expires_at, legs)


def _deltas(legs: Iterable[tuple[int, str, str, int]]) -> dict[int, _Counters]:
    """Counter changes per account from ``(account_id, side, phase, amount)`` legs."""
    deltas: dict[int, _Counters] = defaultdict(lambda: [0, 0, 0, 0])
    for account_id, side, phase, amount in legs:
        column = (0 if side == "debit" else 1) + (0 if phase == "posted" else 2)
        deltas[account_id][column] += -amount if phase == "released" else amount
    return deltas


def _limit_breach(rows: dict[int, Any], deltas: dict[int, _Counters]) -> str | None:
    for account_id in sorted(deltas):
        row = rows[account_id]
        dp, cp, dq, cq = deltas[account_id]
        if row.debits_must_not_exceed_credits and (
            row.debits_posted + dp + row.debits_pending + dq > row.credits_posted + cp
        ):
            return str(row.code)
        if row.credits_must_not_exceed_debits and (
            row.credits_posted + cp + row.credits_pending + cq > row.debits_posted + dp
        ):
            return str(row.code)
    return None


async def _write(
    conn: AsyncConnection,
    entry: dict[str, Any],
    legs: Sequence[tuple[int, str, str, int, str]],
    shards: dict[int, int],
) -> int:
    """Write postings, counters and the entry (in that order); returns the entry's seq."""
    seq = int((await conn.execute(_NEXT_SEQ)).scalar_one())
    created_at = entry["created_at"]
    await conn.execute(
        _INSERT_POSTINGS,
        [
            {
                "entry_seq": seq,
                "account_id": account_id,
                "currency": currency,
                "side": side,
                "phase": phase,
                "amount": amount,
                "created_at": created_at,
            }
            for account_id, side, phase, amount, currency in legs
        ],
    )
    for account_id, (dp, cp, dq, cq) in sorted(_deltas(leg[:4] for leg in legs).items()):
        values = {"account": account_id, "dp": dp, "cp": cp, "dq": dq, "cq": cq}
        if shards[account_id] == 1:
            await conn.execute(_ADD_TO_ACCOUNT, values)
        else:
            await conn.execute(_ADD_TO_SHARD, {**values, "slot": random.randrange(shards[account_id])})
    await conn.execute(_INSERT_ENTRY, {**entry, "seq": seq, "tx_id": seq})
    return seq


async def _post_standard(conn: AsyncConnection, form: dict[str, Any], now: datetime) -> Outcome:
    replay = await _replay(conn, form)
    if replay is not None:
        return replay
    legs_asked = form["p"]
    codes = [leg[0] for leg in legs_asked if leg[0] is not None]
    ids = [leg[1] for leg in legs_asked if leg[1] is not None]
    rows = {row.id: row for row in await conn.execute(_ACCOUNTS_BY_KEY, {"codes": codes, "ids": ids})}
    by_code = {row.code: row for row in rows.values()}
    phase = "pending" if form["k"] == "pending" else "posted"
    legs: list[tuple[int, str, str, int, str]] = []
    stored: list[StoredLeg] = []
    for code, account_id, side, amount, currency in legs_asked:
        row = by_code.get(code) if code is not None else rows.get(account_id)
        if row is None:
            return Outcome.refused(
                "unknown_account", f"no account {code if code is not None else account_id}"
            )
        if row.currency != currency:
            return Outcome.refused(
                "currency_mismatch", f"account {row.code} is in {row.currency}, not {currency}"
            )
        legs.append((row.id, side, phase, amount, currency))
        stored.append([row.id, row.code, side, phase, amount, currency])
    breach = _limit_breach(rows, _deltas(leg[:4] for leg in legs))
    if breach is not None:
        return Outcome.refused("insufficient_funds", f"account {breach} has insufficient funds")
    expires_at = datetime.fromisoformat(form["x"]) if form.get("x") else None
    effective_at = datetime.fromisoformat(form["e"]) if form.get("e") else now
    entry = {
        "id": UUID(form["id"]),
        "kind": form["k"],
        "pending_id": None,
        "expires_at": expires_at,
        "reference": form.get("r"),
        "metadata": form.get("m") or {},
        "request_hash": form["h"],
        "effective_at": effective_at,
        "created_at": now,
    }
    seq = await _write(conn, entry, legs, {row.id: row.shards for row in rows.values()})
    if phase == "pending":
        await conn.execute(_INSERT_OPEN_HOLD, {"hold_id": entry["id"], "expires_at": expires_at})
    return Outcome(CREATED, None, seq, now, effective_at, expires_at, stored)


async def _resolve_hold(conn: AsyncConnection, form: dict[str, Any], now: datetime) -> Outcome:
    replay = await _replay(conn, form)
    if replay is not None:
        return replay
    kind, hold_id = form["k"], UUID(form["hold"])
    at = datetime.fromisoformat(form["t"]) if form.get("t") else now
    hold = (await conn.execute(_ENTRY_BY_ID, {"id": hold_id})).first()
    if hold is None:
        return Outcome.refused("hold_not_found", f"no hold {hold_id}")
    if hold.kind != "pending":
        return Outcome.refused("hold_not_pending", f"entry {hold_id} is not a hold")
    if (await conn.execute(_OPEN_HOLD, {"hold": hold_id})).first() is None:
        by = (await conn.execute(_RESOLVED_BY, {"hold": hold_id})).first()
        return Outcome.refused(
            "hold_not_pending",
            f"hold {hold_id} was already resolved by {by.kind if by else '?'} entry {by.id if by else '?'}",
        )
    if kind == "post_pending" and hold.expires_at is not None and hold.expires_at <= at:
        return Outcome.refused("hold_expired", f"hold {hold_id} expired at {hold.expires_at.isoformat()}")
    if kind == "expire_pending" and (hold.expires_at is None or hold.expires_at > at):
        return Outcome.refused("hold_not_expired", f"hold {hold_id} has not expired")
    held = list(await conn.execute(_STORED_LEGS, {"seq": hold.seq}))
    amounts = _posted_amounts(form, held)
    if isinstance(amounts, Outcome):
        return amounts
    legs: list[tuple[int, str, str, int, str]] = []
    stored: list[StoredLeg] = []
    for phase, values in (("released", [leg.amount for leg in held]), ("posted", amounts)):
        for leg, amount in zip(held, values, strict=True):
            if amount > 0:
                legs.append((leg.account_id, leg.side, phase, amount, leg.currency))
                stored.append([leg.account_id, leg.code, leg.side, phase, amount, leg.currency])
    ids = sorted({leg.account_id for leg in held})
    rows = {row.id: row for row in await conn.execute(_ACCOUNTS_BY_KEY, {"codes": [], "ids": ids})}
    breach = _limit_breach(rows, _deltas(leg[:4] for leg in legs))
    if breach is not None:
        return Outcome.refused("insufficient_funds", f"account {breach} has insufficient funds")
    entry = {
        "id": UUID(form["id"]),
        "kind": kind,
        "pending_id": hold_id,
        "expires_at": None,
        "reference": form.get("r"),
        "metadata": form.get("m") or {},
        "request_hash": form["h"],
        "effective_at": now,
        "created_at": now,
    }
    await conn.execute(_DELETE_OPEN_HOLD, {"hold": hold_id})
    seq = await _write(conn, entry, legs, {row.id: row.shards for row in rows.values()})
    return Outcome(CREATED, None, seq, now, now, None, stored)


def _posted_amounts(form: dict[str, Any], held: list[Any]) -> list[int] | Outcome:
    """Minor units to post per held leg (all zero for a void or an expiry), or the refusal."""
    if form["k"] != "post_pending":
        return [0] * len(held)
    asked = form.get("a")
    if asked is None:
        return [leg.amount for leg in held]
    if len(asked) != len(held):
        return Outcome.refused(
            "invalid_amounts", f"the hold has {len(held)} postings but {len(asked)} amounts were given"
        )
    net: dict[str, int] = defaultdict(int)
    for index, ((units, currency), leg) in enumerate(zip(asked, held, strict=True), start=1):
        if currency != leg.currency:
            return Outcome.refused(
                "invalid_amounts",
                f"amount {index} is in {currency} but the held posting is in {leg.currency}",
            )
        if units > leg.amount:
            return Outcome.refused(
                "invalid_amounts", f"amount {index} is more than the {leg.amount} minor units held"
            )
        net[currency] += units if leg.side == "debit" else -units
    if any(net.values()):
        return Outcome.refused("invalid_amounts", "the partial amounts do not balance per currency")
    if not any(units for units, _ in asked):
        return Outcome.refused("invalid_amounts", "nothing to post: void the hold instead")
    return [units for units, _ in asked]
