"""Server-rendered pages (Jinja2) and their static files; the pages call the gateway's API.

Besides the pages, one helper route: `POST /export/xlsx` turns a table the page already shows
(rows it read through the API) into an Excel file with Chinese headers, for tables whose service
has no export of its own. It reads no data itself; it only asks that the caller be signed in.
"""
from __future__ import annotations

import io
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from gateway.rules import hotline as hotline_rules
from gateway.runtime import Runtime
from shared.city import CITY_TZ, DISTRICTS
from shared.errors import FieldError, Invalid

HERE = Path(__file__).resolve().parents[1]  # the gateway package, which holds templates/ and static/
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

PAGES = {
    "/login": "login.html",
    "/assessor": "assessor.html",
    "/bureau": "bureau.html",
    "/bureau/dashboard": "dashboard.html",  # the city plan's indicators, charts and the map of unmet demand
    "/elder": "elder.html",
    "/provider": "provider.html",
    "/counter": "counter.html",  # a meal point's counter (助餐点): its staff redeem meal codes
    "/desk": "desk.html",  # the 12349 hotline desk (坐席): who is calling, one screen, the call log
}


# what a page shows from the gateway's own rules, rendered in so that the page keeps no copy
PAGE_FACTS = {"desk.html": {"reasons": hotline_rules.REASONS, "outcomes": hotline_rules.OUTCOMES}}


def page(template: str):
    async def render(request: Request) -> HTMLResponse:
        # the city facts come from shared/city.py, so the pages never hold copies of their own
        return templates.TemplateResponse(request, template, {"districts": DISTRICTS, "city_tz": CITY_TZ.key,
                                                              **PAGE_FACTS.get(template, {})})

    return render


for path, template in PAGES.items():
    router.add_api_route(path, page(template), methods=["GET"], response_class=HTMLResponse)


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


# ---- table export ------------------------------------------------------------------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_EXPORT_ROWS = 20_000
Cell = str | int | float | None


class TableExport(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "filename": "发放记录-2026-11", "sheet": "发放记录", "headers": ["月份", "发放张数", "发放金额（元）"],
        "rows": [["2026-11", 12, "3600.00"]], "money_columns": [2]}]})

    filename: str = Field(min_length=1, max_length=80)
    sheet: str = Field(default="表格", min_length=1, max_length=31)
    headers: list[str] = Field(min_length=1, max_length=60)
    rows: list[list[Cell]] = Field(max_length=MAX_EXPORT_ROWS)
    money_columns: list[int] = Field(default_factory=list, max_length=60,
                                     description="0-based columns holding yuan amounts as text, e.g. \"12.50\"")


def _safe_name(name: str) -> str:
    return re.sub(r'[\\/:*?"<>|\r\n\t]+', "-", name).strip(" .-") or "export"


def _sheet_title(name: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "-", name)[:31] or "表格"


def table_xlsx(body: TableExport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    ws = book.active
    ws.title = _sheet_title(body.sheet)
    ws.append(body.headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    money = set(body.money_columns)
    problems: list[FieldError] = []
    for r, row in enumerate(body.rows, start=2):
        for c, value in enumerate(row[:len(body.headers)], start=1):
            cell = ws.cell(row=r, column=c)
            if (c - 1) in money and value not in (None, ""):
                try:
                    cell.value = Decimal(str(value))  # exact yuan, never a float from fen
                except InvalidOperation:
                    problems.append(FieldError(f"rows.{r - 2}.{c - 1}", "金额应为数字，例如 12.50"))
                    continue
                cell.number_format = "0.00"
            else:
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = "s"  # text stays text: "=…" must never become a formula
    if problems:
        raise Invalid("导出的表格里有金额格式不正确，请刷新页面后再导出", errors=problems[:20])
    for index, header in enumerate(body.headers, start=1):
        ws.column_dimensions[ws.cell(row=1, column=index).column_letter].width = max(12, len(header) * 2 + 2)
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@router.post("/export/xlsx")
async def export_xlsx(body: TableExport, request: Request, rt: Runtime) -> Response:
    """The table the page shows, as an .xlsx download (signed-in callers only)."""
    await rt.sessions.principal(request)
    name = f"{_safe_name(body.filename)}.xlsx"
    ascii_name = name.encode("ascii", "ignore").decode().strip() or "export.xlsx"
    if ascii_name.startswith("."):
        ascii_name = "export" + ascii_name
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(table_xlsx(body), media_type=XLSX_TYPE, headers={"content-disposition": disposition})
