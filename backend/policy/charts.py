"""Server-made SVG charts: no JavaScript, no build step, every point an element a test can count.

A chart is quarters along x and cost % up y. Each point is a ``<circle class="point">`` carrying
``data-series``, ``data-period`` and ``data-value``; reference lines (SDG 10.c's 3 % and 5 %) are
dashed ``<line class="reference">`` with ``data-level``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

__all__ = ["ReferenceLine", "Series", "trend_chart"]


@dataclass(frozen=True, slots=True)
class Series:
    """One line of the chart."""

    key: str
    """Stable identifier, written to ``data-series`` (e.g. ``market``, ``pilot``)."""
    label: str
    """Legend text."""
    colour: str
    """Stroke colour (CSS)."""
    points: Sequence[tuple[str, Decimal]]
    """(quarter label, value %) pairs."""


@dataclass(frozen=True, slots=True)
class ReferenceLine:
    """A horizontal line at a level, e.g. the SDG 10.c target."""

    level: Decimal
    """Where, in %."""
    label: str
    """Text beside it."""
    colour: str
    """Stroke colour (CSS)."""


_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 190, 16, 44


def trend_chart(
    periods: Sequence[str],
    series: Sequence[Series],
    references: Sequence[ReferenceLine] = (),
    *,
    title: str,
    width: int = 900,
    height: int = 360,
) -> str:
    """An SVG line chart of ``series`` over ``periods`` with ``references``."""
    values = [value for serie in series for _, value in serie.points] + [ref.level for ref in references]
    top_value = max(values, default=Decimal(1))
    y_max = max(1, math.ceil(float(top_value) * 1.15))  # axis scale only: never used as an amount
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    index = {period: i for i, period in enumerate(periods)}
    step = plot_w / max(len(periods) - 1, 1)

    def x(period: str) -> float:
        return _LEFT + index[period] * step

    def y(value: Decimal) -> float:
        return _TOP + plot_h - float(value) / y_max * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="#fbfbfd" stroke="#ccc"/>',
    ]
    tick = max(1, y_max // 8)
    for level in range(0, y_max + 1, tick):
        ty = y(Decimal(level))
        parts.append(f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#eee"/>')
        parts.append(
            f'<text x="{_LEFT - 8}" y="{ty + 4:.1f}" text-anchor="end" font-size="11">{level}%</text>'
        )
    label_every = max(1, math.ceil(len(periods) / 12))
    for i, period in enumerate(periods):
        if i % label_every == 0 or i == len(periods) - 1:
            parts.append(
                f'<text x="{x(period):.1f}" y="{_TOP + plot_h + 18}" text-anchor="middle" font-size="10">'
                f"{escape(period)}</text>"
            )
    for reference in references:
        ry = y(reference.level)
        parts.append(
            f'<line class="reference" data-level="{reference.level}" x1="{_LEFT}" x2="{_LEFT + plot_w}" '
            f'y1="{ry:.1f}" y2="{ry:.1f}" stroke="{reference.colour}" '
            'stroke-dasharray="6 4" stroke-width="1.5"/>'
        )
        parts.append(
            f'<text x="{_LEFT + plot_w + 6}" y="{ry + 4:.1f}" font-size="11" fill="{reference.colour}">'
            f"{escape(reference.label)}</text>"
        )
    for number, line in enumerate(series):
        drawable = [(period, value) for period, value in line.points if period in index]
        if len(drawable) > 1:
            path = " ".join(f"{x(period):.1f},{y(value):.1f}" for period, value in drawable)
            parts.append(
                f'<polyline class="series" data-series="{escape(line.key)}" points="{path}" fill="none" '
                f'stroke="{line.colour}" stroke-width="2"/>'
            )
        for period, value in drawable:
            parts.append(
                f'<circle class="point" data-series="{escape(line.key)}" data-period="{escape(period)}" '
                f'data-value="{value}" cx="{x(period):.1f}" cy="{y(value):.1f}" r="3.5" fill="{line.colour}">'
                f"<title>{escape(line.label)} {escape(period)}: {value}%</title></circle>"
            )
        # Legend at the bottom right, clear of the reference-line labels near the top.
        legend_y = _TOP + plot_h - 6 - (len(series) - 1 - number) * 18
        parts.append(
            f'<rect x="{_LEFT + plot_w + 8}" y="{legend_y - 9}" width="12" height="4" fill="{line.colour}"/>'
            f'<text x="{_LEFT + plot_w + 24}" y="{legend_y - 4}" font-size="11">{escape(line.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
