"""The policy API over real HTTP: who may read it, and what the policy team reads from it."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import Settings
from fx.market.imports import FileKind
from tests.policy_helpers import PASSWORD, import_shipped, make_analyst, serve_with_pilot, totp_now


@pytest.fixture
async def policy_http(settings: Settings, engine: AsyncEngine) -> AsyncIterator[AsyncClient]:
    await import_shipped(engine, FileKind.RPW_AVERAGES, FileKind.DATABANK, FileKind.BILATERAL)
    async for base_url in serve_with_pilot(settings, engine):
        async with AsyncClient(base_url=base_url, timeout=30) as client:
            yield client


async def _headers(
    client: AsyncClient, engine: AsyncEngine, settings: Settings, *roles: str
) -> dict[str, str]:
    username = "analyst-" + "-".join(roles or ("policy_analyst",))
    secret = await make_analyst(engine, settings, username, *roles)
    response = await client.post(
        "/backoffice/v1/auth/login",
        json={"username": username, "password": PASSWORD, "totp": totp_now(secret)},
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def test_policy_api_needs_a_policy_analyst(
    policy_http: AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    assert (await policy_http.get("/policy/v1/corridors")).status_code == 401
    officer = await _headers(policy_http, engine, settings, "officer")
    response = await policy_http.get("/policy/v1/corridors", headers=officer)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_corridor_series_shows_rpw_figures_and_our_pilot(
    policy_http: AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    headers = await _headers(policy_http, engine, settings)
    response = await policy_http.get("/policy/v1/corridors/RUSAZE/series", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    market = {point["period"]: point for point in body["market"]}
    assert market["2021_4Q"]["avgCost200Pct"] == "1.7650"
    assert market["2021_4Q"]["dataset"] == "rpw_averages"
    assert market["2011_1Q"]["avgCost200Pct"] == "2.1900"  # only DataBank reaches back to 2011
    assert market["2011_1Q"]["dataset"] == "databank_atcr"
    pilot = {point["period"]: point for point in body["pilot"]}
    assert pilot["2021_3Q"]["transfers"] == 2
    assert pilot["2021_3Q"]["avgCostPct"] == "0.8000"
    assert pilot["2021_3Q"]["amountWeightedCostPct"] == "0.7667"  # (200 x 0.9 + 400 x 0.7) / 600
    assert pilot["2021_3Q"]["sentUsd"] == {"amount": "600.00", "currency": "USD"}
    assert (await policy_http.get("/policy/v1/corridors/RUSXXX/series", headers=headers)).status_code == 422
    assert (await policy_http.get("/policy/v1/corridors/AZEFRA/series", headers=headers)).status_code == 404


async def test_indicator_table_gives_sdg_status_and_savings(
    policy_http: AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    headers = await _headers(policy_http, engine, settings)
    response = await policy_http.get("/policy/v1/indicators", params={"period": "2021_4Q"}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    rows = {row["corridor"]: row for row in body["items"]}
    assert rows["RUSAZE"]["avgCost200Pct"] == "1.7650"
    assert rows["RUSAZE"]["pilotAvgCostPct"] == "0.8000"
    sdg = body["sdg"]
    assert sdg["corridors"] == len(rows)
    above = {code for code, row in rows.items() if Decimal(row["avgCost200Pct"]) > 5}
    assert set(sdg["corridorsAboveCeiling"]) == above
    assert sdg["meetsCorridorCeiling"] is False
    mean = sum(Decimal(row["avgCost200Pct"]) for row in rows.values()) / len(rows)
    assert abs(Decimal(sdg["averagePct"]) - mean) < Decimal("0.0001") * len(rows)
    # Savings: 2021_3Q market 1.614 % at USD 200, 1.566 % at USD 500 (linear between):
    # 200 x (1.614 - 0.90) + 400 x (1.582 - 0.70) at USD 400, then 300 x (1.745 - 0.80) in 2021_4Q.
    expected = (
        Decimal(200) * (Decimal("1.614") - Decimal("0.90"))
        + Decimal(400) * (Decimal("1.582") - Decimal("0.70"))
        + Decimal(300) * (Decimal("1.745") - Decimal("0.80"))
    ) / 100
    assert body["savings"]["total"] == {"amount": str(expected.quantize(Decimal("0.01"))), "currency": "USD"}
    assert body["savings"]["transfersCounted"] == 3
    weighted = (
        await policy_http.get(
            "/policy/v1/indicators", params={"period": "2021_4Q", "weighted": "true"}, headers=headers
        )
    ).json()
    assert weighted["sdg"]["weighted"] is True
    assert weighted["weightsYear"] == 2017
    assert weighted["sdg"]["averagePct"] != sdg["averagePct"]


async def test_indicator_table_exports_as_csv(
    policy_http: AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    headers = await _headers(policy_http, engine, settings)
    response = await policy_http.get(
        "/policy/v1/indicators.csv", params={"period": "2021_4Q"}, headers=headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "korpu-indicators-2021_4Q.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    rusaze = next(row for row in rows if row["corridor"] == "RUSAZE")
    assert rusaze["avgCost200Pct"] == "1.7650"
    assert rusaze["period"] == "2021_4Q"
    assert rusaze["dataset"] == "rpw_averages"


async def test_corridors_page_through_with_a_cursor(
    policy_http: AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    headers = await _headers(policy_http, engine, settings)
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        params = {"limit": "150", **({"cursor": cursor} if cursor else {})}
        body = (await policy_http.get("/policy/v1/corridors", params=params, headers=headers)).json()
        seen += [item["corridor"] for item in body["items"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) > 300
    assert "RUSAZE" in seen
    assert (
        await policy_http.get("/policy/v1/indicators", params={"period": "2021_9Q"}, headers=headers)
    ).status_code == 422
