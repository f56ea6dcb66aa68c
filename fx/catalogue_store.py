"""Reading and writing the corridor catalogue and its price history.

Corridors and payout options are upserted (their limits and delivery estimates may be edited);
prices are append-only: a new price is a new row with a later ``effective_from``, so the price
behind every past quote stays readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from fx.catalogue import Corridor, DeliveryEstimate, PayoutMethod, PayoutOption, SendLimits
from fx.errors import PayoutMethodUnavailable, UnknownCorridor
from fx.pricing import FeeTier, Price
from fx.rounding import decimal_text
from fx.tables import corridor_payouts, corridors, price_tiers, prices
from ledger.money import Money

__all__ = ["add_price", "load_catalogue", "save_corridor"]

_DIALECT_INSERT = {"postgresql": postgresql.Insert, "sqlite": sqlite.Insert}


def _upsert(connection: AsyncConnection, table: Any, keys: list[str], row: dict[str, Any]) -> Any:
    statement: Any = _DIALECT_INSERT[connection.dialect.name](table).values(row)
    return statement.on_conflict_do_update(
        index_elements=keys, set_={k: statement.excluded[k] for k in row if k not in keys}
    )


async def save_corridor(connection: AsyncConnection, corridor: Corridor) -> None:
    """Create or update ``corridor`` and its payout options (prices are added with :func:`add_price`)."""
    await connection.execute(
        _upsert(
            connection,
            corridors,
            ["code"],
            {
                "code": corridor.code,
                "send_country": corridor.send_country,
                "send_currency": corridor.send_currency,
                "receive_country": corridor.receive_country,
                "receive_currency": corridor.receive_currency,
                "rate_sources": ",".join(corridor.rate_sources),
                "max_rate_age_seconds": int(corridor.max_rate_age.total_seconds()),
                "active": corridor.active,
            },
        )
    )
    for option in corridor.payouts.values():
        if option.limits.minimum.currency != corridor.send_currency:
            raise ValueError(f"{corridor.code} limits must be in {corridor.send_currency}")
        await connection.execute(
            _upsert(
                connection,
                corridor_payouts,
                ["corridor_code", "payout_method"],
                {
                    "corridor_code": corridor.code,
                    "payout_method": option.method.value,
                    "min_send_minor": option.limits.minimum.minor_units,
                    "max_send_minor": option.limits.maximum.minor_units,
                    "delivery_min_minutes": option.delivery.min_minutes,
                    "delivery_max_minutes": option.delivery.max_minutes,
                    "active": option.active,
                },
            )
        )


_PAYOUT_EXISTS = (
    select(corridors.c.send_currency, corridor_payouts.c.payout_method)
    .select_from(
        corridors.outerjoin(
            corridor_payouts,
            (corridor_payouts.c.corridor_code == corridors.c.code)
            & (corridor_payouts.c.payout_method == bindparam("payout_method")),
        )
    )
    .where(corridors.c.code == bindparam("corridor_code"))
)
_INSERT_PRICE = prices.insert().returning(prices.c.id)
_INSERT_TIER = price_tiers.insert()
_PRICE_ID = select(prices.c.id).where(
    prices.c.corridor_code == bindparam("corridor_code"),
    prices.c.payout_method == bindparam("payout_method"),
    prices.c.effective_from == bindparam("effective_from"),
)


async def add_price(
    connection: AsyncConnection,
    corridor_code: str,
    payout_method: PayoutMethod,
    price: Price,
    created_at: datetime,
) -> int:
    """Append ``price`` to the history of a corridor's payout method; returns its id.

    Adding the same ``effective_from`` again changes nothing and returns the stored id (so seeding
    is idempotent); history is never edited.
    """
    found = (
        await connection.execute(
            _PAYOUT_EXISTS, {"corridor_code": corridor_code, "payout_method": payout_method.value}
        )
    ).first()
    if found is None:
        raise UnknownCorridor(f"no corridor {corridor_code}")
    if found.payout_method is None:
        raise PayoutMethodUnavailable(f"corridor {corridor_code} has no payout method {payout_method}")
    if found.send_currency != price.currency:
        raise ValueError(f"prices of {corridor_code} are in {found.send_currency}, not {price.currency}")
    key = {
        "corridor_code": corridor_code,
        "payout_method": payout_method.value,
        "effective_from": price.effective_from,
    }
    existing = (await connection.execute(_PRICE_ID, key)).scalar()
    if existing is not None:
        return int(existing)
    price_id = (
        await connection.execute(
            _INSERT_PRICE,
            {
                **key,
                "fee_min_minor": Money(price.fee_min, price.currency).minor_units,
                "fee_max_minor": None
                if price.fee_max is None
                else Money(price.fee_max, price.currency).minor_units,
                "created_at": created_at,
            },
        )
    ).scalar_one()
    await connection.execute(
        _INSERT_TIER,
        [
            {
                "price_id": price_id,
                "from_minor": Money(tier.from_amount, price.currency).minor_units,
                "fixed_fee_minor": Money(tier.fixed_fee, price.currency).minor_units,
                "percent_fee": decimal_text(tier.percent_fee),
                "fx_margin_bps": tier.fx_margin_bps,
            }
            for tier in price.tiers
        ],
    )
    return int(price_id)


_ALL_CORRIDORS = select(corridors).order_by(corridors.c.code)
_ALL_PAYOUTS = select(corridor_payouts)
_ALL_PRICES = select(prices).order_by(prices.c.effective_from)
_ALL_TIERS = select(price_tiers).order_by(price_tiers.c.price_id, price_tiers.c.from_minor)


async def load_catalogue(connection: AsyncConnection) -> Mapping[str, Corridor]:
    """Every corridor (active or not) with its payout options and full price history, by code."""
    corridor_rows = (await connection.execute(_ALL_CORRIDORS)).mappings().all()
    currency_of = {row["code"]: row["send_currency"] for row in corridor_rows}
    tier_rows: dict[int, list[Any]] = {}
    for tier in (await connection.execute(_ALL_TIERS)).mappings():
        tier_rows.setdefault(tier["price_id"], []).append(tier)
    prices_of: dict[tuple[str, str], list[Price]] = {}
    for row in (await connection.execute(_ALL_PRICES)).mappings():
        currency = currency_of[row["corridor_code"]]
        tiers = tuple(
            FeeTier(
                from_amount=Money.from_minor(t["from_minor"], currency).amount,
                fixed_fee=Money.from_minor(t["fixed_fee_minor"], currency).amount,
                percent_fee=Decimal(t["percent_fee"]),
                fx_margin_bps=t["fx_margin_bps"],
            )
            for t in tier_rows.get(row["id"], [])
        )
        prices_of.setdefault((row["corridor_code"], row["payout_method"]), []).append(
            Price(
                currency=currency,
                effective_from=row["effective_from"],
                fee_min=Money.from_minor(row["fee_min_minor"], currency).amount,
                fee_max=None
                if row["fee_max_minor"] is None
                else Money.from_minor(row["fee_max_minor"], currency).amount,
                tiers=tiers,
                id=row["id"],
            )
        )
    payouts_of: dict[str, dict[PayoutMethod, PayoutOption]] = {}
    for row in (await connection.execute(_ALL_PAYOUTS)).mappings():
        code = row["corridor_code"]
        currency = currency_of[code]
        method = PayoutMethod(row["payout_method"])
        payouts_of.setdefault(code, {})[method] = PayoutOption(
            method=method,
            limits=SendLimits(
                Money.from_minor(row["min_send_minor"], currency),
                Money.from_minor(row["max_send_minor"], currency),
            ),
            delivery=DeliveryEstimate(row["delivery_min_minutes"], row["delivery_max_minutes"]),
            prices=tuple(prices_of.get((code, method.value), ())),
            active=row["active"],
        )
    return {
        row["code"]: Corridor(
            send_country=row["send_country"],
            send_currency=row["send_currency"],
            receive_country=row["receive_country"],
            receive_currency=row["receive_currency"],
            rate_sources=tuple(s for s in row["rate_sources"].split(",") if s),
            max_rate_age=timedelta(seconds=row["max_rate_age_seconds"]),
            payouts=payouts_of.get(row["code"], {}),
            active=row["active"],
        )
        for row in corridor_rows
    }
