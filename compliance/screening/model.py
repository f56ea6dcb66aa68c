"""The values of screening: who is screened, what a list entry holds, what a screening found.

Everything here is immutable. A list snapshot serialises to a canonical JSON document whose
SHA-256 is its checksum; an entry's fingerprint is the SHA-256 of the part of it that matching
uses (names, dates of birth, nationalities), so a cleared match comes back when that part changes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

__all__ = [
    "DateOfBirth",
    "Decision",
    "EntryKind",
    "ListEntry",
    "ListSnapshot",
    "Match",
    "ScreeningResult",
    "Subject",
]

Decision = Literal["clear", "review", "hit"]
EntryKind = Literal["person", "organisation", "vessel", "aircraft"]
Agreement = Literal["exact", "year", "near", "conflict"]


@dataclass(frozen=True, slots=True)
class DateOfBirth:
    """A date of birth as lists give it: a day, a month, a year, or a range of years."""

    year_from: int
    """First possible year."""
    year_to: int
    """Last possible year (equal to ``year_from`` unless the list gives a range or "circa")."""
    month: int | None = None
    """Month, when known."""
    day: int | None = None
    """Day of month, when known."""

    def agreement(self, other: date) -> Agreement:
        """How ``other`` agrees with this date: to the day, the year, one year off, or not at all."""
        if self.year_from <= other.year <= self.year_to:
            if self.year_from == self.year_to and self.month == other.month and self.day == other.day:
                return "exact"
            if self.month is not None and self.day is not None and self.year_from == self.year_to:
                return "near" if (self.month, self.day) != (other.month, other.day) else "exact"
            return "year"
        if self.year_from - 1 <= other.year <= self.year_to + 1:
            return "near"
        return "conflict"

    def to_json(self) -> list[int | None]:
        return [self.year_from, self.year_to, self.month, self.day]

    @classmethod
    def from_json(cls, raw: list[int | None]) -> DateOfBirth:
        year_from, year_to, month, day = raw
        if year_from is None or year_to is None:
            raise ValueError("a date of birth needs its years")
        return cls(year_from, year_to, month, day)


@dataclass(frozen=True, slots=True)
class Subject:
    """A customer or recipient to screen."""

    full_name: str
    """The name as the person gave it, in any script."""
    date_of_birth: date | None = None
    """Raises the score when it agrees with the list, lowers it when it clearly does not."""
    nationality: str | None = None
    """ISO 3166-1 alpha-2 code (or a country name, normalised when screened)."""

    def fingerprint(self, key: bytes) -> str:
        """Keyed hash of the data screening uses: a change of name, birth date or nationality
        changes it, so a cleared match alerts again. Keyed so the hash does not reveal the name."""
        name = " ".join(unicodedata.normalize("NFC", self.full_name).casefold().split())
        payload = json.dumps(
            [name, self.date_of_birth.isoformat() if self.date_of_birth else None, self.nationality],
            ensure_ascii=False,
        )
        return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One designated person or organisation of a screening list."""

    list_name: str
    """The list it comes from (``ofac-sdn``, ``ofac-cons``, ``un-sc``, ``pep-...``)."""
    entry_id: str
    """Its identifier on that list (OFAC ``ent_num``, UN ``DATAID``, the PEP file's ``id``)."""
    kind: EntryKind
    """Person, organisation, vessel or aircraft; persons are screened against persons."""
    names: tuple[str, ...]
    """Primary name first, then strong aliases."""
    weak_names: tuple[str, ...] = ()
    """Low-quality aliases (OFAC weak a.k.a., UN "Low"): screened, but never a hit on their own."""
    dates_of_birth: tuple[DateOfBirth, ...] = ()
    """Known dates of birth."""
    nationalities: tuple[str, ...] = ()
    """ISO 3166-1 alpha-2 codes of nationality or citizenship."""
    programs: tuple[str, ...] = ()
    """Sanctions programmes or PEP positions, for the officer."""

    @property
    def key(self) -> str:
        """Stable key across list versions: ``list_name:entry_id``."""
        return f"{self.list_name}:{self.entry_id}"

    @property
    def primary_name(self) -> str:
        return self.names[0]

    def fingerprint(self) -> str:
        """SHA-256 of what matching uses; changes when the entry's names, births or nationality do."""
        payload = json.dumps(
            [
                self.kind,
                sorted(self.names),
                sorted(self.weak_names),
                sorted(dob.to_json() for dob in self.dates_of_birth),  # type: ignore[type-var]
                sorted(self.nationalities),
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.entry_id,
            "kind": self.kind,
            "names": list(self.names),
            "weak": list(self.weak_names),
            "dob": [dob.to_json() for dob in self.dates_of_birth],
            "nat": list(self.nationalities),
            "prog": list(self.programs),
        }

    @classmethod
    def from_json(cls, list_name: str, raw: Mapping[str, Any]) -> ListEntry:
        return cls(
            list_name=list_name,
            entry_id=raw["id"],
            kind=raw["kind"],
            names=tuple(raw["names"]),
            weak_names=tuple(raw["weak"]),
            dates_of_birth=tuple(DateOfBirth.from_json(d) for d in raw["dob"]),
            nationalities=tuple(raw["nat"]),
            programs=tuple(raw["prog"]),
        )


@dataclass(frozen=True, slots=True)
class ListSnapshot:
    """A whole list as parsed from one publication."""

    list_name: str
    """Which list (``ofac-sdn``...)."""
    source_format: str
    """The format it was read from (``ofac-csv``, ``un-xml``, ``pep-csv``)."""
    entries: tuple[ListEntry, ...]
    """Its entries in publication order."""
    published: str | None = None
    """The publisher's own date or stamp, when the file carries one."""
    _canonical: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def canonical_json(self) -> bytes:
        """The entries as canonical JSON: equal lists give equal bytes."""
        if self._canonical is None:
            document = [entry.to_json() for entry in self.entries]
            encoded = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
            object.__setattr__(self, "_canonical", encoded)
        assert self._canonical is not None
        return self._canonical

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.canonical_json()).hexdigest()

    def compressed(self) -> bytes:
        return zlib.compress(self.canonical_json(), 6)

    @classmethod
    def from_compressed(
        cls, list_name: str, source_format: str, blob: bytes, published: str | None = None
    ) -> ListSnapshot:
        document = json.loads(zlib.decompress(blob))
        entries = tuple(ListEntry.from_json(list_name, raw) for raw in document)
        return cls(list_name=list_name, source_format=source_format, entries=entries, published=published)


@dataclass(frozen=True, slots=True)
class Match:
    """One list entry that a subject resembles."""

    entry_key: str
    """``list_name:entry_id``."""
    list_name: str
    """The list the entry is on."""
    entry_id: str
    """The entry's id on that list."""
    entry_name: str
    """The entry's primary name."""
    matched_name: str
    """The name or alias of the entry that matched best."""
    score: float
    """Name score adjusted by date of birth and nationality, 0 to 1."""
    name_score: float
    """Name score alone."""
    decision: Decision
    """What this match alone calls for."""
    entry_fingerprint: str
    """See :meth:`ListEntry.fingerprint`."""
    reasons: tuple[str, ...] = ()
    """Why the score moved (``date_of_birth_conflict``, ``weak_alias``...)."""
    cleared: bool = False
    """An officer cleared this match for this subject and these data before."""

    def to_json(self) -> dict[str, Any]:
        return {
            "entryKey": self.entry_key,
            "list": self.list_name,
            "entryId": self.entry_id,
            "entryName": self.entry_name,
            "matchedName": self.matched_name,
            "score": round(self.score, 4),
            "nameScore": round(self.name_score, 4),
            "decision": self.decision,
            "entryFingerprint": self.entry_fingerprint,
            "reasons": list(self.reasons),
            "cleared": self.cleared,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Match:
        return cls(
            entry_key=raw["entryKey"],
            list_name=raw["list"],
            entry_id=raw["entryId"],
            entry_name=raw["entryName"],
            matched_name=raw["matchedName"],
            score=float(raw["score"]),
            name_score=float(raw["nameScore"]),
            decision=raw["decision"],
            entry_fingerprint=raw["entryFingerprint"],
            reasons=tuple(raw["reasons"]),
            cleared=bool(raw["cleared"]),
        )


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    """The outcome of screening one subject against every loaded list."""

    decision: Decision
    """``hit`` or ``review`` from the first match that is not cleared, else ``clear``."""
    top_score: float
    """Score of that match (0 when there is none)."""
    matches: tuple[Match, ...]
    """Matches at or above the review threshold, hits first, then by score (cleared ones included,
    flagged)."""
    list_versions: Mapping[str, int]
    """Version of every list this screening used, e.g. ``{"ofac-sdn": 3, "un-sc": 2}``."""
    subject_fingerprint: str
    """See :meth:`Subject.fingerprint`."""

    @property
    def top_match(self) -> Match | None:
        live = [match for match in self.matches if not match.cleared]
        return live[0] if live else None

    def alert_reasons(self) -> list[dict[str, Any]]:
        """The live matches as alert reasons (JSON objects with a ``reason`` text), for
        ``compliance.cases.open_alert(..., source="screening", reasons=...)``."""
        return [
            {
                "reason": f"screening_{match.decision}",
                **match.to_json(),
                "listVersions": dict(self.list_versions),
            }
            for match in self.matches
            if not match.cleared
        ]
