"""Shared fixtures of the screening tests: the real list files, parsed once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.screening import ListSnapshot, Screener, load_list
from compliance.screening.index import ScreeningIndex

DATA = Path(__file__).resolve().parent.parent / "data"
SANCTIONS = DATA / "sanctions"
EVAL_PAIRS = DATA / "screening" / "eval_pairs.csv"
KEY = b"k" * 32


@pytest.fixture(scope="session")
def sdn_tiny() -> ListSnapshot:
    return load_list(f"ofac-csv:{SANCTIONS / 'ofac-sdn-tiny'}")


@pytest.fixture(scope="session")
def pep_sample() -> ListSnapshot:
    return load_list(f"pep-csv:{SANCTIONS / 'pep-sample.csv'}")


@pytest.fixture(scope="session")
def full_lists() -> dict[str, tuple[int, ListSnapshot]]:
    specs = [
        f"ofac-csv:{SANCTIONS / 'ofac-sdn-2021'}",
        f"ofac-csv:{SANCTIONS / 'ofac-consolidated-nonsdn'}",
        f"un-xml:{SANCTIONS / 'un-consolidated-2026-02-27.xml'}",
        f"pep-csv:{SANCTIONS / 'pep-sample.csv'}",
    ]
    return {snapshot.list_name: (1, snapshot) for snapshot in map(load_list, specs)}


@pytest.fixture(scope="session")
def full_index(full_lists: dict[str, tuple[int, ListSnapshot]]) -> ScreeningIndex:
    return ScreeningIndex(full_lists)


@pytest.fixture
def full_screener(full_index: ScreeningIndex) -> Screener:
    return Screener(full_index, fingerprint_key=KEY)
