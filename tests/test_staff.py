"""Back-office sign-in: password + TOTP, lockout, sessions, roles, and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import Settings
from backend.staff.service import authenticate, create_staff, login
from compliance.audit import read_audit, record_audit, verify_chain
from compliance.privacy import Sealer

PASSWORD = "a long enough passphrase"


async def _create(
    engine: AsyncEngine, settings: Settings, username: str = "olga", roles: Any = ("officer",)
) -> str:
    async with engine.begin() as conn:
        _, secret = await create_staff(
            conn, Sealer(settings.secrets.data_keys), username, list(roles), PASSWORD
        )
    return secret


async def test_sign_in_with_password_and_totp(
    http: AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    secret = await _create(engine, settings)
    response = await http.post(
        "/backoffice/v1/auth/login",
        json={"username": "olga", "password": PASSWORD, "totp": pyotp.TOTP(secret).now()},
    )
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    me = await http.get("/backoffice/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {"id": 1, "username": "olga", "roles": ["officer"]}
    logout = await http.post("/backoffice/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert logout.status_code == 204
    after = await http.get("/backoffice/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401
    assert after.json()["code"] == "session_invalid"


async def test_wrong_code_or_password_look_the_same_and_lock_after_five(
    http: AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    secret = await _create(engine, settings)
    wrong_code = await http.post(
        "/backoffice/v1/auth/login", json={"username": "olga", "password": PASSWORD, "totp": "000000"}
    )
    unknown_user = await http.post(
        "/backoffice/v1/auth/login", json={"username": "nobody", "password": PASSWORD, "totp": "000000"}
    )
    assert wrong_code.status_code == unknown_user.status_code == 401
    assert wrong_code.json()["code"] == unknown_user.json()["code"] == "invalid_credentials"
    for _ in range(4):
        await http.post(
            "/backoffice/v1/auth/login", json={"username": "olga", "password": "nope", "totp": "123456"}
        )
    locked = await http.post(
        "/backoffice/v1/auth/login",
        json={"username": "olga", "password": PASSWORD, "totp": pyotp.TOTP(secret).now()},
    )
    assert locked.status_code == 423
    assert locked.json()["code"] == "account_locked"
    async with engine.connect() as conn:
        actions = [event.action for event in await read_audit(conn)]
    assert actions.count("staff.login_failed") == 7  # 2 + 4 wrong, then 1 refused while locked


async def test_a_totp_code_is_accepted_once(engine: AsyncEngine, settings: Settings) -> None:
    secret = await _create(engine, settings)
    sealer = Sealer(settings.secrets.data_keys)
    now = datetime.now(UTC)
    code = pyotp.TOTP(secret).at(now)
    async with engine.begin() as conn:
        first = await login(conn, sealer, "olga", PASSWORD, code, now=now)
        second = await login(conn, sealer, "olga", PASSWORD, code, now=now + timedelta(seconds=5))
    assert not isinstance(first, Exception)
    assert isinstance(second, Exception)


async def test_sessions_expire_when_idle(engine: AsyncEngine, settings: Settings) -> None:
    secret = await _create(engine, settings)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        session = await login(
            conn, Sealer(settings.secrets.data_keys), "olga", PASSWORD, pyotp.TOTP(secret).at(now), now=now
        )
        assert not isinstance(session, Exception)
        assert (await authenticate(conn, session.token, now=now + timedelta(minutes=10))).username == "olga"
        with pytest.raises(Exception, match="sign in again"):
            await authenticate(conn, session.token, now=now + timedelta(minutes=26))


async def test_roles_are_enforced(http: AsyncClient, make_staff: Any) -> None:
    analyst = await make_staff("policy_analyst")
    assert (await http.get("/backoffice/v1/me", headers=analyst)).status_code == 200
    assert (await http.get("/backoffice/v1/me")).status_code == 401
    bogus = await http.get("/backoffice/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert bogus.status_code == 401


async def test_audit_trail_is_append_only_and_chained(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await record_audit(conn, "staff:1", "case.clear", "case", "7", reason="name differs")
        await record_audit(conn, "staff:2", "case.release", "case", "7", reason="second officer")
    for statement in ("UPDATE audit_events SET reason = 'x'", "DELETE FROM audit_events"):
        with pytest.raises((DBAPIError, IntegrityError)):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    async with engine.connect() as conn:
        assert await verify_chain(conn) is None
        events = await read_audit(conn, subject_type="case", subject_id="7")
    assert [event.action for event in events] == ["case.release", "case.clear"]


async def test_audit_tampering_breaks_the_chain(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for n in range(3):
            await record_audit(conn, "staff:1", "kyc.view", "kyc_document", str(n))
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            await conn.execute(text("DROP TRIGGER audit_events_no_update"))
        await conn.execute(text("UPDATE audit_events SET actor = 'staff:9' WHERE id = 2"))
    async with engine.connect() as conn:
        assert await verify_chain(conn) == 2
