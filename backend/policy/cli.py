"""``korpu prices``: import market price files, and measure the workbook reader's memory."""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click

from backend.db import create_engine
from backend.settings import Settings
from fx.market.imports import FileKind, ImportResult, import_file
from fx.market.parsing import MalformedFile

__all__ = ["prices"]


@click.group()
def prices() -> None:
    """Market prices of remittances (World Bank RPW files, the provider price list)."""


async def _import_all(settings: Settings, kind: FileKind, paths: list[Path]) -> list[ImportResult]:
    engine = create_engine(settings.database_url, null_pool=True)
    results = []
    try:
        for path in paths:
            # One file, one transaction: a bad file changes nothing.
            async with engine.begin() as connection:
                results.append(await import_file(connection, kind, path, now=datetime.now(UTC)))
    finally:
        await engine.dispose()
    return results


@prices.command("import")
@click.argument("kind", type=click.Choice([kind.value for kind in FileKind]))
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def import_command(kind: str, paths: tuple[Path, ...]) -> None:
    """Import PATHS as files of KIND (rpw-averages, databank, rpw-workbook, provider-list, bilateral)."""
    try:
        results = asyncio.run(_import_all(Settings.from_env(), FileKind(kind), list(paths)))
    except MalformedFile as exc:
        raise click.ClickException(str(exc)) from None
    for result in results:
        if result.already_imported:
            click.echo(f"{result.file_name}: already imported, nothing changed")
            continue
        click.echo(
            f"{result.file_name}: {result.rows} rows imported, {result.skipped} skipped, "
            f"{result.corridor_quarters} corridor-quarters written"
        )
        for example in result.skipped_examples[:5]:
            click.echo(f"  skipped: {example}")


@prices.command("bench-workbook")
@click.option("--rows", default=200_000, show_default=True, help="Rows of the large synthetic workbook.")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON object.")
def bench_workbook(rows: int, as_json: bool) -> None:
    """Peak memory of streaming a synthetic RPW-layout workbook of ROWS rows, against 1/10 of it.

    The reference is the same reader on a file a tenth the size, and openpyxl's whole-file load
    of that smaller file: streaming is bounded when the two streaming peaks are about equal.
    """
    from fx.market.layout import synthetic_rows, write_rpw_workbook
    from fx.market.memory import measure_read

    small_rows = max(rows // 10, 1)
    with tempfile.TemporaryDirectory() as folder:
        large, small = Path(folder) / "large.xlsx", Path(folder) / "small.xlsx"
        write_rpw_workbook(large, synthetic_rows(rows))
        write_rpw_workbook(small, synthetic_rows(small_rows))
        streamed_large = measure_read(large)
        streamed_small = measure_read(small)
        loaded_small = measure_read(small, streaming=False)
        report = {
            "rows": rows,
            "file_mib": round(large.stat().st_size / 2**20, 1),
            "stream_peak_rss_mib": streamed_large.peak_rss_mib,
            "stream_seconds": streamed_large.seconds,
            "reference_rows": small_rows,
            "reference_stream_peak_rss_mib": streamed_small.peak_rss_mib,
            "reference_full_load_peak_rss_mib": loaded_small.peak_rss_mib,
            "stream_peak_ratio_large_to_small": round(
                streamed_large.peak_rss_mib / streamed_small.peak_rss_mib, 3
            ),
        }
    if not as_json:
        for key, value in report.items():
            click.echo(f"{key}: {value}")
    click.echo(json.dumps(report))
