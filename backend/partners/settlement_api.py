"""The partner API for settlement: windows, statements (CSV, camt.053), reconciliation uploads and reports."""

from __future__ import annotations

from litestar import Controller

__all__ = ["PartnerSettlementController"]


class PartnerSettlementController(Controller):
    path = "/settlement"
    tags = ["partner: settlement"]
