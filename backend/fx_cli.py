"""``korpu fx refresh``: read a rate source now (or every N seconds) and store its new bulletins.

Offline, from a file: ``korpu fx refresh --source cbar --file cbar-30.10.2018.xml``.
Online, from the publisher: ``korpu fx refresh --source cbar`` (or ``--url`` to name the URL).
Without ``--source``, the default public sources (CBAR and ECB) are read.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import click
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.fx_refresh import default_sources
from fx.errors import RateFeedError
from fx.refresh import RefreshReport, refresh_rates
from fx.sources import (
    CBAR_URL,
    ECB_DAILY_URL,
    ECB_HISTORY_URL,
    CbarSource,
    EcbDailySource,
    EcbHistorySource,
    FileFormat,
    FileSource,
    PartnerFeedSource,
    RateSource,
)

__all__ = ["fx"]

_FILE_FORMATS: dict[str, FileFormat] = {
    "cbar": "cbar",
    "ecb": "ecb",
    "ecb-history": "ecb-history",
    "partner": "partner-json",
}


@click.group()
def fx() -> None:
    """Exchange rates."""


def _url_source(
    client: httpx.AsyncClient, kind: str, url: str | None, days: Sequence[date], since: date | None, name: str
) -> RateSource:
    if kind == "cbar":
        # A --url names one bulletin; without it, the bulletins of --day (default today and tomorrow).
        template = url.replace("{", "{{").replace("}", "}}") if url else CBAR_URL
        return CbarSource(client, days=days or ([date.today()] if url else []), url_template=template)
    if kind == "ecb":
        return EcbDailySource(client, url=url or ECB_DAILY_URL)
    if kind == "ecb-history":
        return EcbHistorySource(client, since=since, url=url or ECB_HISTORY_URL)
    if not url:
        raise click.UsageError("--source partner needs --url (or --file)")
    return PartnerFeedSource(client, url=url, name=name)


def _print(report: RefreshReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json()))
    else:
        click.echo(
            f"{report.source}: read {report.read}, stored {report.stored}, duplicates {report.duplicates}, "
            f"conflicts {report.conflicts}, newest {report.newest}"
        )


@fx.command("refresh")
@click.option(
    "--source",
    "kind",
    type=click.Choice(["cbar", "ecb", "ecb-history", "partner"]),
    default=None,
    help="Which source to read (default: cbar and ecb).",
)
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option("--url", default=None, help="Read this URL instead of the publisher's default.")
@click.option("--day", "days", type=click.DateTime(["%Y-%m-%d"]), multiple=True, help="CBAR bulletin day(s).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="ecb-history: first day kept.")
@click.option("--name", default="partner", show_default=True, help="Source name of a partner feed.")
@click.option("--every", type=float, default=None, help="Repeat every SECONDS until stopped (a scheduler).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source read.")
def refresh(
    kind: str | None,
    path: Path | None,
    url: str | None,
    days: tuple[datetime, ...],
    since: datetime | None,
    name: str,
    every: float | None,
    as_json: bool,
) -> None:
    """Read rate sources and store their new bulletins with provenance."""
    from backend.db import create_engine
    from backend.settings import Settings

    if path is not None and (kind is None or url is not None):
        raise click.UsageError("--file needs --source and excludes --url")
    settings = Settings.from_env()
    day_list = [d.date() for d in days]
    since_day = since.date() if since else None

    async def once(engine: AsyncEngine, client: httpx.AsyncClient) -> int:
        if path is not None and kind is not None:
            sources: list[RateSource] = [
                FileSource(path, _FILE_FORMATS[kind], name if kind == "partner" else "", since_day)
            ]
        elif kind is not None:
            sources = [_url_source(client, kind, url, day_list, since_day, name)]
        else:
            sources = default_sources(client)
        failures = 0
        for source in sources:
            try:
                report = await refresh_rates(engine, source, datetime.now(UTC))
            except RateFeedError as exc:
                click.echo(f"korpu: error: {source.name}: {exc}", err=True)
                failures += 1
                continue
            _print(report, as_json)
        return failures

    async def run() -> int:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            async with httpx.AsyncClient() as client:
                while True:
                    failures = await once(engine, client)
                    if every is None:
                        return failures
                    await asyncio.sleep(every)
        finally:
            await engine.dispose()

    if asyncio.run(run()):
        sys.exit(1)
