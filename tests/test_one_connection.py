"""No request holds two pooled connections at once (PostgreSQL).

A server process never opens more connections than its pool (``backend/app.py``: no overflow), so
a request that held one connection while waiting for a second would, with every connection so
held, wait for ever. Here the whole send story runs on a pool of one connection that gives up
after two seconds: a request that nests connections fails with a 500 instead of passing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import create_engine
from backend.settings import Settings
from ledger.verify import verify
from tests.transfer_support import transfer_world

pytestmark = pytest.mark.postgres_only

IBAN = "AZ21NABZ00000000137010001944"


@pytest.fixture
async def one_connection(engine: AsyncEngine, database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of one connection over the database ``engine`` has just emptied."""
    single = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=2)
    yield single
    await single.dispose()


async def test_the_send_story_runs_on_a_pool_of_one_connection(
    one_connection: AsyncEngine, settings: Settings
) -> None:
    async with transfer_world(one_connection, settings) as world:
        sender = await world.customer()
        await world.fund(sender, "20000.00", "RUB")
        recipient_id = await world.recipient(sender, method="bank_account", iban=IBAN)
        quote = await world.quote(sender, "10000.00")
        key = str(uuid.uuid4())
        sent = await world.send(sender, quote["id"], recipient_id, key)
        assert sent.status_code == 201, sent.text
        assert (await world.send(sender, quote["id"], recipient_id, key)).json() == sent.json()

        paid = await world.partner_pays_all()
        assert [item["amount"] for item in paid] == [quote["receiveAmount"]]
        transfer_id = sent.json()["id"]
        final = await world.http.get(f"/v1/transfers/{transfer_id}", headers=sender.headers)
        assert final.json()["status"] == "paid_out", final.text
        receipt = await world.http.get(f"/v1/transfers/{transfer_id}/receipt", headers=sender.headers)
        assert receipt.status_code == 200, receipt.text
        assert (await world.http.get("/v1/transfers", headers=sender.headers)).status_code == 200
        left = Decimal("20000.00") - Decimal(sent.json()["totalToPay"]["amount"])
        assert await world.available(sender, "RUB") == left
    async with one_connection.connect() as conn:
        assert (await verify(conn)).ok
