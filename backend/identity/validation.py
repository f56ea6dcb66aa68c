"""Checks on what people type about themselves and their recipients: names, dates of birth,
countries, IBANs (schwifty), card numbers (Luhn) and wallet phone numbers (libphonenumber)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from babel import Locale
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from backend.identity.errors import (
    IbanCountryMismatch,
    InvalidBirthDate,
    InvalidCardNumber,
    InvalidCountry,
    InvalidIban,
    InvalidName,
    InvalidWalletPhone,
)
from backend.identity.phones import normalise_phone

__all__ = [
    "CardNumber",
    "card_scheme",
    "clean_birth_date",
    "clean_card_number",
    "clean_country",
    "clean_iban",
    "clean_name",
    "clean_wallet_phone",
    "luhn_valid",
]

_MAX_NAME_LENGTH = 100
# Letters of any script, words joined by one space, hyphen or apostrophe, or "St. John"-like dots.
_NAME = re.compile(r"^[^\W\d_]+(?:(?:[ '’-]|\. ?)[^\W\d_]+)*\.?$")
# CLDR territory codes that are not countries one can live or bank in.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})
_COUNTRIES = (
    frozenset(code for code in map(str, Locale.parse("en").territories) if len(code) == 2 and code.isalpha())
    - _NOT_COUNTRIES
)


def clean_name(raw: str, field: str) -> str:
    """A person's name, NFC-normalised with spaces tidied; raises :class:`InvalidName` naming ``field``."""
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if not name or len(name) > _MAX_NAME_LENGTH or not _NAME.match(name):
        raise InvalidName(field)
    return name


def clean_birth_date(value: date, today: date) -> date:
    if not date(1900, 1, 1) <= value < today:
        raise InvalidBirthDate()
    return value


def clean_country(raw: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper case."""
    code = raw.strip().upper()
    if code not in _COUNTRIES:
        raise InvalidCountry()
    return code


def clean_iban(raw: str, country: str) -> str:
    """The IBAN in compact form, checked (length, format, mod-97) and belonging to ``country``."""
    try:
        iban = IBAN(raw, validate_bban=True)
    except SchwiftyException:
        raise InvalidIban() from None
    if iban.country_code != country:
        raise IbanCountryMismatch()
    return str(iban.compact)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_scheme(digits: str) -> str:
    """The card network from the number's prefix (for display only)."""
    prefix2, prefix4 = int(digits[:2]), int(digits[:4])
    if 2200 <= prefix4 <= 2204:
        return "mir"
    if digits[0] == "4":
        return "visa"
    if 51 <= prefix2 <= 55 or 2221 <= prefix4 <= 2720:
        return "mastercard"
    if prefix2 in (34, 37):
        return "amex"
    if prefix2 == 62:
        return "unionpay"
    if prefix2 in (50, 56, 57, 58, 63, 67):
        return "maestro"
    return "other"


@dataclass(frozen=True, slots=True)
class CardNumber:
    """A checked card number."""

    digits: str
    """The full number, digits only (sealed at rest, never shown)."""
    last4: str
    """What may be shown."""
    scheme: str
    """``visa``, ``mastercard``, ``mir``, ...; for display."""


def clean_card_number(raw: str) -> CardNumber:
    """Digits with optional spaces or hyphens, 13 to 19 of them, passing the Luhn check."""
    digits = re.sub(r"[ -]", "", raw)
    if not digits.isascii() or not digits.isdigit() or not 13 <= len(digits) <= 19 or not luhn_valid(digits):
        raise InvalidCardNumber()
    return CardNumber(digits=digits, last4=digits[-4:], scheme=card_scheme(digits))


def clean_wallet_phone(raw: str) -> str:
    """The wallet's phone number in E.164."""
    e164 = normalise_phone(raw)
    if e164 is None:
        raise InvalidWalletPhone()
    return e164
