"""Sanctions screening inside the service: the process-wide screener and its refresh, and the one
call the transfer flow makes, :func:`screen_parties`.

Each process holds one :class:`Screener` in ``app.state.screener``. It is loaded from the stored
list versions when the app starts, and a light background task (in the app's lifespan, cancelled
at shutdown) checks every ``settings.screening_refresh_seconds`` whether a list moved on and swaps
the new index in. A process that could not load any list (an empty or unreachable database) keeps
an empty screener, and every screening it is asked for decides ``review``: never ``clear``.

The re-screening job (:func:`rescreen_everyone`) lives in :mod:`backend.rescreen` and is
re-exported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Litestar
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.rescreen import RescreenReport, rescreen_everyone
from backend.settings import Settings
from compliance.rows import RowInsert
from compliance.screening import (
    Decision,
    Screener,
    ScreeningNotReady,
    ScreeningResult,
    Subject,
    derive_fingerprint_key,
    refresh_screener,
    screen_subjects,
)

__all__ = [
    "PartyResult",
    "PartyScreening",
    "RescreenReport",
    "build_screener",
    "load_screening_lists",
    "refresh_from_database",
    "rescreen_everyone",
    "screen_parties",
    "screener_of",
    "screening_refresher",
]

logger = logging.getLogger("korpu.screening")

Party = tuple[str, Subject]
"""A subject reference (``customer:42``, ``payee:<hash>``) and who it is."""
Role = Literal["sender", "recipient"]

_SEVERITY: dict[Decision, int] = {"clear": 0, "review": 1, "hit": 2}


def build_screener(settings: Settings) -> Screener:
    """An empty screener whose subject fingerprints are keyed by the service secret."""
    return Screener(fingerprint_key=derive_fingerprint_key(settings.secrets.secret_key))


def screener_of(state: State) -> Screener:
    """The application's screener (``app.state.screener``)."""
    screener: Screener = state.screener
    return screener


async def refresh_from_database(engine: AsyncEngine, screener: Screener) -> bool:
    """Swap in the stored list versions if they moved on; ``True`` if they did.

    Never raises: a failed refresh is logged and the screener keeps the index it had (or stays
    empty, which makes every screening decide ``review``).
    """
    try:
        async with engine.connect() as conn:
            changed = await refresh_screener(conn, screener)
    except Exception:
        logger.warning("screening lists could not be refreshed", exc_info=True)
        return False
    if changed:
        logger.info("screening lists loaded: %s", screener.list_versions)
    return changed


async def load_screening_lists(app: Litestar) -> None:
    """``on_startup``: load the current list versions into ``app.state.screener``."""
    await refresh_from_database(app.state.engine, screener_of(app.state))


async def _refresh_every(engine: AsyncEngine, screener: Screener, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        await refresh_from_database(engine, screener)


@contextlib.asynccontextmanager
async def screening_refresher(app: Litestar) -> AsyncIterator[None]:
    """Lifespan: refresh the screener periodically while the app runs; the task is cancelled and
    awaited at shutdown, so no task outlives its app."""
    settings: Settings = app.state.settings
    task = asyncio.create_task(
        _refresh_every(app.state.engine, screener_of(app.state), settings.screening_refresh_seconds),
        name="korpu.screening-refresh",
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass(frozen=True, slots=True)
class PartyResult:
    """How one party of a transfer screened."""

    role: Role
    """``sender`` or ``recipient``."""
    subject_ref: str
    """Who was screened."""
    decision: Decision
    """``clear``, ``review`` or ``hit`` (``review`` when no list was loaded)."""
    result: ScreeningResult | None
    """The screening after the cleared-match memory; ``None`` when no list was loaded."""
    record_id: int | None
    """The stored ``screening_results`` row; ``None`` when no list was loaded (nothing screened) or
    when the record was handed to the caller's ``insert_row`` (written with the caller's rows)."""


@dataclass(frozen=True, slots=True)
class PartyScreening:
    """The screening of both parties of a transfer."""

    decision: Decision
    """The stricter of the two parties' decisions."""
    reasons: list[dict[str, Any]]
    """Alert reasons (each with a ``reason`` text, the ``party`` and its ``subjectRef``), ready for
    ``compliance.cases.open_alert(conn, sender_ref, transfer_ref, "screening", reasons, ...)``;
    empty when both are clear."""
    sender: PartyResult
    """The sender's screening."""
    recipient: PartyResult
    """The recipient's screening."""
    list_versions: dict[str, int]
    """The list versions both were screened against (empty when none was loaded)."""

    @property
    def ready(self) -> bool:
        """``False`` when no screening list was loaded and the decision is ``review`` by default."""
        return self.sender.result is not None

    @property
    def alert_outcome(self) -> Literal["review", "block"] | None:
        """What ``open_alert`` should be told: ``block`` for a hit, ``review``, or ``None`` when clear."""
        if self.decision == "clear":
            return None
        return "block" if self.decision == "hit" else "review"


def _not_ready(role: Role, subject_ref: str) -> tuple[PartyResult, dict[str, Any]]:
    reason = {
        "reason": "screening_not_ready",
        "detail": "no sanctions list is loaded, so this party could not be screened; an officer decides",
        "party": role,
        "subjectRef": subject_ref,
    }
    return PartyResult(role, subject_ref, "review", None, None), reason


async def _screen(
    conn: AsyncConnection,
    screener: Screener,
    parties: list[tuple[Role, Party]],
    trigger: str,
    insert_row: RowInsert | None,
) -> list[tuple[PartyResult, list[dict[str, Any]]]]:
    """Screen and record ``parties`` (their records in one statement, or through ``insert_row``)."""
    screened = await screen_subjects(
        conn, screener, [party for _, party in parties], trigger=trigger, insert_row=insert_row
    )
    outcomes = []
    for (role, (subject_ref, _)), (result, record_id) in zip(parties, screened, strict=True):
        reasons = [{**reason, "party": role, "subjectRef": subject_ref} for reason in result.alert_reasons()]
        outcomes.append((PartyResult(role, subject_ref, result.decision, result, record_id), reasons))
    return outcomes


async def screen_parties(
    conn: AsyncConnection,
    screener: Screener,
    sender: Party,
    recipient: Party,
    *,
    trigger: str = "transfer",
    insert_row: RowInsert | None = None,
) -> PartyScreening:
    """Screen the sender and the recipient of a transfer in the caller's transaction.

    Both are screened against the same list versions (the index is pinned first), matches an
    officer cleared for that subject are honoured, and each result is recorded with ``trigger``.
    When no list is loaded nothing is recorded and the decision is ``review``, with a
    ``screening_not_ready`` reason per party: an unscreened transfer never looks clear. The
    records are written through ``insert_row`` when given (the transfer's one ``INSERT``).
    """
    pinned = screener.pinned()
    try:
        (sender_result, sender_reasons), (recipient_result, recipient_reasons) = await _screen(
            conn, pinned, [("sender", sender), ("recipient", recipient)], trigger, insert_row
        )
    except ScreeningNotReady:
        sender_result, sender_reason = _not_ready("sender", sender[0])
        recipient_result, recipient_reason = _not_ready("recipient", recipient[0])
        return PartyScreening(
            "review", [sender_reason, recipient_reason], sender_result, recipient_result, {}
        )
    decision = max(sender_result.decision, recipient_result.decision, key=_SEVERITY.__getitem__)
    return PartyScreening(
        decision=decision,
        reasons=sender_reasons + recipient_reasons,
        sender=sender_result,
        recipient=recipient_result,
        list_versions=dict(pinned.list_versions),
    )
