"""The service behind GET /v1/compare: our live price, the market's services and the corridor average."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from backend.policy.our_price import our_price_source
from backend.problems import Problem
from fx.market.analytics import best_per_period
from fx.market.compare import CompareConfig, Comparison, compare
from fx.market.countries import UnknownCountry, alpha3
from fx.market.records import Dataset, ServicePrice
from fx.market.store import MarketStore
from ledger.money import Money

__all__ = ["compare_prices", "parse_amount"]

_SERVICE_DATASETS = (Dataset.RPW_WORKBOOK, Dataset.PROVIDER_LIST)


async def compare_prices(
    state: Any,
    *,
    send_country: str,
    receive_country: str,
    send_amount: Money,
    payout_method: str | None,
    now: datetime | None = None,
    config: CompareConfig = CompareConfig(),
) -> Comparison:
    """Compare our price for ``send_amount`` with the market's in the corridor."""
    now = now or datetime.now(UTC)
    try:
        source, destination = alpha3(send_country), alpha3(receive_country)
    except UnknownCountry as exc:
        raise Problem(422, exc.code, str(exc)) from None
    async with state.engine.connect() as connection:
        ours = await our_price_source(state).our_price(
            connection,
            send_country=send_country.upper(),
            receive_country=receive_country.upper(),
            send_amount=send_amount,
            payout_method=payout_method,
            now=now,
        )
        store = MarketStore(connection)
        services = await _freshest_services(store, source, destination)
        figures = [row for row in best_per_period(await store.corridor_quarters(source, destination))]
    with_cost = [
        row for row in figures if row.avg_cost_200_pct is not None or row.avg_cost_500_pct is not None
    ]
    if payout_method:
        services = [service for service in services if _pays_out(service, payout_method)] or services
    return compare(ours, services, with_cost[-1] if with_cost else None, today=now.date(), config=config)


async def _freshest_services(store: MarketStore, source: str, destination: str) -> list[ServicePrice]:
    """The services of whichever dataset surveyed the corridor most recently."""
    candidates = [await store.latest_services(source, destination, dataset) for dataset in _SERVICE_DATASETS]
    candidates = [services for services in candidates if services]
    if not candidates:
        return []
    return max(candidates, key=lambda services: (services[0].period, -services[0].dataset.rank))


_PAYOUT_WORDS = {
    "cash": ("cash",),
    "bank_account": ("bank", "account"),
    "card": ("card",),
    "wallet": ("wallet",),
}


def _pays_out(service: ServicePrice, payout_method: str) -> bool:
    words = _PAYOUT_WORDS.get(payout_method.lower(), (payout_method.lower(),))
    return any(word in service.pickup_method.lower() for word in words)


def parse_amount(text: str, currency: str) -> Money:
    """A positive amount of ``currency`` from the query string; a 422 problem otherwise."""
    try:
        value = Decimal(text)
        money = Money(value, currency.upper())
    except Exception as exc:
        raise Problem(422, "invalid_amount", f"amount must be a positive {currency} amount: {exc}") from None
    if not money.is_positive():
        raise Problem(422, "invalid_amount", "amount must be positive")
    return money
