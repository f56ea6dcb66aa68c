"""Screening list loaders, chosen by a ``FORMAT:PATH`` spec (``ofac-csv:DIR``, ``un-xml:FILE``,
``pep-csv:FILE``) as the operator commands take them."""

from __future__ import annotations

from pathlib import Path

from compliance.screening.errors import ListFormatError
from compliance.screening.loaders.ofac import load_ofac_csv
from compliance.screening.loaders.pep import load_pep_csv
from compliance.screening.loaders.un import load_un_xml
from compliance.screening.model import ListSnapshot

__all__ = ["FORMATS", "load_list", "load_ofac_csv", "load_pep_csv", "load_un_xml"]

FORMATS = ("ofac-csv", "un-xml", "pep-csv")
"""The formats a spec may name."""


def load_list(spec: str, *, list_name: str | None = None) -> ListSnapshot:
    """Parse the list that ``spec`` (``FORMAT:PATH``) points at; ``list_name`` names a PEP list."""
    source_format, separator, raw_path = spec.partition(":")
    if not separator or source_format not in FORMATS or not raw_path:
        raise ListFormatError(f"a list is FORMAT:PATH with FORMAT one of {', '.join(FORMATS)}, not {spec!r}")
    path = Path(raw_path).expanduser()
    if source_format == "ofac-csv":
        if not path.is_dir():
            raise ListFormatError(f"{path} is not a directory of OFAC CSV files")
        return load_ofac_csv(path)
    if source_format == "un-xml":
        return load_un_xml(path)
    return load_pep_csv(path, list_name or "pep-local")
