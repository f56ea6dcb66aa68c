"""Name normalisation as a compliance officer would expect it: one person, one set of tokens,
however the name is spelt, written or decorated."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.screening.matcher import name_score
from compliance.screening.normalise import TokenRole, normalise_name


def keys(name: str) -> list[str]:
    return [token.key for token in normalise_name(name).tokens]


@pytest.mark.parametrize(
    "spellings",
    [
        ["Məmmədov", "Mammadov", "Mamedov", "Мамедов", "MAMMADOV", "Memmedov"],
        ["Həsənov", "Hasanov", "Gasanov", "Гасанов", "Khasanov"],
        ["Cəfərov", "Jafarov", "Dzhafarov", "Джафаров"],
        ["Xəlilov", "Khalilov", "Халилов"],
        ["Şahin", "Shahin", "Шахин"],
        ["Çingiz", "Chingiz", "Чингиз"],
        ["Quliyev", "Guliyev", "Kuliev", "Кулиев"],
        ["Gülnarə", "Gulnara", "Гюльнара"],
        ["İlham", "Ilham", "Ильхам"],
        ["Евгений", "Evgeny", "Yevgeny", "Evgeniy"],
        ["Оруджев", "Orucov", "Orujov"],
    ],
)
def test_spellings_of_one_name_share_a_key(spellings: list[str]) -> None:
    assert len({tuple(keys(spelling)) for spelling in spellings}) == 1, {s: keys(s) for s in spellings}


def test_georgian_and_armenian_scripts_are_transliterated() -> None:
    assert [t.text for t in normalise_name("ბიძინა ივანიშვილი").tokens] == ["bidzina", "ivanishvili"]
    assert [t.text for t in normalise_name("Արամ Խաչատրյան").tokens] == ["aram", "khachatryan"]


def test_arabic_script_is_marked_and_compared_by_skeleton() -> None:
    arabic = normalise_name("محمد علي")
    assert all(token.abjad for token in arabic.tokens)
    assert [t.skeleton for t in arabic.tokens] == [t.skeleton for t in normalise_name("Mohamed Ali").tokens]


@pytest.mark.parametrize(
    "decorated",
    ["Mr. Ali Mammadov", "Dr Ali Mammadov", "Haji Ali Mammadov", "Cənab Ali Mammadov", "Sheikh Ali Mammadov"],
)
def test_honorifics_are_dropped(decorated: str) -> None:
    assert [t.text for t in normalise_name(decorated).tokens] == ["ali", "mammadov"]


@pytest.mark.parametrize(
    ("name", "father"),
    [
        ("Əli Həsən oğlu Məmmədov", "hasan"),
        ("Мамедов Али Гасан оглы", "gasan"),
        ("Ali Hasan ogly Mamedov", "hasan"),
        ("Leyla Vaqif qızı Əliyeva", "vaqif"),
        ("Aigul Serik kyzy Zhumabaeva", "serik"),
        ("Kubanychbek Ashyrbek uulu", "ashyrbek"),
    ],
)
def test_patronymic_markers_make_one_patronymic_token(name: str, father: str) -> None:
    patronymics = [t for t in normalise_name(name).tokens if t.role is TokenRole.PATRONYMIC]
    assert [t.text for t in patronymics] == [father]


def test_russian_patronymic_suffixes_are_understood_but_surnames_are_not_patronymics() -> None:
    tokens = normalise_name("Мамедов Али Гасанович").tokens
    assert [t.role for t in tokens] == [TokenRole.NAME, TokenRole.NAME, TokenRole.PATRONYMIC]
    assert tokens[2].stem_key == normalise_name("Hasan").tokens[0].key
    # Two tokens: "Yanukovych" and "Abramovich" are surnames, not patronymics.
    assert all(t.role is TokenRole.NAME for t in normalise_name("Viktor Yanukovych").tokens)
    assert all(t.role is TokenRole.NAME for t in normalise_name("Roman Abramovich").tokens)
    assert normalise_name("Leyla Rafiqovna Mammadova").tokens[1].role is TokenRole.PATRONYMIC


def test_initials_and_particles() -> None:
    tokens = normalise_name("A. B. al-Rashid").tokens
    assert [(t.text, t.role) for t in tokens] == [
        ("a", TokenRole.INITIAL),
        ("b", TokenRole.INITIAL),
        ("rashid", TokenRole.NAME),
    ]


def test_abd_compounds_are_spelt_one_way() -> None:
    forms = ["Abdullah", "Abd Allah", "Abd-Allah", "Abdulla", "Abdallah"]
    assert len({tuple(keys(form)) for form in forms}) == 1, {f: keys(f) for f in forms}
    assert keys("Abd al-Rahman") == keys("Abdulrahman") == keys("Abdurrahman")


_name_parts = st.sampled_from(
    [
        "Əli",
        "Məmmədov",
        "Гасан",
        "оглы",
        "Leyla",
        "qızı",
        "ბიძინა",
        "Արամ",
        "محمد",
        "O'Brien",
        "Jean-Luc",
        "Ü",
        "A.",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_name_parts, min_size=1, max_size=5), st.text(max_size=12))
def test_normalising_any_name_gives_ascii_tokens_and_self_score_one(parts: list[str], noise: str) -> None:
    name = " ".join(parts) + " " + noise
    normalised = normalise_name(name)
    for token in normalised.tokens:
        assert token.text.isascii()
        assert token.key.isascii()
    if not normalised.is_empty:
        assert name_score(normalised, normalised) == pytest.approx(1.0)


@settings(max_examples=100, deadline=None)
@given(st.permutations(["Əli", "Həsən", "Məmmədov", "Rafiq"]))
def test_token_order_does_not_change_the_score(order: list[str]) -> None:
    reference = normalise_name("Əli Həsən Məmmədov Rafiq")
    assert name_score(reference, normalise_name(" ".join(order))) == pytest.approx(1.0)
