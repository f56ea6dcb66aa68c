"""Settlement with partner banks: windows, statements (CSV and camt.053), reconciliation. Framework-free.

The arithmetic and file formats are pure functions over :class:`~ledger.settlement.statements.StatementLine`
values; the window service takes an ``AsyncConnection`` from the caller and reads postings through
the one adapter in :mod:`ledger.settlement.source`.
"""
