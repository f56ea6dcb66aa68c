"""Screening against the real lists through the index: known people found under other spellings
and scripts, few alerts on random names, and a list version swapped in atomically."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest

from compliance.screening import (
    ListEntry,
    ListSnapshot,
    Screener,
    ScreeningNotReady,
    ScreeningResult,
    Subject,
)
from compliance.screening.index import ScreeningIndex
from compliance.screening.normalise import normalise_name
from compliance.screening.screener import ScreeningConfig
from compliance.screening.synthetic import random_people
from tests.screening.conftest import KEY


@pytest.mark.parametrize(
    ("name", "entry_key", "decision"),
    [
        ("Евгений Викторович Пригожин", "ofac-sdn:21171", "hit"),
        ("Yevgeny Prigozhin", "ofac-sdn:21171", "hit"),
        ("Рамзан Ахматович Кадыров", "ofac-sdn:23343", "hit"),
        ("Arkadiy Rotenberg", "ofac-sdn:16669", "hit"),
        ("Jamila Abdullah al-Shanti", "ofac-cons:9641", "hit"),
        ("صدام حسين التكريتي", "un-sc:6908048", "hit"),
        ("Rashad Guseynov", "pep-local:pep-001", "hit"),
        ("Рашад Вагиф оглы Гусейнов", "pep-local:pep-001", "hit"),
        ("გივი ბერიძე", "pep-local:pep-004", "hit"),
        ("Armen Petrosian", "pep-local:pep-005", "review"),
    ],
)
def test_listed_people_are_found_under_other_spellings(
    full_screener: Screener, name: str, entry_key: str, decision: str
) -> None:
    result = full_screener.screen(Subject(name))
    assert result.top_match is not None, name
    assert result.top_match.entry_key == entry_key, result.top_match
    assert result.decision == decision, result.top_score
    assert result.list_versions == {"ofac-cons": 1, "ofac-sdn": 1, "pep-local": 1, "un-sc": 1}


def test_candidates_come_from_the_index_not_a_scan(full_index: ScreeningIndex) -> None:
    assert len(full_index.persons) > 15_000
    found = full_index.persons.candidates(normalise_name("Ramzan Kadyrov"), limit=60)
    assert 0 < len(found) <= 60
    assert found[0].entry.key == "ofac-sdn:23343"
    assert full_index.persons.candidates(normalise_name("Qwvbnm Pfrtyk"), limit=60) == []


def test_random_names_of_unlisted_people_rarely_alert(full_screener: Screener) -> None:
    names = random_people(1000, seed=11)
    decisions = Counter(full_screener.screen(Subject(name)).decision for name in names)
    assert decisions["hit"] == 0
    assert (decisions["review"] + decisions["hit"]) / len(names) <= 0.005, decisions


def test_an_empty_screener_refuses_rather_than_clears() -> None:
    with pytest.raises(ScreeningNotReady):
        Screener(fingerprint_key=KEY).screen(Subject("Ali Mammadov"))


def _pep_index(version: int, *names: str) -> ScreeningIndex:
    entries = tuple(
        ListEntry(list_name="pep-local", entry_id=str(i), kind="person", names=(name,))
        for i, name in enumerate(names)
    )
    return ScreeningIndex({"pep-local": (version, ListSnapshot("pep-local", "pep-csv", entries))})


def test_a_new_list_version_is_swapped_in_whole_while_screening_goes_on() -> None:
    old = _pep_index(1, "Leyla Mammadova", "Elchin Hasanov")
    new = _pep_index(2, "Leyla Mammadova", "Elchin Hasanov", "Tural Baghirov")
    screener = Screener(old, fingerprint_key=KEY)
    seen: Counter[tuple[int, str]] = Counter()
    stop = threading.Event()

    def screen_continuously() -> None:
        while not stop.is_set():
            result = screener.screen(Subject("Tural Bağırov"))
            seen[(result.list_versions["pep-local"], result.decision)] += 1

    worker = threading.Thread(target=screen_continuously)
    worker.start()
    for _ in range(200):
        screener.swap(new)
        screener.swap(old)
    screener.swap(new)
    stop.set()
    worker.join()
    # Version 1 never knew Tural Baghirov, version 2 always does: no result mixes the two.
    assert set(seen) <= {(1, "clear"), (2, "hit")}
    assert screener.screen(Subject("Tural Bağırov")).decision == "hit"
    assert screener.pinned().list_versions == {"pep-local": 2}


class _CountingScreener(Screener):
    """Counts the screenings it actually scores (those not answered from the kept results)."""

    scored = 0

    def _screen(self, index: ScreeningIndex, subject: Subject) -> ScreeningResult:
        self.scored += 1
        return super()._screen(index, subject)


def test_a_subject_screened_again_is_answered_from_the_kept_result() -> None:
    screener = _CountingScreener(_pep_index(1, "Leyla Mammadova"), fingerprint_key=KEY)
    first = screener.screen(Subject("Leyla Məmmədova"))
    first.list_versions["pep-local"] = 99  # a caller's change to its copy reaches no one else
    again = screener.screen(Subject("Leyla Məmmədova"))
    assert screener.scored == 1
    assert (again.decision, again.top_score, again.matches) == (
        first.decision,
        first.top_score,
        first.matches,
    )
    assert again.list_versions == {"pep-local": 1}
    # Another birth date or nationality is another subject: scored anew.
    screener.screen(Subject("Leyla Məmmədova", date_of_birth=date(1980, 1, 1)))
    screener.screen(Subject("Leyla Məmmədova", nationality="AZ"))
    assert screener.scored == 3
    # A transfer screens its parties through a screener pinned on the current index: same results.
    pinned = screener.pinned()
    assert pinned.screen(Subject("Leyla Məmmədova")).matches == first.matches
    assert isinstance(pinned, _CountingScreener) and pinned.scored == 0


def test_a_new_list_version_answers_without_the_old_versions_results() -> None:
    screener = _CountingScreener(_pep_index(1, "Leyla Mammadova"), fingerprint_key=KEY)
    assert screener.screen(Subject("Tural Bağırov")).decision == "clear"
    screener.swap(_pep_index(2, "Leyla Mammadova", "Tural Baghirov"))
    after = screener.screen(Subject("Tural Bağırov"))
    assert (after.decision, after.list_versions) == ("hit", {"pep-local": 2})
    assert screener.scored == 2


def test_the_oldest_kept_result_is_forgotten_first() -> None:
    config = ScreeningConfig(results_kept=2)
    screener = _CountingScreener(_pep_index(1, "Leyla Mammadova"), fingerprint_key=KEY, config=config)
    for name in ("Ali Aliyev", "Vugar Hasanov", "Nigar Guliyeva"):
        screener.screen(Subject(name))
    screener.screen(Subject("Nigar Guliyeva"))  # kept
    assert screener.scored == 3
    screener.screen(Subject("Ali Aliyev"))  # the oldest, forgotten when the third came
    assert screener.scored == 4
    none_kept = _CountingScreener(
        _pep_index(1, "Leyla Mammadova"), fingerprint_key=KEY, config=ScreeningConfig(results_kept=0)
    )
    none_kept.screen(Subject("Ali Aliyev"))
    none_kept.screen(Subject("Ali Aliyev"))
    assert none_kept.scored == 2
