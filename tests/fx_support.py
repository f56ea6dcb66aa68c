"""Builders shared by the fx tests: corridors, prices and rate books made to measure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.fx_demo import demo_catalogue
from fx.catalogue import Corridor, DeliveryEstimate, PayoutMethod, PayoutOption, SendLimits
from fx.catalogue_store import add_price, save_corridor
from fx.parsers import parse_cbar
from fx.pricing import FeeTier, Price
from fx.rate_store import save_bulletins
from fx.rates import Bulletin, QuotedRate, RateBook
from ledger.money import Money

DATA = Path(__file__).parent / "data" / "fx"
NOW = datetime(2026, 10, 30, 12, 0, tzinfo=UTC)
PRICES_FROM = datetime(2026, 1, 1, tzinfo=UTC)


def bulletin(
    source: str,
    base: str,
    rates: dict[str, str],
    as_of: datetime = NOW - timedelta(hours=1),
    bulletin_id: int | None = None,
) -> Bulletin:
    """A bulletin quoting ``rates`` as units of each currency per one ``base``."""
    return Bulletin(
        source=source,
        base_currency=base,
        bulletin_date=as_of.date(),
        as_of=as_of,
        rates={code: QuotedRate(Decimal(1), Decimal(units)) for code, units in rates.items()},
        origin="test",
        id=bulletin_id,
    )


def flat_price(
    currency: str,
    *,
    fixed: str = "0",
    percent: str = "0",
    bps: int = 0,
    fee_min: str = "0",
    fee_max: str | None = None,
    tiers: tuple[FeeTier, ...] | None = None,
    effective_from: datetime = PRICES_FROM,
    price_id: int | None = None,
) -> Price:
    return Price(
        currency=currency,
        effective_from=effective_from,
        fee_min=Decimal(fee_min),
        fee_max=None if fee_max is None else Decimal(fee_max),
        tiers=tiers or (FeeTier(Decimal(0), Decimal(fixed), Decimal(percent), bps),),
        id=price_id,
    )


def corridor(
    send_currency: str,
    receive_currency: str,
    prices: tuple[Price, ...],
    *,
    minimum: str | None = None,
    maximum: str = "1000000000",
    sources: tuple[str, ...] = ("test",),
    max_age: timedelta = timedelta(hours=48),
    send_country: str = "RU",
    receive_country: str = "AZ",
) -> Corridor:
    step = Money.from_minor(1, send_currency)
    option = PayoutOption(
        method=PayoutMethod.CARD,
        limits=SendLimits(
            step if minimum is None else Money(Decimal(minimum), send_currency),
            Money(Decimal(maximum), send_currency),
        ),
        delivery=DeliveryEstimate(1, 30),
        prices=prices,
    )
    return Corridor(
        send_country=send_country,
        send_currency=send_currency,
        receive_country=receive_country,
        receive_currency=receive_currency,
        rate_sources=sources,
        max_rate_age=max_age,
        payouts={PayoutMethod.CARD: option},
    )


def book(send_currency: str, receive_currency: str, rate: str, source: str = "test") -> RateBook:
    """A RateBook where one ``send_currency`` buys ``rate`` ``receive_currency`` (as of an hour ago)."""
    return RateBook([bulletin(source, send_currency, {receive_currency: rate})])


def real_cbar(as_of: datetime | None = None, source: str = "cbar") -> Bulletin:
    """The real CBAR bulletin of 30.10.2018, optionally re-dated (for tests that need fresh rates)."""
    real = parse_cbar((DATA / "cbar-30.10.2018.xml").read_bytes(), origin="file:cbar-30.10.2018.xml")
    if as_of is None and source == "cbar":
        return real
    when = as_of or real.as_of
    return Bulletin(
        source=source,
        base_currency=real.base_currency,
        bulletin_date=when.date() if as_of else date(2018, 10, 30),
        as_of=when,
        rates=real.rates,
        origin=real.origin,
    )


async def seed_catalogue(engine: AsyncEngine, bulletins: list[Bulletin], now: datetime = NOW) -> None:
    """The demo corridors and prices, and ``bulletins`` as the only rates."""
    async with engine.begin() as connection:
        for item in demo_catalogue():
            await save_corridor(connection, item)
            for option in item.payouts.values():
                for price in option.prices:
                    await add_price(connection, item.code, option.method, price, created_at=now)
        await save_bulletins(connection, bulletins, fetched_at=now)
