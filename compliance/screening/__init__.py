"""Sanctions and PEP screening: list loaders, name normalisation and matching, the in-memory
index, versioned list snapshots, the cleared-match memory, screening results and re-screening.

The transfer flow uses :class:`Screener` (one per process), :func:`screen_subject` or
:meth:`Screener.screen` with :func:`record_screening`, and :func:`is_cleared`/:func:`clear_match`;
the back office uses :func:`screening_history`, :func:`current_versions`,
:func:`list_version_history` and :func:`rescreen_jobs`.
"""

from compliance.screening.errors import ListFormatError, ListRejected, ScreeningError, ScreeningNotReady
from compliance.screening.loaders import load_list
from compliance.screening.memory import apply_cleared_memory, clear_match, is_cleared
from compliance.screening.model import (
    DateOfBirth,
    Decision,
    ListEntry,
    ListSnapshot,
    Match,
    ScreeningResult,
    Subject,
)
from compliance.screening.rescreen import (
    RescreenJob,
    latest_rescreen_versions,
    rescreen_all,
    rescreen_due,
    rescreen_job,
    rescreen_jobs,
)
from compliance.screening.results import (
    ScreeningRecord,
    record_screening,
    record_screenings,
    rescreen_findings,
    screen_subject,
    screen_subjects,
    screening_history,
    screening_record,
)
from compliance.screening.screener import Screener, ScreeningConfig, derive_fingerprint_key
from compliance.screening.store import (
    ListVersionInfo,
    LoadOutcome,
    SanityPolicy,
    build_current_index,
    current_versions,
    list_version_history,
    refresh_screener,
    store_snapshot,
)

__all__ = [
    "DateOfBirth",
    "Decision",
    "ListEntry",
    "ListFormatError",
    "ListRejected",
    "ListSnapshot",
    "ListVersionInfo",
    "LoadOutcome",
    "Match",
    "RescreenJob",
    "SanityPolicy",
    "Screener",
    "ScreeningConfig",
    "ScreeningError",
    "ScreeningNotReady",
    "ScreeningRecord",
    "ScreeningResult",
    "Subject",
    "apply_cleared_memory",
    "build_current_index",
    "clear_match",
    "current_versions",
    "derive_fingerprint_key",
    "is_cleared",
    "latest_rescreen_versions",
    "list_version_history",
    "load_list",
    "record_screening",
    "record_screenings",
    "refresh_screener",
    "rescreen_all",
    "rescreen_due",
    "rescreen_findings",
    "rescreen_job",
    "rescreen_jobs",
    "screen_subject",
    "screen_subjects",
    "screening_history",
    "screening_record",
    "store_snapshot",
]
