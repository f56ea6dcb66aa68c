"""Importing the World Bank's price files: the numbers RPW published come back out, exactly."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from fx.market.analytics import MarketAnalytics
from fx.market.imports import FileKind, import_file
from fx.market.indicators import fx_margin_pct, total_cost_pct
from fx.market.parsing import MalformedFile
from fx.market.periods import Quarter
from fx.market.pilot import NoPilotCosts
from fx.market.records import Basis, Dataset
from fx.market.store import MarketStore
from fx.market.tables import service_prices
from fx.market.workbook import read_rpw_workbook
from tests.data.prices import rpw_layout_fixture

DATA = Path(__file__).resolve().parent.parent / "fx" / "market" / "data"
NOW = datetime(2026, 11, 26, tzinfo=UTC)


async def _import(engine: AsyncEngine, kind: FileKind, path: Path):  # type: ignore[no-untyped-def]
    async with engine.begin() as connection:
        return await import_file(connection, kind, path, now=NOW)


async def _series(engine: AsyncEngine, source: str, destination: str):  # type: ignore[no-untyped-def]
    async with engine.connect() as connection:
        return await MarketAnalytics(connection, NoPilotCosts()).corridor_series(source, destination)


async def test_rpw_averages_reproduce_russia_to_azerbaijan(engine: AsyncEngine) -> None:
    result = await _import(
        engine, FileKind.RPW_AVERAGES, DATA / "rpw-corridor-quarter-averages-2016-2025.csv"
    )
    assert (result.rows, result.skipped) == (10468, 0)
    series = await _series(engine, "RUS", "AZE")
    by_period = {row.period.label: row for row in series.market}
    q4 = by_period["2021_4Q"]
    assert q4.avg_cost_200_pct == Decimal("1.765")
    assert q4.avg_cost_500_pct == Decimal("1.705")
    assert q4.avg_fx_margin_200_pct == Decimal("0.915")
    assert q4.services == 4
    # Every quarter of the shipped RUS-AZE series comes back to the precision it was published in.
    with (DATA / "rus-aze-corridor-series-2011-2021.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row["avg_cost_pct_200usd"]:
                got = by_period[row["period"]].avg_cost_200_pct
                assert got is not None
                assert got.quantize(Decimal("0.0001"), ROUND_HALF_UP) == Decimal(
                    row["avg_cost_pct_200usd"]
                ), row["period"]


async def test_databank_export_reproduces_the_published_series(engine: AsyncEngine) -> None:
    result = await _import(engine, FileKind.DATABANK, DATA / "wb-databank-rpw-atcr-corr-2011-2020.csv")
    assert result.rows > 10000
    series = await _series(engine, "RUS", "AZE")
    by_period = {row.period.label: row for row in series.market}
    assert all(row.dataset is Dataset.DATABANK_ATCR for row in series.market)
    with (DATA / "rus-aze-corridor-series-2011-2021.csv").open() as handle:
        expected = {row["period"]: row["databank_avg_cost_pct_200usd"] for row in csv.DictReader(handle)}
    published = {period: Decimal(value) for period, value in expected.items() if value}
    assert set(by_period) == set(published)
    for period, value in published.items():
        got = by_period[period].avg_cost_200_pct
        assert got is not None
        assert abs(got - value) <= Decimal("0.00005"), period  # the series is rounded to 4 places


async def test_more_direct_source_wins_for_the_same_quarter(engine: AsyncEngine) -> None:
    await _import(engine, FileKind.DATABANK, DATA / "wb-databank-rpw-atcr-corr-2011-2020.csv")
    await _import(engine, FileKind.RPW_AVERAGES, DATA / "rpw-corridor-quarter-averages-2016-2025.csv")
    series = await _series(engine, "RUS", "AZE")
    datasets = {row.period.label: row.dataset for row in series.market}
    assert datasets["2013_2Q"] is Dataset.DATABANK_ATCR  # only DataBank goes back before 2016_2Q
    assert datasets["2020_3Q"] is Dataset.RPW_AVERAGES
    assert len(series.all_sources) > len(series.market)


async def test_workbook_layout_fixture_gives_rpw_published_averages(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    path = rpw_layout_fixture.write(tmp_path / "rpw-layout.xlsx")
    result = await _import(engine, FileKind.RPW_WORKBOOK, path)
    expected = rpw_layout_fixture.EXPECTED
    assert (result.rows, result.skipped, result.corridor_quarters) == (5, expected["skipped"], 1)
    assert "2021_5Q" in result.skipped_examples[0]
    series = await _series(engine, "RUS", "AZE")
    (computed,) = series.market
    assert computed.dataset is Dataset.RPW_WORKBOOK
    assert computed.avg_cost_200_pct == expected["avg_cost_200_pct"]
    assert computed.avg_cost_500_pct == expected["avg_cost_500_pct"]
    assert computed.avg_fx_margin_200_pct == expected["avg_fx_margin_200_pct"]
    assert computed.smart_pct == Decimal(expected["smart_pct"]).quantize(Decimal("0.000001"))  # type: ignore[arg-type]
    assert (computed.services, computed.services_surveyed) == (
        expected["services"],
        expected["services_surveyed"],
    )


def test_total_cost_definition_holds_on_hand_checked_rows(tmp_path: Path) -> None:
    path = rpw_layout_fixture.write(tmp_path / "rpw-layout.xlsx")
    checked = 0
    for service in read_rpw_workbook(path):
        if not service.transparent:
            continue
        for point in (service.at_200, service.at_500):
            assert point is not None
            assert point.fee is not None
            assert point.fx_rate is not None
            assert service.interbank_rate is not None
            margin = fx_margin_pct(point.fx_rate, service.interbank_rate)
            assert abs(margin - point.fx_margin_pct) < Decimal("0.000001")  # type: ignore[operator]
            assert abs(total_cost_pct(point.fee, point.amount, margin) - point.total_cost_pct) < Decimal(
                "0.01"
            )  # type: ignore[operator]
            checked += 1
    assert checked == 8


async def test_the_same_file_twice_changes_nothing(engine: AsyncEngine, tmp_path: Path) -> None:
    path = rpw_layout_fixture.write(tmp_path / "rpw-layout.xlsx")
    await _import(engine, FileKind.RPW_WORKBOOK, path)
    again = await _import(engine, FileKind.RPW_WORKBOOK, path)
    assert again.already_imported
    async with engine.connect() as connection:
        count = (await connection.execute(select(func.count()).select_from(service_prices))).scalar_one()
    assert count == 5


async def test_a_newer_workbook_replaces_the_services_of_its_quarters(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    first = rpw_layout_fixture.write(tmp_path / "first.xlsx")
    await _import(engine, FileKind.RPW_WORKBOOK, first)
    from fx.market.layout import write_rpw_workbook

    second = tmp_path / "second.xlsx"
    write_rpw_workbook(second, rpw_layout_fixture.ROWS[1:4])  # services B, C, D only
    await _import(engine, FileKind.RPW_WORKBOOK, second)
    (computed,) = (await _series(engine, "RUS", "AZE")).market
    assert computed.services == 3
    assert computed.avg_cost_200_pct == (Decimal("1.50") + Decimal("2.16") + Decimal("2.40")) / 3


async def test_provider_list_is_priced_at_usd_200_and_labelled_illustrative(engine: AsyncEngine) -> None:
    result = await _import(engine, FileKind.PROVIDER_LIST, DATA / "provider-price-list.csv")
    assert result.skipped == 0
    series = await _series(engine, "TUR", "AZE")
    (quarter,) = series.market
    assert quarter.period == Quarter(2026, 4)
    assert quarter.basis is Basis.ILLUSTRATIVE
    assert (quarter.services, quarter.services_surveyed) == (3, 4)
    # TRY 750 fixed on TRY 9,989.52 (USD 200 at 49.9476) + 2.5 % margin, 1.5 % + 1.2 %, and
    # TRY 150 + 0.5 % + 0.6 % margin: the mean of the three transparent services.
    amount = Decimal("49.9476") * 200
    bank = Decimal(750) / amount * 100 + Decimal("2.50")
    operator = Decimal("1.50") + Decimal("1.20")
    digital = Decimal(150) / amount * 100 + Decimal("0.50") + Decimal("0.60")
    expected = ((bank + operator + digital) / 3).quantize(Decimal("0.000001"))
    assert quarter.avg_cost_200_pct == expected
    async with engine.connect() as connection:
        services = await MarketStore(connection).latest_services("RUS", "AZE", Dataset.PROVIDER_LIST)
    assert services
    assert all(service.at_200 is None for service in services)  # no RUB reference rate on file
    assert all(service.basis is Basis.ILLUSTRATIVE for service in services)


def test_provider_list_rows_need_a_source_and_a_date(tmp_path: Path) -> None:
    from fx.market.parsing import SkipLog
    from fx.market.provider_list import PROVIDER_LIST_COLUMNS, read_provider_list

    path = tmp_path / "list.csv"
    row = dict.fromkeys(PROVIDER_LIST_COLUMNS, "")
    row.update(source_country="TR", destination_country="AZ", firm="X", send_currency="TRY", fee_fixed="1",
               fee_percent="0", fx_margin_pct="1", transparent="yes", basis="published")  # fmt: skip
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, PROVIDER_LIST_COLUMNS)
        writer.writeheader()
        writer.writerow({**row, "date": "2026-10-30"})  # no source
        writer.writerow({**row, "source": "https://example.org/fees read 2026-10-30"})  # no date
    skipped = SkipLog()
    assert list(read_provider_list(path, skipped)) == []
    assert skipped.count == 2
    assert "needs a source" in skipped.examples[0]
    assert "needs a date" in skipped.examples[1]


def test_a_file_in_the_wrong_layout_is_refused_whole(tmp_path: Path) -> None:
    from fx.market.rpw_csv import read_corridor_averages

    path = tmp_path / "wrong.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(MalformedFile, match="missing columns period"):
        list(read_corridor_averages(path))


async def test_bilateral_estimates_weight_the_sdg_average(engine: AsyncEngine) -> None:
    await _import(engine, FileKind.RPW_AVERAGES, DATA / "rpw-corridor-quarter-averages-2016-2025.csv")
    result = await _import(engine, FileKind.BILATERAL, DATA / "wb-bilateral-remittance-estimates-2017.xlsx")
    assert result.rows > 10000
    async with engine.connect() as connection:
        analytics = MarketAnalytics(connection, NoPilotCosts())
        year, weights = await analytics.store.flow_weights()
        plain = await analytics.indicator_table(Quarter(2021, 4))
        weighted = await analytics.indicator_table(Quarter(2021, 4), weighted=True)
    assert year == 2017
    assert weights[("RUS", "AZE")].quantize(Decimal("0.001")) == Decimal("610.301")  # the World Bank's figure
    assert plain.sdg is not None
    assert weighted.sdg is not None
    assert weighted.sdg.weighted
    assert not plain.sdg.weighted
    assert plain.sdg.average_pct != weighted.sdg.average_pct
    assert plain.sdg.corridors == len(plain.rows)
    assert not plain.sdg.meets_corridor_ceiling  # many corridors are still above 5 %
