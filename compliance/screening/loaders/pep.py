"""Local lists of politically exposed persons, as a simple CSV with a header row.

Columns: ``id`` and ``full_name`` (required); ``aliases`` (separated by ``;``), ``date_of_birth``
(``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``), ``nationality`` (ISO code or country name) and
``position`` (optional). UTF-8, any script. Every row is a person.
"""

from __future__ import annotations

import csv
from pathlib import Path

from compliance.screening.countries import country_code
from compliance.screening.errors import ListFormatError
from compliance.screening.loaders.dates import parse_iso_dob
from compliance.screening.model import ListEntry, ListSnapshot

__all__ = ["load_pep_csv"]

_REQUIRED = ("id", "full_name")


def load_pep_csv(path: Path, list_name: str = "pep-local") -> ListSnapshot:
    """Read a PEP CSV at ``path`` as list ``list_name`` (which must start with ``pep-``)."""
    if not list_name.startswith("pep-"):
        raise ListFormatError(f"a PEP list's name starts with 'pep-', not {list_name!r}")
    if not path.is_file():
        raise ListFormatError(f"{path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in _REQUIRED if column not in (reader.fieldnames or [])]
        if missing:
            raise ListFormatError(f"{path.name} lacks the column(s) {', '.join(missing)}")
        entries = []
        seen: set[str] = set()
        for line, row in enumerate(reader, start=2):
            entry_id = (row.get("id") or "").strip()
            name = " ".join((row.get("full_name") or "").split())
            if not entry_id or not name:
                raise ListFormatError(f"{path.name} line {line}: id and full_name are required")
            if entry_id in seen:
                raise ListFormatError(f"{path.name} line {line}: id {entry_id!r} appears twice")
            seen.add(entry_id)
            aliases = [alias.strip() for alias in (row.get("aliases") or "").split(";") if alias.strip()]
            dob = parse_iso_dob(row.get("date_of_birth") or "")
            nationality = country_code(row.get("nationality"))
            position = (row.get("position") or "").strip()
            entries.append(
                ListEntry(
                    list_name=list_name,
                    entry_id=entry_id,
                    kind="person",
                    names=tuple(dict.fromkeys([name, *aliases])),
                    dates_of_birth=(dob,) if dob else (),
                    nationalities=(nationality,) if nationality else (),
                    programs=(position,) if position else (),
                )
            )
    return ListSnapshot(list_name=list_name, source_format="pep-csv", entries=tuple(entries))
