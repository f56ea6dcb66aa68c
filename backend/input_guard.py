"""Refuse NUL characters in requests: PostgreSQL text cannot hold U+0000.

A NUL in a path, a query string, a JSON string (``\\u0000``) or a form field would pass every
validator and then fail inside the database driver on PostgreSQL ("invalid byte sequence for
encoding UTF8: 0x00"), turning a bad request into a 500, while SQLite stores it. The middleware
answers 400 ``nul_character`` on both databases instead, before anything is written.

The body is checked as the handler reads it, so authentication still answers first; bodies of
other media types (files) pass untouched.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.problems import Problem

__all__ = ["NulCharacterMiddleware", "has_nul"]

# An escape \u0000 preceded by an even number of backslashes (an odd run would escape the backslash).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_FORM_NUL = re.compile(rb"%00")
_CHECKED_BODIES = {"application/json": _JSON_NUL, "application/x-www-form-urlencoded": _FORM_NUL}


def has_nul(data: bytes, pattern: re.Pattern[bytes]) -> bool:
    """Whether ``data`` holds a NUL byte or, encoded by ``pattern``'s format, a NUL character."""
    return b"\x00" in data or pattern.search(data) is not None


def _refuse() -> Problem:
    return Problem(400, "nul_character", "Text in a request may not contain NUL characters.")


def _body_pattern(scope: Scope) -> re.Pattern[bytes] | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media_type = value.split(b";", 1)[0].strip().lower().decode("latin-1")
            if media_type.endswith("+json"):
                return _JSON_NUL
            return _CHECKED_BODIES.get(media_type)
    return None


class NulCharacterMiddleware:
    """ASGI middleware: 400 ``nul_character`` for a NUL in the path, the query or a JSON/form body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or has_nul(scope.get("query_string", b""), _FORM_NUL):
            raise _refuse()
        pattern = _body_pattern(scope)
        if pattern is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, _checked(receive, pattern), send)


def _checked(receive: Receive, pattern: re.Pattern[bytes]) -> Receive:
    """``receive`` that reads the whole body on first use, checks it, and hands it out as one message."""
    done = False

    async def checked_receive() -> Any:
        nonlocal done
        if done:
            return await receive()
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message  # a disconnect: nothing more to check
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        done = True
        body = b"".join(chunks)
        if has_nul(body, pattern):
            raise _refuse()
        return {"type": "http.request", "body": body, "more_body": False}

    return checked_receive
