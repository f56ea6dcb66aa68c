"""Screening lists parsed from their official formats: the real OFAC SDN (legacy CSV), OFAC
Consolidated, UN Security Council XML, and the local PEP CSV; and refusing what is not a list."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from compliance.screening import ListFormatError, ListSnapshot, load_list
from compliance.screening.model import DateOfBirth
from tests.screening.conftest import SANCTIONS


def by_id(snapshot: ListSnapshot, entry_id: str):  # type: ignore[no-untyped-def]
    return next(entry for entry in snapshot.entries if entry.entry_id == entry_id)


def test_tiny_sdn_entries_with_aliases_births_and_weak_aliases(sdn_tiny: ListSnapshot) -> None:
    assert sdn_tiny.list_name == "ofac-sdn"
    assert len(sdn_tiny.entries) == 17
    logan = by_id(sdn_tiny, "10278")
    assert logan.kind == "person"
    assert logan.names[0] == "LOGAN MOREY, Elvis Angus"
    assert logan.weak_names == ("BURTON BURGESS",)
    assert logan.dates_of_birth == (DateOfBirth(1963, 1963, 7, 28),)
    assert logan.programs == ("SDNT",)
    hesa = by_id(sdn_tiny, "11195")
    assert hesa.kind == "organisation"
    assert "HESA TRADE CENTER" in hesa.names
    assert hesa.programs == ("NPWMD", "IFSR", "IRAN-CON-ARMS-EO")
    kinds = Counter(entry.kind for entry in sdn_tiny.entries)
    assert kinds == {"organisation": 7, "person": 4, "vessel": 4, "aircraft": 2}


def test_full_sdn_2021_matches_its_published_counts() -> None:
    snapshot = load_list(f"ofac-csv:{SANCTIONS / 'ofac-sdn-2021'}")
    assert len(snapshot.entries) == 8976
    assert sum(entry.kind == "person" for entry in snapshot.entries) == 4620
    # 11,910 alias rows; a few repeat the primary name or another alias.
    aliases = sum(len(entry.names) - 1 for entry in snapshot.entries)
    assert 11_800 <= aliases <= 11_910
    kadyrov = by_id(snapshot, "23343")
    assert kadyrov.names == ("KADYROV, Ramzan Akhmatovich", "KADYROW, Ramzan Achmatowisch", "KADYROV, Ramzan")
    assert kadyrov.dates_of_birth == (DateOfBirth(1976, 1976, 10, 5),)
    assert kadyrov.nationalities == ("RU",)
    # Remarks that overflowed into sdn_comments.csv are read too.
    rotenberg = by_id(snapshot, "18310")
    assert set(rotenberg.nationalities) == {"RU", "FI"}


def test_consolidated_list_has_its_own_name_and_ranges_of_births() -> None:
    snapshot = load_list(f"ofac-csv:{SANCTIONS / 'ofac-consolidated-nonsdn'}")
    assert snapshot.list_name == "ofac-cons"
    assert len(snapshot.entries) == 442
    haniya = by_id(snapshot, "9639")
    assert haniya.names == ("HANIYA, Ismail Abdul Salah", "HANIYA, Ismail", "HANIYYA, Ismaeel")
    assert haniya.dates_of_birth == (DateOfBirth(1962, 1962),)


def test_un_xml_individuals_entities_original_script_and_dates() -> None:
    snapshot = load_list(f"un-xml:{SANCTIONS / 'un-consolidated-2026-02-27.xml'}")
    assert snapshot.list_name == "un-sc"
    assert snapshot.published == "2026-02-27T00:00:09.554Z"
    kinds = Counter(entry.kind for entry in snapshot.entries)
    assert kinds == {"person": 730, "organisation": 273}
    badege = by_id(snapshot, "6907993")
    assert badege.names == ("ERIC BADEGE",)
    assert badege.nationalities == ("CD",)
    assert badege.dates_of_birth == (DateOfBirth(1971, 1971),)
    arabic = [
        entry
        for entry in snapshot.entries
        if any("\u0600" <= ch <= "\u06ff" for n in entry.names for ch in n)
    ]
    assert len(arabic) >= 100
    assert sum(len(entry.weak_names) for entry in snapshot.entries) > 500
    assert any(dob.year_from < dob.year_to for entry in snapshot.entries for dob in entry.dates_of_birth)


def test_pep_csv_in_any_script(pep_sample: ListSnapshot) -> None:
    assert pep_sample.list_name == "pep-local"
    first = by_id(pep_sample, "pep-001")
    assert first.names == ("Rəşad Vaqif oğlu Hüseynov", "Rashad Huseynov", "Рашад Гусейнов")
    assert first.dates_of_birth == (DateOfBirth(1971, 1971, 3, 14),)
    assert first.nationalities == ("AZ",)
    assert by_id(pep_sample, "pep-003").nationalities == ("AZ",)
    assert by_id(pep_sample, "pep-002").dates_of_birth == (DateOfBirth(1968, 1968),)


def test_a_snapshot_round_trips_and_its_checksum_is_stable(sdn_tiny: ListSnapshot) -> None:
    again = ListSnapshot.from_compressed("ofac-sdn", "ofac-csv", sdn_tiny.compressed())
    assert again.entries == sdn_tiny.entries
    assert again.checksum == sdn_tiny.checksum
    assert load_list(f"ofac-csv:{SANCTIONS / 'ofac-sdn-tiny'}").checksum == sdn_tiny.checksum


@pytest.mark.parametrize(
    ("files", "spec", "message"),
    [
        ({}, "ofac-csv:{dir}", "neither sdn.csv nor cons_prim.csv"),
        ({"sdn.csv": "1,2,3\n"}, "ofac-csv:{dir}", "columns"),
        ({"list.xml": "<html/>"}, "un-xml:{dir}/list.xml", "not a UN consolidated list"),
        ({"list.xml": "<CONSOLIDATED_LIST>"}, "un-xml:{dir}/list.xml", "not well-formed"),
        ({"p.csv": "name\nAli\n"}, "pep-csv:{dir}/p.csv", "lacks the column"),
        ({"p.csv": "id,full_name\n1,Ali\n1,Veli\n"}, "pep-csv:{dir}/p.csv", "appears twice"),
        ({}, "xls:{dir}/x.xls", "FORMAT:PATH"),
    ],
)
def test_what_is_not_a_list_is_refused(
    tmp_path: Path, files: dict[str, str], spec: str, message: str
) -> None:
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    with pytest.raises(ListFormatError, match=message):
        load_list(spec.format(dir=tmp_path))
