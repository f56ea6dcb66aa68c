"""Readers of the published rate documents: CBAR daily XML, ECB daily XML and history zip, partner JSON.

Each reader is a pure function of the document's bytes, returning :class:`fx.rates.Bulletin` values
without ``fetched_at`` (the rate store sets it). A document that cannot be read whole raises
:class:`fx.errors.RateFeedError`: a truncated download is refused, never half-used.

* **CBAR** (``https://www.cbar.az/currencies/DD.MM.YYYY.xml``): ``ValCurs[@Date]/ValType/Valute[@Code]``
  with ``Nominal`` and ``Value`` = AZN per ``Nominal`` units. Whitespace is ignored wherever it is,
  nominals are read per entry (KZT was quoted per 1 in 2018 and per 100 in 2026), precious metals
  (nominal ``1 t.u.``, a troy ounce) are left out, and CBAR's ``SDR`` is stored as ISO ``XDR``. The
  bulletin is in force from 00:00 Baku time of its own ``Date``.
* **ECB** (``eurofxref-daily.xml``, ``eurofxref-hist.zip``): units per 1 EUR; in force from 16:00
  Frankfurt time of its date (when the ECB publishes).
* **Partner JSON**: ``{"base": "USD", "asOf": "2026-10-30T10:15:00Z", "rates": {"AZN": "1.7000"}}``,
  units per 1 base; numbers may be strings or JSON numbers and are read exactly.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from fx.errors import RateFeedError
from fx.rates import Bulletin, QuotedRate

__all__ = ["parse_cbar", "parse_ecb_daily", "parse_ecb_history", "parse_partner_json"]

BAKU = ZoneInfo("Asia/Baku")
FRANKFURT = ZoneInfo("Europe/Berlin")
ECB_PUBLICATION_TIME = time(16, 0)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CBAR_ALIASES = {"SDR": "XDR"}


def _xml(content: bytes, what: str) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        return etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise RateFeedError(f"the {what} is not well-formed XML (truncated download?): {exc}") from None


def _decimal(text: str | None, what: str) -> Decimal:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        raise RateFeedError(f"{what} is not a number: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise RateFeedError(f"{what} must be a positive number, not {text!r}")
    return value


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _in_force(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def parse_cbar(content: bytes, origin: str = "") -> Bulletin:
    """One CBAR daily bulletin (any year's layout)."""
    root = _xml(content, "CBAR bulletin")
    if _local(root.tag) != "ValCurs":
        raise RateFeedError(f"a CBAR bulletin starts with <ValCurs>, not <{_local(root.tag)}>")
    raw_date = (root.get("Date") or "").strip()
    try:
        bulletin_date = datetime.strptime(raw_date, "%d.%m.%Y").date()
    except ValueError:
        raise RateFeedError(f"the CBAR bulletin's Date is not DD.MM.YYYY: {raw_date!r}") from None
    rates: dict[str, QuotedRate] = {}
    for valute in root.iter("{*}Valute"):
        code = (valute.get("Code") or "").strip().upper()
        code = _CBAR_ALIASES.get(code, code)
        nominal_text = (valute.findtext("{*}Nominal") or "").strip()
        if not nominal_text.isdigit():
            continue  # precious metals: "1 t.u." (troy ounce), not a currency
        if not _CURRENCY.match(code):
            raise RateFeedError(f"the CBAR bulletin has a currency code that is not ISO 4217: {code!r}")
        value = _decimal(valute.findtext("{*}Value"), f"CBAR {code} Value")
        nominal = _decimal(nominal_text, f"CBAR {code} Nominal")
        rates[code] = QuotedRate(base_amount=value, units=nominal)
    if not rates:
        raise RateFeedError(f"the CBAR bulletin of {raw_date} quotes no currency")
    return Bulletin(
        source="cbar",
        base_currency="AZN",
        bulletin_date=bulletin_date,
        as_of=_in_force(bulletin_date, time(0, 0), BAKU),
        rates=rates,
        origin=origin,
    )


def _ecb_bulletin(day: date, rates: dict[str, QuotedRate], origin: str) -> Bulletin:
    return Bulletin(
        source="ecb",
        base_currency="EUR",
        bulletin_date=day,
        as_of=_in_force(day, ECB_PUBLICATION_TIME, FRANKFURT),
        rates=rates,
        origin=origin,
    )


def parse_ecb_daily(content: bytes, origin: str = "") -> list[Bulletin]:
    """The ECB reference-rate XML (daily or 90-day file): one bulletin per ``Cube[@time]``."""
    root = _xml(content, "ECB reference-rate file")
    bulletins = []
    for day_cube in root.iter("{*}Cube"):
        raw_day = day_cube.get("time")
        if raw_day is None:
            continue
        try:
            day = date.fromisoformat(raw_day.strip())
        except ValueError:
            raise RateFeedError(f"an ECB Cube time is not YYYY-MM-DD: {raw_day!r}") from None
        rates: dict[str, QuotedRate] = {}
        for cube in day_cube.iterchildren("{*}Cube"):
            code = (cube.get("currency") or "").strip()
            if not _CURRENCY.match(code):
                raise RateFeedError(f"an ECB currency code is not ISO 4217: {code!r}")
            units = _decimal(cube.get("rate"), f"ECB {code} rate of {day}")
            rates[code] = QuotedRate(base_amount=Decimal(1), units=units)
        if not rates:
            raise RateFeedError(f"the ECB file quotes no currency on {day}")
        bulletins.append(_ecb_bulletin(day, rates, origin))
    if not bulletins:
        raise RateFeedError("the ECB file holds no dated Cube")
    return bulletins


def parse_ecb_history(content: bytes, origin: str = "", since: date | None = None) -> list[Bulletin]:
    """The ECB history zip (``eurofxref-hist.zip``, one CSV): one bulletin per day on or after ``since``."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = [name for name in archive.namelist() if name.lower().endswith(".csv")]
            if not members:
                raise RateFeedError("the ECB history zip holds no CSV file")
            text = archive.read(members[0]).decode("utf-8-sig")
    except (zipfile.BadZipFile, EOFError) as exc:
        raise RateFeedError(f"the ECB history file is not a readable zip: {exc}") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or header[0].strip() != "Date":
        raise RateFeedError("the ECB history CSV must start with a Date column")
    codes = [name.strip() for name in header[1:]]
    bulletins = []
    for row in reader:
        if not row or not row[0].strip():
            continue
        try:
            day = date.fromisoformat(row[0].strip())
        except ValueError:
            raise RateFeedError(f"an ECB history date is not YYYY-MM-DD: {row[0]!r}") from None
        if since is not None and day < since:
            continue
        rates: dict[str, QuotedRate] = {}
        for code, cell in zip(codes, row[1:], strict=False):
            cell = cell.strip()
            if not code or not cell or cell == "N/A":
                continue
            rates[code] = QuotedRate(base_amount=Decimal(1), units=_decimal(cell, f"ECB {code} of {day}"))
        if rates:
            bulletins.append(_ecb_bulletin(day, rates, origin))
    bulletins.sort(key=lambda b: b.bulletin_date)
    return bulletins


def parse_partner_json(content: bytes, source: str, origin: str = "") -> Bulletin:
    """A partner's rate feed in the JSON contract described in the module docstring."""
    try:
        document = json.loads(content, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RateFeedError(f"the {source} feed is not JSON: {exc}") from None
    if not isinstance(document, Mapping):
        raise RateFeedError(f"the {source} feed must be a JSON object")
    base = str(document.get("base", "")).strip().upper()
    if not _CURRENCY.match(base):
        raise RateFeedError(f"the {source} feed's base is not an ISO 4217 code: {base!r}")
    try:
        as_of = datetime.fromisoformat(str(document.get("asOf", "")).replace("Z", "+00:00"))
    except ValueError:
        raise RateFeedError(f"the {source} feed's asOf is not an ISO 8601 timestamp") from None
    if as_of.tzinfo is None:
        raise RateFeedError(f"the {source} feed's asOf must carry a time zone")
    as_of = as_of.astimezone(UTC)
    raw_rates = document.get("rates")
    if not isinstance(raw_rates, Mapping) or not raw_rates:
        raise RateFeedError(f"the {source} feed has no rates object")
    rates: dict[str, QuotedRate] = {}
    for code, raw in raw_rates.items():
        code = str(code).strip().upper()
        if not _CURRENCY.match(code) or isinstance(raw, bool) or not isinstance(raw, (str, Decimal)):
            raise RateFeedError(f"the {source} feed has a bad rate entry: {code!r}")
        rates[code] = QuotedRate(base_amount=Decimal(1), units=_decimal(str(raw), f"{source} {code}"))
    return Bulletin(
        source=source,
        base_currency=base,
        bulletin_date=as_of.date(),
        as_of=as_of,
        rates=rates,
        origin=origin,
    )
