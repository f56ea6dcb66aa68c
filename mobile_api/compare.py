"""GET /v1/compare: our live price beside other providers' for the same amount, at the moment of sending."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import State
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from backend.identity.guards import AuthLevel, auth_level
from backend.policy.comparison import compare_prices, parse_amount
from backend.policy.schemas import pct
from fx.market.compare import Comparison, ProviderEstimate

__all__ = ["CompareController"]

_RATE_PLACES = Decimal("0.000001")


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class CompareRow(_Camel):
    provider: str
    is_us: bool
    fee: dict[str, str]
    rate: str | None
    fx_margin_pct: str | None
    total_cost_pct: str | None
    receive_amount: dict[str, str] | None
    speed: str
    transparent: bool
    payment_instrument: str
    pickup_method: str
    data_date: str
    stale: bool
    dataset: str
    basis: str
    source: str


class MarketSummary(_Camel):
    status: str
    average_cost_pct: str | None
    period: str | None
    dataset: str | None
    basis: str | None


class CompareReply(_Camel):
    send_amount: dict[str, str]
    corridor: str
    items: list[CompareRow]
    market: MarketSummary
    saving: dict[str, str] | None
    notes: list[str]


def _row(row: ProviderEstimate) -> CompareRow:
    return CompareRow(
        provider=row.provider,
        is_us=row.is_us,
        fee=row.fee.to_json(),
        rate=None if row.rate is None else str(row.rate.quantize(_RATE_PLACES)),
        fx_margin_pct=pct(row.fx_margin_pct),
        total_cost_pct=pct(row.total_cost_pct),
        receive_amount=row.receive_amount.to_json() if row.receive_amount else None,
        speed=row.speed,
        transparent=row.transparent,
        payment_instrument=row.payment_instrument,
        pickup_method=row.pickup_method,
        data_date=row.data_date.isoformat(),
        stale=row.stale,
        dataset=row.dataset,
        basis=row.basis,
        source=row.source,
    )


def _reply(comparison: Comparison, corridor: str) -> CompareReply:
    average = comparison.market_average
    return CompareReply(
        send_amount=comparison.send_amount.to_json(),
        corridor=corridor,
        items=[_row(row) for row in comparison.rows],
        market=MarketSummary(
            status=comparison.market_status.value,
            average_cost_pct=pct(comparison.market_average_pct),
            period=average.period.label if average else None,
            dataset=average.dataset.value if average else None,
            basis=average.basis.value if average else None,
        ),
        saving=comparison.saving.to_json() if comparison.saving else None,
        notes=comparison.notes,
    )


class CompareController(Controller):
    path = "/v1/compare"
    tags = ["mobile: prices"]

    @get(
        "/",
        opt=auth_level(AuthLevel.PUBLIC),
        summary="Compare our price with other providers'",
        description="Our live quote and each provider's estimate for the same amount (World Bank RPW "
        "method), best amount received first, with the saving against the corridor's market average.",
    )
    async def compare(
        self,
        state: State,
        send_country: Annotated[str, Parameter(query="sendCountry", min_length=2, max_length=2)],
        receive_country: Annotated[str, Parameter(query="receiveCountry", min_length=2, max_length=2)],
        send_currency: Annotated[str, Parameter(query="sendCurrency", min_length=3, max_length=3)],
        amount: Annotated[str, Parameter(max_length=24)],
        payout_method: Annotated[str | None, Parameter(query="payoutMethod", max_length=32)] = None,
    ) -> CompareReply:
        comparison = await compare_prices(
            state,
            send_country=send_country,
            receive_country=receive_country,
            send_amount=parse_amount(amount, send_currency),
            payout_method=payout_method,
        )
        return _reply(comparison, f"{send_country.upper()}-{receive_country.upper()}")
