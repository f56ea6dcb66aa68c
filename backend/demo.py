"""Demo data for ``make run``: corridors, rates, prices and a few customers. Idempotent.

Each capability contributes a seeder (an async function of an ``AsyncEngine`` and the settings);
``korpu demo seed`` runs them in order and running it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.fx_demo import seed_fx
from backend.identity.demo import seed_identity
from backend.partners.demo import seed_demo_partner
from backend.policy.seed import seed_market_prices
from backend.screening_demo import seed_screening_lists
from backend.settings import Settings

__all__ = ["SEEDERS", "seed"]

Seeder = Callable[[AsyncEngine, Settings], Awaitable[str]]

SEEDERS: list[Seeder] = [
    seed_fx,
    seed_identity,
    seed_market_prices,
    seed_demo_partner,
    seed_screening_lists,
]
"""Seeders in the order they run; each returns a one-line summary of what it did."""


async def seed(engine: AsyncEngine, settings: Settings) -> list[str]:
    return [await seeder(engine, settings) for seeder in SEEDERS]
