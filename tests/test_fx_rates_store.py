"""Fetching and storing rates: retries, weekend repeats, provenance and history, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.fx_refresh import refresh_job
from fx.errors import RateFeedError
from fx.rate_store import load_rate_book, rate_history, save_bulletins
from fx.refresh import refresh_rates
from fx.sources import CbarSource, EcbDailySource, EcbHistorySource, FileSource, HttpPolicy, PartnerFeedSource
from tests.fx_support import DATA, bulletin

CBAR_2018 = (DATA / "cbar-30.10.2018.xml").read_bytes()
FETCHED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NO_WAIT = HttpPolicy(timeout_seconds=1.0, attempts=3, backoff_seconds=0.0)


def _client(handler: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=handler)


async def test_weekend_files_repeat_friday_and_are_stored_once(engine: AsyncEngine) -> None:
    # CBAR serves the last bulletin (its own Date: Tuesday 30.10.2018) for the following days too.
    asked: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(200, content=CBAR_2018)

    days = [date(2018, 10, 30), date(2018, 10, 31), date(2018, 11, 1)]
    async with _client(httpx.MockTransport(serve)) as client:
        source = CbarSource(client, days=days, policy=NO_WAIT)
        first = await refresh_rates(engine, source, FETCHED)
        again = await refresh_rates(engine, source, FETCHED + timedelta(hours=1))
    assert asked[:3] == [
        "/currencies/30.10.2018.xml",
        "/currencies/31.10.2018.xml",
        "/currencies/01.11.2018.xml",
    ]
    assert (first.read, first.stored, first.duplicates, first.newest) == (1, 1, 0, date(2018, 10, 30))
    assert (again.stored, again.duplicates, again.conflicts) == (0, 1, 0)
    async with engine.connect() as connection:
        book = await load_rate_book(connection)
    [stored] = book.bulletins("cbar")
    assert stored.bulletin_date == date(2018, 10, 30)
    assert stored.fetched_at == FETCHED  # provenance: the first reading is kept
    assert stored.origin == "https://www.cbar.az/currencies/30.10.2018.xml"
    assert stored.rates["UZS"].base_per_unit == Decimal("0.000206")


async def test_transient_failures_are_retried_then_succeed() -> None:
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectTimeout("slow", request=request)
        if calls == 2:
            return httpx.Response(503)
        return httpx.Response(
            200, content=(DATA / "ecb-eurofxref-daily-2026-10-30-reconstructed.xml").read_bytes()
        )

    async with _client(httpx.MockTransport(flaky)) as client:
        [ecb] = await EcbDailySource(client, policy=NO_WAIT).fetch()
    assert calls == 3
    assert ecb.rates["USD"].units == Decimal("1.1172")


async def test_a_source_that_keeps_failing_gives_a_clear_error_without_endless_retries() -> None:
    calls = 0

    def down(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(502 if "ecb" in request.url.host else 404)

    async with _client(httpx.MockTransport(down)) as client:
        with pytest.raises(RateFeedError, match="HTTP 502") as caught:
            await EcbDailySource(client, policy=NO_WAIT).fetch()
        assert caught.value.code == "rate_feed_error"
        assert calls == 3
        with pytest.raises(RateFeedError, match="no CBAR bulletin could be read"):
            await CbarSource(client, days=[date(2030, 1, 1)], policy=NO_WAIT).fetch()
        assert calls == 4  # a 404 (not published yet) is not retried


async def test_a_truncated_download_stores_nothing(engine: AsyncEngine) -> None:
    head = (DATA / "cbar-04.09.2026-head-fragment.xml.txt").read_bytes()
    async with _client(httpx.MockTransport(lambda request: httpx.Response(200, content=head))) as client:
        with pytest.raises(RateFeedError, match="not well-formed"):
            await refresh_rates(engine, CbarSource(client, days=[date(2026, 9, 4)], policy=NO_WAIT), FETCHED)
    async with engine.connect() as connection:
        assert (await load_rate_book(connection)).sources == []


async def test_ecb_history_and_partner_feed_through_one_interface(engine: AsyncEngine) -> None:
    history = (DATA / "ecb-eurofxref-hist-1999-2026.zip").read_bytes()
    feed = b'{"base": "USD", "asOf": "2026-10-30T10:15:00Z", "rates": {"AZN": "1.7000", "GEL": "2.7112"}}'

    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=history if request.url.path.endswith(".zip") else feed)

    async with _client(httpx.MockTransport(serve)) as client:
        sources = [
            EcbHistorySource(client, since=date(2026, 10, 26), policy=NO_WAIT),
            PartnerFeedSource(
                client, url="https://partner.example/rates", name="partner-kapital", policy=NO_WAIT
            ),
        ]
        reports = await refresh_job(engine, sources, FETCHED)
    assert [(r.source, r.stored) for r in reports] == [("ecb", 5), ("partner-kapital", 1)]
    async with engine.connect() as connection:
        usd_try = await rate_history(connection, "ecb", "USD", "TRY", date(2026, 10, 1), date(2026, 10, 31))
        book = await load_rate_book(connection, depth=2)
    assert [day for day, _ in usd_try] == [date(2026, 10, d) for d in (26, 27, 28, 29, 30)]
    assert usd_try[-1][1] == Decimal("49.94763695")
    assert [b.bulletin_date for b in book.bulletins("ecb")] == [date(2026, 10, 30), date(2026, 10, 29)]
    assert book.bulletins("partner-kapital")[0].rates["GEL"].units == Decimal("2.7112")


async def test_local_file_source(engine: AsyncEngine) -> None:
    report = await refresh_rates(engine, FileSource(DATA / "cbar-30.10.2018.xml", "cbar"), FETCHED)
    assert (report.source, report.stored) == ("cbar", 1)
    with pytest.raises(RateFeedError, match="cannot read"):
        await FileSource(DATA / "missing.xml", "cbar").fetch()


async def test_a_corrected_bulletin_under_the_same_date_is_reported_not_overwritten(
    engine: AsyncEngine,
) -> None:
    as_of = datetime(2026, 10, 29, 20, 0, tzinfo=UTC)
    first = bulletin("cbar", "AZN", {"USD": "0.5882"}, as_of=as_of)
    corrected = bulletin("cbar", "AZN", {"USD": "0.5880"}, as_of=as_of)
    async with engine.begin() as connection:
        assert (await save_bulletins(connection, [first], FETCHED)).stored == 1
        report = await save_bulletins(connection, [corrected], FETCHED)
    assert (report.stored, report.duplicates, report.conflicts) == (0, 0, 1)
    async with engine.connect() as connection:
        [kept] = (await load_rate_book(connection)).bulletins("cbar")
    assert kept.rates["USD"].units == Decimal("0.5882")
