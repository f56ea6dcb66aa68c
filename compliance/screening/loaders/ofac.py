"""OFAC's legacy CSV layout, for the SDN list (``sdn.csv``, ``alt.csv``, ``add.csv``,
``sdn_comments.csv``) and the Consolidated non-SDN list (``cons_prim.csv``, ``cons_alt.csv``,
``cons_add.csv``, ``cons_comments.csv``).

The files have no header; null is ``-0-``; the last line may be a lone Ctrl-Z. Primary rows are
``ent_num, name, type, programs, title, call sign, vessel type, tonnage, GRT, flag, owner, remarks``;
alias rows ``ent_num, alt_num, alt_type, alt_name, alt_remarks``; comment rows continue a remark that
did not fit. Individuals are ``LAST, First``. Dates of birth, nationalities and weak aliases
(``a.k.a. 'NAME'``, quoted) live inside the remarks.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from pathlib import Path

from compliance.screening.countries import country_code
from compliance.screening.errors import ListFormatError
from compliance.screening.loaders.dates import parse_dob_text
from compliance.screening.model import DateOfBirth, EntryKind, ListEntry, ListSnapshot

__all__ = ["load_ofac_csv"]

_NULL = "-0-"
_LAYOUTS = {
    "sdn.csv": ("ofac-sdn", "alt.csv", "sdn_comments.csv"),
    "cons_prim.csv": ("ofac-cons", "cons_alt.csv", "cons_comments.csv"),
}
_KINDS: dict[str, EntryKind] = {"individual": "person", "vessel": "vessel", "aircraft": "aircraft"}
_DOB = re.compile(r"^(?:alt\.\s+)?DOB\s+(.+)$", re.IGNORECASE)
_NATIONALITY = re.compile(r"^(?:alt\.\s+)?(?:nationality|citizen)\s+(.+)$", re.IGNORECASE)
_WEAK_ALIAS = re.compile(r"\b[af]\.k\.a\.,?\s+'([^']+)'", re.IGNORECASE)
_PRIMARY_COLUMNS = 12
_ALIAS_COLUMNS = 4


def load_ofac_csv(directory: Path) -> ListSnapshot:
    """Read an OFAC legacy CSV directory (SDN or Consolidated, recognised by its file names)."""
    layout = next((name for name in _LAYOUTS if (directory / name).is_file()), None)
    if layout is None:
        raise ListFormatError(f"{directory} holds neither sdn.csv nor cons_prim.csv")
    primary = directory / layout
    list_name, alias_name, comments_name = _LAYOUTS[layout]
    comments = _comments(directory / comments_name)
    aliases = _aliases(directory / alias_name)
    entries = []
    for row in _rows(primary):
        if len(row) < _PRIMARY_COLUMNS:
            raise ListFormatError(
                f"{primary.name}: a row has {len(row)} columns, expected {_PRIMARY_COLUMNS}"
            )
        entry_id = row[0].strip()
        name = _value(row[1])
        if not entry_id.isdigit() or not name:
            raise ListFormatError(f"{primary.name}: row without an entity number or name: {row[:2]}")
        remarks = (_value(row[11]) or "") + comments.get(entry_id, "")
        entries.append(
            _entry(list_name, entry_id, name, _value(row[2]), _value(row[3]), remarks, aliases[entry_id])
        )
    if not entries:
        raise ListFormatError(f"{primary.name} has no entries")
    return ListSnapshot(list_name=list_name, source_format="ofac-csv", entries=tuple(entries))


def _entry(
    list_name: str,
    entry_id: str,
    name: str,
    sdn_type: str | None,
    programs: str | None,
    remarks: str,
    aliases: list[str],
) -> ListEntry:
    kind = _KINDS.get((sdn_type or "").lower(), "organisation")
    dobs: list[DateOfBirth] = []
    nationalities: list[str] = []
    for item in remarks.split(";"):
        item = item.strip()
        dob = _DOB.match(item)
        if dob:
            parsed = parse_dob_text(dob.group(1))
            if parsed is not None and parsed not in dobs:
                dobs.append(parsed)
            continue
        nationality = _NATIONALITY.match(item)
        if nationality:
            code = country_code(nationality.group(1))
            if code and code not in nationalities:
                nationalities.append(code)
    names = _unique([name, *aliases])
    weak = [alias for alias in _unique(_WEAK_ALIAS.findall(remarks)) if alias not in names]
    program_list = [p.strip() for p in re.split(r"\]\s*\[", programs or "") if p.strip()]
    return ListEntry(
        list_name=list_name,
        entry_id=entry_id,
        kind=kind,
        names=tuple(names),
        weak_names=tuple(weak),
        dates_of_birth=tuple(dobs),
        nationalities=tuple(nationalities),
        programs=tuple(program_list),
    )


def _aliases(path: Path) -> defaultdict[str, list[str]]:
    found: defaultdict[str, list[str]] = defaultdict(list)
    if not path.is_file():
        return found
    for row in _rows(path):
        if len(row) < _ALIAS_COLUMNS:
            raise ListFormatError(f"{path.name}: a row has {len(row)} columns, expected {_ALIAS_COLUMNS}+")
        alias = _value(row[3])
        if alias:
            found[row[0].strip()].append(alias)
    return found


def _comments(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    return {row[0].strip(): _value(row[1]) or "" for row in _rows(path) if len(row) >= 2}


def _rows(path: Path) -> list[list[str]]:
    # OFAC publishes these files in Windows-1252; a trailing Ctrl-Z marks the end of file.
    text = path.read_bytes().decode("cp1252", errors="replace").replace("\x1a", "")
    return [row for row in csv.reader(io.StringIO(text)) if row and any(cell.strip() for cell in row)]


def _value(cell: str) -> str | None:
    cell = cell.strip()
    return None if cell in ("", _NULL) else cell


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(name.strip(), None)
    return [name for name in seen if name]
