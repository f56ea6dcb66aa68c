"""The authorization matrix: every route of the app, called as every role (see tests/hardening/matrix.py)."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from pathlib import Path
from typing import Any

from httpx import USE_CLIENT_DEFAULT, AsyncClient, Response
from litestar import Litestar
from litestar.routes import HTTPRoute

from backend.app import create_app
from backend.settings import Settings
from tests.hardening.matrix import MATRIX, OFFICERS, Access
from tests.hardening.world import CUSTOMER_ROLES, PARTNER_ROLES, ROLES, World
from tests.signin import next_phone

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
_METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
_addresses = itertools.count(1)


def app_routes(app: Litestar) -> set[str]:
    """Every ``"METHOD /path"`` the app serves (Litestar's automatic OPTIONS answers aside)."""
    found = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                found |= {f"{method} {route.path}" for method in handler.http_methods if method != "OPTIONS"}
    return found


def test_every_route_is_classified(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "KORPU_ENV": "test",
            "KORPU_DEV_SMS_INBOX": "1",
            "KORPU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}",
        }
    )
    routes = app_routes(create_app(settings))
    unclassified = sorted(routes - set(MATRIX))
    assert not unclassified, f"classify these routes in tests/hardening/matrix.py: {unclassified}"
    stale = sorted(set(MATRIX) - routes)
    assert not stale, f"tests/hardening/matrix.py names routes the app no longer has: {stale}"


def _order(item: tuple[str, Access]) -> tuple[bool, int]:
    key, access = item
    return access.ends_session, _METHOD_ORDER[key.split(" ", 1)[0]]


def _url(path: str, ids: dict[str, str]) -> str:
    return _PARAM.sub(lambda match: ids[match.group(1)], path)


def _filled(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with ``"{name}"`` strings replaced by the world's ids (numbers for numeric ids)."""
    if isinstance(value, dict):
        return {key: _filled(item, ids) for key, item in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        found = ids[value[1:-1]]
        return int(found) if found.isdecimal() else found
    return value


async def _call(
    http: AsyncClient, world: World, role: str, key: str, access: Access, ids: dict[str, str]
) -> Response:
    method, path = key.split(" ", 1)
    n = next(_addresses)
    # A distinct client address per call (never dialled) keeps the per-address sign-in limits out of the way.
    headers = {**world.headers(role), "X-Forwarded-For": f"198.18.{n // 256}.{n % 256}"}
    for name, value in (access.headers or {}).items():
        headers[name] = str(uuid.uuid4()) if value == "fresh" else value
    body = {"phone": next_phone()} if access.json == "fresh phone" else _filled(access.json, ids)
    content = None
    if access.content:
        headers["Content-Type"], content = access.content
    return await http.request(
        method,
        _url(path, ids),
        headers=headers,
        json=body,
        content=content,
        params=_filled(access.query, ids),
        data=access.form,
        auth=world.auth(role) or USE_CLIENT_DEFAULT,
    )


def _refused(response: Response, access: Access) -> bool:
    if access.page:
        redirect = response.status_code == 303 and response.headers.get("location") == "/policy/sign-in"
        return redirect or response.status_code == 403
    return response.status_code in (401, 403, 404)


def _leaks(world: World) -> list[str]:
    """The sender's personal data as it could appear in a reply, raw or JSON-escaped."""
    s = world.secrets
    plain = [s.sender_family, world.sender.phone, s.iban, s.card, s.passport]
    return plain + [json.dumps(text)[1:-1] for text in plain if json.dumps(text)[1:-1] != text]


def _kind(role: str) -> tuple[str, ...]:
    """The roles that must not see ``role``'s objects even exist."""
    return CUSTOMER_ROLES if role in CUSTOMER_ROLES else PARTNER_ROLES


async def test_each_role_gets_only_what_it_may(world: World, http: AsyncClient) -> None:
    problems: list[str] = []
    leaks = _leaks(world)
    for key, access in sorted(MATRIX.items(), key=_order):
        refused_first = sorted(ROLES, key=lambda role: role in access.allowed)
        for role in refused_first:
            response = await _call(http, world, role, key, access, world.ids)
            status = response.status_code
            where = f"{key} as {role}: {status} {response.text[:200]}"
            if role in access.allowed:
                if status >= 500 or (status in (401, 403) and not access.credential_in_body):
                    problems.append(f"refused or failed an allowed caller: {where}")
                if access.owner == role and status == 404:
                    problems.append(f"the owner could not reach their own object: {where}")
            elif not _refused(response, access) or 200 <= status < 300:
                problems.append(f"served a caller it must refuse: {where}")
            elif access.owner and role in _kind(access.owner) and status != 404:
                problems.append(f"another's object must look absent (404): {where}")
            exempt = role == "sender" or role in OFFICERS or role == "partner_a"
            if not exempt:
                problems += [
                    f"{key} as {role} shows the sender's {text!r}" for text in leaks if text in response.text
                ]
            if (
                access.owner == role
                and _PARAM.search(key)
                and set(_PARAM.findall(key)) <= set(world.other_ids)
            ):
                theirs = await _call(http, world, role, key, access, {**world.ids, **world.other_ids})
                if theirs.status_code != 404:
                    problems.append(f"{role} reached another's object: {key}: {theirs.status_code}")
    assert not problems, "\n".join(problems)


async def test_lists_show_only_the_callers_own_objects(world: World, http: AsyncClient) -> None:
    async def ids(path: str, who: dict[str, str], **params: str) -> list[Any]:
        response = await http.get(path, headers=who, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    sender, other, payee = world.sender.headers, world.other_sender.headers, world.recipient.headers
    assert len(await ids("/v1/recipients", sender)) == 4
    assert await ids("/v1/recipients", other) == [int(world.other_ids["recipient_id"])]
    assert await ids("/v1/recipients", payee) == []  # being paid by someone does not show their address book
    assert world.ids["transfer_id"] in await ids("/v1/transfers", sender)
    assert await ids("/v1/transfers", other) == [world.other_ids["transfer_id"]]
    assert await ids("/v1/transfers", payee) == []
    history = await http.get("/v1/wallet/history", params={"currency": "AZN"}, headers=payee)
    assert [item["direction"] for item in history.json()["items"]] == ["in"]  # the wallet transfer arrived
    bank_a = await http.get("/partner/v1/payouts", params={"status": "claimed"}, auth=world.auth("partner_a"))
    bank_b = await http.get("/partner/v1/payouts", params={"status": "claimed"}, auth=world.auth("partner_b"))
    assert world.ids["payout_id"] in [item["id"] for item in bank_a.json()["items"]]
    assert bank_b.json()["items"] == []
    windows_b = await http.get("/partner/v1/settlement/windows", auth=world.auth("partner_b"))
    assert world.ids["window_id"] not in windows_b.text
