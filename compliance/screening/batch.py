"""Batch screening for operators and evaluation: score name pairs from a CSV, screen a CSV of people
against lists, and measure latency per name (count, throughput, p50/p95).

``score_pairs_file`` reads ``name1,name2`` (other columns are kept) and adds ``score`` and
``decision`` (``match``, ``review``, ``no_match``); when a ``label`` column (1/0) is present it also
reports precision, recall and F1 at the review and hit thresholds. ``screen_batch_file`` reads
``full_name`` with optional ``date_of_birth`` (ISO) and ``nationality`` and adds ``top_score``,
``decision`` (``clear``, ``review``, ``hit``) and the matched entry's list, id, name and alias.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from compliance.screening.errors import ListFormatError
from compliance.screening.matcher import name_score
from compliance.screening.model import Subject
from compliance.screening.normalise import normalise_name
from compliance.screening.screener import Screener, ScreeningConfig

__all__ = [
    "IndexBenchmark",
    "LatencyStats",
    "PairMetrics",
    "ScorePairsReport",
    "ScreenBatchReport",
    "benchmark_index",
    "latency_stats",
    "score_pairs_file",
    "screen_batch_file",
]

_PAIR_DECISIONS = {"hit": "match", "review": "review", "clear": "no_match"}


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Timing of a batch, per name."""

    count: int
    """Names processed."""
    seconds: float
    """Wall time of the whole batch, file reading and writing included."""
    p50_ms: float
    """Median time to score or screen one name."""
    p95_ms: float
    """95th percentile of the same."""
    max_ms: float
    """Slowest name."""

    @property
    def throughput(self) -> float:
        """Names per second of wall time."""
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        return (
            f"{self.count} names in {self.seconds:.2f} s ({self.throughput:.0f}/s); "
            f"latency per name p50 {self.p50_ms:.2f} ms, p95 {self.p95_ms:.2f} ms, max {self.max_ms:.2f} ms"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "seconds": round(self.seconds, 3),
            "throughputPerSecond": round(self.throughput, 1),
            "p50Ms": round(self.p50_ms, 3),
            "p95Ms": round(self.p95_ms, 3),
            "maxMs": round(self.max_ms, 3),
        }


def latency_stats(samples: list[float], wall_seconds: float) -> LatencyStats:
    """Stats from per-name durations in seconds (nearest-rank percentiles)."""
    if not samples:
        return LatencyStats(0, wall_seconds, 0.0, 0.0, 0.0)
    ordered = sorted(samples)

    def rank(share: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(-(-share * len(ordered) // 1)) - 1))] * 1000

    return LatencyStats(len(ordered), wall_seconds, rank(0.50), rank(0.95), ordered[-1] * 1000)


@dataclass(frozen=True, slots=True)
class PairMetrics:
    """Precision, recall and F1 of "same person" at one threshold."""

    threshold: float
    """Score at or above which a pair counts as the same person."""
    true_positives: int
    """Same person, flagged."""
    false_positives: int
    """Different people, flagged."""
    false_negatives: int
    """Same person, missed."""
    true_negatives: int
    """Different people, not flagged."""

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 0.0

    @property
    def recall(self) -> float:
        positives = self.true_positives + self.false_negatives
        return self.true_positives / positives if positives else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "truePositives": self.true_positives,
            "falsePositives": self.false_positives,
            "falseNegatives": self.false_negatives,
            "trueNegatives": self.true_negatives,
        }


@dataclass(frozen=True, slots=True)
class ScorePairsReport:
    """What :func:`score_pairs_file` measured."""

    stats: LatencyStats
    """Timing."""
    decisions: Counter[str]
    """Pairs per decision."""
    metrics: dict[str, PairMetrics] = field(default_factory=dict)
    """At ``review`` and ``hit`` thresholds, when the input had labels."""


@dataclass(frozen=True, slots=True)
class ScreenBatchReport:
    """What :func:`screen_batch_file` measured."""

    stats: LatencyStats
    """Timing."""
    decisions: Counter[str]
    """People per decision."""

    @property
    def alert_rate(self) -> float:
        """Share of people screened ``review`` or ``hit``."""
        total = sum(self.decisions.values())
        return (self.decisions["review"] + self.decisions["hit"]) / total if total else 0.0


def _read(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        missing = [column for column in required if column not in columns]
        if missing:
            raise ListFormatError(f"{path.name} lacks the column(s) {', '.join(missing)}")
        return columns, list(reader)


def _write(path: Path, columns: list[str], rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def score_pairs_file(
    in_path: Path, out_path: Path, config: ScreeningConfig | None = None
) -> ScorePairsReport:
    """Score every ``name1,name2`` pair of ``in_path`` into ``out_path``."""
    config = config or ScreeningConfig()
    started = time.perf_counter()
    columns, rows = _read(in_path, ("name1", "name2"))
    samples: list[float] = []
    scored: list[tuple[float, int | None]] = []
    decisions: Counter[str] = Counter()
    labelled = "label" in columns

    def produce() -> Iterator[dict[str, Any]]:
        for row in rows:
            began = time.perf_counter()
            score = name_score(normalise_name(row["name1"]), normalise_name(row["name2"]), config.matcher)
            samples.append(time.perf_counter() - began)
            decision = _PAIR_DECISIONS[_decide(score, config)]
            decisions[decision] += 1
            label = row.get("label", "").strip() if labelled else ""
            scored.append((score, int(label) if label in ("0", "1") else None))
            yield {**row, "score": f"{score:.4f}", "decision": decision}

    _write(out_path, [*columns, "score", "decision"], produce())
    stats = latency_stats(samples, time.perf_counter() - started)
    metrics: dict[str, PairMetrics] = {}
    if labelled:
        metrics = {
            "review": _metrics(scored, config.review_threshold),
            "hit": _metrics(scored, config.hit_threshold),
        }
    return ScorePairsReport(stats, decisions, metrics)


def _decide(score: float, config: ScreeningConfig) -> str:
    if score >= config.hit_threshold:
        return "hit"
    return "review" if score >= config.review_threshold else "clear"


def _metrics(scored: list[tuple[float, int | None]], threshold: float) -> PairMetrics:
    tp = fp = fn = tn = 0
    for score, label in scored:
        if label is None:
            continue
        flagged = score >= threshold
        tp += flagged and label == 1
        fp += flagged and label == 0
        fn += not flagged and label == 1
        tn += not flagged and label == 0
    return PairMetrics(threshold, tp, fp, fn, tn)


def screen_batch_file(screener: Screener, in_path: Path, out_path: Path) -> ScreenBatchReport:
    """Screen every person of ``in_path`` with ``screener`` into ``out_path``."""
    started = time.perf_counter()
    columns, rows = _read(in_path, ("full_name",))
    samples: list[float] = []
    decisions: Counter[str] = Counter()
    added = ["top_score", "decision", "matched_list", "matched_id", "matched_name", "matched_alias"]

    def produce() -> Iterator[dict[str, Any]]:
        for line, row in enumerate(rows, start=2):
            subject = Subject(
                full_name=row["full_name"],
                date_of_birth=_date(row.get("date_of_birth"), in_path, line),
                nationality=(row.get("nationality") or "").strip() or None,
            )
            began = time.perf_counter()
            result = screener.screen(subject)
            samples.append(time.perf_counter() - began)
            decisions[result.decision] += 1
            top = result.top_match
            yield {
                **row,
                "top_score": f"{result.top_score:.4f}",
                "decision": result.decision,
                "matched_list": top.list_name if top else "",
                "matched_id": top.entry_id if top else "",
                "matched_name": top.entry_name if top else "",
                "matched_alias": top.matched_name if top else "",
            }

    _write(out_path, [*columns, *added], produce())
    return ScreenBatchReport(latency_stats(samples, time.perf_counter() - started), decisions)


def _date(raw: str | None, path: Path, line: int) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ListFormatError(f"{path.name} line {line}: date_of_birth {text!r} is not YYYY-MM-DD") from None


@dataclass(frozen=True, slots=True)
class IndexBenchmark:
    """Screening latency through the index against a reference: scoring every listed name."""

    indexed: LatencyStats
    """Screening each name through the index."""
    full_scan: LatencyStats
    """The reference: the same matcher on every person name of the lists, for a sample of names."""

    @property
    def speedup_p95(self) -> float:
        """How many times faster the index is at the 95th percentile."""
        return self.full_scan.p95_ms / self.indexed.p95_ms if self.indexed.p95_ms else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "indexed": self.indexed.to_json(),
            "fullScan": self.full_scan.to_json(),
            "speedupP95": round(self.speedup_p95, 1),
        }


def benchmark_index(screener: Screener, names: list[str], scan_sample: int) -> IndexBenchmark:
    """Time :meth:`Screener.screen` on ``names``, and a full scan on the first ``scan_sample``."""
    started = time.perf_counter()
    indexed: list[float] = []
    for name in names:
        began = time.perf_counter()
        screener.screen(Subject(name))
        indexed.append(time.perf_counter() - began)
    indexed_stats = latency_stats(indexed, time.perf_counter() - started)
    everyone = [candidate.name for candidate in screener.index.persons.names]
    started = time.perf_counter()
    scanned: list[float] = []
    for name in names[:scan_sample]:
        began = time.perf_counter()
        query = normalise_name(name)
        max((name_score(query, candidate, screener.config.matcher) for candidate in everyone), default=0.0)
        scanned.append(time.perf_counter() - began)
    return IndexBenchmark(indexed_stats, latency_stats(scanned, time.perf_counter() - started))
