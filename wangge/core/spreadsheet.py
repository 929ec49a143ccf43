"""Writing registers as XLSX for people to fill in or to report upward: one sheet of rows under a
bold header, and a second sheet with the code tables the coded columns use.

Every cell goes through ``safe_cell``: text that leaves the system must not become a formula
when Excel opens it (CSV/XLSX injection). Columns named in ``text_columns`` are typed as text so
Excel keeps ID numbers whole and dates as written.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from wangge.core.audit import Action, audit

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value``, with a leading ``'`` when Excel would read the text as a formula."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def register_workbook(
    *,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    codes_title: str,
    codes_header: Sequence[str],
    codes: Iterable[Sequence[Any]],
    text_columns: Iterable[int] = (),
) -> bytes:
    """The register's sheet and its code tables as XLSX bytes; ``text_columns`` are 0-based."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]  # Excel's limit on a sheet name
    sheet.append([safe_cell(v) for v in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    text = set(text_columns)
    for index in range(len(header)):
        letter = get_column_letter(index + 1)
        sheet.column_dimensions[letter].width = 20 if index in text else 14
        if index in text:
            sheet.column_dimensions[letter].number_format = "@"
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
        if text:
            for index in text:
                sheet.cell(row=sheet.max_row, column=index + 1).number_format = "@"
    sheet.freeze_panes = "A2"
    table = book.create_sheet(codes_title[:31])
    table.append([safe_cell(v) for v in codes_header])
    for row in codes:
        table.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_response(content: bytes, name: str, count: int | None = None) -> HttpResponse:
    """A workbook as a download; ``count``, the rows exported, in ``X-Row-Count``."""
    response = HttpResponse(content, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    if count is not None:
        response["X-Row-Count"] = str(count)
    return response


def audited_export(*, by: Any, queryset: Any, object_type: str, summary: str) -> int:
    """Count the rows about to be exported and write the export to the audit log, before a row
    is built: nothing leaves unlogged. ``summary`` takes ``%(count)d``."""
    with transaction.atomic():
        count = int(queryset.count())
        audit(
            actor=by,
            action=Action.EXPORT,
            object_type=object_type,
            summary=summary % {"count": count},
            detail={"count": count, "format": "xlsx"},
        )
    return count
