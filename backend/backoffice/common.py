"""Shared pieces of the back-office controllers: camelCase schemas, cursor pages, the officer."""

from __future__ import annotations

from typing import TypeVar

from litestar.datastructures import State
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from backend.problems import Problem
from backend.staff.guards import StaffPrincipal, require_roles
from compliance.kyc_review import KycVault
from compliance.officers import Officer
from compliance.privacy import BlindIndex, Sealer

__all__ = [
    "OFFICERS",
    "Camel",
    "after_id",
    "next_cursor",
    "officer_of",
    "vault_of",
]

T = TypeVar("T")

OFFICERS = [require_roles("officer", "senior_officer")]
"""Guard for officer routes; the handler also calls :func:`officer_of`, which turns admin away."""


class Camel(BaseModel):
    """Request and response bodies in camelCase; unknown request fields are refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def next_cursor(items: list[T], limit: int, last_id: int | None) -> str | None:
    """The cursor of the next page: set when this page came back full."""
    return str(last_id) if items and len(items) == limit and last_id is not None else None


def after_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit():
        raise Problem(400, "invalid_cursor", "The cursor is not one this API returned.")
    return int(cursor)


def officer_of(staff: StaffPrincipal) -> Officer:
    """The compliance officer acting; 403 ``officer_required`` for anyone else (admin included)."""
    officer = Officer(staff.actor, staff.roles)
    officer.require_officer()
    return officer


def vault_of(state: State) -> KycVault:
    secrets = state.settings.secrets
    return KycVault(Sealer(secrets.data_keys), BlindIndex(secrets.secret_key))
