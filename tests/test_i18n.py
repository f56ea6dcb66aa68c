"""Localisation: every message has all four translations, placeholders survive translation, the
language follows Accept-Language, and amounts are written the way each language writes them."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from backend.i18n import LOCALES_DIR, SUPPORTED_LANGUAGES, negotiate_language, translator, translator_for
from backend.i18n.messages import OTP_SMS, RECEIPT_LABELS, all_message_ids
from backend.identity.errors import all_identity_errors
from ledger.money import Money

_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _catalog(language: str) -> Catalog:
    path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        return read_po(source, locale=language)


def _entries(catalog: Catalog) -> dict[str, str]:
    return {str(message.id): str(message.string) for message in catalog if message.id}


def test_every_message_has_all_four_translations() -> None:
    catalogs = {language: _catalog(language) for language in SUPPORTED_LANGUAGES}
    all_ids = set().union(*(_entries(catalog) for catalog in catalogs.values()))
    problems = []
    for language, catalog in catalogs.items():
        entries = _entries(catalog)
        problems += [f"{language}: no entry for {msgid!r}" for msgid in sorted(all_ids - entries.keys())]
        problems += [
            f"{language}: empty translation of {msgid!r}" for msgid, text in entries.items() if not text
        ]
        problems += [f"{language}: fuzzy {m.id!r}" for m in catalog if m.id and m.fuzzy]
    assert problems == []


def test_translations_keep_their_placeholders() -> None:
    for language in SUPPORTED_LANGUAGES:
        for msgid, text in _entries(_catalog(language)).items():
            assert sorted(_PLACEHOLDER.findall(text)) == sorted(_PLACEHOLDER.findall(msgid)), (
                language,
                msgid,
            )


def test_every_message_the_code_shows_is_in_the_catalogs() -> None:
    used = set(all_message_ids())
    for error in all_identity_errors():
        used |= {error.title, error.message}
    for language in SUPPORTED_LANGUAGES:
        missing = used - _entries(_catalog(language)).keys()
        assert missing == set(), language


# Words that are spelt the same in English and that language.
_SAME_AS_ENGLISH = {"az": {"Status"}, "ru": set(), "tr": set()}


def test_the_translations_are_not_english_copies() -> None:
    english = _entries(_catalog("en"))
    for language in ("az", "ru", "tr"):
        entries = _entries(_catalog(language))
        copied = {msgid for msgid in english if entries[msgid] == msgid}
        assert copied == _SAME_AS_ENGLISH[language], language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("az-Latn-AZ,az;q=0.9,ru;q=0.8", "az"),
        ("ru-RU", "ru"),
        ("tr;q=0.1, ru;q=0.9", "ru"),
        ("de-DE,tr;q=0.5", "tr"),
        ("de-DE", "en"),
        ("en;q=0, az;q=0.1", "az"),
        ("*", "en"),
        ("ru;q=oops, az", "az"),
        ("AZ", "az"),
    ],
)
def test_the_language_follows_accept_language(header: str | None, language: str) -> None:
    assert negotiate_language(header) == language
    assert translator_for(header).language == language


def test_sms_and_receipt_read_naturally_in_each_language() -> None:
    assert translator("az").format(OTP_SMS, code="042917", minutes=5) == (
        "Körpü kodunuz: 042917. Kod 5 dəqiqə etibarlıdır. Onu heç kimə deməyin."
    )
    assert [translator("ru").gettext(label) for label in RECEIPT_LABELS[:4]] == [
        "Квитанция",
        "Отправитель",
        "Получатель",
        "Сумма перевода",
    ]
    assert translator("tr").gettext("Exchange rate") == "Döviz kuru"
    assert translator("xx").language == "en"
    assert translator("en").gettext("") == ""  # not the catalog's header


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "AZN1,234.50"), ("az", "1.234,50\xa0₼"), ("ru", "1\xa0234,50\xa0AZN"), ("tr", "AZN1.234,50")],
)
def test_amounts_follow_the_language(language: str, expected: str) -> None:
    assert translator(language).format_money(Money(Decimal("1234.50"), "AZN")) == expected


def test_exchange_rates_keep_their_digits() -> None:
    assert translator("az").format_number(Decimal("1.7000"), digits=4) == "1,7000"
    assert translator("en").format_number(Decimal("0.019876"), digits=4) == "0.019876"


def test_catalogs_work_without_the_build_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkout without .mo files (no `make compile-messages` yet) still translates."""
    import backend.i18n as i18n

    for language in SUPPORTED_LANGUAGES:
        folder = tmp_path / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        shutil.copyfile(LOCALES_DIR / language / "LC_MESSAGES" / "messages.po", folder / "messages.po")
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    assert i18n._load("az").gettext("Receipt") == "Qəbz"
    assert list(tmp_path.rglob("*.mo")) == []
