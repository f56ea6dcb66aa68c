"""How the identity capability is wired: the dev SMS inbox exists only where it should, a real SMS
gateway is used when configured, the demo sender can sign in, and the OpenAPI document is camelCase."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.app import create_app
from backend.demo import seed
from backend.identity.container import build_identity
from backend.identity.demo import DEMO_PIN, DEMO_SENDER_PHONE
from backend.identity.errors import all_identity_errors
from backend.identity.sms import HttpSmsProvider, InboxSmsProvider
from backend.identity.tables import customers, recipients
from backend.settings import ConfigError, Settings
from backend.stores import store_registry
from tests.signin import next_phone, read_code, request_code, serve


@pytest.mark.parametrize(
    "variant",
    [
        {"env": "test", "dev_sms_inbox": False},
        {"env": "prod", "dev_sms_inbox": True, "sms_url": "https://sms.example/send"},
        {"env": "dev", "dev_sms_inbox": True, "sms_url": "https://sms.example/send"},
    ],
)
async def test_the_dev_inbox_is_absent_outside_dev(
    settings: Settings, engine: AsyncEngine, variant: dict[str, object]
) -> None:
    app = create_app(replace(settings, **variant), engine=engine)  # type: ignore[arg-type]
    async with serve(app) as url, AsyncClient(base_url=url) as client:
        response = await client.get("/dev/sms", params={"phone": "+79161234567"})
    assert response.status_code == 404


async def test_the_dev_inbox_is_there_in_dev(settings: Settings, engine: AsyncEngine) -> None:
    app = create_app(replace(settings, env="dev", dev_sms_inbox=True), engine=engine)
    async with serve(app) as url, AsyncClient(base_url=url) as client:
        phone = next_phone()
        await request_code(client, phone)
        assert re.fullmatch(r"\d{6}", await read_code(client, phone))
        # Unencoded "+" (curl users) arrives as a space and still finds the number.
        raw = await client.get(f"/dev/sms?phone={phone}")
        assert raw.json()["phone"] == phone


def test_settings_keep_the_inbox_out_of_prod(tmp_path: Path) -> None:
    secrets = {
        "KORPU_SECRET_KEY": "A" * 43 + "=",
        "KORPU_DATA_KEYS": "1:" + "B" * 43 + "=",
        "KORPU_LEDGER_SIGNING_KEY": "C" * 43 + "=",
    }
    with pytest.raises(ConfigError, match="KORPU_DEV_SMS_INBOX cannot be on in prod"):
        Settings.from_env({"KORPU_ENV": "prod", "KORPU_DEV_SMS_INBOX": "1", **secrets})
    with pytest.raises(ConfigError, match="missing KORPU_SMS_URL in prod"):
        Settings.from_env({"KORPU_ENV": "prod", **secrets})
    prod = Settings.from_env({"KORPU_ENV": "prod", "KORPU_SMS_URL": "https://sms.example/send", **secrets})
    assert prod.dev_sms_inbox is False
    assert Settings.from_env({"KORPU_ENV": "dev", "KORPU_VAR_DIR": str(tmp_path)}).dev_sms_inbox is True
    assert Settings.from_env({"KORPU_ENV": "test"}).dev_sms_inbox is False
    assert "sms_token" not in repr(replace(prod, sms_token="s3cret"))


async def test_codes_go_through_the_configured_gateway(settings: Settings, engine: AsyncEngine) -> None:
    sent: list[dict[str, str]] = []
    gateway_up = False

    def gateway(request: httpx.Request) -> httpx.Response:
        if not gateway_up:
            return httpx.Response(503)
        sent.append(json.loads(request.content))
        return httpx.Response(200)

    configured = replace(settings, sms_url="https://sms.example/send", dev_sms_inbox=False)
    app = create_app(configured, engine=engine)
    app.state.identity = build_identity(
        configured,
        engine,
        app.stores,
        sms=HttpSmsProvider("https://sms.example/send", transport=httpx.MockTransport(gateway)),
    )
    phone = next_phone()
    async with serve(app) as url, AsyncClient(base_url=url) as client:
        down = await client.post("/v1/auth/otp", json={"phone": phone}, headers={"Accept-Language": "tr"})
        assert (down.status_code, down.json()["code"]) == (503, "sms_unavailable")
        gateway_up = True
        # The code that never left does not count against the number: asking again works at once.
        challenge = await request_code(client, phone, **{"Accept-Language": "tr"})
        assert len(sent) == 1
        assert sent[0]["to"] == phone
        assert sent[0]["text"].startswith("Körpü kodunuz: ")
        code = re.search(r"\d{6}", sent[0]["text"]).group(0)  # type: ignore[union-attr]
        verified = await client.post(
            "/v1/auth/verify", json={"challengeId": challenge, "code": code, "deviceId": "device-gw-1"}
        )
        assert verified.status_code == 200, verified.text
        assert (await client.get("/dev/sms", params={"phone": phone})).status_code == 404


async def test_demo_sender_is_seeded_once_and_can_sign_in(
    http: AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    first = await seed(engine, settings)
    second = await seed(engine, settings)
    assert any(DEMO_SENDER_PHONE in line and "created" in line for line in first)
    assert any(DEMO_SENDER_PHONE in line and "already there" in line for line in second)
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(customers)) == 1
        assert await connection.scalar(select(func.count()).select_from(recipients)) == 2

    challenge = await request_code(http, DEMO_SENDER_PHONE)
    verified = await http.post(
        "/v1/auth/verify",
        json={
            "challengeId": challenge,
            "code": await read_code(http, DEMO_SENDER_PHONE),
            "deviceId": "demo-phone",
        },
    )
    assert verified.json()["pinStatus"] == "check_required"
    headers = {"Authorization": f"Bearer {verified.json()['accessToken']}"}
    assert (await http.post("/v1/auth/pin/check", json={"pin": DEMO_PIN}, headers=headers)).status_code == 204
    me = (await http.get("/v1/me", headers=headers)).json()
    assert (me["kycTier"], me["givenName"], me["language"]) == (1, "Rəşad", "az")
    listed = (await http.get("/v1/recipients", headers=headers)).json()["items"]
    assert {item["payout"]["method"] for item in listed} == {"bank_account", "wallet"}
    assert {item["country"] for item in listed} == {"AZ"}


async def test_openapi_documents_the_mobile_api_in_camel_case(http: AsyncClient) -> None:
    document = (await http.get("/schema/openapi.json")).json()
    for path in ("/v1/auth/otp", "/v1/auth/verify", "/v1/auth/refresh", "/v1/me", "/v1/recipients"):
        assert path in document["paths"]
    assert "/dev/sms" not in document["paths"]
    token = document["components"]["schemas"]["TokenResponse"]["properties"]
    assert {"accessToken", "refreshToken", "pinStatus", "expiresIn"} <= token.keys()


@pytest.mark.skipif(not os.environ.get("KORPU_TEST_REDIS_URL"), reason="KORPU_TEST_REDIS_URL is not set")
async def test_the_inbox_and_rate_limits_can_live_in_redis(settings: Settings) -> None:
    stores = store_registry(replace(settings, redis_url=os.environ["KORPU_TEST_REDIS_URL"]))
    store = stores.get("dev_sms_test")
    inbox = InboxSmsProvider(store)
    phone = next_phone()
    try:
        await inbox.send(phone, "code 123456")
        assert [m.text for m in await InboxSmsProvider(stores.get("dev_sms_test")).messages(phone)] == [
            "code 123456"
        ]
    finally:
        await store.delete_all()


def test_the_api_guide_lists_every_error_code() -> None:
    guide = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    missing = [error.code for error in all_identity_errors() if f"`{error.code}`" not in guide]
    assert missing == []
