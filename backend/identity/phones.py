"""Phone numbers: parse what people type into E.164 with libphonenumber's rules."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

__all__ = ["normalise_mobile_phone", "normalise_phone", "region_of"]

_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_MAX_INPUT_LENGTH = 32


def normalise_phone(raw: str) -> str | None:
    """``raw`` (with its ``+`` country code) as E.164, or ``None`` when it is not a valid number."""
    if not raw or len(raw) > _MAX_INPUT_LENGTH or not raw.strip().startswith("+"):
        return None
    try:
        parsed = phonenumbers.parse(raw, None)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalise_mobile_phone(raw: str) -> tuple[str | None, bool]:
    """``(E.164 or None, is_mobile)``: SMS codes go to mobile numbers only."""
    e164 = normalise_phone(raw)
    if e164 is None:
        return None, False
    return e164, phonenumbers.number_type(phonenumbers.parse(e164, None)) in _MOBILE_TYPES


def region_of(e164: str) -> str | None:
    """The ISO 3166 country of an E.164 number (e.g. ``AZ``), when libphonenumber knows it."""
    region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    return str(region) if region and region != "ZZ" else None
