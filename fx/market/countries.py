"""Country codes and the World Bank's country names.

RPW files name countries by ISO 3166 alpha-3 (``RUS``, ``AZE``) and, in the bilateral remittance
matrix, by the World Bank's own spelling (``Egypt, Arab Rep.``); the mobile API speaks alpha-2
(``RU``, ``AZ``). The market tables store alpha-3, as the sources do; the API converts at its edge.
"""

from __future__ import annotations

import pycountry

__all__ = ["UnknownCountry", "alpha2", "alpha3", "alpha3_of_world_bank_name"]

# The World Bank spells some countries its own way, and uses KSV for Kosovo (not in ISO 3166).
_WORLD_BANK_NAMES: dict[str, str] = {
    "Bahamas, The": "BHS", "Channel Islands": "CHI", "Congo, Dem. Rep.": "COD", "Congo, Rep.": "COG",
    "Cote d'Ivoire": "CIV", "Curacao": "CUW", "Egypt, Arab Rep.": "EGY", "Faeroe Islands": "FRO",
    "Gambia, The": "GMB", "Hong Kong SAR, China": "HKG", "Iran, Islamic Rep.": "IRN",
    "Korea, Dem. Rep.": "PRK", "Korea, Dem. People's Rep.": "PRK", "Korea, Rep.": "KOR", "Kosovo": "KSV",
    "Kyrgyz Republic": "KGZ", "Lao PDR": "LAO", "Macao SAR, China": "MAC", "Macedonia, FYR": "MKD",
    "Micronesia, Fed. Sts.": "FSM", "Slovak Republic": "SVK", "St. Kitts and Nevis": "KNA",
    "St. Lucia": "LCA", "St. Martin (French part)": "MAF", "St. Vincent and the Grenadines": "VCT",
    "Swaziland": "SWZ", "Turkey": "TUR", "Venezuela, RB": "VEN", "Virgin Islands (U.S.)": "VIR",
    "West Bank and Gaza": "PSE", "Yemen, Rep.": "YEM",
}  # fmt: skip
_KOSOVO = {"KSV": "XK", "XKX": "XK"}


class UnknownCountry(ValueError):
    """A country code or name that no table here knows."""

    code = "unknown_country"
    status = 422


def alpha3(code: str) -> str:
    """``AZ`` or ``AZE`` → ``AZE``."""
    cleaned = code.strip().upper()
    if cleaned == "XK" or cleaned in _KOSOVO:
        return "KSV"
    country = (
        pycountry.countries.get(alpha_2=cleaned)
        if len(cleaned) == 2
        else pycountry.countries.get(alpha_3=cleaned)
        if len(cleaned) == 3
        else None
    )
    if country is None and len(cleaned) == 3:
        # RPW and DataBank still list dissolved countries, e.g. ANT (Netherlands Antilles).
        country = pycountry.historic_countries.get(alpha_3=cleaned)
    if country is None:
        raise UnknownCountry(f"unknown country code {code!r}")
    return str(country.alpha_3)


def alpha2(code: str) -> str:
    """``AZE`` or ``AZ`` → ``AZ``."""
    cleaned = code.strip().upper()
    if cleaned in _KOSOVO or cleaned == "XK":
        return "XK"
    code3 = alpha3(cleaned)
    country = pycountry.countries.get(alpha_3=code3) or pycountry.historic_countries.get(alpha_3=code3)
    if country is None:
        raise UnknownCountry(f"unknown country code {code!r}")
    return str(country.alpha_2)


def alpha3_of_world_bank_name(name: str) -> str | None:
    """The alpha-3 code of a country as the World Bank names it, or ``None`` for aggregates."""
    cleaned = name.strip()
    if cleaned in _WORLD_BANK_NAMES:
        return _WORLD_BANK_NAMES[cleaned]
    try:
        return str(pycountry.countries.lookup(cleaned).alpha_3)
    except LookupError:
        return None
