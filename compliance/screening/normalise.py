"""Name normalisation: from a name as written (any case, accents, Azerbaijani letters, Cyrillic,
Georgian, Armenian or Arabic script, honorifics, patronymics) to comparable tokens.

Steps, in order:
1. Unicode NFKC, Azerbaijani/Turkish letters spelt out the way passports spell them (``ş`` → ``sh``,
   ``ç`` → ``ch``, ``ğ`` → ``gh``, ``ə`` → ``a``, ``ı``/``İ`` → ``i``, ``ö`` → ``o``, ``ü`` → ``u``),
   because a plain accent strip would turn ``Şahin`` into ``Sahin`` while Russian ``Шахин`` gives
   ``Shahin``.
2. Transliteration to ASCII: rigour's ``maybe_ascii`` for Latin, Cyrillic, Greek, Armenian and Georgian
   (it spells ``Евгений`` as ``Evgeny``, not ``Evgeniy``), anyascii for everything else (Arabic,
   Hebrew, Han...). Tokens written in Arabic or Hebrew are flagged: their short vowels are missing,
   so they are compared by consonant skeleton.
3. Honorifics dropped (rigour's list of person-name prefixes, plus Azerbaijani, Russian and Arabic
   ones such as ``cənab``, ``xanım``, ``господин``, ``haji``, ``sheikh``), and name particles
   (``al``, ``bin``, ``ibn``, ``van``...).
4. Patronymics recognised: ``Həsən oğlu``, ``Гасан оглы``, ``Hasan ogly``, ``Leyla qızı``, ``kyzy``,
   ``uulu`` become one patronymic token ``hasan``; so do ``Гасанович``/``Hasanovich``/``-ovna``/``-evna``.
5. Single letters become initials.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import anyascii
from rigour.names import remove_person_prefixes
from rigour.text.translit import maybe_ascii

from compliance.screening.phonetic import consonant_skeleton, name_key

__all__ = ["NameToken", "NormalisedName", "TokenRole", "normalise_name"]


class TokenRole(StrEnum):
    """What a token is within a name; the matcher weighs them differently."""

    NAME = "name"
    PATRONYMIC = "patronymic"
    INITIAL = "initial"


@dataclass(frozen=True, slots=True)
class NameToken:
    """One comparable part of a name."""

    text: str
    """ASCII lower-case spelling (``"mammadov"``)."""
    key: str
    """Phonetic key (see :func:`compliance.screening.phonetic.name_key`)."""
    stem_key: str
    """For a patronymic, the key of the father's name (``hasanovich`` → ``hasan``); else ``key``."""
    skeleton: str
    """Consonant skeleton of the key, for comparisons with Arabic-script spellings."""
    role: TokenRole
    """Given or family name, patronymic, or initial."""
    abjad: bool
    """Written in Arabic or Hebrew script, where short vowels are not written."""


@dataclass(frozen=True, slots=True)
class NormalisedName:
    """A name ready for indexing and scoring."""

    original: str
    """The name as it was given."""
    tokens: tuple[NameToken, ...]
    """Its tokens in written order, honorifics and particles removed."""
    joined_key: str = ""
    """The keys run together, to compare names whose tokens are split or merged differently."""
    joined_skeleton: str = ""
    """The same with consonant skeletons, for comparisons across Arabic script."""

    @property
    def is_empty(self) -> bool:
        return not self.tokens


_AZERBAIJANI = str.maketrans(
    {
        "ş": "sh",
        "Ş": "Sh",
        "ç": "ch",
        "Ç": "Ch",
        "ğ": "gh",
        "Ğ": "Gh",
        "ə": "a",
        "Ə": "A",
        "ı": "i",
        "İ": "I",
        "ö": "o",
        "Ö": "O",
        "ü": "u",
        "Ü": "U",
        # Uzbek and Turkmen letters that rigour would otherwise drop or split.
        "ʻ": "",
        "ʼ": "",
        "‘": "",
        "’": "",
        "`": "",
        "'": "",
    }
)
_SPLIT = re.compile(r"[\s,;/()\[\]\"._\-–—]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_ABJAD = re.compile(r"[\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_SYLLABIC = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")

_HONORIFICS = frozenset(
    {
        # English and international, as they appear inside list names
        "mr", "mrs", "ms", "miss", "mister", "dr", "prof", "professor", "sir", "madam", "madame",
        "lord", "lady", "general", "gen", "colonel", "col", "major", "captain", "capt", "lt",
        "hon", "honorable", "excellency", "his", "her",
        # Arabic and Persian
        "haji", "hajji", "hadji", "alhaji", "sheikh", "shaykh", "sheik", "shaikh", "sayyid", "sayed",
        "mullah", "mulla", "mawlawi", "maulavi", "maulvi", "mawlavi", "qari", "hafiz", "imam", "emir",
        "amir", "ustad", "ustadh",
        # Azerbaijani (already ASCII-folded) and Turkish
        "canab", "janab", "khanim", "xanim", "hanim", "bay", "bey", "muallim", "hoca", "effendi",
        # Russian (already transliterated)
        "gospodin", "gospozha", "g-n", "tovarishch",
    }
)  # fmt: skip
# Honorifics that are also common given names only count at the ends of a name.
_HONORIFIC_ONLY_AT_EDGES = frozenset({"amir", "emir", "imam", "hafiz", "bay", "bey", "sayed", "sayyid"})

_PARTICLES = frozenset(
    {"al", "el", "ul", "ad", "ed", "as", "ash", "az", "ar", "an", "bin", "ibn", "bint", "binti", "bn",
     "ben", "van", "von", "der", "den", "de", "del", "della", "da", "di", "dos", "du", "la", "le"}
)  # fmt: skip
_PATRONYMIC_MARKERS = frozenset(
    {
        "oglu", "ogli", "ogly", "oghlu", "oghli", "ogul", "uly", "uulu", "ugli",
        "qizi", "kizi", "gizi", "kyzy", "qyzy", "gyzy", "kyzi", "qizy",
    }
)  # fmt: skip
_ABD_FORMS = frozenset({"abd", "abdul", "abdel", "abdal", "abdol", "abdu", "abdi", "bd"})
_ABD_PREFIX = re.compile(r"^abd[aeiou]?l?(?=[a-z]{3,})")
_PATRONYMIC_SUFFIXES = ("yevich", "ievich", "evich", "ovich", "yevna", "ievna", "evna", "ovna", "ichna")
_MIN_PATRONYMIC_LENGTH = 7


def normalise_name(name: str) -> NormalisedName:
    """Tokens of ``name`` as described in the module docstring; cached, since lists repeat names."""
    return _normalise(name)


@lru_cache(maxsize=65536)
def _normalise(name: str) -> NormalisedName:
    words = _merge_abd(_drop_honorifics([word for word in _raw_tokens(name) if word[0]]))
    # "-ovich" marks a patronymic only next to a given name and a surname: "Yanukovych" and
    # "Abramovich" are surnames.
    suffix_patronymics = len(words) >= 3
    tokens: list[NameToken] = []
    index = 0
    while index < len(words):
        text, abjad = words[index]
        following = words[index + 1][0] if index + 1 < len(words) else ""
        if following in _PATRONYMIC_MARKERS and text not in _PATRONYMIC_MARKERS:
            tokens.append(_token(text, TokenRole.PATRONYMIC, abjad))
            index += 2
            continue
        index += 1
        if text in _PATRONYMIC_MARKERS or text in _PARTICLES:
            continue
        stem = _patronymic_stem(text) if suffix_patronymics else None
        if stem is not None:
            tokens.append(_token(text, TokenRole.PATRONYMIC, abjad, stem=stem))
        elif len(text) == 1 and not text.isdigit():
            tokens.append(_token(text, TokenRole.INITIAL, abjad))
        else:
            tokens.append(_token(text, TokenRole.NAME, abjad))
    full = [token for token in tokens if token.role is not TokenRole.INITIAL]
    return NormalisedName(
        original=name,
        tokens=tuple(tokens),
        joined_key="".join(token.key for token in full),
        joined_skeleton="".join(token.skeleton for token in full),
    )


def _raw_tokens(name: str) -> list[tuple[str, bool]]:
    """ASCII lower-case words with a flag for Arabic/Hebrew script."""
    text = unicodedata.normalize("NFKC", name).translate(_AZERBAIJANI)
    text = remove_person_prefixes(text.strip())
    words: list[tuple[str, bool]] = []
    for part in _SPLIT.split(text):
        if not part:
            continue
        abjad = bool(_ABJAD.search(part))
        if abjad and part.startswith("ال") and len(part) > 4:
            part = part[2:]
        ascii_text = maybe_ascii(part)
        if not ascii_text.isascii():
            ascii_text = anyascii.anyascii(ascii_text)
        if _SYLLABIC.search(part):
            # anyascii writes "习近平" as "XiJinPing": its capitals are the syllable boundaries.
            pieces = [piece for chunk in ascii_text.split() for piece in _CAMEL.split(chunk)]
        else:
            pieces = ascii_text.split()
        for piece in pieces:
            word = _NOT_ALNUM.sub("", piece.lower())
            words.append((word, abjad))
    return words


def _merge_abd(words: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """``Abd al-Rahman``, ``Abdul Rahman``, ``Abdurrahman`` and ``عبد الرحمن`` are one name:
    join ``abd`` to the next word and spell every ``abd``-prefix the same way."""
    merged: list[tuple[str, bool]] = []
    index = 0
    while index < len(words):
        text, abjad = words[index]
        if text in _ABD_FORMS and index + 1 < len(words):
            following = index + 1
            if words[following][0] in _PARTICLES and following + 1 < len(words):
                following += 1
            text = text + words[following][0]
            index = following
        index += 1
        merged.append((_ABD_PREFIX.sub("abd", text) if not abjad else text, abjad))
    return merged


def _drop_honorifics(words: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    kept = []
    last = len(words) - 1
    for position, (word, abjad) in enumerate(words):
        if word in _HONORIFICS and len(words) > 1 and not abjad:
            at_edge = position in (0, last)
            if word not in _HONORIFIC_ONLY_AT_EDGES or (at_edge and len(words) > 2):
                continue
        kept.append((word, abjad))
    return kept or words


def _patronymic_stem(text: str) -> str | None:
    if len(text) < _MIN_PATRONYMIC_LENGTH:
        return None
    for suffix in _PATRONYMIC_SUFFIXES:
        if text.endswith(suffix) and len(text) - len(suffix) >= 3:
            return text[: -len(suffix)]
    return None


def _token(text: str, role: TokenRole, abjad: bool, stem: str | None = None) -> NameToken:
    key = _key(text, abjad)
    return NameToken(
        text=text,
        key=key,
        stem_key=key if stem is None else _key(stem, abjad),
        skeleton=consonant_skeleton(key),
        role=role,
        abjad=abjad,
    )


def _key(text: str, abjad: bool) -> str:
    if abjad:
        # Arabic long vowels come out of anyascii as consonants: "محمود" is "mhmwd".
        text = text[:1] + text[1:].replace("w", "u").replace("y", "i")
    return name_key(text)
