"""The UN Security Council Consolidated List in the UN's XML format (``CONSOLIDATED_LIST`` with
``INDIVIDUALS/INDIVIDUAL`` and ``ENTITIES/ENTITY``).

An individual's name is ``FIRST_NAME`` to ``FOURTH_NAME`` in order; ``NAME_ORIGINAL_SCRIPT`` (often
Arabic) is kept as an alias so Arabic-script customers are screened against it; aliases of
``QUALITY`` ``Low`` are weak. Dates of birth are ``EXACT`` (``DATE`` or ``YEAR``), ``APPROXIMATELY``
(``YEAR``, taken as one year either way) or ``BETWEEN`` (``FROM_YEAR``..``TO_YEAR``).
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from compliance.screening.countries import country_code
from compliance.screening.errors import ListFormatError
from compliance.screening.loaders.dates import parse_iso_dob
from compliance.screening.model import DateOfBirth, ListEntry, ListSnapshot

__all__ = ["load_un_xml"]

LIST_NAME = "un-sc"
_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")


def load_un_xml(path: Path) -> ListSnapshot:
    """Read the UN consolidated list XML at ``path``."""
    if not path.is_file():
        raise ListFormatError(f"{path} does not exist")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as exc:
        raise ListFormatError(f"{path.name} is not well-formed XML: {exc}") from None
    if root.tag != "CONSOLIDATED_LIST":
        raise ListFormatError(f"{path.name} is not a UN consolidated list (root is {root.tag})")
    entries = [_individual(element) for element in root.iterfind("INDIVIDUALS/INDIVIDUAL")]
    entries += [_entity(element) for element in root.iterfind("ENTITIES/ENTITY")]
    if not entries:
        raise ListFormatError(f"{path.name} has no INDIVIDUAL or ENTITY")
    return ListSnapshot(
        list_name=LIST_NAME,
        source_format="un-xml",
        entries=tuple(entries),
        published=root.get("dateGenerated"),
    )


def _text(element: etree._Element, path: str) -> str | None:
    found = element.findtext(path)
    return " ".join(found.split()) if found and found.strip() else None


def _individual(element: etree._Element) -> ListEntry:
    entry_id = _required_id(element)
    name = " ".join(part for part in (_text(element, tag) for tag in _NAME_PARTS) if part)
    names = [name] if name else []
    original = _text(element, "NAME_ORIGINAL_SCRIPT")
    if original:
        names.append(original)
    strong, weak = _aliases(element, "INDIVIDUAL_ALIAS")
    dobs: list[DateOfBirth] = []
    for dob_element in element.iterfind("INDIVIDUAL_DATE_OF_BIRTH"):
        dob = _dob(dob_element)
        if dob is not None and dob not in dobs:
            dobs.append(dob)
    nationalities: list[str] = []
    for value in element.iterfind("NATIONALITY/VALUE"):
        code = country_code(value.text)
        if code and code not in nationalities:
            nationalities.append(code)
    return _entry(entry_id, "person", names + strong, weak, dobs, nationalities, element)


def _entity(element: etree._Element) -> ListEntry:
    entry_id = _required_id(element)
    name = _text(element, "FIRST_NAME")
    strong, weak = _aliases(element, "ENTITY_ALIAS")
    return _entry(entry_id, "organisation", ([name] if name else []) + strong, weak, [], [], element)


def _entry(
    entry_id: str,
    kind: str,
    names: list[str],
    weak: list[str],
    dobs: list[DateOfBirth],
    nationalities: list[str],
    element: etree._Element,
) -> ListEntry:
    unique = list(dict.fromkeys(names))
    if not unique:
        raise ListFormatError(f"UN entry {entry_id} has no name")
    programs = [p for p in (_text(element, "UN_LIST_TYPE"), _text(element, "REFERENCE_NUMBER")) if p]
    return ListEntry(
        list_name=LIST_NAME,
        entry_id=entry_id,
        kind="person" if kind == "person" else "organisation",
        names=tuple(unique),
        weak_names=tuple(name for name in dict.fromkeys(weak) if name not in unique),
        dates_of_birth=tuple(dobs),
        nationalities=tuple(nationalities),
        programs=tuple(programs),
    )


def _required_id(element: etree._Element) -> str:
    entry_id = _text(element, "DATAID")
    if not entry_id:
        raise ListFormatError(f"a UN {element.tag} has no DATAID")
    return entry_id


def _aliases(element: etree._Element, tag: str) -> tuple[list[str], list[str]]:
    strong: list[str] = []
    weak: list[str] = []
    for alias in element.iterfind(tag):
        name = _text(alias, "ALIAS_NAME")
        if not name:
            continue
        (weak if (_text(alias, "QUALITY") or "").lower() == "low" else strong).append(name)
    return strong, weak


def _dob(element: etree._Element) -> DateOfBirth | None:
    kind = (_text(element, "TYPE_OF_DATE") or "").upper()
    if kind == "BETWEEN":
        start, end = _text(element, "FROM_YEAR"), _text(element, "TO_YEAR")
        if start and end and start.isdigit() and end.isdigit():
            return DateOfBirth(min(int(start), int(end)), max(int(start), int(end)))
        return None
    exact = _text(element, "DATE")
    if exact:
        return parse_iso_dob(exact)
    year = _text(element, "YEAR")
    if not year or not year.isdigit():
        return None
    if kind == "APPROXIMATELY":
        return DateOfBirth(int(year) - 1, int(year) + 1)
    return DateOfBirth(int(year), int(year))
