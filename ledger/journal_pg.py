"""The PostgreSQL journal: a whole batch of requests in one call of ``ledger_post_entries``.

The PL/pgSQL function (migration ``0002_ledger``) takes every lock first, in one global order (open
holds, ordinary accounts, one free shard per hot account), then handles the requests in order, each
checked completely before its first write, so a refused request writes nothing and needs no
savepoint. One round trip serves the batch, which is what makes group commit pay.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import TextualSelect, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.outcomes import Outcome
from ledger.tables import UtcDateTime

__all__ = ["post"]

_POST: TextualSelect = text(
    "SELECT o_idx, o_status, o_detail, o_seq, o_created_at, o_effective_at, o_expires_at, o_postings "
    "FROM ledger_post_entries(CAST(:items AS jsonb))"
).columns(
    o_created_at=UtcDateTime,
    o_effective_at=UtcDateTime,
    o_expires_at=UtcDateTime,
    o_postings=JSONB,
)


async def post(conn: AsyncConnection, forms: Sequence[dict[str, Any]]) -> list[Outcome]:
    """The outcome of each canonical request, in order."""
    rows = await conn.execute(_POST, {"items": json.dumps(forms, separators=(",", ":"))})
    outcomes: list[Outcome] = [Outcome("internal", "no result")] * len(forms)
    for row in rows:
        outcomes[row[0]] = Outcome(*row[1:])
    return outcomes
