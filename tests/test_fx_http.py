"""Corridors and quotes over real HTTP, as the mobile app sees them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fx_support import real_cbar, seed_catalogue

RUB_14000 = {
    "corridor": "RU-AZ-RUB-AZN",
    "payoutMethod": "card",
    "sendAmount": {"amount": "14000.00", "currency": "RUB"},
}


@pytest.fixture
async def fresh_rates(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    await seed_catalogue(engine, [real_cbar(as_of=now - timedelta(hours=3))], now=now)


@pytest.fixture
async def stale_rates(engine: AsyncEngine) -> None:
    await seed_catalogue(engine, [real_cbar()], now=datetime.now(UTC))  # the real 2018 bulletin only


def _d(money: dict[str, str]) -> Decimal:
    return Decimal(money["amount"])


@pytest.mark.usefixtures("fresh_rates")
async def test_corridors_are_listed_page_by_page(http: AsyncClient) -> None:
    first = (await http.get("/v1/corridors", params={"limit": 10})).json()
    assert len(first["items"]) == 10
    assert first["nextCursor"] == first["items"][-1]["code"]
    second = (await http.get("/v1/corridors", params={"limit": 10, "cursor": first["nextCursor"]})).json()
    assert second["nextCursor"] is None
    codes = [c["code"] for c in first["items"] + second["items"]]
    assert len(codes) == len(set(codes)) == 15
    inbound = {c[:2] for c in codes if c.split("-")[1] == "AZ"}
    outbound = {c.split("-")[1] for c in codes if c.startswith("AZ-")}
    assert inbound == {"RU", "KZ", "TR", "GE", "UA", "DE", "GB", "US"}
    assert outbound == {"RU", "GE", "TR", "UZ", "TJ", "KG", "UA"}
    russia = next(c for c in first["items"] + second["items"] if c["code"] == "RU-AZ-RUB-AZN")
    assert (russia["sendCurrency"], russia["receiveCurrency"]) == ("RUB", "AZN")
    methods = {m["method"]: m for m in russia["payoutMethods"]}
    assert set(methods) == {"bank_account", "card", "wallet", "cash_pickup"}
    card = methods["card"]
    assert card["minSend"] == {"amount": "700.00", "currency": "RUB"}
    assert card["price"]["tiers"][0]["fxMarginBps"] == 60
    assert card["deliveryEstimate"] == {"minMinutes": 1, "maxMinutes": 30}


@pytest.mark.usefixtures("fresh_rates")
async def test_a_fixed_send_quote_shows_fee_and_rate_apart_and_adds_up(http: AsyncClient) -> None:
    response = await http.post("/v1/quotes", json=RUB_14000)
    assert response.status_code == 201, response.text
    q: dict[str, Any] = response.json()
    assert q["corridor"] == "RU-AZ-RUB-AZN"
    assert q["payoutMethod"] == "card"
    assert q["fixed"] == "send"
    assert q["sendAmount"] == {"amount": "14000.00", "currency": "RUB"}
    assert q["fee"] == {"amount": "140.00", "currency": "RUB"}
    assert q["totalToPay"] == {"amount": "14140.00", "currency": "RUB"}
    assert (q["midRate"], q["rate"]) == ("0.0259", "0.0257446")
    assert q["receiveAmount"] == {"amount": "360.42", "currency": "AZN"}
    # Every derived figure recomputes from the others, as the app or a reviewer would do it.
    send, fee, rate, mid = _d(q["sendAmount"]), _d(q["fee"]), Decimal(q["rate"]), Decimal(q["midRate"])
    four = Decimal("0.0001")
    assert _d(q["receiveAmount"]) == (send * rate).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    assert Decimal(q["fxMarginPct"]) == ((1 - rate / mid) * 100).quantize(four, rounding=ROUND_HALF_EVEN)
    assert Decimal(q["totalCostPct"]) == (fee / send * 100 + Decimal(q["fxMarginPct"])).quantize(four)
    assert (q["fxMarginPct"], q["totalCostPct"]) == ("0.6000", "1.6000")
    assert q["fxMargin"] == {"amount": "2.18", "currency": "AZN"}
    assert q["totalCost"] == {"amount": "224.00", "currency": "RUB"}
    assert q["rateSource"] == "cbar"
    assert q["status"] == "open"
    created, expires = datetime.fromisoformat(q["createdAt"]), datetime.fromisoformat(q["expiresAt"])
    assert expires - created == timedelta(minutes=30)
    assert q["deliveryEstimate"] == {"minMinutes": 1, "maxMinutes": 30}

    again = await http.get(f"/v1/quotes/{q['id']}")
    assert again.status_code == 200
    assert again.json() == q


@pytest.mark.usefixtures("fresh_rates")
async def test_a_fixed_receive_quote_delivers_at_least_the_amount_asked(http: AsyncClient) -> None:
    body = {
        "corridor": "AZ-UZ-AZN-UZS",
        "payoutMethod": "cash_pickup",
        "receiveAmount": {"amount": "1000000.00", "currency": "UZS"},
    }
    response = await http.post("/v1/quotes", json=body)
    assert response.status_code == 201, response.text
    q = response.json()
    assert q["fixed"] == "receive"
    assert (
        Decimal("1000000.00")
        <= _d(q["receiveAmount"])
        < Decimal("1000000.00") + Decimal("0.01") * Decimal(q["rate"])
    )
    assert _d(q["receiveAmount"]) == (_d(q["sendAmount"]) * Decimal(q["rate"])).quantize(
        Decimal("0.01"), ROUND_FLOOR
    )


@pytest.mark.usefixtures("fresh_rates")
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**RUB_14000, "corridor": "XX-AZ-XXX-AZN"}, 422, "unknown_corridor"),
        ({**RUB_14000, "sendAmount": {"amount": "699.99", "currency": "RUB"}}, 422, "amount_outside_limits"),
        ({**RUB_14000, "sendAmount": {"amount": "-5.00", "currency": "RUB"}}, 422, "amount_not_positive"),
        ({**RUB_14000, "sendAmount": {"amount": "100.00", "currency": "USD"}}, 422, "currency_mismatch"),
        ({**RUB_14000, "sendAmount": {"amount": "1.001", "currency": "RUB"}}, 422, "invalid_amount"),
        (
            {
                **RUB_14000,
                "corridor": "AZ-RU-AZN-RUB",
                "sendAmount": {"amount": "100.00", "currency": "AZN"},
                "payoutMethod": "wallet",
            },
            422,
            "payout_method_unavailable",
        ),
        ({**RUB_14000, "receiveAmount": {"amount": "300.00", "currency": "AZN"}}, 400, "validation_error"),
        ({"corridor": "RU-AZ-RUB-AZN", "payoutMethod": "card"}, 400, "validation_error"),
    ],
)
async def test_bad_quote_requests_get_distinct_problem_codes(
    http: AsyncClient, body: dict[str, Any], status: int, code: str
) -> None:
    response = await http.post("/v1/quotes", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


@pytest.mark.usefixtures("fresh_rates")
async def test_amount_outside_limits_says_what_the_limits_are(http: AsyncClient) -> None:
    response = await http.post(
        "/v1/quotes", json={**RUB_14000, "sendAmount": {"amount": "400000.00", "currency": "RUB"}}
    )
    body = response.json()
    assert (body["minimum"], body["maximum"]) == (
        {"amount": "700.00", "currency": "RUB"},
        {"amount": "350000.00", "currency": "RUB"},
    )


@pytest.mark.usefixtures("stale_rates")
async def test_a_stale_rate_refuses_the_quote_with_its_own_code(http: AsyncClient) -> None:
    response = await http.post("/v1/quotes", json=RUB_14000)
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "rate_stale"
    assert body["source"] == "cbar"
    assert body["rateAsOf"].startswith("2018-10-29T20:00:00")
    assert "2018-10-30" in body["detail"]


@pytest.mark.usefixtures("fresh_rates")
async def test_unknown_quote_id(http: AsyncClient) -> None:
    response = await http.get("/v1/quotes/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["code"] == "quote_not_found"


async def test_the_api_document_describes_corridors_and_quotes(http: AsyncClient) -> None:
    paths = (await http.get("/schema/openapi.json")).json()["paths"]
    assert {"/v1/corridors", "/v1/quotes", "/v1/quotes/{quote_id}"} <= set(paths)
