"""The process-wide screener: screens a subject against the current index, and swaps in a new
index atomically when a list version changes.

Atomicity: the index is an immutable object behind one attribute. :meth:`Screener.screen` reads
that attribute once, so a screening that runs while a new version is swapped in uses the old index
from start to end, and its ``list_versions`` say so; the next screening uses the new one. Building
the new index happens off to the side (in a worker thread when refreshed from the database).

Results kept: a screening depends only on the index and the subject, and the same people are
screened again and again (a sender on each of their transfers, a family on each transfer home), so
each index keeps the results it gave, by subject, up to ``ScreeningConfig.results_kept`` (the
oldest forgotten first). The results belong to the index: a new list version starts with none, so
a name added to a list is never answered from before it was there.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field, replace
from threading import Lock

from compliance.screening.countries import country_code
from compliance.screening.errors import ScreeningNotReady
from compliance.screening.index import IndexedName, NameIndex, ScreeningIndex
from compliance.screening.matcher import MatcherConfig, evidence_adjustment, name_score
from compliance.screening.model import Decision, ListEntry, Match, ScreeningResult, Subject
from compliance.screening.normalise import NormalisedName, normalise_name

__all__ = ["Screener", "ScreeningConfig", "decide", "derive_fingerprint_key"]


@dataclass(frozen=True, slots=True)
class ScreeningConfig:
    """Thresholds and limits of screening."""

    review_threshold: float = 0.75
    """A match scoring at least this is shown to an officer (``review``)."""
    hit_threshold: float = 0.90
    """A match scoring at least this blocks until an officer decides (``hit``)."""
    max_candidates: int = 60
    """Names retrieved from the index and scored in full per query."""
    max_matches: int = 10
    """Matches kept in a result (strongest first)."""
    results_kept: int = 10_000
    """Screenings remembered per index, by subject (0: none); see the module's docstring."""
    matcher: MatcherConfig = field(default_factory=MatcherConfig)
    """Name scoring knobs."""


def derive_fingerprint_key(secret_key: bytes) -> bytes:
    """The key of subject fingerprints, derived from the service secret (so it is stable across
    processes and restarts, and distinct from every other use of that secret)."""
    return hmac.new(secret_key, b"korpu.screening.subject-fingerprint.v1", hashlib.sha256).digest()


def decide(score: float, config: ScreeningConfig) -> Decision:
    """``hit``, ``review`` or ``clear`` for a score."""
    if score >= config.hit_threshold:
        return "hit"
    if score >= config.review_threshold:
        return "review"
    return "clear"


class _Current:
    """An index and the results it gave, swapped in and out together."""

    __slots__ = ("index", "results")

    def __init__(self, index: ScreeningIndex) -> None:
        self.index = index
        self.results: dict[Subject, ScreeningResult] = {}


class Screener:
    """Screens subjects against whichever index is current; one per process."""

    def __init__(
        self,
        index: ScreeningIndex | None = None,
        *,
        fingerprint_key: bytes,
        config: ScreeningConfig | None = None,
    ) -> None:
        self._current = _Current(index or ScreeningIndex.empty())
        self._fingerprint_key = fingerprint_key
        self.config = config or ScreeningConfig()
        self._swap_lock = Lock()

    @property
    def index(self) -> ScreeningIndex:
        return self._current.index

    @property
    def list_versions(self) -> dict[str, int]:
        return dict(self._current.index.list_versions)

    def swap(self, index: ScreeningIndex) -> ScreeningIndex:
        """Make ``index`` current; returns the one it replaced."""
        with self._swap_lock:
            previous, self._current = self._current.index, _Current(index)
        return previous

    def pinned(self) -> Screener:
        """A screener fixed on the current index (a later swap does not reach it); it shares the
        index's kept results."""
        pinned = type(self)(fingerprint_key=self._fingerprint_key, config=self.config)
        pinned._current = self._current
        return pinned

    def fingerprint(self, subject: Subject) -> str:
        return subject.fingerprint(self._fingerprint_key)

    def screen(self, subject: Subject) -> ScreeningResult:
        """Screen one person against every current list; raises :class:`ScreeningNotReady` when
        no list is loaded (an empty screening must never look like a clear one)."""
        current = self._current  # read once: a swap meanwhile does not mix two indexes
        index = current.index
        if index.is_empty:
            raise ScreeningNotReady("no screening list is loaded")
        kept = current.results.get(subject)
        if kept is not None:
            return replace(kept, list_versions=dict(kept.list_versions))
        result = self._screen(index, subject)
        limit = self.config.results_kept
        if limit > 0:
            if len(current.results) >= limit:
                current.results.pop(next(iter(current.results)), None)
            current.results[subject] = result
            return replace(result, list_versions=dict(result.list_versions))
        return result

    def _screen(self, index: ScreeningIndex, subject: Subject) -> ScreeningResult:
        nationality = country_code(subject.nationality) if subject.nationality else None
        query = normalise_name(subject.full_name)
        matches = self._matches(index.persons, query, subject, nationality)
        live = [match for match in matches if not match.cleared]
        top = live[0] if live else None
        return ScreeningResult(
            decision=top.decision if top else "clear",
            top_score=top.score if top else 0.0,
            matches=tuple(matches),
            list_versions=dict(index.list_versions),
            subject_fingerprint=self.fingerprint(subject),
        )

    def _matches(
        self,
        names: NameIndex,
        query: NormalisedName,
        subject: Subject,
        nationality: str | None,
    ) -> list[Match]:
        """Matches at or above the review threshold, most severe decision first, then by score
        (a weak alias capped at ``review`` never hides a ``hit`` of another entry)."""
        config = self.config
        best: dict[str, tuple[float, float, IndexedName, tuple[str, ...]]] = {}
        for candidate in names.candidates(query, config.max_candidates):
            base = name_score(query, candidate.name, config.matcher)
            if base <= 0.0:
                continue
            entry = candidate.entry
            delta, reasons = evidence_adjustment(
                subject.date_of_birth, nationality, entry.dates_of_birth, entry.nationalities, config.matcher
            )
            score = min(1.0, max(0.0, base + delta))
            previous = best.get(entry.key)
            if previous is None or score > previous[0]:
                best[entry.key] = (score, base, candidate, reasons)
        matches = [
            self._match(candidate.entry, candidate, score, base, reasons)
            for score, base, candidate, reasons in best.values()
            if score >= config.review_threshold
        ]
        matches.sort(key=lambda match: (match.decision == "hit", match.score), reverse=True)
        return matches[: config.max_matches]

    def _match(
        self, entry: ListEntry, candidate: IndexedName, score: float, base: float, reasons: tuple[str, ...]
    ) -> Match:
        decision = decide(score, self.config)
        if candidate.weak:
            reasons = (*reasons, "weak_alias")
            if decision == "hit":
                decision = "review"
        return Match(
            entry_key=entry.key,
            list_name=entry.list_name,
            entry_id=entry.entry_id,
            entry_name=entry.primary_name,
            matched_name=candidate.name.original,
            score=score,
            name_score=base,
            decision=decision,
            entry_fingerprint=entry.fingerprint(),
            reasons=reasons,
        )
