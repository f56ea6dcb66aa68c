"""Every table the service owns, gathered from the libraries and the application.

Each library declares its own ``MetaData`` (with the shared naming convention below so that
constraint names are the same on SQLite and PostgreSQL); Alembic compares the migrated database
against :func:`all_metadata`, and a test checks that they agree.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from compliance.tables import metadata as compliance_metadata

__all__ = ["NAMING_CONVENTION", "all_metadata", "metadata"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""Tables owned by ``backend`` itself (identity, transfers, outbox, partners)."""


def all_metadata() -> list[MetaData]:
    """The MetaData of every part, in dependency order."""
    import backend.idempotency
    import backend.outbox.tables
    import backend.partners.tables
    import backend.staff.tables  # noqa: F401  (these declare their tables on ``metadata``)
    from compliance.audit import metadata as audit_metadata
    from ledger.settlement.tables import settlement_metadata

    return [metadata, audit_metadata, compliance_metadata, settlement_metadata]
