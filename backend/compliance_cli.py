"""``korpu compliance ...``: the operators' screening tools.

- ``score-pairs`` and ``screen-batch`` work on files and lists given on the command line (no
  database): for evaluation and benchmarks, and for operators checking a list update.
- ``lists load`` stores a list file as a new version (with the sanity checks) in the database and,
  when the lists moved on since the last re-screening, re-screens everyone; ``lists show`` prints
  the current versions and whether a re-screening is due.
- ``rescreen`` re-screens every customer and payee against the stored lists and opens alerts
  for new findings (see backend/rescreen.py).
- ``random-names`` writes names of people on no list, to measure the alert rate.
Timings and counts go to stderr; with ``--json`` the last line on stdout is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click

__all__ = ["compliance"]

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_OUT = click.Path(dir_okay=False, writable=True, path_type=Path)


@click.group()
def compliance() -> None:
    """Compliance: sanctions and PEP screening lists and tools."""


def _config(review: float | None, hit: float | None) -> Any:
    from dataclasses import replace

    from compliance.screening import ScreeningConfig

    config = ScreeningConfig()
    if review is not None:
        config = replace(config, review_threshold=review)
    if hit is not None:
        config = replace(config, hit_threshold=hit)
    if not 0 < config.review_threshold <= config.hit_threshold <= 1:
        _stop("thresholds must satisfy 0 < review <= hit <= 1", status=2)
    return config


def _stop(message: str, *, status: int = 1) -> NoReturn:
    click.echo(f"korpu: error: {message}", err=True)
    sys.exit(status)


_thresholds = [
    click.option("--review-threshold", type=float, default=None, help="Override the review threshold."),
    click.option("--hit-threshold", type=float, default=None, help="Override the hit threshold."),
    click.option("--json", "as_json", is_flag=True, help="Print a JSON summary as the last line."),
]


def _with_thresholds(function: Any) -> Any:
    for option in reversed(_thresholds):
        function = option(function)
    return function


@compliance.command("score-pairs")
@click.option("--in", "in_path", type=_FILE, required=True, help="CSV with name1,name2 (and optional label).")
@click.option("--out", "out_path", type=_OUT, required=True, help="CSV to write, with score and decision.")
@_with_thresholds
def score_pairs(
    in_path: Path, out_path: Path, review_threshold: float | None, hit_threshold: float | None, as_json: bool
) -> None:
    """Score name pairs: match, review or no_match (and precision/recall/F1 if labelled)."""
    from compliance.screening import ListFormatError
    from compliance.screening.batch import score_pairs_file

    config = _config(review_threshold, hit_threshold)
    try:
        report = score_pairs_file(in_path, out_path, config)
    except ListFormatError as exc:
        _stop(str(exc))
    click.echo(report.stats.describe(), err=True)
    click.echo("decisions: " + ", ".join(f"{k} {v}" for k, v in sorted(report.decisions.items())), err=True)
    for name, metrics in report.metrics.items():
        click.echo(
            f"{name} threshold {metrics.threshold:.2f}: precision {metrics.precision:.3f}, "
            f"recall {metrics.recall:.3f}, F1 {metrics.f1:.3f} (TP {metrics.true_positives}, "
            f"FP {metrics.false_positives}, FN {metrics.false_negatives}, TN {metrics.true_negatives})",
            err=True,
        )
    if as_json:
        summary = {
            **report.stats.to_json(),
            "decisions": dict(report.decisions),
            "metrics": {name: metrics.to_json() for name, metrics in report.metrics.items()},
        }
        click.echo(json.dumps(summary))


@compliance.command("screen-batch")
@click.option(
    "--list",
    "lists",
    multiple=True,
    required=True,
    help="A list as FORMAT:PATH (ofac-csv:DIR, un-xml:FILE, pep-csv:FILE); repeat for several.",
)
@click.option(
    "--in", "in_path", type=_FILE, required=True, help="CSV with full_name[,date_of_birth,nationality]."
)
@click.option("--out", "out_path", type=_OUT, required=True, help="CSV to write, with decisions and matches.")
@_with_thresholds
def screen_batch(
    lists: tuple[str, ...],
    in_path: Path,
    out_path: Path,
    review_threshold: float | None,
    hit_threshold: float | None,
    as_json: bool,
) -> None:
    """Screen a CSV of people against list files: clear, review or hit."""
    from compliance.screening import ListFormatError
    from compliance.screening.batch import screen_batch_file

    screener = _batch_screener(lists, _config(review_threshold, hit_threshold))
    try:
        report = screen_batch_file(screener, in_path, out_path)
    except ListFormatError as exc:
        _stop(str(exc))
    click.echo(report.stats.describe(), err=True)
    click.echo(
        "decisions: "
        + ", ".join(f"{k} {report.decisions[k]}" for k in ("clear", "review", "hit"))
        + f"; alert rate {report.alert_rate:.2%}",
        err=True,
    )
    if as_json:
        summary = {
            **report.stats.to_json(),
            "lists": sorted(screener.list_versions),
            "entries": screener.index.entry_count,
            "decisions": {k: report.decisions[k] for k in ("clear", "review", "hit")},
            "alertRate": round(report.alert_rate, 5),
        }
        click.echo(json.dumps(summary))


@compliance.command("bench-index")
@click.option(
    "--list", "lists", multiple=True, required=True, help="A list as FORMAT:PATH; repeat for several."
)
@click.option("--count", type=click.IntRange(1, 100_000), default=2000, show_default=True)
@click.option("--scan-sample", type=click.IntRange(1, 10_000), default=40, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary as the last line.")
def bench_index(lists: tuple[str, ...], count: int, scan_sample: int, seed: int, as_json: bool) -> None:
    """Screening latency through the index, against scoring every listed name (the reference)."""
    from compliance.screening.batch import benchmark_index
    from compliance.screening.synthetic import random_people

    screener = _batch_screener(lists, _config(None, None))
    report = benchmark_index(screener, random_people(count, seed), scan_sample)
    click.echo(f"indexed:   {report.indexed.describe()}", err=True)
    click.echo(f"full scan: {report.full_scan.describe()}", err=True)
    click.echo(f"index is {report.speedup_p95:.0f}x faster at p95", err=True)
    if as_json:
        click.echo(json.dumps(report.to_json()))


def _batch_screener(lists: tuple[str, ...], config: Any) -> Any:
    from compliance.screening import ListFormatError, Screener, load_list
    from compliance.screening.index import ScreeningIndex

    started = time.perf_counter()
    snapshots = {}
    try:
        for spec in lists:
            snapshot = load_list(spec)
            if snapshot.list_name in snapshots:
                _stop(f"two lists named {snapshot.list_name}")
            snapshots[snapshot.list_name] = (1, snapshot)
    except ListFormatError as exc:
        _stop(str(exc))
    index = ScreeningIndex(snapshots)
    click.echo(
        f"loaded {index.entry_count} entries ({len(index.persons)} person names) from "
        f"{', '.join(sorted(snapshots))} in {time.perf_counter() - started:.2f} s",
        err=True,
    )
    # Fingerprints are not kept by a batch run, so a throw-away key does.
    return Screener(index, fingerprint_key=os.urandom(32), config=config)


@compliance.command("random-names")
@click.option("--count", type=click.IntRange(1, 1_000_000), default=2000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--out", "out_path", type=_OUT, required=True, help="CSV to write (full_name).")
def random_names(count: int, seed: int, out_path: Path) -> None:
    """Write random names of people on no list (Azerbaijani, Russian, Turkish... name parts)."""
    from compliance.screening.synthetic import write_random_people

    write_random_people(out_path, count, seed)
    click.echo(f"{count} names written to {out_path}", err=True)


@compliance.group("lists")
def lists_group() -> None:
    """Stored screening list versions."""


@lists_group.command("load")
@click.argument("spec")
@click.option("--name", "list_name", default=None, help="Name of a PEP list (pep-...); default pep-local.")
@click.option("--max-shrink", type=click.FloatRange(0, 1), default=0.10, show_default=True)
@click.option("--allow-shrink", is_flag=True, help="Accept a list that shrank more than --max-shrink.")
@click.option("--by", "loaded_by", default=None, help="Who loads it (kept with the version).")
@click.option("--no-rescreen", is_flag=True, help="Do not re-screen now even if the lists moved on.")
def lists_load(
    spec: str,
    list_name: str | None,
    max_shrink: float,
    allow_shrink: bool,
    loaded_by: str | None,
    no_rescreen: bool,
) -> None:
    """Store the list at SPEC (FORMAT:PATH) as a new version, after sanity checks."""
    from backend.cli import _settings
    from backend.db import create_engine
    from compliance.screening import ListFormatError, ListRejected, SanityPolicy, load_list, store_snapshot

    try:
        snapshot = load_list(spec, list_name=list_name)
    except ListFormatError as exc:
        _stop(str(exc))
    settings = _settings()

    async def run() -> Any:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            async with engine.begin() as conn:
                return await store_snapshot(
                    conn,
                    snapshot,
                    policy=SanityPolicy(max_shrink=max_shrink),
                    allow_shrink=allow_shrink,
                    source_label=Path(spec.partition(":")[2]).name[:255],
                    loaded_by=loaded_by,
                )
        finally:
            await engine.dispose()

    try:
        outcome = asyncio.run(run())
    except ListRejected as exc:
        _stop(str(exc))
    if not outcome.changed:
        click.echo(f"{outcome.list_name}: unchanged, version {outcome.version} stays current")
    else:
        was = "" if outcome.previous_count is None else f", was {outcome.previous_count}"
        click.echo(
            f"{outcome.list_name}: version {outcome.version} stored ({outcome.entry_count} entries{was})"
        )
    if no_rescreen:
        return
    try:
        summary = asyncio.run(_rescreen(settings, only_if_due=True))
    except Exception as exc:
        _stop(
            f"the list is stored but re-screening failed ({type(exc).__name__}: {exc}); "
            "run `korpu compliance rescreen`"
        )
    if summary is None:
        click.echo("re-screening not due: the lists are those of the last completed re-screening")
    else:
        click.echo(_describe_rescreen(summary))


def _describe_rescreen(summary: dict[str, Any]) -> str:
    versions = ", ".join(f"{name} v{version}" for name, version in sorted(summary["listVersions"].items()))
    return (
        f"re-screening job {summary['job']}: {summary['subjects']} customers and payees against "
        f"{versions}: {summary['reviews']} review, {summary['hits']} hit; "
        f"{summary['alertsOpened']} new alerts"
    )


async def _rescreen(settings: Any, *, only_if_due: bool) -> dict[str, Any] | None:
    """Re-screen everyone against the stored lists; ``None`` when ``only_if_due`` and not due."""
    from backend.db import create_engine
    from backend.identity.keys import PersonalData
    from backend.screening import build_screener, rescreen_everyone
    from compliance.screening import refresh_screener, rescreen_due

    engine = create_engine(settings.database_url, null_pool=True)
    try:
        screener = build_screener(settings)
        async with engine.connect() as conn:
            due = await rescreen_due(conn)
            await refresh_screener(conn, screener)
        if only_if_due and not due:
            return None
        if screener.index.is_empty:
            _stop("no screening list loaded: load one with `korpu compliance lists load FORMAT:PATH`")

        def progress(job: Any) -> None:
            click.echo(f"re-screened {job.subjects_done} ({job.reviews} review, {job.hits} hit)", err=True)

        report = await rescreen_everyone(
            engine, screener, PersonalData.from_settings(settings), progress_cb=progress
        )
    finally:
        await engine.dispose()
    job = report.job
    return {
        "job": job.id,
        "status": job.status,
        "listVersions": dict(job.list_versions),
        "subjects": job.subjects_done,
        "reviews": job.reviews,
        "hits": job.hits,
        "alertsOpened": report.alerts_opened,
    }


@compliance.command("rescreen")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary as the last line.")
def rescreen(as_json: bool) -> None:
    """Re-screen every customer and payee against the stored lists; alert on new findings."""
    from backend.cli import _settings

    summary = asyncio.run(_rescreen(_settings(), only_if_due=False))
    assert summary is not None
    click.echo(_describe_rescreen(summary))
    if as_json:
        click.echo(json.dumps(summary))


@lists_group.command("show")
def lists_show() -> None:
    """Print the current version of every list and whether a re-screening is due."""
    from backend.cli import _settings
    from backend.db import create_engine
    from compliance.screening import current_versions, rescreen_due

    settings = _settings()

    async def run() -> tuple[Any, bool]:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            async with engine.connect() as conn:
                return await current_versions(conn), await rescreen_due(conn)
        finally:
            await engine.dispose()

    versions, due = asyncio.run(run())
    if not versions:
        click.echo("no screening list loaded")
        return
    for info in versions.values():
        click.echo(
            f"{info.list_name:<12} version {info.version:<4} {info.entry_count:>6} entries  "
            f"{info.source_format:<8} {info.source_label or '-':<30} published {info.published or '-':<26} "
            f"loaded {info.loaded_at:%Y-%m-%d %H:%M}  sha256 {info.checksum[:12]}"
        )
    click.echo(f"re-screening due: {'yes' if due else 'no'}")
