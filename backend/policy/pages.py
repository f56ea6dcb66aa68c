"""HTML of the policy dashboard: the sign-in form and the corridor page (chart, table, SDG 10.c summary).

Plain server-rendered HTML with the chart as inline SVG (``backend.policy.charts``); every value
is escaped, and the page needs no script at all.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from pathlib import Path

from backend.policy.charts import ReferenceLine, Series, trend_chart
from backend.policy.schemas import pct
from fx.market.analytics import CorridorOverview, CorridorSeries, IndicatorTable
from fx.market.indicators import SDG_CORRIDOR_CEILING_PCT, SDG_TARGET_PCT

__all__ = ["dashboard_page", "sign_in_page"]

_STYLE = (Path(__file__).parent / "dashboard.css").read_text(encoding="utf-8")


def _layout(title: str, body: str, user: str | None = None) -> str:
    sign_out = (
        f'<form class="inline" method="post" action="/policy/sign-out"><span>{escape(user)}</span> '
        '<button type="submit">Sign out</button></form>'
        if user
        else ""
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>Körpü · {escape(title)}</h1>{sign_out}</header><main>{body}</main></body></html>"
    )


def sign_in_page(error: str | None = None) -> str:
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _layout(
        "Policy sign-in",
        '<form class="signin" method="post" action="/policy/sign-in">'
        f"<h2>Sign in</h2>{message}"
        '<label for="username">Username</label>'
        '<input id="username" name="username" autocomplete="username" required>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" required>'
        '<label for="totp">Code from your authenticator app</label>'
        '<input id="totp" name="totp" inputmode="numeric" pattern="[0-9]{6}" '
        'autocomplete="one-time-code" required>'
        '<button type="submit">Sign in</button></form>',
    )


def _cell(value: Decimal | None, *, flag_above: bool = False) -> str:
    text = pct(value)
    if text is None:
        return "<td>–</td>"
    above = flag_above and value is not None and value > SDG_CORRIDOR_CEILING_PCT
    return f'<td class="above">{text}</td>' if above else f"<td>{text}</td>"


def dashboard_page(
    user: str,
    corridors: list[CorridorOverview],
    selected: str | None,
    series: CorridorSeries | None,
    table: IndicatorTable,
) -> str:
    options = "".join(
        f'<option value="{code}"{" selected" if code == selected else ""}>{code} '
        f"({item.first_period.label}–{item.last_period.label})</option>"
        for item in corridors
        for code in [item.source_country + item.destination_country]
    )
    picker = (
        '<form method="get" action="/policy"><label for="corridor">Corridor</label>'
        f'<select id="corridor" name="corridor">{options}</select> <button type="submit">Show</button> '
        '<a href="/policy/v1/indicators.csv">Indicator table (CSV)</a></form>'
    )
    return _layout("Remittance costs", picker + _summary(table) + _corridor(series), user)


def _summary(table: IndicatorTable) -> str:
    if table.sdg is None or table.period is None:
        return '<p class="note">No market data imported yet: run <code>korpu prices import</code>.</p>'
    sdg = table.sdg
    target = "yes" if sdg.meets_average_target else "no"
    return (
        f'<div class="summary" id="sdg-summary" data-period="{table.period.label}">'
        f'<div class="card">Average cost at USD 200, {table.period.label}<b>{pct(sdg.average_pct)}%</b>'
        f"below {SDG_TARGET_PCT}%: {target} ({sdg.corridors} corridors)</div>"
        f'<div class="card">Corridors above {SDG_CORRIDOR_CEILING_PCT}%'
        f"<b>{len(sdg.corridors_above_ceiling)}</b>"
        f"of {sdg.corridors}</div>"
        '<div class="card">Savings to migrants (all pilot transfers)'
        f"<b>USD {table.savings.total_usd:,.2f}</b>"
        f"{table.savings.transfers_counted} transfers compared</div></div>"
    )


def _corridor(series: CorridorSeries | None) -> str:
    if series is None or (not series.market and not series.pilot):
        return '<p class="note">No data for this corridor.</p>'
    code = series.source_country + series.destination_country
    periods = sorted({row.period for row in series.market} | {row.period for row in series.pilot})
    labels = [period.label for period in periods]
    market = [
        (row.period.label, row.avg_cost_200_pct) for row in series.market if row.avg_cost_200_pct is not None
    ]
    lines = [Series("market", "Market average, USD 200", "#1f6fb2", market)]  # type: ignore[arg-type]
    smart = [(row.period.label, row.smart_pct) for row in series.market if row.smart_pct is not None]
    if smart:
        lines.append(Series("smart", "SmaRT", "#6a3d9a", smart))  # type: ignore[arg-type]
    if series.pilot:
        lines.append(
            Series(
                "pilot",
                "Körpü pilot",
                "#1a9850",
                [(row.period.label, row.avg_cost_pct) for row in series.pilot],
            )
        )
    chart = trend_chart(
        labels,
        lines,
        [
            ReferenceLine(SDG_TARGET_PCT, "SDG target 3%", "#e08214"),
            ReferenceLine(SDG_CORRIDOR_CEILING_PCT, "Ceiling 5%", "#b00020"),
        ],
        title=f"Total cost of sending money, {code}",
    )
    pilot = {row.period: row for row in series.pilot}
    market_by = {row.period: row for row in series.market}
    rows = []
    for period in reversed(periods):
        row = market_by.get(period)
        ours = pilot.get(period)
        rows.append(
            f'<tr data-period="{period.label}"><td>{period.label}</td>'
            + (_cell(row.avg_cost_200_pct, flag_above=True) if row else "<td>–</td>")
            + (_cell(row.avg_cost_500_pct) if row else "<td>–</td>")
            + (_cell(row.smart_pct) if row else "<td>–</td>")
            + (f"<td>{row.services if row.services is not None else '–'}</td>" if row else "<td>–</td>")
            + (_cell(ours.avg_cost_pct) if ours else "<td>–</td>")
            + (f"<td>{ours.transfers}</td>" if ours else "<td>0</td>")
            + (f"<td>{escape(row.dataset.value)} ({escape(row.basis.value)})</td>" if row else "<td>–</td>")
            + "</tr>"
        )
    return (
        f"<h2>{code}</h2>{chart}"
        '<p class="note">Total cost = fee as % of the amount sent + FX margin against the mid rate '
        "(World Bank RPW "
        "method). Market figures: World Bank, Remittance Prices Worldwide (CC BY 4.0), or the policy team's "
        "provider list where RPW has no data; rows marked illustrative are placeholders, "
        "not market prices.</p>"
        '<table id="corridor-table"><thead><tr><th>Quarter</th><th>Market, USD 200 %</th>'
        "<th>Market, USD 500 %</th><th>SmaRT %</th><th>Services</th><th>Körpü pilot %</th>"
        "<th>Pilot transfers</th><th>Source</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
