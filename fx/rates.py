"""Rate bulletins with their provenance, the cross-rate rule, and the book quotes read mid rates from.

A :class:`Bulletin` is one publication of one source (a CBAR daily file, an ECB day, a partner feed
update): a base currency and, for each other currency, how much base currency equals how many units
of it. Keeping the published pair (``base_amount`` for ``units``) instead of a divided rate keeps CBAR's
"AZN per 100 RUB" and ECB's "RUB per 1 EUR" exact.

**The cross-rate rule** (the only path a mid rate ever takes): the rate from currency A to currency
B is read from *one* bulletin of *one* source, through that bulletin's base currency::

    B per A = (base per A) / (base per B)

where the base itself counts 1. So RUB to AZN comes from CBAR's own RUB quote, AZN to GEL is
1 / (AZN per GEL), and EUR to GEL on CBAR goes through AZN. Two sources are never chained, so a
rate has exactly one source and one date. A corridor names its sources in order of preference; the
first one whose newest bulletin in force (``as_of <= now``) quotes both currencies and is young
enough gives the rate. If every bulletin that quotes the pair is too old, the quote is refused
(:class:`fx.errors.RateStale`); if none quotes it, :class:`fx.errors.RateUnavailable`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from fx.errors import RateStale, RateUnavailable
from fx.rounding import WORKING, decimal_text, round_rate_half_even

__all__ = ["Bulletin", "MidRate", "QuotedRate", "RateBook"]


@dataclass(frozen=True, slots=True)
class QuotedRate:
    """``base_amount`` of the bulletin's base currency equals ``units`` of the quoted currency."""

    base_amount: Decimal
    """Amount of the base currency (CBAR: the ``Value``; ECB: 1)."""
    units: Decimal
    """Units of the quoted currency (CBAR: the ``Nominal``; ECB: the ``rate``)."""

    def __post_init__(self) -> None:
        if not (self.base_amount > 0 and self.units > 0):
            raise ValueError(f"a quoted rate must be positive, not {self.base_amount} for {self.units}")

    @property
    def base_per_unit(self) -> Decimal:
        """Base currency per one unit of the quoted currency (working precision)."""
        return WORKING.divide(self.base_amount, self.units)


@dataclass(frozen=True, slots=True)
class Bulletin:
    """One publication of a rate source, with its provenance."""

    source: str
    """Name of the source: ``cbar``, ``ecb``, a partner feed's name, ``demo``..."""
    base_currency: str
    """The currency every quote in the bulletin is against (CBAR: AZN, ECB: EUR)."""
    bulletin_date: date
    """The date the publisher gives the bulletin (the file's own date, not the day it was fetched)."""
    as_of: datetime
    """The moment (UTC) from which the bulletin is in force; ages are measured from it."""
    rates: Mapping[str, QuotedRate]
    """Quotes by ISO 4217 code; the base currency itself is not listed."""
    origin: str = ""
    """Where it was read: a URL or a file path (with a note for demo data)."""
    fetched_at: datetime | None = None
    """When we read it (set by the rate store)."""
    id: int | None = None
    """Row id once stored."""
    _cross_cache: dict[tuple[str, str], Decimal | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def quotes(self, currency: str) -> bool:
        return currency == self.base_currency or currency in self.rates

    def _base_per_unit(self, currency: str) -> Decimal | None:
        if currency == self.base_currency:
            return Decimal(1)
        quoted = self.rates.get(currency)
        return None if quoted is None else quoted.base_per_unit

    def cross(self, from_currency: str, to_currency: str) -> Decimal | None:
        """Units of ``to_currency`` per one ``from_currency`` by the rule above, or None if not quoted.

        The result is rounded half-even to the published rate precision.
        """
        key = (from_currency, to_currency)
        if key in self._cross_cache:
            return self._cross_cache[key]
        base_per_from = self._base_per_unit(from_currency)
        base_per_to = self._base_per_unit(to_currency)
        result = None
        if base_per_from is not None and base_per_to is not None:
            result = round_rate_half_even(WORKING.divide(base_per_from, base_per_to))
        self._cross_cache[key] = result
        return result

    def digest(self) -> str:
        """A fingerprint of the quotes, to tell a repeated publication from a corrected one."""
        lines = [self.base_currency] + [
            f"{code}:{decimal_text(q.base_amount)}:{decimal_text(q.units)}"
            for code, q in sorted(self.rates.items())
        ]
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class MidRate:
    """A mid rate for one pair, with where it came from."""

    from_currency: str
    """The currency sent."""
    to_currency: str
    """The currency received."""
    value: Decimal
    """Units of ``to_currency`` per one ``from_currency``."""
    source: str
    """The source that published it."""
    as_of: datetime
    """When the bulletin came into force."""
    bulletin_date: date
    """The bulletin's own date."""
    bulletin_id: int | None
    """The stored bulletin's row id."""


class RateBook:
    """The newest bulletins of each source, in memory, answering mid-rate questions by the rule above.

    Build one from the rate store (:func:`fx.rate_store.load_rate_book`) and keep it for a short
    while: it holds a few recent bulletins per source (including ones that come into force later, as
    CBAR publishes tomorrow's rates today) and picks the one in force at the moment asked.
    """

    __slots__ = ("_by_source",)

    def __init__(self, bulletins: Iterable[Bulletin]) -> None:
        by_source: dict[str, list[Bulletin]] = {}
        for bulletin in bulletins:
            by_source.setdefault(bulletin.source, []).append(bulletin)
        for items in by_source.values():
            items.sort(key=lambda b: b.as_of, reverse=True)
        self._by_source = by_source

    @property
    def sources(self) -> list[str]:
        return sorted(self._by_source)

    def bulletins(self, source: str) -> Sequence[Bulletin]:
        """The bulletins held for ``source``, newest first."""
        return tuple(self._by_source.get(source, ()))

    def in_force(self, source: str, now: datetime, pair: tuple[str, str] | None = None) -> Bulletin | None:
        """The newest bulletin of ``source`` in force at ``now`` (quoting ``pair``, when given)."""
        for bulletin in self._by_source.get(source, ()):
            if bulletin.as_of > now:
                continue
            if pair is None or (bulletin.quotes(pair[0]) and bulletin.quotes(pair[1])):
                return bulletin
        return None

    def mid_rate(
        self,
        from_currency: str,
        to_currency: str,
        *,
        sources: Sequence[str],
        now: datetime,
        max_age: timedelta,
    ) -> MidRate:
        """The mid rate by the cross-rate rule; raises RateStale or RateUnavailable."""
        stale: Bulletin | None = None
        for source in sources:
            bulletin = self.in_force(source, now, (from_currency, to_currency))
            if bulletin is None:
                continue
            if now - bulletin.as_of > max_age:
                stale = stale or bulletin
                continue
            value = bulletin.cross(from_currency, to_currency)
            assert value is not None  # in_force checked that both are quoted
            return MidRate(
                from_currency=from_currency,
                to_currency=to_currency,
                value=value,
                source=bulletin.source,
                as_of=bulletin.as_of,
                bulletin_date=bulletin.bulletin_date,
                bulletin_id=bulletin.id,
            )
        if stale is not None:
            age_hours = int((now - stale.as_of).total_seconds() // 3600)
            limit_hours = int(max_age.total_seconds() // 3600)
            raise RateStale(
                f"the newest {from_currency}/{to_currency} rate ({stale.source}, {stale.bulletin_date}) is "
                f"{age_hours} hours old; this corridor accepts at most {limit_hours}",
                source=stale.source,
                rateAsOf=stale.as_of.isoformat(),
                maxAgeSeconds=int(max_age.total_seconds()),
            )
        raise RateUnavailable(
            f"no rate source ({', '.join(sources)}) quotes {from_currency}/{to_currency}",
            sources=list(sources),
        )
