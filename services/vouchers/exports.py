"""Tables as CSV or XLSX downloads with Chinese headers, for clerks who open them in Excel/WPS.

Amounts are written in yuan: in CSV as exact text ("12.50"), in XLSX as exact decimals
formatted with two places (never floats computed from fen).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal
from urllib.parse import quote

from fastapi.responses import Response

from services.vouchers.rules.money import format_yuan

Format = Literal["json", "csv", "xlsx"]  # what a list route answers: JSON, or a download
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Column:
    """One exported column: a Chinese header, the row key, and whether it holds fen."""

    def __init__(self, header: str, key: str, *, fen: bool = False) -> None:
        self.header, self.key, self.fen = header, key, fen


def _cell(row: dict, column: Column, *, for_xlsx: bool):
    value = row.get(column.key)
    if column.fen and value is not None:
        return Decimal(int(value)) / 100 if for_xlsx else format_yuan(int(value))
    return value


def to_csv(columns: Sequence[Column], rows: Sequence[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([_cell(row, c, for_xlsx=False) for c in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8 Chinese


def to_xlsx(columns: Sequence[Column], rows: Sequence[dict], *, sheet: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    ws = book.active
    ws.title = sheet[:31]
    ws.append([c.header for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([_cell(row, c, for_xlsx=True) for c in columns])
    for index, column in enumerate(columns, start=1):
        letter = ws.cell(row=1, column=index).column_letter
        ws.column_dimensions[letter].width = max(12, len(column.header) * 2 + 2)
        if column.fen:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "0.00"
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(columns: Sequence[Column], rows: Sequence[dict], *, fmt: str, filename: str, sheet: str) -> Response:
    if fmt == "csv":
        body, media, ext = to_csv(columns, rows), "text/csv; charset=utf-8", "csv"
    else:
        body, media, ext = to_xlsx(columns, rows, sheet=sheet), XLSX_TYPE, "xlsx"
    name = f"{filename}.{ext}"
    ascii_name = name.encode("ascii", "ignore").decode() or "export." + ext
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, media_type=media, headers={"content-disposition": disposition})
