"""The RPW indicator arithmetic: total cost, SmaRT, SDG 10.c, savings, quarters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fx.market.indicators import (
    PilotTransferCost,
    fx_margin_pct,
    market_cost_at,
    savings_to_migrants,
    sdg_status,
    smart,
    speed_days,
    total_cost_pct,
)
from fx.market.periods import InvalidPeriod, Quarter
from fx.market.records import CorridorQuarter, Dataset, PricePoint, ServicePrice

percent = st.decimals(min_value=0, max_value=30, places=4)


def _service(cost: str, *, speed: str = "Next day", transparent: bool = True) -> ServicePrice:
    point = PricePoint(Decimal(100), Decimal(0), None, Decimal(cost), Decimal(cost))
    return ServicePrice(
        Dataset.RPW_WORKBOOK, Quarter(2021, 4), "RUS", "AZE", f"firm {cost}", "MTO", "Cash", "Cash", speed,
        "RUB", point, point, None, transparent, None,
    )  # fmt: skip


def test_total_cost_is_fee_share_plus_margin() -> None:
    # RPW's own worked example: AOA 2,257.2 fee on AOA 33,000 with a 3.10 % margin is 9.94 %.
    assert total_cost_pct(Decimal("2257.2"), Decimal("33000"), Decimal("3.10")).quantize(
        Decimal("0.01")
    ) == Decimal("9.94")
    assert fx_margin_pct(Decimal("0.023049"), Decimal("0.0234")) == Decimal("1.5")


@settings(max_examples=80, deadline=None)
@given(costs=st.lists(percent, min_size=0, max_size=8))
def test_smart_is_the_mean_of_the_three_cheapest(costs: list[Decimal]) -> None:
    services = [_service(str(cost)) for cost in costs]
    result = smart(services)
    if len(costs) < 3:
        assert result is None
    else:
        assert result == sum(sorted(costs)[:3], Decimal(0)) / 3
        assert result <= sum(costs, Decimal(0)) / len(costs)


def test_smart_leaves_out_slow_and_undisclosed_services() -> None:
    services = [
        _service("0.5", speed="6 days or more"),
        _service("0.6", transparent=False),
        _service("1"),
        _service("2", speed="3-5 days"),
        _service("3", speed="Less than one hour"),
        _service("9"),
    ]
    assert smart(services) == Decimal(2)
    assert smart(services[:4]) is None  # only two qualify


@pytest.mark.parametrize(
    ("text", "days"),
    [("Less than one hour", 0), ("Same day", 0), ("Next day", 1), ("2 days", 2), ("3-5 days", 5),
     ("1-3 days", 3), ("6 days or more", 6), ("", None), ("whenever", None)],
)  # fmt: skip
def test_speed_categories(text: str, days: int | None) -> None:
    assert speed_days(text) == days


def _corridor(code: str, cost: str | None) -> CorridorQuarter:
    return CorridorQuarter(
        Dataset.RPW_AVERAGES, Quarter(2021, 4), code[:3], code[3:], Decimal(cost) if cost else None
    )


def test_sdg_status_flags_corridors_above_five_percent() -> None:
    rows = [
        _corridor("RUSAZE", "1.765"),
        _corridor("DEUTUR", "6.5"),
        _corridor("USAMEX", "4.0"),
        _corridor("GBRNGA", None),
    ]
    status = sdg_status(Quarter(2021, 4), rows)
    assert status.corridors == 3
    assert status.average_pct == (Decimal("1.765") + Decimal("6.5") + Decimal("4.0")) / 3
    assert status.meets_average_target is False
    assert status.corridors_above_ceiling == ("DEUTUR",)
    weighted = sdg_status(
        Quarter(2021, 4), rows, {("RUS", "AZE"): Decimal(600), ("DEU", "TUR"): Decimal(200)}
    )
    assert weighted.average_pct == (Decimal("1.765") * 600 + Decimal("6.5") * 200) / 800
    assert weighted.corridors == 2
    assert weighted.corridors_above_ceiling == ("DEUTUR",)


@settings(max_examples=80, deadline=None)
@given(amount=st.decimals(min_value=1, max_value=5000, places=2), low=percent, high=percent)
def test_market_cost_at_stays_between_the_surveyed_amounts(
    amount: Decimal, low: Decimal, high: Decimal
) -> None:
    value = market_cost_at(amount, low, high)
    assert value is not None
    assert min(low, high) <= value <= max(low, high)
    assert market_cost_at(Decimal(200), low, high) == low
    assert market_cost_at(Decimal(500), low, high) == high


@settings(max_examples=60, deadline=None)
@given(
    transfers=st.lists(
        st.tuples(
            st.decimals(min_value=10, max_value=3000, places=2),
            st.decimals(min_value=0, max_value=5, places=2),
        ),
        max_size=10,
    ),
    market=st.decimals(min_value=0, max_value=10, places=3),
)
def test_savings_are_market_minus_ours_times_amount(
    transfers: list[tuple[Decimal, Decimal]], market: Decimal
) -> None:
    period = Quarter(2021, 4)
    rows = [PilotTransferCost("RUS", "AZE", period, amount, cost) for amount, cost in transfers]
    figure = CorridorQuarter(Dataset.RPW_AVERAGES, period, "RUS", "AZE", market, market)
    result = savings_to_migrants(rows, {("RUS", "AZE", period): figure})
    assert result.total_usd == sum(((market - cost) * amount / 100 for amount, cost in transfers), Decimal(0))
    assert result.transfers_counted == len(rows)
    nothing = savings_to_migrants(rows, {})
    assert (nothing.total_usd, nothing.transfers_without_market) == (0, len(rows))


@settings(max_examples=50, deadline=None)
@given(year=st.integers(min_value=1990, max_value=2100), number=st.integers(min_value=1, max_value=4))
def test_quarter_labels_round_trip(year: int, number: int) -> None:
    quarter = Quarter(year, number)
    assert Quarter.parse(quarter.label) == quarter
    assert Quarter.parse(f"{year}Q{number} [YR{year}Q{number}]") == quarter
    assert Quarter.of(quarter.start) == Quarter.of(quarter.end) == quarter
    assert quarter.next() > quarter


def test_impossible_quarters_are_refused() -> None:
    for text in ("2021_5Q", "2021", "Q4 2021", ""):
        with pytest.raises(InvalidPeriod):
            Quarter.parse(text)
