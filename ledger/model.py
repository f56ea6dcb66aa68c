"""The ledger's value types: accounts, requests, entries, postings, balances.

Requests (:class:`EntryRequest`, :class:`PostPendingRequest`, :class:`VoidPendingRequest`,
:class:`ExpirePendingRequest`) are what callers ask for; :class:`Entry` is what the journal holds.
Amounts are :class:`~ledger.money.Money`; the database stores their minor units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple
from uuid import UUID

from ledger.money import Money

__all__ = [
    "Account",
    "AccountFlags",
    "Balance",
    "Entry",
    "EntryKind",
    "EntryRequest",
    "ExpirePendingRequest",
    "HistoryItem",
    "HistoryPage",
    "LedgerRequest",
    "Phase",
    "PostPendingRequest",
    "Posting",
    "PostingRequest",
    "Side",
    "VoidPendingRequest",
]


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class Phase(StrEnum):
    """How a posting moves its account's counters."""

    POSTED = "posted"
    """Adds to the posted counter of its side."""
    PENDING = "pending"
    """Adds to the pending counter of its side (a hold)."""
    RELEASED = "released"
    """Takes a hold's pending amount back off the pending counter (when it is posted, voided, expired)."""


class EntryKind(StrEnum):
    STANDARD = "standard"
    """Posted at once."""
    PENDING = "pending"
    """A hold: reserves funds until posted, voided or expired."""
    POST_PENDING = "post_pending"
    """Posts a hold, in full or in part, and releases the rest."""
    VOID_PENDING = "void_pending"
    """Releases a hold without posting it."""
    EXPIRE_PENDING = "expire_pending"
    """Releases a hold whose expiry has passed."""


@dataclass(frozen=True, slots=True)
class AccountFlags:
    """Balance limits, enforced by CHECK constraints on the account's counters."""

    debits_must_not_exceed_credits: bool = False
    """``debits_posted + debits_pending <= credits_posted``: a wallet that must not go below zero."""
    credits_must_not_exceed_debits: bool = False
    """``credits_posted + credits_pending <= debits_posted``: the same for a debit-normal account."""


@dataclass(frozen=True, slots=True)
class Account:
    """An account's identity; immutable once opened (a trigger refuses changes)."""

    id: int
    """Database id."""
    code: str
    """Readable unique code, e.g. ``customer:42:wallet:AZN`` or ``revenue:fees:USD``."""
    currency: str
    """ISO 4217 code; every posting on the account is in this currency."""
    normal_side: Side
    """The side that increases the account's balance (credit for liabilities and revenue)."""
    flags: AccountFlags
    """Balance limits."""
    shards: int
    """1 for an ordinary account; more for a hot account whose counters are spread over shard rows."""


class PostingRequest(NamedTuple):
    """One leg of a requested entry; a plain ``(account, side, amount)`` tuple works too."""

    account: str | int
    """Account code, or account id."""
    side: Side | str
    """``debit`` or ``credit``."""
    amount: Money
    """Positive amount in the account's currency."""


@dataclass(frozen=True, slots=True)
class EntryRequest:
    """A journal entry to post at once, or to hold (``pending=True``)."""

    id: UUID
    """Client-supplied id and idempotency key: the same id with the same content returns the
    original entry; with other content it is refused (``entry_conflict``)."""
    postings: Sequence[PostingRequest | tuple[str | int, Side | str, Money]]
    """Two or more legs; for each currency the debits equal the credits."""
    pending: bool = False
    """Hold the amounts (pending counters) instead of posting them."""
    expires_at: datetime | None = None
    """For a hold: when it expires if neither posted nor voided (timezone-aware, in the future)."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Free JSON data kept with the entry (transfer id, corridor, ...)."""
    reference: str | None = None
    """An external reference (a transfer's or partner's id), indexed for look-ups."""
    effective_at: datetime | None = None
    """Business date of the entry; defaults to the time it is recorded."""


@dataclass(frozen=True, slots=True)
class PostPendingRequest:
    """Post a hold: in full (``amounts=None``) or in part; the rest of the hold is released."""

    id: UUID
    """Id (and idempotency key) of the new entry."""
    hold_id: UUID
    """Id of the pending entry."""
    amounts: Sequence[Money] | None = None
    """For a partial post: one amount per posting of the hold, in its order, each between zero and
    the held amount, balanced per currency. ``None`` posts everything held."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Free JSON data kept with the entry."""
    reference: str | None = None
    """An external reference."""
    at: datetime | None = None
    """The time the hold's expiry is checked against; defaults to now."""


@dataclass(frozen=True, slots=True)
class VoidPendingRequest:
    """Release a hold without posting it."""

    id: UUID
    """Id (and idempotency key) of the new entry."""
    hold_id: UUID
    """Id of the pending entry."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Free JSON data kept with the entry."""
    reference: str | None = None
    """An external reference."""


@dataclass(frozen=True, slots=True)
class ExpirePendingRequest:
    """Release a hold whose expiry has passed (what the expiry sweep posts)."""

    id: UUID
    """Id of the new entry (the sweep derives it from the hold id)."""
    hold_id: UUID
    """Id of the pending entry."""
    at: datetime | None = None
    """The time the expiry is checked against; defaults to now."""


LedgerRequest = EntryRequest | PostPendingRequest | VoidPendingRequest | ExpirePendingRequest


@dataclass(frozen=True, slots=True)
class Posting:
    """One stored leg of an entry."""

    account_id: int
    account_code: str
    side: Side
    phase: Phase
    amount: Money


@dataclass(frozen=True, slots=True)
class Entry:
    """A journal entry as stored."""

    id: UUID
    """Client-supplied id."""
    seq: int
    """Position in the journal."""
    kind: EntryKind
    postings: tuple[Posting, ...]
    pending_id: UUID | None
    """For a post/void/expire entry: the hold it resolves."""
    expires_at: datetime | None
    """For a hold: its expiry."""
    reference: str | None
    metadata: Mapping[str, Any]
    effective_at: datetime
    created_at: datetime
    replayed: bool = False
    """True when this call found the entry already stored (an idempotent retry)."""


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's counters and the balances derived from them, in the account's currency."""

    account: Account
    debits_posted: Money
    credits_posted: Money
    debits_pending: Money
    credits_pending: Money
    as_of: datetime | None
    """The past time this balance is for, or ``None`` for the current balance."""

    @property
    def posted(self) -> Money:
        """Posted balance on the account's normal side."""
        if self.account.normal_side is Side.CREDIT:
            return self.credits_posted - self.debits_posted
        return self.debits_posted - self.credits_posted

    @property
    def pending(self) -> Money:
        """Net pending amount on the normal side (holds in minus holds out)."""
        if self.account.normal_side is Side.CREDIT:
            return self.credits_pending - self.debits_pending
        return self.debits_pending - self.credits_pending

    @property
    def available(self) -> Money:
        """Posted balance minus the pending amounts held against the account; pending amounts
        coming in are not available until posted."""
        if self.account.normal_side is Side.CREDIT:
            return self.credits_posted - self.debits_posted - self.debits_pending
        return self.debits_posted - self.credits_posted - self.credits_pending


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One posting on an account, with its entry."""

    posting_id: int
    entry_id: UUID
    entry_kind: EntryKind
    side: Side
    phase: Phase
    amount: Money
    created_at: datetime
    reference: str | None
    metadata: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """A page of history, newest first; pass ``next_cursor`` back for the next page."""

    items: list[HistoryItem]
    next_cursor: str | None
