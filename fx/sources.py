"""Rate sources behind one interface: CBAR, ECB (daily and history), a partner JSON feed, a local file.

Every source has a ``name`` and an ``async fetch() -> list[Bulletin]``. Network sources use an
``httpx.AsyncClient`` that the caller owns (tests hand in one built on ``httpx.MockTransport``),
with a timeout per attempt and a few retries with backoff on network errors, 5xx and 429. Parsing
runs in a worker thread, so a large document (the ECB history is 2 MB of CSV) never blocks the
event loop; so does reading a local file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol

import httpx

from fx.errors import RateFeedError
from fx.parsers import BAKU, parse_cbar, parse_ecb_daily, parse_ecb_history, parse_partner_json
from fx.rates import Bulletin

__all__ = [
    "CBAR_URL",
    "ECB_DAILY_URL",
    "ECB_HISTORY_URL",
    "CbarSource",
    "EcbDailySource",
    "EcbHistorySource",
    "FileFormat",
    "FileSource",
    "HttpPolicy",
    "PartnerFeedSource",
    "RateSource",
    "fetch_bytes",
]

CBAR_URL = "https://www.cbar.az/currencies/{day:%d.%m.%Y}.xml"
ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
ECB_HISTORY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"

FileFormat = Literal["cbar", "ecb", "ecb-history", "partner-json"]


class RateSource(Protocol):
    """Anything that can produce bulletins."""

    @property
    def name(self) -> str:
        """The source name bulletins are stored under."""
        ...

    async def fetch(self) -> list[Bulletin]:
        """Read the source now; raises RateFeedError when it cannot."""
        ...


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """How hard to try a rate URL."""

    timeout_seconds: float = 10.0
    """Connect/read/write/pool timeout of each attempt."""
    attempts: int = 3
    """Tries in all, the first included."""
    backoff_seconds: float = 1.0
    """Wait before the second try; doubles each time."""
    user_agent: str = "korpu-fx/1.0 (+https://korpu.az)"
    """What we tell the publisher we are."""


_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


async def fetch_bytes(
    client: httpx.AsyncClient, url: str, policy: HttpPolicy, headers: dict[str, str] | None = None
) -> bytes:
    """GET ``url``; retry network errors, 5xx and 429 with backoff; raise RateFeedError at the end."""
    delay = policy.backoff_seconds
    last_problem = ""
    for attempt in range(1, policy.attempts + 1):
        try:
            response = await client.get(
                url,
                headers={"User-Agent": policy.user_agent, **(headers or {})},
                timeout=policy.timeout_seconds,
                follow_redirects=True,
            )
        except httpx.TransportError as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code == 200:
                return response.content
            last_problem = f"HTTP {response.status_code}"
            if response.status_code not in _RETRYABLE_STATUS:
                break
        if attempt < policy.attempts:
            await asyncio.sleep(delay)
            delay *= 2
    raise RateFeedError(f"cannot fetch {url}: {last_problem}", url=url)


def _baku_today() -> date:
    return datetime.now(BAKU).date()


@dataclass(frozen=True, slots=True)
class CbarSource:
    """The Central Bank of Azerbaijan's daily bulletins.

    Reads the bulletin of each day in ``days`` (default: today and tomorrow in Baku, since CBAR
    publishes the next day's rates in the afternoon). A missing day (404: not published yet) is
    skipped; a weekend day serves the last weekday's bulletin again, stored once by its own date.
    """

    client: httpx.AsyncClient
    """HTTP client owned by the caller."""
    days: Sequence[date] = ()
    """Bulletin days to read; empty means today and tomorrow in Baku."""
    url_template: str = CBAR_URL
    """URL with a ``{day}`` placeholder."""
    policy: HttpPolicy = field(default_factory=HttpPolicy)
    """Timeouts and retries."""
    name: str = "cbar"
    """Source name."""

    async def fetch(self) -> list[Bulletin]:
        days = list(self.days) or [_baku_today(), _baku_today() + timedelta(days=1)]
        found: dict[date, Bulletin] = {}
        problems = []
        for day in days:
            url = self.url_template.format(day=day)
            try:
                content = await fetch_bytes(self.client, url, self.policy)
            except RateFeedError as exc:
                problems.append(str(exc))
                continue
            bulletin = await asyncio.to_thread(parse_cbar, content, url)
            found.setdefault(bulletin.bulletin_date, bulletin)
        if not found:
            raise RateFeedError("no CBAR bulletin could be read: " + "; ".join(problems))
        return [found[day] for day in sorted(found)]


@dataclass(frozen=True, slots=True)
class EcbDailySource:
    """The ECB's euro foreign exchange reference rates of the day."""

    client: httpx.AsyncClient
    """HTTP client owned by the caller."""
    url: str = ECB_DAILY_URL
    """The daily (or 90-day) XML."""
    policy: HttpPolicy = field(default_factory=HttpPolicy)
    """Timeouts and retries."""
    name: str = "ecb"
    """Source name."""

    async def fetch(self) -> list[Bulletin]:
        content = await fetch_bytes(self.client, self.url, self.policy)
        return await asyncio.to_thread(parse_ecb_daily, content, self.url)


@dataclass(frozen=True, slots=True)
class EcbHistorySource:
    """The ECB's whole reference-rate history (a zip of one CSV), from ``since`` on."""

    client: httpx.AsyncClient
    """HTTP client owned by the caller."""
    since: date | None = None
    """First day to keep; None keeps 1999 onwards."""
    url: str = ECB_HISTORY_URL
    """The history zip."""
    policy: HttpPolicy = field(default_factory=lambda: HttpPolicy(timeout_seconds=60.0))
    """Timeouts and retries."""
    name: str = "ecb"
    """Source name."""

    async def fetch(self) -> list[Bulletin]:
        content = await fetch_bytes(self.client, self.url, self.policy)
        return await asyncio.to_thread(parse_ecb_history, content, self.url, self.since)


@dataclass(frozen=True, slots=True)
class PartnerFeedSource:
    """A partner bank's JSON rate feed (contract in :mod:`fx.parsers`)."""

    client: httpx.AsyncClient
    """HTTP client owned by the caller."""
    url: str
    """Feed URL."""
    name: str
    """Source name, e.g. ``partner-kapital``."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra request headers (an API key read from the environment, never from the repo)."""
    policy: HttpPolicy = field(default_factory=HttpPolicy)
    """Timeouts and retries."""

    async def fetch(self) -> list[Bulletin]:
        content = await fetch_bytes(self.client, self.url, self.policy, self.headers)
        return [await asyncio.to_thread(parse_partner_json, content, self.name, self.url)]


@dataclass(frozen=True, slots=True)
class FileSource:
    """A rate document on local disk, in any of the formats above (offline refresh, demo, tests)."""

    path: Path
    """The file."""
    format: FileFormat
    """Which reader to use."""
    name: str = ""
    """Source name; defaults to the format's own (``cbar``, ``ecb``) and is required for partner JSON."""
    since: date | None = None
    """For ``ecb-history``: first day to keep."""

    def __post_init__(self) -> None:
        if not self.name:
            if self.format == "partner-json":
                raise ValueError("a partner-json file needs a source name")
            object.__setattr__(self, "name", "ecb" if self.format.startswith("ecb") else self.format)

    async def fetch(self) -> list[Bulletin]:
        try:
            content = await asyncio.to_thread(self.path.read_bytes)
        except OSError as exc:
            raise RateFeedError(f"cannot read {self.path}: {exc.strerror}") from None
        origin = f"file:{self.path.name}"
        return await asyncio.to_thread(self._parse, content, origin)

    def _parse(self, content: bytes, origin: str) -> list[Bulletin]:
        if self.format == "cbar":
            return [_renamed(parse_cbar(content, origin), self.name)]
        if self.format == "ecb":
            return [_renamed(b, self.name) for b in parse_ecb_daily(content, origin)]
        if self.format == "ecb-history":
            return [_renamed(b, self.name) for b in parse_ecb_history(content, origin, self.since)]
        return [parse_partner_json(content, self.name, origin)]


def _renamed(bulletin: Bulletin, name: str) -> Bulletin:
    if bulletin.source == name:
        return bulletin
    return Bulletin(
        source=name,
        base_currency=bulletin.base_currency,
        bulletin_date=bulletin.bulletin_date,
        as_of=bulletin.as_of,
        rates=bulletin.rates,
        origin=bulletin.origin,
    )
