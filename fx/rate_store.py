"""The rate store: every bulletin ever read, with its provenance, and the recent ones as a RateBook.

Bulletins are append-only. A bulletin is known by its source and the moment it comes into force
(``as_of``, derived from the publisher's own date for daily bulletins), so reading the same
publication twice (CBAR serves Friday's bulletin again on Saturday and Sunday) stores it once. A
later publication with the same key but different quotes is reported as a conflict and not stored:
the first reading stays, history is never rewritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Insert, RowMapping, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from fx.rates import Bulletin, QuotedRate, RateBook
from fx.rounding import decimal_text
from fx.tables import bulletin_rates, bulletins

__all__ = ["SaveReport", "load_rate_book", "load_rate_book_between", "rate_history", "save_bulletins"]


@dataclass(frozen=True, slots=True)
class SaveReport:
    """What :func:`save_bulletins` did."""

    stored: int
    """New bulletins written."""
    duplicates: int
    """Bulletins already stored with the same quotes (a repeated publication)."""
    conflicts: int
    """Bulletins already stored under the same key with *different* quotes (kept the first)."""


def _insert_ignoring_duplicates(dialect_insert: type[postgresql.Insert] | type[sqlite.Insert]) -> Insert:
    return (
        dialect_insert(bulletins)
        .on_conflict_do_nothing(index_elements=["source", "as_of"])
        .returning(bulletins.c.id)
    )


_INSERT_BULLETIN = {
    "postgresql": _insert_ignoring_duplicates(postgresql.Insert),
    "sqlite": _insert_ignoring_duplicates(sqlite.Insert),
}
_INSERT_RATE = bulletin_rates.insert()
_EXISTING_DIGEST = select(bulletins.c.digest).where(
    bulletins.c.source == bindparam("source"), bulletins.c.as_of == bindparam("as_of")
)


async def save_bulletins(
    connection: AsyncConnection, items: Iterable[Bulletin], fetched_at: datetime
) -> SaveReport:
    """Store ``items`` (read at ``fetched_at``), skipping publications already stored."""
    insert = _INSERT_BULLETIN[connection.dialect.name]
    stored = duplicates = conflicts = 0
    for bulletin in items:
        digest = bulletin.digest()
        new_id = (
            await connection.execute(
                insert,
                {
                    "source": bulletin.source,
                    "base_currency": bulletin.base_currency,
                    "bulletin_date": bulletin.bulletin_date,
                    "as_of": bulletin.as_of,
                    "fetched_at": fetched_at,
                    "origin": bulletin.origin[:500],
                    "digest": digest,
                },
            )
        ).scalar()
        if new_id is None:
            existing = (
                await connection.execute(
                    _EXISTING_DIGEST, {"source": bulletin.source, "as_of": bulletin.as_of}
                )
            ).scalar()
            if existing == digest:
                duplicates += 1
            else:
                conflicts += 1
            continue
        await connection.execute(
            _INSERT_RATE,
            [
                {
                    "bulletin_id": new_id,
                    "currency": code,
                    "base_amount": decimal_text(quoted.base_amount),
                    "units": decimal_text(quoted.units),
                }
                for code, quoted in bulletin.rates.items()
            ],
        )
        stored += 1
    return SaveReport(stored=stored, duplicates=duplicates, conflicts=conflicts)


_RATES_OF = select(bulletin_rates).where(bulletin_rates.c.bulletin_id.in_(bindparam("ids", expanding=True)))
_RANKED = select(
    bulletins,
    func.row_number()
    .over(partition_by=bulletins.c.source, order_by=bulletins.c.as_of.desc())
    .label("recency"),
).subquery()
_RECENT = select(*[_RANKED.c[column.name] for column in bulletins.c]).where(
    _RANKED.c.recency <= bindparam("depth")
)
_IN_FORCE_FROM = (
    select(bulletins)
    .where(bulletins.c.as_of >= bindparam("start"), bulletins.c.as_of <= bindparam("end"))
    .order_by(bulletins.c.as_of)
)
_IN_RANGE = (
    select(bulletins)
    .where(
        bulletins.c.source == bindparam("source"),
        bulletins.c.bulletin_date >= bindparam("start"),
        bulletins.c.bulletin_date <= bindparam("end"),
    )
    .order_by(bulletins.c.as_of)
)


async def _load(connection: AsyncConnection, rows: Sequence[RowMapping]) -> list[Bulletin]:
    ids = [row["id"] for row in rows]
    quotes: dict[int, dict[str, QuotedRate]] = {i: {} for i in ids}
    if ids:
        for rate in (await connection.execute(_RATES_OF, {"ids": ids})).mappings():
            quotes[rate["bulletin_id"]][rate["currency"]] = QuotedRate(
                Decimal(rate["base_amount"]), Decimal(rate["units"])
            )
    return [
        Bulletin(
            source=row["source"],
            base_currency=row["base_currency"],
            bulletin_date=row["bulletin_date"],
            as_of=row["as_of"],
            rates=quotes[row["id"]],
            origin=row["origin"],
            fetched_at=row["fetched_at"],
            id=row["id"],
        )
        for row in rows
    ]


async def load_rate_book(
    connection: AsyncConnection, sources: Sequence[str] | None = None, depth: int = 3
) -> RateBook:
    """A RateBook of the ``depth`` newest bulletins of each source (or of ``sources`` only)."""
    rows = (await connection.execute(_RECENT, {"depth": depth})).mappings().all()
    if sources is not None:
        wanted = set(sources)
        rows = [row for row in rows if row["source"] in wanted]
    return RateBook(await _load(connection, rows))


async def load_rate_book_between(
    connection: AsyncConnection, start: datetime, end: datetime, sources: Sequence[str] | None = None
) -> RateBook:
    """A RateBook of every bulletin that came into force from ``start`` to ``end`` (of ``sources`` only).

    It answers for any moment up to ``end`` as the rate book of that moment did, as long as ``start``
    is at least the longest accepted rate age before the earliest moment asked about (an older
    bulletin would be refused as stale anyway).
    """
    rows = (await connection.execute(_IN_FORCE_FROM, {"start": start, "end": end})).mappings().all()
    if sources is not None:
        wanted = set(sources)
        rows = [row for row in rows if row["source"] in wanted]
    return RateBook(await _load(connection, rows))


async def rate_history(
    connection: AsyncConnection,
    source: str,
    from_currency: str,
    to_currency: str,
    start: date,
    end: date,
) -> list[tuple[date, Decimal]]:
    """The mid rate of a pair by bulletin date in ``[start, end]`` from one source (cross-rate rule)."""
    rows = (
        (await connection.execute(_IN_RANGE, {"source": source, "start": start, "end": end})).mappings().all()
    )
    history = []
    for bulletin in await _load(connection, rows):
        value = bulletin.cross(from_currency, to_currency)
        if value is not None:
            history.append((bulletin.bulletin_date, value))
    return history
