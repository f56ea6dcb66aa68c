"""Domain errors of screening, each with a stable ``code`` and the HTTP ``status`` it maps to."""

from __future__ import annotations

__all__ = ["ListFormatError", "ListRejected", "ScreeningError", "ScreeningNotReady"]


class ScreeningError(Exception):
    """Base class: ``str(error)`` is a message safe to show to an operator."""

    code = "screening_error"
    status = 500


class ListFormatError(ScreeningError):
    """A list file that is not in the format it claims (missing file, column or element)."""

    code = "screening_list_unreadable"
    status = 422


class ListRejected(ScreeningError):
    """A list that failed the sanity checks: empty, or shrunk by more than the allowed share."""

    code = "screening_list_rejected"
    status = 422

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
        """``empty`` or ``shrank``."""


class ScreeningNotReady(ScreeningError):
    """Screening was asked for before any list was loaded: refusing beats answering "clear"."""

    code = "screening_not_ready"
    status = 503
