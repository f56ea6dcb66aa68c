"""Localisation: pick the caller's language from ``Accept-Language`` and translate and format for it.

Körpü speaks English, Azerbaijani, Russian and Turkish. Messages live in gettext catalogs,
``locales/<lang>/LC_MESSAGES/messages.po`` (the sources, in git), compiled to ``.mo`` by
``make compile-messages`` (part of ``make install``). A missing or stale ``.mo`` is compiled from
its ``.po`` in memory when first needed, so a fresh checkout works without the build step.
Amounts and dates are formatted with babel's CLDR data for the language.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Final

from babel import Locale
from babel.dates import format_datetime, get_timezone
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from ledger.money import Money

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAIN",
    "LOCALES_DIR",
    "SUPPORTED_LANGUAGES",
    "Translator",
    "negotiate_language",
    "translator",
    "translator_for",
]

SUPPORTED_LANGUAGES: Final = ("en", "az", "ru", "tr")
DEFAULT_LANGUAGE: Final = "en"
DOMAIN: Final = "messages"
LOCALES_DIR: Final = Path(__file__).resolve().parent / "locales"
_MAX_HEADER_LENGTH = 512


def negotiate_language(accept_language: str | None) -> str:
    """The best of :data:`SUPPORTED_LANGUAGES` for an ``Accept-Language`` header (RFC 9110).

    Ranges are tried by quality, then by order; a range matches on its primary subtag, so
    ``az-Latn-AZ`` means ``az``. ``q=0`` excludes; ``*`` or nothing usable means English.
    """
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language[:_MAX_HEADER_LENGTH].split(",")):
        tag, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.lower()))
    for _, _, tag in sorted(ranked):
        primary = tag.replace("_", "-").split("-")[0]
        if primary == "*":
            return DEFAULT_LANGUAGE
        if primary in SUPPORTED_LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Translator:
    """Translation and formatting for one language."""

    language: str
    """One of :data:`SUPPORTED_LANGUAGES`."""
    translations: gettext.NullTranslations
    """The compiled ``messages`` catalog of that language."""

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.language)

    def gettext(self, message_id: str) -> str:
        """``message_id`` in this language; unknown ids come back unchanged."""
        if not message_id:
            return message_id  # gettext("") would answer the catalog's header
        return self.translations.gettext(message_id)

    def format(self, message_id: str, **values: object) -> str:
        """Translate, then fill the ``{placeholders}``."""
        return self.gettext(message_id).format(**values)

    def format_money(self, money: Money) -> str:
        """An amount as people of this language write it, e.g. ``1.234,50 ₼`` in Azerbaijani."""
        return money.format(self.language)

    def format_number(self, value: Decimal, *, digits: int | None = None) -> str:
        """A number, e.g. an exchange rate, with ``digits`` decimals when given (never rounded silently)."""
        pattern = None if digits is None else "#,##0." + "0" * digits
        return str(format_decimal(value, format=pattern, locale=self.language, decimal_quantization=False))

    def format_datetime(self, moment: datetime, *, tz: str = "Asia/Baku") -> str:
        """A moment in the given time zone, medium length (e.g. ``26 noy 2026 14:05:00``)."""
        return str(format_datetime(moment, format="medium", tzinfo=get_timezone(tz), locale=self.language))


def translator(language: str) -> Translator:
    """The :class:`Translator` for ``language`` (English when it is not supported)."""
    if language not in SUPPORTED_LANGUAGES:
        language = DEFAULT_LANGUAGE
    return _translator(language)


def translator_for(accept_language: str | None) -> Translator:
    """The :class:`Translator` for the best language of an ``Accept-Language`` header."""
    return _translator(negotiate_language(accept_language))


@cache
def _translator(language: str) -> Translator:
    return Translator(language, _load(language))


def _load(language: str) -> gettext.NullTranslations:
    folder = LOCALES_DIR / language / "LC_MESSAGES"
    po_path, mo_path = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo_path.exists() and (not po_path.exists() or mo_path.stat().st_mtime >= po_path.stat().st_mtime):
        with mo_path.open("rb") as compiled:
            return Translations(compiled, domain=DOMAIN)
    if not po_path.exists():
        return gettext.NullTranslations()
    with po_path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)
