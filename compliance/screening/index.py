"""The in-memory screening index: every name of every loaded list, normalised once, with inverted
indexes that find the few entries worth scoring for a query instead of scanning them all.

Retrieval, per query token, looks up:
- the token's phonetic key (same name in another spelling or script);
- keys within one or two edits through a symmetric-deletion map (SymSpell's trick: a key and every
  key with one letter deleted point to the original keys), so typos still retrieve;
- for a patronymic, the father's name; for Arabic-script tokens, the consonant skeleton.
Each hit adds the posting's inverse document frequency (rare surnames count more than "Mohammed"),
and only the best ``max_candidates`` names are scored in full by the matcher.

An index is immutable: a new list version builds a new index, and the screener swaps it in whole.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from operator import itemgetter
from types import MappingProxyType

from compliance.screening.model import EntryKind, ListEntry, ListSnapshot
from compliance.screening.normalise import NormalisedName, TokenRole, normalise_name

__all__ = ["IndexedName", "NameIndex", "ScreeningIndex"]

_FUZZY_WEIGHT = 0.6
_STEM_WEIGHT = 0.8
_SKELETON_WEIGHT = 0.7
_MIN_FUZZY_LENGTH = 4
_MIN_SKELETON_LENGTH = 3


@dataclass(frozen=True, slots=True)
class IndexedName:
    """One name (primary or alias) of one entry."""

    entry: ListEntry
    """The entry it names."""
    name: NormalisedName
    """The name, normalised."""
    weak: bool
    """A low-quality alias."""


class NameIndex:
    """Inverted indexes over the names of entries of some kinds."""

    def __init__(self, entries: Iterable[ListEntry]) -> None:
        names: list[IndexedName] = []
        for entry in entries:
            for raw, weak in [(n, False) for n in entry.names] + [(n, True) for n in entry.weak_names]:
                normalised = normalise_name(raw)
                if not normalised.is_empty:
                    names.append(IndexedName(entry, normalised, weak))
        self.names: tuple[IndexedName, ...] = tuple(names)
        keys: defaultdict[str, set[int]] = defaultdict(set)
        skeletons: defaultdict[str, set[int]] = defaultdict(set)
        for position, indexed in enumerate(names):
            for token in indexed.name.tokens:
                if token.role is TokenRole.INITIAL:
                    continue
                keys[token.key].add(position)
                if token.stem_key != token.key:
                    keys[token.stem_key].add(position)
                if len(token.skeleton) >= _MIN_SKELETON_LENGTH:
                    skeletons[token.skeleton].add(position)
        total = max(len(names), 1)
        self._keys = {key: tuple(sorted(postings)) for key, postings in keys.items()}
        self._key_idf = {key: math.log(1 + total / len(postings)) for key, postings in keys.items()}
        self._skeletons = {key: tuple(sorted(postings)) for key, postings in skeletons.items()}
        self._skeleton_idf = {key: math.log(1 + total / len(postings)) for key, postings in skeletons.items()}
        deletions: defaultdict[str, set[str]] = defaultdict(set)
        for key in self._keys:
            if len(key) >= _MIN_FUZZY_LENGTH:
                for deleted in _deletions(key):
                    deletions[deleted].add(key)
        self._deletions = {deleted: tuple(sorted(found)) for deleted, found in deletions.items()}

    def __len__(self) -> int:
        return len(self.names)

    def candidates(self, query: NormalisedName, limit: int) -> list[IndexedName]:
        """The ``limit`` names that share the most (and the rarest) tokens with ``query``."""
        scores: defaultdict[int, float] = defaultdict(float)
        for token in query.tokens:
            if token.role is TokenRole.INITIAL:
                continue
            best: dict[int, float] = {}
            for postings, weight in self._lookups(token.key, token.stem_key, token.skeleton, token.abjad):
                for position in postings:
                    if weight > best.get(position, 0.0):
                        best[position] = weight
            for position, weight in best.items():
                scores[position] += weight
        top = heapq.nlargest(limit, scores.items(), key=itemgetter(1))
        return [self.names[position] for position, _ in top]

    def _lookups(
        self, key: str, stem_key: str, skeleton: str, abjad: bool
    ) -> Iterator[tuple[tuple[int, ...], float]]:
        if abjad:
            if skeleton in self._skeletons:
                yield self._skeletons[skeleton], self._skeleton_idf[skeleton]
            return
        if key in self._keys:
            yield self._keys[key], self._key_idf[key]
        if stem_key != key and stem_key in self._keys:
            yield self._keys[stem_key], _STEM_WEIGHT * self._key_idf[stem_key]
        if len(key) >= _MIN_FUZZY_LENGTH:
            near: set[str] = set()
            for deleted in (key, *_deletions(key)):
                near.update(self._deletions.get(deleted, ()))
                if deleted != key and deleted in self._keys:
                    near.add(deleted)
            near.discard(key)
            for other in near:
                yield self._keys[other], _FUZZY_WEIGHT * self._key_idf[other]
        if len(skeleton) >= _MIN_SKELETON_LENGTH and skeleton in self._skeletons:
            yield self._skeletons[skeleton], _SKELETON_WEIGHT * 0.5 * self._skeleton_idf[skeleton]


def _deletions(key: str) -> set[str]:
    return {key[:i] + key[i + 1 :] for i in range(len(key))}


_PERSON_KINDS: frozenset[EntryKind] = frozenset({"person"})
_ORGANISATION_KINDS: frozenset[EntryKind] = frozenset({"organisation"})


class ScreeningIndex:
    """Every current list, indexed: what one screening reads, never changed once built."""

    def __init__(self, snapshots: Mapping[str, tuple[int, ListSnapshot]]) -> None:
        """``snapshots`` maps a list name to its (version, snapshot)."""
        self.list_versions: Mapping[str, int] = MappingProxyType(
            {name: version for name, (version, _) in sorted(snapshots.items())}
        )
        entries = [entry for _, snapshot in snapshots.values() for entry in snapshot.entries]
        self.entry_count = len(entries)
        self.persons = NameIndex(entry for entry in entries if entry.kind in _PERSON_KINDS)
        self.organisations = NameIndex(entry for entry in entries if entry.kind in _ORGANISATION_KINDS)

    @classmethod
    def empty(cls) -> ScreeningIndex:
        return cls({})

    @property
    def is_empty(self) -> bool:
        return self.entry_count == 0
