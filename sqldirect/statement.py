"""A Core statement compiled once per dialect and, on PostgreSQL, executed on the asyncpg connection
underneath SQLAlchemy's.

Why: SQLAlchemy's async execution path (a greenlet per call, an execution context, a cursor adapter,
a result object) costs 130-250 µs of the client's CPU per statement on this machine; the same
statement sent through asyncpg costs 46-100 µs (``docs/scripts/direct-cost.py``). A transfer's
creation runs ten statements, so that machinery was a fifth of the server's CPU.

What stays the same as :meth:`AsyncConnection.execute`:

- the SQL and its parameters: SQLAlchemy compiles the statement (once per dialect) and its own
  bind processors turn the values into what asyncpg sends, exactly as its execution context would;
- the transaction: the statement runs inside the connection's transaction, begun the way
  SQLAlchemy's asyncpg adapter begins it, on the adapter's prepared-statement cache, under its
  lock; SQLAlchemy's commit or rollback then ends it;
- errors: a driver error is translated by the adapter and wrapped by SQLAlchemy
  (:class:`sqlalchemy.exc.IntegrityError`, ``.orig.sqlstate``, ...), and a lost connection is
  invalidated, so retry and error handling see what they saw before;
- the rows: result values go through the column types' result processors; a row reads by
  attribute, by position and through ``_mapping``;
- observability: ``before_cursor_execute`` listeners (the statement-counting tests) still see
  every statement.

Statements that SQLAlchemy must rewrite per call (expanding ``IN`` lists, literal-execute
parameters) or that need Python-side column defaults are refused when built: pass arrays
(``= ANY(:ids)``) and explicit values instead. On any other dialect (SQLite) the statement is
executed by SQLAlchemy as usual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import ValuesBase
from sqlalchemy.sql.expression import Executable

__all__ = ["DirectStatement", "Row", "direct"]

S = TypeVar("S", bound=Executable)


class Row(tuple[Any, ...]):
    """A result row: by position, by attribute (``row.amount``) and by name (``row._mapping``)."""

    __slots__ = ()
    _keys: tuple[str, ...] = ()
    _index: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            return self[self._index[name]]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def _mapping(self) -> dict[str, Any]:
        return dict(zip(self._keys, self, strict=True))


def _row_class(keys: Sequence[str]) -> type[Row]:
    return type(
        "Row", (Row,), {"__slots__": (), "_keys": tuple(keys), "_index": {k: i for i, k in enumerate(keys)}}
    )


@dataclass(frozen=True, slots=True)
class _Compiled:
    """What running the statement on asyncpg needs, worked out once (per set of column names for
    an INSERT or UPDATE without explicit values)."""

    sql: str
    names: tuple[str, ...]
    compiled: SQLCompiler
    processors: Mapping[str, Any]
    result_types: tuple[Any, ...] | None
    result_keys: tuple[str, ...] | None


@dataclass(slots=True)
class _Shape:
    """Per statement and result OIDs: the row class and its value processors (found on first use)."""

    row: type[Row]
    processors: tuple[Any, ...] | None


class DirectStatement(Generic[S]):
    """One Core statement, executed on the driver where the dialect is asyncpg."""

    __slots__ = ("_by_columns", "_dml", "_shapes", "statement")

    def __init__(self, statement: S) -> None:
        self.statement = statement
        """The statement as built (SQLAlchemy runs it on other dialects)."""
        self._dml = isinstance(statement, ValuesBase)
        # An INSERT or UPDATE without explicit values sets the columns its parameters name, as
        # SQLAlchemy's execute does: one compiled form per set of names.
        self._by_columns: dict[frozenset[str] | None, _Compiled] = {}
        self._shapes: dict[tuple[int, ...], _Shape] = {}

    def _compiled(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        columns = frozenset(params) if self._dml else None
        found = self._by_columns.get(columns)
        if found is None:
            found = self._by_columns[columns] = _compile(self.statement, dialect, columns)
        return found

    async def rows(
        self, conn: AsyncConnection, params: Mapping[str, Any] | None = None, *, alone: bool = False
    ) -> list[Any]:
        """Every row the statement returns (none for a statement without RETURNING).

        ``alone``: on a connection with no transaction open, the statement is a transaction of its
        own, committed when it ends (one round trip, no ``BEGIN`` or ``COMMIT``), as on a
        connection in SQLAlchemy's ``AUTOCOMMIT`` mode but without switching the connection's
        isolation level there and back (40-60 µs of the client's CPU less per read,
        ``docs/scripts/direct-cost.py``); inside an open transaction it runs in that transaction
        as usual. SQLite: as without ``alone``.
        """
        if conn.dialect.driver != "asyncpg":
            result = await conn.execute(self.statement, dict(params or {}))
            return list(result) if result.returns_rows else []
        return await self._run(conn, params or {}, alone)

    async def first(
        self, conn: AsyncConnection, params: Mapping[str, Any] | None = None, *, alone: bool = False
    ) -> Any | None:
        """The first row, or ``None``."""
        found = await self.rows(conn, params, alone=alone)
        return found[0] if found else None

    async def scalar(
        self, conn: AsyncConnection, params: Mapping[str, Any] | None = None, *, alone: bool = False
    ) -> Any:
        """The first column of the first row, or ``None``."""
        found = await self.first(conn, params, alone=alone)
        return None if found is None else found[0]

    async def _run(self, conn: AsyncConnection, params: Mapping[str, Any], alone: bool) -> list[Any]:
        dialect: Any = conn.dialect
        compiled = self._compiled(dialect, params)
        values = compiled.compiled.construct_params(params)
        processors = compiled.processors
        args = [
            processors[name](values[name]) if name in processors else values[name] for name in compiled.names
        ]
        sync = conn.sync_connection
        assert sync is not None
        # SQLAlchemy's own bookkeeping before a statement, so that its commit and rollback end
        # what runs here: refuse a failed transaction not yet rolled back, else begin one (its
        # "autobegin"; the driver's BEGIN is sent below, as the adapter would send it).
        if (sync._transaction and not sync._transaction.is_active) or (
            sync._nested_transaction and not sync._nested_transaction.is_active
        ):
            sync._invalid_transaction()
        # Alone, with no transaction open, nothing is begun: SQLAlchemy has none to end, and
        # asyncpg outside a transaction runs the statement as its own.
        alone = alone and sync._transaction is None
        if sync._transaction is None and not alone:
            sync._autobegin()
        if sync._has_events or sync.engine._has_events:
            sync.dispatch.before_cursor_execute(sync, None, compiled.sql, tuple(args), None, False)
        # The pooled connection SQLAlchemy already holds; asking for it through the async API
        # would cost a greenlet round of its own (a third of the saving).
        fairy = sync._dbapi_connection
        if fairy is None or sync.invalidated:
            fairy = await conn.get_raw_connection()
        adapted: Any = fairy.dbapi_connection
        try:
            async with adapted._execute_mutex:
                if adapted._transaction is None and not alone:
                    await adapted._start_transaction()
                prepared, attributes = await adapted._prepare(
                    compiled.sql, dialect._invalidate_schema_cache_asof
                )
                records = await prepared.fetch(*args)
        except Exception as error:
            await _raise_wrapped(conn, adapted, error, compiled.sql, args)
        if not attributes:
            return []
        oids = tuple(attribute.type.oid for attribute in attributes)
        shape = self._shapes.get(oids)
        if shape is None:
            shape = self._shapes[oids] = _shape(compiled, dialect, attributes)
        row, row_processors = shape.row, shape.processors
        if row_processors is None:
            return [row(record) for record in records]
        return [
            row(
                value if process is None else process(value)
                for process, value in zip(row_processors, record, strict=True)
            )
            for record in records
        ]


def direct(statement: S) -> DirectStatement[S]:
    """``statement`` prepared for :class:`DirectStatement` execution (build it once, at import)."""
    return DirectStatement(statement)


def _compile(statement: Executable, dialect: Dialect, columns: frozenset[str] | None) -> _Compiled:
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=dialect, column_keys=None if columns is None else sorted(columns))
    assert isinstance(compiled, SQLCompiler)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError(
            "expanding or literal-execute parameters are rewritten per call: pass an array instead"
        )
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise ValueError("Python-side column defaults need SQLAlchemy's execution: give every value")
    names: tuple[str, ...] = tuple(compiled.positiontup or ()) if compiled.positional else ()
    returned = compiled._result_columns
    result_types = tuple(column[3] for column in returned) if returned else None
    result_keys = tuple(column[0] for column in returned) if returned else None
    return _Compiled(
        sql=compiled.string,
        names=names,
        compiled=compiled,
        processors=dict(compiled._bind_processors),
        result_types=result_types,
        result_keys=result_keys,
    )


def _shape(compiled: _Compiled, dialect: Dialect, attributes: Sequence[Any]) -> _Shape:
    if compiled.result_types is not None and len(compiled.result_types) == len(attributes):
        assert compiled.result_keys is not None
        processors = tuple(
            type_._cached_result_processor(dialect, attribute.type.oid)
            for type_, attribute in zip(compiled.result_types, attributes, strict=True)
        )
        return _Shape(
            _row_class(compiled.result_keys),
            processors if any(process is not None for process in processors) else None,
        )
    return _Shape(_row_class([attribute.name for attribute in attributes]), None)


async def _raise_wrapped(
    conn: AsyncConnection, adapted: Any, error: Exception, sql: str, args: Sequence[Any]
) -> None:
    """Raise ``error`` as SQLAlchemy would have: translated by the adapter, wrapped in
    :class:`sqlalchemy.exc.DBAPIError`, the connection invalidated if it was lost."""
    dialect = conn.dialect
    try:
        adapted._handle_exception(error)
    except Exception as translated:
        dbapi_error = translated
    else:  # pragma: no cover - the adapter always raises
        dbapi_error = error
    dbapi = dialect.loaded_dbapi
    if not isinstance(dbapi_error, dbapi.Error):
        raise dbapi_error from None
    invalidated = dialect.is_disconnect(dbapi_error, adapted, None)
    if invalidated:
        await conn.invalidate(dbapi_error)
    raise exc.DBAPIError.instance(
        sql, tuple(args), dbapi_error, dbapi.Error, connection_invalidated=invalidated, dialect=dialect
    ) from dbapi_error
