"""Who decides in compliance: an officer as the libraries see them (an actor name and roles)."""

from __future__ import annotations

from dataclasses import dataclass

from compliance.errors import ComplianceError

__all__ = ["OFFICER_ROLES", "NotAnOfficer", "Officer"]

OFFICER_ROLES = frozenset({"officer", "senior_officer"})


class NotAnOfficer(ComplianceError):
    code = "officer_required"
    status = 403


@dataclass(frozen=True, slots=True)
class Officer:
    """The staff member deciding."""

    actor: str
    """How the audit trail names them, e.g. ``staff:7``."""
    roles: frozenset[str]
    """Their roles; ``officer`` or ``senior_officer`` is needed to decide (``admin`` is not enough)."""

    @property
    def is_senior(self) -> bool:
        return "senior_officer" in self.roles

    def require_officer(self) -> None:
        if not self.roles & OFFICER_ROLES:
            raise NotAnOfficer("only officers and senior officers decide compliance matters")
