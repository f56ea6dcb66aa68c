"""The partner API for settlement: windows, net positions, statements (CSV and camt.053.001.08),
reconciliation uploads and their reports (JSON and CSV)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from backend.clock import utcnow
from backend.partners.auth import PartnerPrincipal
from backend.partners.positions import default_source
from backend.partners.settlement import reconcile_upload, statement_for
from backend.problems import Problem
from ledger.settlement.camt053 import write_camt053
from ledger.settlement.reconciliation import StatementFormat, get_run
from ledger.settlement.statements import statement_to_csv
from ledger.settlement.windows import get_window, list_windows, position

__all__ = ["PartnerSettlementController"]

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size.")]
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def _format_of(request: Request[Any, Any, Any], content: bytes) -> StatementFormat:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/xml", "text/xml"):
        return "camt053"
    if content_type in ("text/csv", "application/csv"):
        return "csv"
    raise Problem(
        415, "unsupported_media_type", "Send camt.053 as application/xml or a CSV statement as text/csv."
    )


class PartnerSettlementController(Controller):
    path = "/settlement"
    tags = ["partner: settlement"]

    @get("/windows", summary="Settlement windows", description="Your windows, in the order they opened.")
    async def windows(
        self,
        state: State,
        partner: PartnerPrincipal,
        currency: str | None = None,
        status: str | None = None,
        limit: Limit = 50,
        cursor: str = "",
    ) -> dict[str, Any]:
        async with state.engine.connect() as conn:
            page, next_cursor = await list_windows(
                conn, partner.partner_id, currency=currency, status=status, limit=limit, after=cursor
            )
        return {"items": [window.to_json() for window in page], "nextCursor": next_cursor}

    @get(
        "/positions",
        summary="Net positions",
        description="What Körpü owes you now, per currency (negative: you owe).",
    )
    async def positions(self, state: State, partner: PartnerPrincipal) -> dict[str, Any]:
        source = default_source()
        async with state.engine.connect() as conn:
            page, _ = await list_windows(conn, partner.partner_id, status="OPEN", limit=200)
            items = [
                {
                    "currency": w.currency,
                    "windowId": w.id,
                    "position": (await position(conn, w, source, now=utcnow())).to_json(),
                }
                for w in page
            ]
        return {"items": items}

    @get("/windows/{window_id:str}", summary="One settlement window")
    async def window(self, state: State, partner: PartnerPrincipal, window_id: str) -> dict[str, Any]:
        async with state.engine.connect() as conn:
            return (await get_window(conn, window_id, partner.partner_id)).to_json()

    @get(
        "/windows/{window_id:str}/statement.csv",
        summary="Statement as CSV",
        description="Opening balance, entries, closing balance of a closed window.",
        media_type="text/csv",
    )
    async def statement_csv(self, state: State, partner: PartnerPrincipal, window_id: str) -> Response[str]:
        async with state.engine.connect() as conn:
            statement, _ = await statement_for(conn, await get_window(conn, window_id, partner.partner_id))
        return Response(
            statement_to_csv(statement),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{window_id}.csv"'},
        )

    @get(
        "/windows/{window_id:str}/statement.xml",
        summary="Statement as ISO 20022 camt.053.001.08",
        media_type="application/xml",
    )
    async def statement_xml(self, state: State, partner: PartnerPrincipal, window_id: str) -> Response[bytes]:
        async with state.engine.connect() as conn:
            window = await get_window(conn, window_id, partner.partner_id)
            statement, _ = await statement_for(conn, window)
        document = write_camt053(
            statement, message_id=f"KORPU-{window.id}"[:35], sequence_number=window.sequence
        )
        return Response(
            document,
            media_type="application/xml",
            headers={"Content-Disposition": f'attachment; filename="{window_id}.camt053.xml"'},
        )

    @post(
        "/windows/{window_id:str}/reconciliations",
        summary="Upload your statement for reconciliation",
        description=(
            "Body: your statement of the window, camt.053.001.08 (`application/xml`) or CSV (`text/csv`). "
            "201 with the report summary; the same file again answers 200 with the first report."
        ),
    )
    async def upload(
        self, state: State, partner: PartnerPrincipal, window_id: str, request: Request[Any, Any, Any]
    ) -> Response[dict[str, Any]]:
        content = await request.body()
        if len(content) > MAX_UPLOAD_BYTES:
            raise Problem(413, "payload_too_large", "A statement file is at most 5 MiB.")
        fmt = _format_of(request, content)
        async with state.engine.begin() as conn:
            run, created = await reconcile_upload(conn, partner.partner_id, window_id, content, fmt)
        return Response(run.to_json(), status_code=201 if created else 200)

    @get("/reconciliations/{run_id:str}", summary="A reconciliation report as JSON")
    async def report(self, state: State, partner: PartnerPrincipal, run_id: str) -> dict[str, Any]:
        async with state.engine.connect() as conn:
            run, report = await get_run(conn, run_id, partner.partner_id)
        return {**run.to_json(), "items": report.to_json()["items"]}

    @get(
        "/reconciliations/{run_id:str}/report.csv",
        summary="A reconciliation report as CSV",
        media_type="text/csv",
    )
    async def report_csv(self, state: State, partner: PartnerPrincipal, run_id: str) -> Response[str]:
        async with state.engine.connect() as conn:
            _, report = await get_run(conn, run_id, partner.partner_id)
        return Response(
            report.to_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{run_id}.csv"'},
        )
