"""Reading the real rate documents: CBAR bulletins of 2018 and 2026, the ECB daily file and history zip."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from fx.errors import RateFeedError
from fx.parsers import parse_cbar, parse_ecb_daily, parse_ecb_history, parse_partner_json

DATA = Path(__file__).parent / "data" / "fx"
CBAR_2018 = (DATA / "cbar-30.10.2018.xml").read_bytes()
CBAR_2026_HEAD = (DATA / "cbar-04.09.2026-head-fragment.xml.txt").read_bytes()
ECB_DAILY = (DATA / "ecb-eurofxref-daily-2026-10-30-reconstructed.xml").read_bytes()
ECB_HISTORY = (DATA / "ecb-eurofxref-hist-1999-2026.zip").read_bytes()


def test_cbar_2018_bulletin_reads_every_currency_with_its_nominal() -> None:
    bulletin = parse_cbar(CBAR_2018, "file:cbar-30.10.2018.xml")
    assert (bulletin.source, bulletin.base_currency, bulletin.bulletin_date) == (
        "cbar",
        "AZN",
        date(2018, 10, 30),
    )
    # In force from midnight in Baku (UTC+4) of the bulletin's own date.
    assert bulletin.as_of == datetime(2018, 10, 29, 20, 0, tzinfo=UTC)
    assert bulletin.rates["USD"].base_per_unit == Decimal("1.7")
    assert bulletin.rates["EUR"].base_per_unit == Decimal("1.9348")
    # Quoted per 100 units in the file: 0.0206 AZN for 100 UZS.
    assert bulletin.rates["UZS"].base_per_unit == Decimal("0.000206")
    assert bulletin.rates["JPY"].base_per_unit == Decimal("0.015084")
    assert bulletin.origin == "file:cbar-30.10.2018.xml"


def test_cbar_metals_are_left_out_and_sdr_is_stored_as_xdr() -> None:
    bulletin = parse_cbar(CBAR_2018)
    assert not {"XAU", "XAG", "XPT", "XPD", "SDR"} & set(bulletin.rates)
    assert bulletin.rates["XDR"].base_per_unit == Decimal("2.3553")
    assert len(bulletin.rates) == 45  # 49 entries in the file, less the 4 metals


def test_cbar_cross_rates_follow_the_rule() -> None:
    bulletin = parse_cbar(CBAR_2018)
    assert bulletin.cross("AZN", "USD") == Decimal("0.5882352941")  # 1 / 1.7, 10 significant digits
    assert bulletin.cross("RUB", "AZN") == Decimal("0.0259")  # CBAR's own RUB quote
    # EUR to GEL on one CBAR bulletin goes through AZN: 1.9348 / 0.6304.
    assert bulletin.cross("EUR", "GEL") == Decimal("3.069162437")
    assert bulletin.cross("AZN", "XXX") is None


def test_a_truncated_cbar_download_is_refused() -> None:
    # The 2026 fixture is the real head of a bulletin, cut off: as served, it must not be half-used.
    with pytest.raises(RateFeedError, match="not well-formed"):
        parse_cbar(CBAR_2026_HEAD)


def test_cbar_2026_layout_with_heavy_whitespace_and_prefixed_names() -> None:
    bulletin = parse_cbar(CBAR_2026_HEAD + b"</ValType></ValCurs>")
    assert bulletin.bulletin_date == date(2026, 9, 4)
    assert bulletin.rates["USD"].base_per_unit == Decimal("1.7")
    assert set(bulletin.rates) == {"USD"}


def test_nominals_are_read_per_entry_as_they_change_between_years() -> None:
    # KZT is quoted per 1 in 2018 and per 100 in 2026 (layout of the 2026 file, illustrative value).
    entry_2026 = (
        b"<ValCurs Date='04.09.2026'><ValType Type='Xarici valyutalar'>\n"
        b"  <Valute Code='KZT'>\n\n      <Nominal> 100 </Nominal>\n"
        b"      <Name>100 Qazaxistan tengesi</Name>\n\n      <Value>\n 0.3150 \n</Value>\n  </Valute>"
        b"</ValType></ValCurs>"
    )
    assert parse_cbar(entry_2026).rates["KZT"].base_per_unit == Decimal("0.00315")
    assert parse_cbar(CBAR_2018).rates["KZT"].base_per_unit == Decimal("0.0046")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<Other Date='30.10.2018'/>", "starts with <ValCurs>"),
        (b"<ValCurs Date='2018-10-30'><ValType/></ValCurs>", "not DD.MM.YYYY"),
        (b"<ValCurs Date='30.10.2018'><ValType/></ValCurs>", "quotes no currency"),
        (
            b"<ValCurs Date='30.10.2018'><ValType><Valute Code='USD'><Nominal>1</Nominal>"
            b"<Value>-1.7</Value></Valute></ValType></ValCurs>",
            "positive",
        ),
    ],
)
def test_malformed_cbar_documents_are_refused(document: bytes, message: str) -> None:
    with pytest.raises(RateFeedError, match=message):
        parse_cbar(document)


def test_ecb_daily_file() -> None:
    [bulletin] = parse_ecb_daily(ECB_DAILY)
    assert (bulletin.source, bulletin.base_currency, bulletin.bulletin_date) == (
        "ecb",
        "EUR",
        date(2026, 10, 30),
    )
    assert bulletin.as_of == datetime(2026, 10, 30, 15, 0, tzinfo=UTC)  # 16:00 CET
    assert len(bulletin.rates) == 29
    assert bulletin.rates["USD"].units == Decimal("1.1172")
    assert bulletin.cross("EUR", "TRY") == Decimal("55.8015")
    assert bulletin.cross("USD", "TRY") == Decimal("49.94763695")  # through EUR


def test_ecb_history_zip_reads_every_day_and_agrees_with_the_daily_file() -> None:
    history = parse_ecb_history(ECB_HISTORY)
    assert history[0].bulletin_date == date(1999, 1, 4)
    assert history[-1].bulletin_date == date(2026, 10, 30)
    assert len(history) == 7126
    assert dict(history[-1].rates) == dict(parse_ecb_daily(ECB_DAILY)[0].rates)
    by_day = {b.bulletin_date: b for b in history}
    assert "RUB" in by_day[date(2022, 3, 1)].rates  # the ECB stopped quoting RUB after this day
    assert "RUB" not in by_day[date(2022, 3, 2)].rates
    assert "AZN" not in history[-1].rates


def test_ecb_history_since_keeps_only_recent_days() -> None:
    recent = parse_ecb_history(ECB_HISTORY, since=date(2026, 10, 1))
    assert [b.bulletin_date for b in recent][:2] == [date(2026, 10, 1), date(2026, 10, 2)]
    assert all(b.bulletin_date >= date(2026, 10, 1) for b in recent)


def test_ecb_history_that_is_not_a_zip_is_refused() -> None:
    with pytest.raises(RateFeedError, match="not a readable zip"):
        parse_ecb_history(ECB_HISTORY[:1000])


def test_partner_json_feed() -> None:
    feed = b'{"base": "USD", "asOf": "2026-10-30T10:15:00Z", "rates": {"AZN": "1.7000", "GEL": 2.7112}}'
    bulletin = parse_partner_json(feed, "partner-kapital")
    assert bulletin.source == "partner-kapital"
    assert bulletin.as_of == datetime(2026, 10, 30, 10, 15, tzinfo=UTC)
    assert bulletin.rates["GEL"].units == Decimal("2.7112")  # a JSON number, read exactly
    assert bulletin.cross("AZN", "GEL") == Decimal("1.594823529")


@pytest.mark.parametrize(
    "feed",
    [
        b"not json",
        b'{"base": "US", "asOf": "2026-10-30T10:15:00Z", "rates": {"AZN": "1.7"}}',
        b'{"base": "USD", "asOf": "2026-10-30T10:15:00", "rates": {"AZN": "1.7"}}',
        b'{"base": "USD", "asOf": "2026-10-30T10:15:00Z", "rates": {}}',
        b'{"base": "USD", "asOf": "2026-10-30T10:15:00Z", "rates": {"AZN": "0"}}',
        b'{"base": "USD", "asOf": "2026-10-30T10:15:00Z", "rates": {"AZN": true}}',
    ],
)
def test_bad_partner_feeds_are_refused(feed: bytes) -> None:
    with pytest.raises(RateFeedError):
        parse_partner_json(feed, "partner-kapital")
