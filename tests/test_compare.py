"""GET /v1/compare and the estimates behind it: what a migrant sees before sending."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import pytest
from httpx import AsyncClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.policy.our_price import CorridorNotServed
from backend.settings import Settings
from fx.market.compare import OurPrice, estimate
from fx.market.imports import FileKind
from fx.market.workbook import read_rpw_workbook
from ledger.money import Money
from tests.data.prices import rpw_layout_fixture
from tests.policy_helpers import DATA, import_shipped, serve_with_pilot

# Receiving units per sending unit and USD per sending unit, round illustrative figures for the test.
MID = {
    ("RUB", "AZN"): Decimal("0.02125"),
    ("AZN", "RUB"): Decimal("47.0588"),
    ("TRY", "AZN"): Decimal("0.034"),
}
USD_PER = {
    "RUB": Decimal("0.0125"),
    "AZN": Decimal("0.5882"),
    "TRY": Decimal("0.02"),
    "KZT": Decimal("0.002"),
}
RECEIVE = {"AZ": "AZN", "RU": "RUB", "GE": "GEL", "TR": "TRY"}


class FixedPricing:
    """Our price in any corridor: 1 % fee, 0.5 % margin, at the mid rates above (or 1:1 when unknown)."""

    async def our_price(
        self,
        connection: AsyncConnection,
        *,
        send_country: str,
        receive_country: str,
        send_amount: Money,
        payout_method: str | None,
        now: datetime,
    ) -> OurPrice:
        if receive_country not in RECEIVE:
            raise CorridorNotServed(f"we do not send to {receive_country}")
        receive_currency = RECEIVE[receive_country]
        mid = MID.get((send_amount.currency, receive_currency), Decimal(1))
        fee = Money.of(send_amount.amount / 100, send_amount.currency)
        rate = mid * Decimal("0.995")
        return OurPrice(
            send_amount=send_amount,
            fee=fee,
            receive_amount=Money.of((send_amount.amount - fee.amount) * rate, receive_currency, ROUND_FLOOR),
            mid_rate=mid,
            rate=rate,
            fx_margin_pct=Decimal("0.5"),
            total_cost_pct=Decimal("1.5"),
            delivery="Less than one hour",
            rate_as_of=now,
            usd_per_send_unit=USD_PER.get(send_amount.currency),
        )


@pytest.fixture
async def compare_http(settings: Settings, engine: AsyncEngine) -> AsyncIterator[AsyncClient]:
    await import_shipped(engine, FileKind.RPW_AVERAGES, FileKind.PROVIDER_LIST)
    async for base_url in serve_with_pilot(settings, engine, our_price_source=FixedPricing()):
        async with AsyncClient(base_url=base_url, timeout=30) as client:
            yield client


async def test_compare_ranks_us_among_providers_and_counts_the_saving(compare_http: AsyncClient) -> None:
    params = {"sendCountry": "RU", "receiveCountry": "AZ", "sendCurrency": "RUB", "amount": "20000"}
    response = await compare_http.get("/v1/compare", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    rows = body["items"]
    assert rows[0]["isUs"] is True
    assert rows[0]["receiveAmount"] == {"amount": "418.64", "currency": "AZN"}  # 19,800 x 0.02125 x 0.995
    received = [row["receiveAmount"]["amount"] for row in rows if row["receiveAmount"]]
    # digital: (20,000 - 400) x 0.02125 x 0.994; operator: 19,700 x 0.02125 x 0.988;
    # bank: 18,500 x 0.02125 x 0.975
    assert received == ["418.64", "414.00", "413.60", "383.29"]
    assert [row["provider"] for row in rows[1:4]] == [
        "Illustrative digital provider",
        "Illustrative money transfer operator",
        "Illustrative bank",
    ]
    undisclosed = rows[-1]
    assert undisclosed["transparent"] is False
    assert undisclosed["receiveAmount"] is None
    assert undisclosed["fee"] == {"amount": "500.00", "currency": "RUB"}
    assert {row["basis"] for row in rows[1:]} == {"illustrative"}
    assert all(row["dataDate"] == "2026-10-30" for row in rows[1:])
    # The corridor's market average is RPW's 2021_4Q (1.765 % at USD 200, 1.705 % at USD 500), stale now;
    # RUB 20,000 is USD 250, so 1.765 - 0.06 x 50 / 300 = 1.755 %, and we cost 1.5 %.
    market = body["market"]
    assert market == {
        "status": "stale",
        "averageCostPct": "1.7550",
        "period": "2021_4Q",
        "dataset": "rpw_averages",
        "basis": "survey",
    }
    assert body["saving"] == {"amount": "51.00", "currency": "RUB"}  # (1.755 - 1.5) % of RUB 20,000
    assert any("2021_4Q" in note for note in body["notes"])


async def test_compare_answers_for_every_seeded_corridor(compare_http: AsyncClient) -> None:
    with (DATA / "provider-price-list.csv").open() as handle:
        corridors = {
            (row["source_country"], row["destination_country"], row["send_currency"])
            for row in csv.DictReader(handle)
        }
    assert len(corridors) == 11
    about_usd_200 = {"TRY": "10000", "KZT": "100000", "GEL": "550", "UAH": "8000", "EUR": "180", "GBP": "150",
                     "USD": "200", "RUB": "16000", "AZN": "340"}  # fmt: skip
    for send_country, receive_country, currency in sorted(corridors):
        params = {"sendCountry": send_country, "receiveCountry": receive_country, "sendCurrency": currency,
                  "amount": about_usd_200[currency]}  # fmt: skip
        response = await compare_http.get("/v1/compare", params=params)
        assert response.status_code == 200, (send_country, receive_country, response.text)
        body = response.json()
        assert sum(row["isUs"] for row in body["items"]) == 1
        assert len(body["items"]) == 5, (send_country, receive_country)
        assert body["market"]["status"] in ("ok", "stale")


async def test_compare_says_when_there_is_no_market_data(compare_http: AsyncClient) -> None:
    params = {"sendCountry": "GE", "receiveCountry": "TR", "sendCurrency": "GEL", "amount": "300"}
    body = (await compare_http.get("/v1/compare", params=params)).json()
    assert body["market"]["status"] == "missing"
    assert body["saving"] is None
    assert [row["isUs"] for row in body["items"]] == [True]
    assert "No market price data" in body["notes"][0]


async def test_compare_refuses_bad_input_and_unserved_corridors(compare_http: AsyncClient) -> None:
    base = {"sendCountry": "RU", "receiveCountry": "AZ", "sendCurrency": "RUB"}
    bad_amount = await compare_http.get("/v1/compare", params={**base, "amount": "-5"})
    assert bad_amount.status_code == 422
    assert bad_amount.json()["code"] == "invalid_amount"
    too_fine = await compare_http.get("/v1/compare", params={**base, "amount": "1.001"})
    assert too_fine.status_code == 422
    unserved = await compare_http.get("/v1/compare", params={**base, "receiveCountry": "FR", "amount": "100"})
    assert unserved.status_code == 404
    assert unserved.json()["code"] == "corridor_not_served"


async def test_compare_answers_for_every_seeded_corridor_with_our_live_price(
    http: AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    from backend.fx_demo import seed_fx
    from backend.policy.seed import seed_market_prices

    await seed_fx(engine, settings)
    await seed_market_prices(engine, settings)
    corridors = (await http.get("/v1/corridors", params={"limit": 100})).json()["items"]
    assert len(corridors) >= 15
    for corridor in corridors:
        amount = Decimal(corridor["payoutMethods"][0]["minSend"]["amount"]) * 10
        params = {
            "sendCountry": corridor["sendCountry"],
            "receiveCountry": corridor["receiveCountry"],
            "sendCurrency": corridor["sendCurrency"],
            "amount": str(amount),
        }
        response = await http.get("/v1/compare", params=params)
        assert response.status_code == 200, (corridor["code"], response.text)
        ours = [row for row in response.json()["items"] if row["isUs"]]
        assert len(ours) == 1, corridor["code"]
        assert Decimal(ours[0]["receiveAmount"]["amount"]) > 0
        assert ours[0]["receiveAmount"]["currency"] == corridor["receiveCurrency"]


async def test_compare_for_a_corridor_we_do_not_serve_says_so(http: AsyncClient) -> None:
    params = {"sendCountry": "BR", "receiveCountry": "AZ", "sendCurrency": "BRL", "amount": "100"}
    response = await http.get("/v1/compare", params=params)
    assert response.status_code == 404
    assert response.json()["code"] == "corridor_not_served"


def test_two_point_estimate_goes_through_both_surveyed_prices(tmp_path: Path) -> None:
    services = list(read_rpw_workbook(rpw_layout_fixture.write(tmp_path / "f.xlsx")))
    service_d = next(service for service in services if service.firm == "Service D")
    assert estimate(service_d, Decimal("14530")) == (Decimal("203.42"), Decimal("1.00"))
    assert estimate(service_d, Decimal("36325")) == (Decimal("421.37"), Decimal("1.00"))
    fee, _ = estimate(service_d, Decimal("25427.5"))  # type: ignore[misc]
    assert fee == (Decimal("203.42") + Decimal("421.37")) / 2
    low_fee, _ = estimate(service_d, Decimal("100"))  # type: ignore[misc]
    assert low_fee >= 0


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    fixed=st.decimals(min_value=0, max_value=50, places=2),
    percent=st.decimals(min_value=0, max_value=5, places=2),
    amount=st.decimals(min_value=1, max_value=100000, places=2),
)
def test_a_fixed_plus_percent_schedule_is_recovered_exactly_from_two_rpw_points(
    fixed: Decimal, percent: Decimal, amount: Decimal
) -> None:
    from fx.market.periods import Quarter
    from fx.market.provider_list import price_point
    from fx.market.records import Dataset, ServicePrice

    service = ServicePrice(
        Dataset.RPW_WORKBOOK, Quarter(2024, 1), "DEU", "TUR", "X", "Bank", "Cash", "Cash", "Next day", "EUR",
        price_point(Decimal(180), fixed, percent, Decimal(1)),
        price_point(Decimal(450), fixed, percent, Decimal(1)),
        None, True, None,
    )  # fmt: skip
    result = estimate(service, amount)
    assert result is not None
    fee, margin = result
    assert fee == max(Decimal(0), fixed + amount * percent / 100)
    assert margin == 1
