"""Stored quotes and the catalogue: a quote is honoured until it expires and funds one transfer at most."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.fx_demo import DEMO_PRICES_FROM, demo_catalogue, seed_fx
from backend.quotes import QuoteService
from backend.settings import Settings
from fx.catalogue import Corridor, PayoutMethod, PayoutOption, SendLimits
from fx.catalogue_store import add_price, load_catalogue
from fx.errors import AmountOutsideLimits, QuoteAlreadyUsed, QuoteExpired, QuoteNotFound, UnknownCorridor
from fx.quotes import Quote, consume_quote, create_quote, get_quote
from fx.rate_store import load_rate_book
from fx.tables import bulletins, corridors, prices, quotes
from ledger.money import Money
from tests.fx_support import NOW, flat_price, real_cbar, seed_catalogue

TTL = timedelta(minutes=30)


async def _quote(engine: AsyncEngine, customer_id: str | None = None) -> Quote:
    async with engine.begin() as connection:
        catalogue = await load_catalogue(connection)
        rates = await load_rate_book(connection)
        return await create_quote(
            connection,
            catalogue["RU-AZ-RUB-AZN"],
            PayoutMethod.CARD,
            send_amount=Money(Decimal("14000.00"), "RUB"),
            rates=rates,
            now=NOW,
            ttl=TTL,
            customer_id=customer_id,
        )


@pytest.fixture
async def seeded(engine: AsyncEngine) -> AsyncEngine:
    await seed_catalogue(engine, [real_cbar(as_of=NOW - timedelta(hours=2))])
    return engine


async def test_a_stored_quote_reads_back_exactly(seeded: AsyncEngine) -> None:
    quote = await _quote(seeded, customer_id="customer-42")
    async with seeded.connect() as connection:
        stored = await get_quote(connection, quote.id)
    assert stored == quote
    assert stored.expires_at - stored.created_at == TTL
    # What the ledger books: principal and fee in RUB, receive amount and FX margin in AZN.
    assert (stored.send_amount, stored.fee, stored.total_to_pay) == (
        Money(Decimal("14000.00"), "RUB"),
        Money(Decimal("140.00"), "RUB"),
        Money(Decimal("14140.00"), "RUB"),
    )
    assert (stored.receive_amount, stored.fx_margin) == (
        Money(Decimal("360.42"), "AZN"),
        Money(Decimal("2.18"), "AZN"),
    )
    assert (stored.mid_rate, stored.rate) == (Decimal("0.0259"), Decimal("0.0257446"))
    assert (stored.corridor.send_country, stored.corridor.receive_currency) == ("RU", "AZN")
    assert stored.pricing.rate_source == "cbar"
    assert stored.pricing.price_id is not None
    assert stored.pricing.bulletin_id is not None


async def test_a_quote_funds_one_transfer(seeded: AsyncEngine) -> None:
    quote = await _quote(seeded)
    async with seeded.begin() as connection:
        used = await consume_quote(connection, quote.id, NOW + timedelta(minutes=5))
    assert used.used_at == NOW + timedelta(minutes=5)
    assert used.status(NOW + timedelta(minutes=6)) == "used"
    async with seeded.begin() as connection:
        with pytest.raises(QuoteAlreadyUsed) as caught:
            await consume_quote(connection, quote.id, NOW + timedelta(minutes=6))
    assert (caught.value.code, caught.value.status) == ("quote_already_used", 409)


async def test_an_expired_quote_cannot_be_used(seeded: AsyncEngine) -> None:
    quote = await _quote(seeded)
    async with seeded.begin() as connection:
        with pytest.raises(QuoteExpired) as caught:
            await consume_quote(connection, quote.id, quote.expires_at)
    assert caught.value.code == "quote_expired"
    async with seeded.connect() as connection:
        assert (await get_quote(connection, quote.id)).used_at is None


async def test_unknown_quote(seeded: AsyncEngine) -> None:
    async with seeded.begin() as connection:
        with pytest.raises(QuoteNotFound) as caught:
            await consume_quote(connection, "00000000-0000-0000-0000-000000000000", NOW)
    assert (caught.value.code, caught.value.status) == ("quote_not_found", 404)


async def test_a_rolled_back_transfer_leaves_the_quote_usable(seeded: AsyncEngine) -> None:
    quote = await _quote(seeded)

    connection = await seeded.connect()
    transaction = await connection.begin()
    await consume_quote(connection, quote.id, NOW + timedelta(minutes=1))
    await transaction.rollback()  # the transfer failed after taking the quote
    await connection.close()
    async with seeded.begin() as connection:
        assert (await consume_quote(connection, quote.id, NOW + timedelta(minutes=2))).used_at is not None


@pytest.mark.postgres_only
async def test_racing_transfers_cannot_both_use_one_quote(seeded: AsyncEngine) -> None:
    quote = await _quote(seeded)

    async def attempt() -> str:
        async with seeded.begin() as connection:
            try:
                await consume_quote(connection, quote.id, NOW + timedelta(minutes=1))
            except QuoteAlreadyUsed:
                return "refused"
            await asyncio.sleep(0.05)  # hold the row while the others wait for it
            return "used"

    outcomes = await asyncio.gather(*[attempt() for _ in range(8)])
    assert sorted(outcomes) == ["refused"] * 7 + ["used"]


async def test_the_catalogue_reads_back_as_seeded(seeded: AsyncEngine) -> None:
    async with seeded.connect() as connection:
        catalogue = await load_catalogue(connection)
    expected = {c.code: c for c in demo_catalogue()}
    assert set(catalogue) == set(expected)
    for code, corridor in catalogue.items():
        assert corridor.rate_sources == expected[code].rate_sources
        for method, option in corridor.payouts.items():
            want = expected[code].payouts[method]
            assert (option.limits, option.delivery) == (want.limits, want.delivery)
            assert [replace(p, id=None) for p in option.prices] == list(want.prices)


async def test_new_prices_are_appended_and_history_stays(seeded: AsyncEngine) -> None:
    cheaper = flat_price("RUB", fixed="35.00", percent="0.3", bps=30, effective_from=NOW + timedelta(days=1))
    async with seeded.begin() as connection:
        first = await add_price(connection, "RU-AZ-RUB-AZN", PayoutMethod.CARD, cheaper, created_at=NOW)
        again = await add_price(connection, "RU-AZ-RUB-AZN", PayoutMethod.CARD, cheaper, created_at=NOW)
        catalogue = await load_catalogue(connection)
    assert first == again
    history = catalogue["RU-AZ-RUB-AZN"].payouts[PayoutMethod.CARD].prices
    assert [p.effective_from for p in history] == [DEMO_PRICES_FROM, NOW + timedelta(days=1)]
    assert history[1].tiers[0].fx_margin_bps == 30


async def test_demo_seeding_twice_changes_nothing(engine: AsyncEngine, settings: Settings) -> None:
    await seed_fx(engine, settings)

    async def counts() -> tuple[int, ...]:
        async with engine.connect() as connection:
            return tuple(
                [
                    (await connection.execute(select(func.count()).select_from(t))).scalar_one()
                    for t in (corridors, prices, bulletins, quotes)
                ]
            )

    once = await counts()
    await seed_fx(engine, settings)
    assert await counts() == once == (15, 48, 2, 0)


async def test_the_service_applies_a_customer_tiers_limits(seeded: AsyncEngine) -> None:
    asked: list[tuple[str, str, str]] = []

    async def tier_limits(
        connection: AsyncConnection, customer_id: str, corridor: Corridor, option: PayoutOption
    ) -> SendLimits:
        asked.append((customer_id, corridor.code, option.method.value))
        return SendLimits(Money(Decimal("700.00"), "RUB"), Money(Decimal("10000.00"), "RUB"))

    service = QuoteService(seeded, quote_ttl=TTL, tier_limits=tier_limits, clock=lambda: NOW)
    amount = Money(Decimal("14000.00"), "RUB")
    anonymous = await service.quote("RU-AZ-RUB-AZN", "card", send_amount=amount)
    assert anonymous.customer_id is None
    with pytest.raises(AmountOutsideLimits):
        await service.quote("RU-AZ-RUB-AZN", "card", send_amount=amount, customer_id="c-7")
    small = await service.quote(
        "RU-AZ-RUB-AZN", "card", send_amount=Money(Decimal("9000.00"), "RUB"), customer_id="c-7"
    )
    assert small.customer_id == "c-7"
    assert asked == [("c-7", "RU-AZ-RUB-AZN", "card")] * 2
    with pytest.raises(UnknownCorridor):
        await service.quote("RU-AZ-RUB-USD", "card", send_amount=amount)


async def test_pricing_a_hypothetical_amount_stores_nothing(seeded: AsyncEngine) -> None:
    service = QuoteService(seeded, quote_ttl=TTL, clock=lambda: NOW)
    breakdown = await service.price("US-AZ-USD-AZN", "card", send_amount=Money(Decimal("200000.00"), "USD"))
    assert breakdown.receive_amount == Money(Decimal("338640.00"), "AZN")  # above the limits, priced anyway
    async with seeded.connect() as connection:
        assert (await connection.execute(select(func.count()).select_from(quotes))).scalar_one() == 0
