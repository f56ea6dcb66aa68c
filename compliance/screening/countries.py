"""Country names as screening lists and customers write them, to ISO 3166-1 alpha-2 codes.

pycountry knows the ISO names and codes; the lists also use their own short forms ("Korea, North",
"Burma", "Russia", "Iran (Islamic Republic of)") and demonyms, which are mapped here.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

__all__ = ["country_code"]

_ALIASES = {
    "russia": "RU",
    "korea, north": "KP",
    "north korea": "KP",
    "korea, south": "KR",
    "south korea": "KR",
    "burma": "MM",
    "congo, democratic republic of the": "CD",
    "democratic republic of the congo": "CD",
    "congo, republic of the": "CG",
    "palestinian": "PS",
    "state of palestine": "PS",
    "west bank": "PS",
    "gaza": "PS",
    "iran (islamic republic of)": "IR",
    "turkey": "TR",
    "kosovo": "XK",
    "macedonia": "MK",
    "cote d ivoire": "CI",
    "ivory coast": "CI",
    "laos": "LA",
    "syria": "SY",
    "venezuela (bolivarian republic of)": "VE",
    "bolivia (plurinational state of)": "BO",
    "united republic of tanzania": "TZ",
    "the bahamas": "BS",
    "the gambia": "GM",
    "azerbaijani": "AZ",
    "russian": "RU",
    "turkish": "TR",
    "georgian": "GE",
    "armenian": "AM",
    "ukrainian": "UA",
    "kazakh": "KZ",
    "uzbek": "UZ",
    "iranian": "IR",
    "iraqi": "IQ",
    "syrian": "SY",
    "afghan": "AF",
}
_NOISE = re.compile(r"[.\s]+$")


def country_code(text: str | None) -> str | None:
    """The alpha-2 code for a country name, code or demonym; ``None`` when it names no country."""
    if not text:
        return None
    return _lookup(_NOISE.sub("", text.strip()).casefold())


@lru_cache(maxsize=1024)
def _lookup(name: str) -> str | None:
    if not name:
        return None
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        country = pycountry.countries.lookup(name)
    except LookupError:
        return None
    return str(country.alpha_2)
