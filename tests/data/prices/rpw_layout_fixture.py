"""Writes the RPW layout fixture: five services of Russia to Azerbaijan, 2021_4Q, in the workbook's exact layout.

Run ``python -m tests.data.prices.rpw_layout_fixture OUT.xlsx`` to write it; tests call :func:`write`.

What is real and what is not (see README.md beside this file): RPW reports for RUSAZE in 2021_4Q an
average total cost of 1.765 % at USD 200 and 1.705 % at USD 500 and an average FX margin of 0.915 %,
over 4 services. The World Bank's per-service rows are not redistributed here, so the four
transparent services below are *constructed* to reproduce exactly those published averages, with
hand-checkable arithmetic (total cost % = fee / amount x 100 + FX margin, margin = (1 - applied /
interbank) x 100). A fifth, non-transparent service (margin coded 0, as RPW codes undisclosed rates)
must be left out of the averages, and a sixth row with an impossible period must be skipped.
Firm names are placeholders, not real providers.
"""

from __future__ import annotations

import sys
from datetime import datetime
from decimal import Decimal as D
from pathlib import Path

from fx.market.layout import write_rpw_workbook

__all__ = ["EXPECTED", "ROWS", "write"]

_INTERBANK = D("0.0234")  # AZN per RUB: CBAR's 1.70 AZN/USD over about 72.65 RUB/USD (late 2021)
_AMOUNT_200 = D("14530.00")  # RUB equivalent of USD 200 at that rate
_AMOUNT_500 = D("36325.00")

_COMMON = {
    "period": "2021_4Q",
    "source_code": "RUS",
    "source_name": "Russian Federation",
    "source_region": "Europe & Central Asia",
    "source_income": "Upper middle income",
    "source_lending": "IBRD",
    "source_G8G20": "G8/G20",
    "destination_code": "AZE",
    "destination_name": "Azerbaijan",
    "destination_region": "Europe & Central Asia",
    "destination_income": "Upper middle income",
    "destination_lending": "IBRD",
    "destination_G8G20": "..",
    "firm_type": "Money Transfer Operator",
    "payment instrument": "Cash",
    "access point": "Agent",
    "cc1 lcu amount": _AMOUNT_200,
    "cc1 denomination amount": 200,
    "cc1 lcu code": "RUB",
    "cc2 lcu amount": _AMOUNT_500,
    "cc2 denomination amount": 500,
    "cc2 lcu code": "RUB",
    "inter lcu bank fx": _INTERBANK,
    "receiving network coverage": "High",
    "pickup method": "Cash",
    "corridor": "RUSAZE",
}


def _service(
    firm: str,
    speed: str,
    fees: tuple[D, D],
    applied: D | None,
    margin: D,
    totals: tuple[D, D],
    **extra: object,
) -> dict[str, object]:
    row: dict[str, object] = {
        **_COMMON,
        "firm": firm,
        "speed actual": speed,
        "transparent": "yes",
        "date": "15/Nov/2021",
    }
    for tier, fee, total in (("cc1", fees[0], totals[0]), ("cc2", fees[1], totals[1])):
        row[f"{tier} lcu fee"] = fee
        row[f"{tier} lcu fx rate"] = applied
        row[f"{tier} fx margin"] = margin
        row[f"{tier} total cost %"] = total
    row.update(extra)
    return row


ROWS: list[dict[str, object]] = [
    # 1 % fee, rate at mid: 145.30 / 14530 = 1.00 %.
    _service("Service A", "Less than one hour", (D("145.30"), D("363.25")), D("0.0234"), D("0"), (D("1.00"), D("1.00")),
             transparent="Yes", date=datetime(2021, 11, 12)),
    # No fee, rate 1.5 % under mid: 1 - 0.023049 / 0.0234 = 1.5 %.
    _service("Service B", "Next day", (D("0"), D("0")), D("0.023049"), D("1.5"), (D("1.50"), D("1.50"))),
    # 1 % fee and a 1.16 % margin: 1 - 0.02312856 / 0.0234 = 1.16 %.
    _service("Service C", "Same day", (D("145.30"), D("363.25")), D("0.02312856"), D("1.16"), (D("2.16"), D("2.16"))),
    # 203.42 / 14530 = 1.40 %, 421.37 / 36325 = 1.16 %, margin 1 - 0.023166 / 0.0234 = 1.00 %.
    _service("Service D", "3-5 days", (D("203.42"), D("421.37")), D("0.023166"), D("1.00"), (D("2.40"), D("2.16"))),
    # Rate not disclosed: RPW codes the margin 0 and leaves the service out of averages.
    _service("Service E (rate not disclosed)", "Same day", (D("150.00"), D("150.00")), None, D("0"),
             (D("1.0323"), D("0.4129")), transparent="no"),
    # An impossible period: the importer must skip this row and say so.
    _service("Service F (bad period)", "Same day", (D("1"), D("1")), D("0.0234"), D("0"), (D("0.01"), D("0.01")),
             period="2021_5Q"),
]  # fmt: skip

EXPECTED = {
    "avg_cost_200_pct": D("1.765"),
    "avg_cost_500_pct": D("1.705"),
    "avg_fx_margin_200_pct": D("0.915"),
    "smart_pct": (D("1.00") + D("1.50") + D("2.16")) / 3,
    "services": 4,
    "services_surveyed": 5,
    "skipped": 1,
}
"""What the importer must compute from :data:`ROWS` (RPW's published figures, and SmaRT by its rule)."""


def write(path: Path) -> Path:
    write_rpw_workbook(path, ROWS)
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1])))
