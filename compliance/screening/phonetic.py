"""Phonetic keys for name tokens: fold the spellings one name takes across Azerbaijani, Russian and
English transliteration into one key, and reduce a token to its consonant skeleton.

The input is an ASCII, lower-case token (see :mod:`compliance.screening.normalise`). The folds are
deliberately coarse, in the spirit of Soundex: they decide which tokens *may* be the same name; the
matcher still compares the plain spellings and takes the better of the two similarities.

Why each fold exists (one name, several official spellings):
- ``x``, ``kh``, ``h``, ``gh``, ``g``, ``q``, ``k`` → ``h``: Azerbaijani ``Xəlil``/``Həsən``/``Qasım``
  are ``Халил``/``Гасан``/``Касым`` in Russian passports and ``Khalil``/``Hasan``/``Gasym`` in English.
- ``c``, ``ch``, ``j``, ``dzh``, ``dj``, ``zh`` → ``c``: Azerbaijani ``c`` is English ``j`` and Russian
  ``дж`` (``Cəfərov``/``Jafarov``/``Джафаров``); ``ç`` is ``ch``/``ч``.
- ``sh`` → ``s``: ``Şahin`` is often typed ``Sahin`` without its cedilla.
- ``e`` → ``a``, ``o`` → ``u``, ``y`` → ``i``: ``ə`` becomes ``a`` or ``e`` (``Məmmədov``,
  ``Mammadov``, ``Mamedov``, ``Memmedov``); ``-iyev``/``-iev``; ``Mahmoud``/``Mahmud``.
- doubled letters are single: ``Mammadov``/``Mamadov``, ``Hussein``/``Husein``.
- a glide between vowels is dropped (``Aliyev``/``Алиев``), so is ``y`` after a consonant before a
  vowel (Russian soft vowels: ``Гюнель``/``Günel``), and a final ``h`` after a vowel
  (``Abdullah``/``Abdulla``); Russian ``-ев`` equals ``-ov`` (``Оруджев``/``Orucov``).
"""

from __future__ import annotations

import re

__all__ = ["consonant_skeleton", "name_key"]

_MULTI = (
    ("dzh", "c"),
    ("tch", "c"),
    ("dj", "c"),
    ("zh", "c"),
    ("ch", "c"),
    ("kh", "h"),
    ("gh", "h"),
    ("sh", "s"),
    ("ph", "f"),
    ("th", "t"),
    ("ou", "u"),
    ("ck", "k"),
)
_SINGLE = str.maketrans(
    {
        "j": "c",
        "x": "h",
        "g": "h",
        "q": "h",
        "k": "h",
        "e": "a",
        "o": "u",
        "y": "i",
        "w": "v",
    }
)
_DOUBLES = re.compile(r"(.)\1+")
_GLIDE_BETWEEN_VOWELS = re.compile(r"(?<=[aeiou])y(?=[aeiou])")
_SOFT_VOWEL = re.compile(r"(?<=[b-df-hj-np-tv-z])y(?=[aeiou])")
_SILENT_FINAL_H = re.compile(r"(?<=[aeiou])h$")
_LEADING_GLIDE = re.compile(r"^i(?=[aeiou])")
_SURNAME_ENDING = re.compile(r"av(a?)$")
_VOWELS = re.compile(r"[aeiou]")


def name_key(token: str) -> str:
    """The phonetic key of an ASCII lower-case token (``"məmmədov"`` spelt any way → ``"mamaduv"``)."""
    # "Aliyev"/"Алиев", "Agayev"/"Агаев": a glide between vowels is often not written;
    # "Гюнель"/"Günel", "Нигяр"/"Nigar": Russian soft vowels after a consonant stand for ü, ä, ö.
    key = _SOFT_VOWEL.sub("", _GLIDE_BETWEEN_VOWELS.sub("", token))
    # A final "h" after a vowel is often silent in transliteration ("Abdullah"/"Abdulla").
    key = _SILENT_FINAL_H.sub("", key)
    for pattern, replacement in _MULTI:
        key = key.replace(pattern, replacement)
    key = key.translate(_SINGLE)
    key = _DOUBLES.sub(r"\1", key)
    # Russian writes "-ев" after soft consonants where Azerbaijani writes "-ov" ("Оруджев"/"Orucov").
    key = _SURNAME_ENDING.sub(r"uv\1", key)
    # Russian "Е"/"Ю"/"Я" at the start come out as "ye"/"yu"/"ya" ("Yevgeny" vs "Evgeny").
    return _LEADING_GLIDE.sub("", key) or key


def consonant_skeleton(key: str) -> str:
    """The key without vowels, for scripts that do not write short vowels (Arabic, Hebrew).
    A final ``h`` goes too: Arabic writes the one that Latin spellings often drop (``الله``)."""
    skeleton = _VOWELS.sub("", key) or key
    return skeleton[:-1] if len(skeleton) >= 3 and skeleton.endswith("h") else skeleton
