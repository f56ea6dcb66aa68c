"""Demo corridors, prices and rates of Azerbaijan's real remittance corridors, for ``make run``.

The corridors are the real ones (inbound RU, KZ, TR, GE, UA, DE, GB, US to AZ; outbound AZ to RU,
GE, TR, UZ, TJ, KG, UA, each in its countries' currencies). Limits, fees, margins and delivery
times are **demo values**, not a tariff. Rates: the real CBAR bulletin of 30.10.2018 is stored
under source ``cbar`` with its own date, and the same values once more under source ``demo`` dated
today, so quotes work offline; every quote says which source it used (see docs/fx.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import Settings
from fx.catalogue import Corridor, DeliveryEstimate, PayoutMethod, PayoutOption, SendLimits
from fx.catalogue_store import add_price, save_corridor
from fx.parsers import BAKU, parse_cbar
from fx.pricing import FeeTier, Price
from fx.rate_store import save_bulletins
from fx.rates import Bulletin
from ledger.money import Money

__all__ = ["DEMO_PRICES_FROM", "demo_catalogue", "demo_rate_bulletins", "seed_fx"]

DEMO_PRICES_FROM = datetime(2026, 1, 1, tzinfo=UTC)
"""When the demo prices take effect (fixed, so that seeding twice adds nothing)."""
RATE_SOURCES = ("cbar", "demo")
MAX_RATE_AGE = timedelta(hours=96)  # a CBAR bulletin covers a weekend; a long holiday needs `fx refresh`
CBAR_DEMO_FILE = "cbar-30.10.2018.xml"

# Roughly one US dollar in each send currency at the demo (2018) rates, rounded to a friendly number:
# limits and fees scale with it, so every corridor has comparable demo prices.
_UNIT = {
    "USD": Decimal(1),
    "EUR": Decimal(1),
    "GBP": Decimal(1),
    "RUB": Decimal(70),
    "KZT": Decimal(400),
    "TRY": Decimal(6),
    "GEL": Decimal(3),
    "UAH": Decimal(30),
    "AZN": Decimal(2),
}
_ALL_METHODS = tuple(PayoutMethod)
_INBOUND = {
    "RU": "RUB",
    "KZ": "KZT",
    "TR": "TRY",
    "GE": "GEL",
    "UA": "UAH",
    "DE": "EUR",
    "GB": "GBP",
    "US": "USD",
}
_OUTBOUND: dict[str, tuple[str, tuple[PayoutMethod, ...]]] = {
    "RU": ("RUB", (PayoutMethod.CARD, PayoutMethod.BANK_ACCOUNT)),
    "GE": ("GEL", (PayoutMethod.BANK_ACCOUNT, PayoutMethod.CARD, PayoutMethod.CASH_PICKUP)),
    "TR": ("TRY", (PayoutMethod.BANK_ACCOUNT, PayoutMethod.CASH_PICKUP)),
    "UZ": ("UZS", (PayoutMethod.CARD, PayoutMethod.CASH_PICKUP)),
    "TJ": ("TJS", (PayoutMethod.CARD, PayoutMethod.CASH_PICKUP, PayoutMethod.WALLET)),
    "KG": ("KGS", (PayoutMethod.CARD, PayoutMethod.CASH_PICKUP)),
    "UA": ("UAH", (PayoutMethod.CARD, PayoutMethod.BANK_ACCOUNT)),
}
_DELIVERY = {
    PayoutMethod.WALLET: DeliveryEstimate(0, 5),
    PayoutMethod.CARD: DeliveryEstimate(1, 30),
    PayoutMethod.CASH_PICKUP: DeliveryEstimate(5, 60),
    PayoutMethod.BANK_ACCOUNT: DeliveryEstimate(60, 1440),
}


def _option(currency: str, method: PayoutMethod) -> PayoutOption:
    unit = _UNIT[currency]
    ceiling = 2000 if method is PayoutMethod.CASH_PICKUP else 5000
    return PayoutOption(
        method=method,
        limits=SendLimits(Money(10 * unit, currency), Money(ceiling * unit, currency)),
        delivery=_DELIVERY[method],
        prices=(_demo_price(currency, method),),
    )


def _demo_price(currency: str, method: PayoutMethod) -> Price:
    """Fixed fee of one unit under 500 units, 0.5% (cash pickup 1%), margin 0.60% then 0.40%."""
    unit = _UNIT[currency]
    percent = Decimal("1.0") if method is PayoutMethod.CASH_PICKUP else Decimal("0.5")
    fixed = Decimal(0) if method is PayoutMethod.WALLET else unit
    return Price(
        currency=currency,
        effective_from=DEMO_PRICES_FROM,
        fee_min=Decimal(0) if method is PayoutMethod.WALLET else unit,
        fee_max=20 * unit,
        tiers=(
            FeeTier(from_amount=Decimal(0), fixed_fee=fixed, percent_fee=percent, fx_margin_bps=60),
            FeeTier(from_amount=500 * unit, fixed_fee=Decimal(0), percent_fee=percent, fx_margin_bps=40),
        ),
    )


def _corridor(
    send_country: str,
    send_currency: str,
    receive_country: str,
    receive_currency: str,
    methods: tuple[PayoutMethod, ...],
) -> Corridor:
    return Corridor(
        send_country=send_country,
        send_currency=send_currency,
        receive_country=receive_country,
        receive_currency=receive_currency,
        rate_sources=RATE_SOURCES,
        max_rate_age=MAX_RATE_AGE,
        payouts={m: _option(send_currency, m) for m in methods},
    )


def demo_catalogue() -> list[Corridor]:
    """Azerbaijan's real corridors with demo limits, delivery times and prices."""
    inbound = [_corridor(c, ccy, "AZ", "AZN", _ALL_METHODS) for c, ccy in _INBOUND.items()]
    outbound = [_corridor("AZ", "AZN", c, ccy, methods) for c, (ccy, methods) in _OUTBOUND.items()]
    return inbound + outbound


def demo_rate_bulletins(now: datetime) -> list[Bulletin]:
    """The real CBAR bulletin of 30.10.2018 as itself, and its values re-dated to today as ``demo``."""
    content = resources.files("fx").joinpath("data", CBAR_DEMO_FILE).read_bytes()
    real = parse_cbar(content, origin=f"file:fx/data/{CBAR_DEMO_FILE}")
    today = now.astimezone(BAKU).date()
    demo = Bulletin(
        source="demo",
        base_currency=real.base_currency,
        bulletin_date=today,
        as_of=datetime.combine(today, datetime.min.time(), tzinfo=BAKU).astimezone(UTC),
        rates=real.rates,
        origin=f"demo: values of the CBAR bulletin of {real.bulletin_date:%d.%m.%Y} "
        f"(fx/data/{CBAR_DEMO_FILE}), re-dated to {today:%d.%m.%Y} so that a laptop has fresh rates offline",
    )
    return [real, demo]


async def seed_fx(engine: AsyncEngine, settings: Settings) -> str:
    """Corridors, prices and demo rates; running it again the same day changes nothing."""
    now = datetime.now(UTC)
    catalogue = demo_catalogue()
    async with engine.begin() as connection:
        for corridor in catalogue:
            await save_corridor(connection, corridor)
            for option in corridor.payouts.values():
                for price in option.prices:
                    await add_price(connection, corridor.code, option.method, price, created_at=now)
        saved = await save_bulletins(connection, demo_rate_bulletins(now), fetched_at=now)
    return (
        f"fx: {len(catalogue)} corridors with prices; "
        f"{saved.stored} new rate bulletins (cbar 30.10.2018, demo today)"
    )
