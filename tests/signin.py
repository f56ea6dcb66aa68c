"""Test helpers: sign a customer in over HTTP exactly as the mobile app does, and serve an app.

``sign_in`` asks for a code, reads it from the dev SMS inbox (``GET /dev/sms``, on in test
settings), verifies it on a device and sets (or checks) the PIN, and returns the session's tokens.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from httpx import AsyncClient

__all__ = ["SignedIn", "next_phone", "read_code", "request_code", "serve", "sign_in"]

_numbers = itertools.count(1)


def next_phone() -> str:
    """A fresh valid Russian mobile number (+7 916 ...), different on every call."""
    return f"+7916{next(_numbers):07d}"


@dataclass
class SignedIn:
    """A signed-in session."""

    phone: str
    device_id: str
    customer_id: int
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def read_code(http: AsyncClient, phone: str) -> str:
    """The code of the newest SMS to ``phone`` in the dev inbox."""
    response = await http.get("/dev/sms", params={"phone": phone})
    assert response.status_code == 200, response.text
    messages = response.json()["messages"]
    assert messages, f"no SMS for {phone}"
    code: str = messages[0]["code"]
    return code


async def request_code(http: AsyncClient, phone: str, **headers: str) -> str:
    """Start a sign-in; returns the challenge id."""
    response = await http.post("/v1/auth/otp", json={"phone": phone}, headers=headers)
    assert response.status_code == 200, response.text
    challenge: str = response.json()["challengeId"]
    return challenge


async def sign_in(
    http: AsyncClient,
    phone: str | None = None,
    *,
    pin: str | None = "1234",
    device_id: str | None = None,
) -> SignedIn:
    """Sign in ``phone`` (a new number by default) and set or check ``pin`` (skip with ``None``)."""
    phone = phone or next_phone()
    device_id = device_id or f"device-{uuid.uuid4().hex[:12]}"
    challenge = await request_code(http, phone)
    code = await read_code(http, phone)
    response = await http.post(
        "/v1/auth/verify", json={"challengeId": challenge, "code": code, "deviceId": device_id}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    session = SignedIn(phone, device_id, body["customerId"], body["accessToken"], body["refreshToken"])
    if pin is not None:
        path = "/v1/auth/pin" if body["pinStatus"] == "set_required" else "/v1/auth/pin/check"
        answer = await http.post(path, json={"pin": pin}, headers=session.headers)
        assert answer.status_code == 204, answer.text
    return session


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
