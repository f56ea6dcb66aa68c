"""The policy team sees the pilot's own transfers: after transfers are paid out over the real API, the
indicator table, the corridor series and the dashboard show our average cost and the savings to
migrants for that corridor and quarter, with each amount in USD at the mid rate of its day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pyotp
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.fx_demo import demo_rate_bulletins
from backend.settings import Settings
from backend.transfers.pilot_costs import UsdAtMidRate
from fx.convert import mid_converter
from fx.errors import RateStale, RateUnavailable
from fx.market.imports import FileKind, import_file
from fx.market.periods import Quarter
from fx.rate_store import save_bulletins
from fx.rates import Bulletin, QuotedRate, RateBook
from ledger.money import Money
from tests.policy_helpers import PASSWORD, make_analyst
from tests.transfer_support import World, transfer_world

IBAN = "AZ21NABZ00000000137010001944"
T0 = datetime(2026, 11, 2, tzinfo=UTC)
MARKET_200 = Decimal("4.0")
"""A made-up market average for RUS to AZE this quarter (RPW has no survey this recent): 4 % at USD 200."""


def market_file(tmp_path: Path, period: Quarter) -> Path:
    """A corridor-averages file in RPW's layout with one test figure for RUS to AZE in ``period``."""
    path = tmp_path / "rpw-test-averages.csv"
    path.write_text(
        "period,source_code,source_name,destination_code,destination_name,corridor,avg_cost_pct_200usd,"
        "avg_cost_pct_500usd,avg_fx_margin_200usd,avg_fx_margin_500usd,num_providers\n"
        f"{period.label},RUS,Russian Federation,AZE,Azerbaijan,RUSAZE,{MARKET_200},3.0,1.0,1.0,4\n"
    )
    return path


async def send(world: World, who: Any, amount: str, recipient_id: int, method: str) -> dict[str, Any]:
    quote = await world.quote(who, amount, method=method)
    response = await world.send(who, quote["id"], recipient_id)
    assert response.status_code == 201, response.text
    transfer: dict[str, Any] = response.json()
    return transfer


async def analyst_headers(world: World, engine: AsyncEngine, settings: Settings) -> dict[str, str]:
    secret = await make_analyst(engine, settings, "ayla")
    response = await world.http.post(
        "/backoffice/v1/auth/login",
        json={"username": "ayla", "password": PASSWORD, "totp": pyotp.TOTP(secret).now()},
    )
    assert response.status_code == 200, response.text
    world.http.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def in_usd(rub: str) -> Decimal:
    """RUB at the demo bulletin's mid rate (the one in force today), to the cent."""
    demo = next(b for b in demo_rate_bulletins(datetime.now(UTC)) if b.source == "demo")
    rate = demo.cross("RUB", "USD")
    assert rate is not None
    return (Decimal(rub) * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


async def test_paid_out_transfers_show_as_the_pilots_cost_and_savings(
    engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    async with transfer_world(engine, settings) as world:
        sender = await world.customer()
        await world.fund(sender, "30000.00", "RUB")
        bank = await world.recipient(sender, method="bank_account", iban=IBAN)
        wallet = await world.recipient(sender, method="wallet", phone="+994501234567")
        paid = [
            await send(world, sender, "10000.00", bank, "bank_account"),
            await send(world, sender, "3000.00", bank, "bank_account"),
        ]
        await world.partner_pays_all()
        paid.append(await send(world, sender, "1000.00", wallet, "wallet"))  # paid out at once
        await send(world, sender, "2000.00", bank, "bank_account")
        await world.partner_pays_all(fail=True)  # refunded: not a completed transfer
        await send(world, sender, "1500.00", bank, "bank_account")  # still with the partner
        assert [t["status"] for t in paid] == ["sent_to_partner", "sent_to_partner", "paid_out"]
        quarter = Quarter.of(datetime.fromisoformat(paid[0]["createdAt"]).astimezone(UTC).date())

        # A later, different bulletin of the preferred source changes nothing already paid out.
        async with engine.begin() as conn:
            await save_bulletins(conn, [rouble_halved(datetime.now(UTC))], fetched_at=datetime.now(UTC))
            await import_file(
                conn, FileKind.RPW_AVERAGES, market_file(tmp_path, quarter), now=datetime.now(UTC)
            )
        headers = await analyst_headers(world, engine, settings)

        ours = [Decimal(t["totalCostPct"]) for t in paid]
        usd = [in_usd(t["sendAmount"]["amount"]) for t in paid]
        assert all(amount < 200 for amount in usd)  # the market's USD 200 figure applies to each
        average = (sum(ours) / len(ours)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
        saved = sum(
            ((MARKET_200 - pct) * amount / 100 for pct, amount in zip(ours, usd, strict=True)), Decimal(0)
        )

        table = await world.http.get(
            "/policy/v1/indicators", params={"period": quarter.label}, headers=headers
        )
        assert table.status_code == 200, table.text
        (row,) = [item for item in table.json()["items"] if item["corridor"] == "RUSAZE"]
        assert (row["pilotAvgCostPct"], row["pilotTransfers"]) == (str(average), 3)
        savings = table.json()["savings"]
        assert savings["total"] == {
            "amount": str(saved.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)),
            "currency": "USD",
        }
        assert (savings["transfersCounted"], savings["transfersWithoutMarket"]) == (3, 0)

        series = await world.http.get("/policy/v1/corridors/RUSAZE/series", headers=headers)
        (point,) = series.json()["pilot"]
        assert (point["period"], point["transfers"], point["avgCostPct"]) == (quarter.label, 3, str(average))
        assert point["sentUsd"] == {"amount": str(sum(usd)), "currency": "USD"}
        other = await world.http.get("/policy/v1/corridors/TURAZE/series", headers=headers)
        assert other.status_code == 404  # no market figure and no pilot transfer there

        page = await world.http.get("/policy", params={"corridor": "RUSAZE"}, headers=headers)
        assert page.status_code == 200
        html = page.text
        quarter_row = html.split(f'<tr data-period="{quarter.label}">', 1)[1].split("</tr>", 1)[0]
        assert f"<td>{average}</td><td>3</td>" in quarter_row
        assert f"<b>USD {saved:,.2f}</b>3 transfers compared" in html


def rouble_halved(now: datetime) -> Bulletin:
    """A CBAR bulletin in force from now on in which the rouble is worth half of the demo's."""
    demo = next(b for b in demo_rate_bulletins(now) if b.source == "demo")
    rub = demo.rates["RUB"]
    return Bulletin(
        source="cbar",
        base_currency=demo.base_currency,
        bulletin_date=now.date(),
        as_of=now,
        rates={**demo.rates, "RUB": QuotedRate(rub.base_amount / 2, rub.units)},
        origin="test: the demo rates with the rouble halved",
    )


moments = st.integers(min_value=0, max_value=12 * 24).map(lambda h: T0 + timedelta(hours=h))
MAX_AGE = timedelta(hours=96)


@hypothesis_settings(max_examples=80, deadline=None)
@given(
    bulletins=st.lists(
        st.tuples(
            st.sampled_from(["cbar", "ecb"]),
            moments,
            st.decimals(min_value=Decimal("0.5"), max_value=Decimal("5"), places=4),
        ),
        max_size=8,
        unique_by=lambda b: (b[0], b[1]),
    ),
    data=st.data(),
)
def test_usd_at_the_time_is_the_converter_of_that_moment(
    bulletins: list[tuple[str, datetime, Decimal]], data: st.DataObject
) -> None:
    book = RateBook(
        Bulletin(
            source,
            "AZN",
            as_of.date(),
            as_of,
            {"RUB": QuotedRate(rate, Decimal(100)), "USD": QuotedRate(Decimal("1.7"), Decimal(1))},
        )
        for source, as_of, rate in bulletins
    )
    # Moments anywhere, and right at the edges where a bulletin comes into force or grows too old.
    edges = [as_of + shift for _, as_of, _ in bulletins for shift in (timedelta(0), MAX_AGE)]
    nudge = st.sampled_from([timedelta(0), timedelta(microseconds=1), -timedelta(microseconds=1)])
    near_edges = (
        st.tuples(st.sampled_from(edges), nudge).map(lambda pair: pair[0] + pair[1]) if edges else moments
    )
    at = data.draw(st.lists(st.one_of(moments, near_edges), min_size=1, max_size=16))
    usd = UsdAtMidRate(book, ("cbar", "ecb"), MAX_AGE)
    amount = Money("1234.56", "RUB")
    for moment in sorted(at) + at:  # again in another order: remembered answers are the same
        try:
            expected: Money | type[Exception] = mid_converter(book, moment, sources=("cbar", "ecb"))(
                amount, "USD"
            )
        except (RateStale, RateUnavailable) as exc:
            expected = type(exc)
        try:
            got: Money | type[Exception] = usd(amount, moment)
        except (RateStale, RateUnavailable) as exc:
            got = type(exc)
        assert got == expected
