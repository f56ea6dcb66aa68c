"""Demo seeder: the small real sanctions lists shipped with the tests, stored as list versions so
that ``make run`` screens customers and transfers. Idempotent.

The files are ``tests/data/sanctions/ofac-sdn-tiny`` (17 OFAC SDN entries) and the UN Security
Council Consolidated List XML (provenance in ``tests/data/sanctions/README.md``). A list identical
to the stored one is not stored again; a stored list that is larger (an operator loaded the full
SDN list) is kept, not shrunk back to the demo subset.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import Settings
from compliance.screening import ListRejected, load_list, store_snapshot

__all__ = ["DEMO_LISTS", "SANCTIONS_DIR", "seed_screening_lists"]

SANCTIONS_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "sanctions"
"""Where a source checkout keeps the real list files the tests read."""
DEMO_LISTS = (
    ("ofac-csv", SANCTIONS_DIR / "ofac-sdn-tiny"),
    ("un-xml", SANCTIONS_DIR / "un-consolidated-2026-02-27.xml"),
)
"""What ``korpu demo seed`` loads, as (format, path)."""


async def seed_screening_lists(engine: AsyncEngine, settings: Settings) -> str:
    """Store each demo list as a version unless the same (or a larger) one is there."""
    outcomes: list[str] = []
    for source_format, path in DEMO_LISTS:
        if not path.exists():
            outcomes.append(f"{path.name} missing")
            continue
        snapshot = await asyncio.to_thread(load_list, f"{source_format}:{path}")
        try:
            async with engine.begin() as conn:
                outcome = await store_snapshot(conn, snapshot, source_label=path.name, loaded_by="demo seed")
        except ListRejected:
            outcomes.append(f"{snapshot.list_name} kept (a larger version is loaded)")
            continue
        state = "stored" if outcome.changed else "already there"
        outcomes.append(f"{outcome.list_name} v{outcome.version} ({outcome.entry_count} entries) {state}")
    return "screening lists: " + ", ".join(outcomes)
