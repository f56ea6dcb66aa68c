"""Checking requests before they reach the database, and their canonical form.

Every request is checked here first (shape, positive amounts, balance per currency, expiry), so a
malformed request costs no round trip. What only the database can check (accounts, funds, the
state of a hold) is checked there, before any write.

The canonical form of a request is a small JSON-able dict; its SHA-256 is the entry's
``request_hash``, which is how a retry with the same id is told apart from a different request
that reuses the id. The same dict is what the PostgreSQL batch function reads.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.errors import InvalidAmounts, InvalidEntry, LedgerError, UnbalancedEntry
from ledger.model import (
    EntryKind,
    EntryRequest,
    ExpirePendingRequest,
    LedgerRequest,
    PostPendingRequest,
    VoidPendingRequest,
)
from ledger.money import Money

__all__ = ["MAX_REFERENCE_LENGTH", "canonical", "request_kind"]

MAX_REFERENCE_LENGTH = 200
_MAX_CODE_LENGTH = 200


def request_kind(request: LedgerRequest) -> EntryKind:
    if isinstance(request, EntryRequest):
        return EntryKind.PENDING if request.pending else EntryKind.STANDARD
    if isinstance(request, PostPendingRequest):
        return EntryKind.POST_PENDING
    if isinstance(request, VoidPendingRequest):
        return EntryKind.VOID_PENDING
    return EntryKind.EXPIRE_PENDING


def canonical(request: LedgerRequest, now: datetime) -> dict[str, Any] | LedgerError:
    """The checked canonical form of ``request`` (with its ``h`` hash), or why it is refused.

    Keys: ``k`` kind, ``id``, ``h`` request hash; ``p`` legs ``[code, id, side, minor units,
    currency]``, ``x`` expiry, ``e`` effective time for new entries; ``hold``, ``a`` partial
    amounts ``[minor units, currency]`` for hold resolutions; ``m`` metadata and ``r`` reference
    for all. The same values as Python objects, outside the hash: ``uid`` (entry id), ``xt``,
    ``et``, ``hold_uid``, and ``tt``, the time a hold's expiry is checked against.
    """
    try:
        form = _form(request, now)
        # One encoding serves the hash and the check that metadata is JSON; keys in a fixed order.
        text = _dumps([form.get(key) for key in _HASHED])
        encoded = text.encode()
    except LedgerError as refusal:
        return refusal
    except UnicodeEncodeError:
        return InvalidEntry("text must be valid Unicode (no lone surrogates)")
    except (TypeError, ValueError):
        return InvalidEntry("metadata must be JSON: strings, numbers, booleans, lists and objects")
    if "\\u0000" in text and _has_nul(form.get("m")):  # PostgreSQL text and jsonb cannot hold NUL
        return InvalidEntry("metadata must not contain NUL characters")
    form["h"] = hashlib.sha256(encoded).hexdigest()
    return form


_HASHED = ("k", "id", "p", "x", "e", "m", "r", "hold", "a")
"""What makes two requests the same."""
_SIDE_NAMES: dict[str, str] = {"debit": "debit", "credit": "credit"}


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _uuid(value: object, what: str) -> str:
    if not isinstance(value, UUID):
        raise InvalidEntry(f"{what} must be a UUID")
    return str(value)


def _aware(value: datetime | None, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidEntry(f"{what} must be a timezone-aware datetime")
    return value.isoformat()


def _metadata(value: object) -> dict[str, Any]:
    """A plain dict of the metadata; :func:`canonical` checks that it encodes as JSON."""
    if not isinstance(value, dict):
        try:
            value = dict(value)  # type: ignore[call-overload]  # any Mapping
        except (TypeError, ValueError):
            raise InvalidEntry("metadata is a JSON object") from None
    return value  # type: ignore[return-value]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _reference(value: str | None) -> str | None:
    if value is not None and (
        not isinstance(value, str) or len(value) > MAX_REFERENCE_LENGTH or "\x00" in value
    ):
        raise InvalidEntry(
            f"reference must be a string of at most {MAX_REFERENCE_LENGTH} characters, without NUL"
        )
    return value


def _form(request: LedgerRequest, now: datetime) -> dict[str, Any]:
    kind = request_kind(request)
    form: dict[str, Any] = {"k": kind.value, "id": _uuid(request.id, "entry id"), "uid": request.id}
    if isinstance(request, EntryRequest):
        form["p"] = _legs(request)
        if request.expires_at is not None:
            if not request.pending:
                raise InvalidEntry("only a pending entry (a hold) can have an expiry")
            expires = _aware(request.expires_at, "expires_at")
            if request.expires_at <= now:
                raise InvalidEntry("a hold's expiry must be in the future")
            form["x"], form["xt"] = expires, request.expires_at
        form["e"], form["et"] = _aware(request.effective_at, "effective_at"), request.effective_at
        form["m"] = _metadata(request.metadata)
        form["r"] = _reference(request.reference)
        return form
    form["hold"], form["hold_uid"] = _uuid(request.hold_id, "hold id"), request.hold_id
    if isinstance(request, PostPendingRequest):
        form["a"] = _amounts(request.amounts)
    if isinstance(request, PostPendingRequest | ExpirePendingRequest):
        _aware(request.at, "at")
        form["tt"] = request.at
    if isinstance(request, PostPendingRequest | VoidPendingRequest):
        form["m"] = _metadata(request.metadata)
        form["r"] = _reference(request.reference)
    return form


def _legs(request: EntryRequest) -> list[list[Any]]:
    if len(request.postings) < 2:
        raise InvalidEntry("an entry needs at least two postings")
    legs: list[list[Any]] = []
    net: dict[str, int] = defaultdict(int)
    for posting in request.postings:
        if len(posting) != 3:
            raise InvalidEntry("a posting is (account, side, amount)")
        account, side, amount = posting
        if isinstance(account, bool) or not isinstance(account, str | int):
            raise InvalidEntry("a posting's account is an account code or id")
        if isinstance(account, str) and (not 0 < len(account) <= _MAX_CODE_LENGTH or "\x00" in account):
            raise InvalidEntry("an account code has 1 to 200 characters, without NUL")
        side_name = _SIDE_NAMES.get(side) if isinstance(side, str) else None
        if side_name is None:
            raise InvalidEntry(f"a posting's side is debit or credit, not {side!r}")
        if not isinstance(amount, Money):
            raise InvalidEntry("a posting's amount is Money")
        if not amount.is_positive():
            raise InvalidEntry(f"posting amounts must be positive, not {amount}")
        units = amount.minor_units
        net[amount.currency] += units if side_name == "debit" else -units
        code, account_id = (account, None) if isinstance(account, str) else (None, account)
        legs.append([code, account_id, side_name, units, amount.currency])
    unbalanced = sorted(currency for currency, total in net.items() if total)
    if unbalanced:
        currency = unbalanced[0]
        raise UnbalancedEntry(
            f"debits and credits differ in {currency} by {Money.from_minor(abs(net[currency]), currency)}"
        )
    return legs


def _amounts(amounts: object) -> list[list[Any]] | None:
    """``[minor units, currency]`` per posting of the hold; the database matches them to its legs."""
    if amounts is None:
        return None
    if isinstance(amounts, str | bytes) or not hasattr(amounts, "__iter__"):
        raise InvalidAmounts("amounts is a list of Money, one per posting of the hold")
    units: list[list[Any]] = []
    for amount in amounts:
        if not isinstance(amount, Money) or amount.amount < 0:
            raise InvalidAmounts("each partial amount is Money, zero or more")
        units.append([amount.minor_units, amount.currency])
    return units
