"""Importing price files into the market tables: one file, one transaction, the same file only once.

Each kind of file replaces what an earlier file of its kind said about the same things:

* RPW averages and DataBank ATCR.CORR: the figures of the quarters in the file;
* the RPW workbook: the services of the quarters in the file, after which the corridor-quarter
  indicators of those quarters are recomputed by the RPW method (``fx.market.indicators``);
* the provider price list: the whole list (the policy team keeps it whole), then its indicators;
* the bilateral matrix: the flows of its year.

Rows are written in batches while the file streams, so memory stays bounded by a batch and by the
number of corridor-quarters, never by the number of services. A file whose SHA-256 was already
imported as the same kind is recognised and left alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from fx.market.bilateral import read_bilateral_matrix
from fx.market.indicators import corridor_indicators
from fx.market.parsing import SkipLog
from fx.market.periods import Quarter
from fx.market.provider_list import read_provider_list
from fx.market.records import BilateralFlow, CorridorQuarter, Dataset, ServicePrice
from fx.market.rpw_csv import read_corridor_averages, read_databank_atcr
from fx.market.store import MarketStore
from fx.market.workbook import read_rpw_workbook

__all__ = ["FileKind", "ImportConfig", "ImportResult", "import_file", "recompute_indicators"]

T = TypeVar("T")


class FileKind(StrEnum):
    """The files ``korpu prices import`` understands."""

    RPW_AVERAGES = "rpw-averages"
    """RPW corridor x quarter averages CSV."""
    DATABANK = "databank"
    """DataBank export of series ATCR.CORR (CSV)."""
    RPW_WORKBOOK = "rpw-workbook"
    """The full RPW workbook (xlsx), sheet "Dataset (from Q2 2016)"."""
    PROVIDER_LIST = "provider-list"
    """The policy team's provider price list (CSV)."""
    BILATERAL = "bilateral"
    """World Bank bilateral remittance matrix (xlsx)."""


@dataclass(frozen=True, slots=True)
class ImportConfig:
    """How an import writes."""

    batch_size: int = 1000
    """Rows per INSERT batch: bounds memory and keeps statements small."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did, for the operator."""

    kind: FileKind
    """The kind of file."""
    file_name: str
    """Its name (not its path)."""
    rows: int
    """Rows imported."""
    skipped: int
    """Rows left out because they could not be read."""
    skipped_examples: tuple[str, ...]
    """The first few reasons rows were left out."""
    already_imported: bool
    """True when this very file (same SHA-256) had been imported before; nothing changed."""
    corridor_quarters: int
    """Corridor-quarter figures written (read, or computed from services)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _batches(items: Iterator[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def import_file(
    connection: AsyncConnection,
    kind: FileKind,
    path: Path,
    *,
    now: datetime,
    config: ImportConfig = ImportConfig(),
) -> ImportResult:
    """Import one file of ``kind`` on ``connection`` (the caller commits)."""
    store = MarketStore(connection)
    sha256 = _sha256(path)
    if await store.find_import(kind.value, sha256) is not None:
        return ImportResult(kind, path.name, 0, 0, (), True, 0)
    import_id = await store.add_import(kind.value, path.name, sha256, now)
    skipped = SkipLog()
    if kind in (FileKind.RPW_AVERAGES, FileKind.DATABANK):
        reader: Callable[[Path, SkipLog], Iterator[CorridorQuarter]] = (
            read_corridor_averages if kind is FileKind.RPW_AVERAGES else read_databank_atcr
        )
        dataset = Dataset.RPW_AVERAGES if kind is FileKind.RPW_AVERAGES else Dataset.DATABANK_ATCR
        # A file speaks for whole quarters: first drop what earlier files said about its quarters.
        await store.drop_quarters(dataset, {row.period for row in reader(path, SkipLog())})
        rows = 0
        for batch in _batches(reader(path, skipped), config.batch_size):
            await store.add_quarters(import_id, batch)
            rows += len(batch)
        quarters = rows
    elif kind is FileKind.BILATERAL:
        flows: list[BilateralFlow] = list(read_bilateral_matrix(path, skipped))
        await store.replace_flows(import_id, flows)
        rows, quarters = len(flows), 0
    else:
        rows, quarters = await _import_services(store, kind, path, import_id, skipped, config)
    await store.finish_import(import_id, rows, skipped.count)
    return ImportResult(kind, path.name, rows, skipped.count, tuple(skipped.examples), False, quarters)


async def _import_services(
    store: MarketStore, kind: FileKind, path: Path, import_id: int, skipped: SkipLog, config: ImportConfig
) -> tuple[int, int]:
    if kind is FileKind.RPW_WORKBOOK:
        dataset, services = Dataset.RPW_WORKBOOK, read_rpw_workbook(path, skipped)
    else:
        dataset, services = Dataset.PROVIDER_LIST, read_provider_list(path, skipped)
    periods: set[Quarter] = set()
    rows = 0
    for batch in _batches(services, config.batch_size):
        await store.add_services(import_id, batch)
        periods.update(service.period for service in batch)
        rows += len(batch)
    # The provider list is kept whole: a new list replaces the old one entirely.
    replaced = None if dataset is Dataset.PROVIDER_LIST else periods
    await store.drop_services(dataset, keep_import=import_id, periods=replaced)
    quarters = await recompute_indicators(store, dataset, import_id, replaced, config)
    return rows, quarters


async def recompute_indicators(
    store: MarketStore,
    dataset: Dataset,
    import_id: int,
    periods: set[Quarter] | None,
    config: ImportConfig = ImportConfig(),
) -> int:
    """Recompute the corridor-quarter indicators of ``dataset`` from its services (in ``periods``)."""
    computed: list[CorridorQuarter] = []
    group: list[ServicePrice] = []

    def close_group() -> None:
        if group:
            first = group[0]
            computed.append(
                corridor_indicators(
                    dataset, first.period, first.source_country, first.destination_country, group
                )
            )

    async for service in store.stream_services(dataset, periods):
        if group and (service.period, service.source_country, service.destination_country) != (
            group[0].period,
            group[0].source_country,
            group[0].destination_country,
        ):
            close_group()
            group = []
        group.append(service)
    close_group()
    await store.drop_quarters(dataset, periods)
    for batch in _batches(iter(computed), config.batch_size):
        await store.add_quarters(import_id, batch)
    return len(computed)
