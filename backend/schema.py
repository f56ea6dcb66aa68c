"""Every table the service owns, gathered from the libraries and the application.

Each library declares its own ``MetaData`` (with the naming convention of :mod:`ledger.sqltypes`,
so that constraint names are the same on SQLite and PostgreSQL); Alembic compares the migrated database
against :func:`all_metadata`, and a test checks that they agree.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from ledger.sqltypes import NAMING_CONVENTION

__all__ = ["NAMING_CONVENTION", "all_metadata", "metadata"]

metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""Tables owned by ``backend`` itself (identity, transfers, outbox, partners)."""


_BACKEND_TABLE_MODULES = (
    "backend.idempotency",
    "backend.staff.tables",
    "backend.identity.tables",
    "backend.transfers.tables",
    "backend.outbox.tables",
    "backend.partners.tables",
)
"""Modules that declare tables on ``metadata``; a capability adds its module here."""

_LIBRARY_TABLE_MODULES = (
    "ledger.tables",
    "fx.tables",
    "fx.market.tables",
    "compliance.audit",
    "compliance.tables",
    "compliance.screening.tables",
    "ledger.settlement.tables",
)
"""Library modules, each exposing its own ``metadata``, in dependency order."""


def all_metadata() -> list[MetaData]:
    """The MetaData of every part, in dependency order."""
    # Imported here, not at the top: backend's table modules import `metadata` from this one.
    for module in _BACKEND_TABLE_MODULES:
        importlib.import_module(module)
    libraries = [importlib.import_module(module).metadata for module in _LIBRARY_TABLE_MODULES]
    return [metadata, *libraries]
