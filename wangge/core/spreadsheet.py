"""Writing registers as XLSX for people to fill in or to report upward: one sheet of rows under a
bold header, and a second sheet with the code tables the coded columns use.

Every cell goes through ``safe_cell``: text that leaves the system must not become a formula
when Excel opens it (CSV/XLSX injection). Columns named in ``text_columns`` are typed as text so
Excel keeps ID numbers whole and dates as written.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from openpyxl.utils import get_column_letter

from wangge.core.audit import Action, audit

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: rows written between two chunks of a streamed workbook
CHUNK_ROWS = 2000
#: rows of the first chunk: the download starts (and the browser shows it) before a whole chunk is read
FIRST_ROWS = 200


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
    return b"".join(
        register_workbook_stream(
            title=title,
            header=header,
            rows=rows,
            codes_title=codes_title,
            codes_header=codes_header,
            codes=codes,
            text_columns=text_columns,
        )
    )


def register_workbook_stream(
    *,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    codes_title: str,
    codes_header: Sequence[str],
    codes: Iterable[Sequence[Any]] | Callable[[], Iterable[Sequence[Any]]],
    text_columns: Iterable[int] = (),
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[bytes]:
    """``register_workbook`` as chunks of XLSX bytes, ``rows`` consumed as they are written.

    The package (a ZIP) is written forward only, sizes after each part, so the download starts
    with the first ``FIRST_ROWS`` rows, then ``chunk_rows`` at a time: building a district's
    register in memory first (openpyxl's cell objects) kept the user waiting seconds for the first
    byte. ``codes`` may be a callable, read when its sheet is written.
    """
    sink = _Sink()
    text = frozenset(text_columns)
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name, content in _package_parts(title, codes_title):
            package.writestr(name, content)
        with package.open("xl/worksheets/sheet1.xml", "w") as part:
            part.write(_sheet_start(len(header), text, frozen=True))
            part.write(_row_xml(1, header, frozenset(), style=_HEADER).encode())
            lines: list[str] = []
            for number, row in enumerate(rows, start=2):
                lines.append(_row_xml(number, row, text))
                if len(lines) >= (chunk_rows if number > FIRST_ROWS + 1 else FIRST_ROWS):
                    part.write("".join(lines).encode())
                    lines.clear()
                    part.flush()
                    yield sink.take()
            part.write(("".join(lines) + _SHEET_END).encode())
        yield sink.take()
        with package.open("xl/worksheets/sheet2.xml", "w") as part:
            part.write(_sheet_start(len(codes_header), frozenset(), frozen=False))
            part.write(_row_xml(1, codes_header, frozenset()).encode())
            table = codes() if callable(codes) else codes
            part.write("".join(_row_xml(n, row, frozenset()) for n, row in enumerate(table, start=2)).encode())
            part.write(_SHEET_END.encode())
    yield sink.take()


#: cell styles of ``_STYLES``: the bold, shaded header and text (``@``) columns
_HEADER, _TEXT = 1, 2
_SHEET_END = "</sheetData></worksheet>"
#: characters XML 1.0 cannot carry (openpyxl refuses them too): dropped from a cell's text
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill>'
    "</fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


class _Sink:
    """A write-only file for ``zipfile``: it keeps what was written until ``take``."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _package_parts(title: str, codes_title: str) -> list[tuple[str, str]]:
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    package_rel = "http://schemas.openxmlformats.org/package/2006/relationships"
    names = [escape(name[:31], {'"': "&quot;"}) for name in (title, codes_title)]  # Excel's limit on a sheet name
    return [
        (
            "[Content_Types].xml",
            head + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{sheet_type}"/>'
            f'<Override PartName="/xl/worksheets/sheet2.xml" ContentType="{sheet_type}"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>',
        ),
        (
            "_rels/.rels",
            head + f'<Relationships xmlns="{package_rel}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        ),
        (
            "xl/workbook.xml",
            head + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            f'<sheet name="{names[0]}" sheetId="1" r:id="rId1"/><sheet name="{names[1]}" sheetId="2" r:id="rId2"/>'
            "</sheets></workbook>",
        ),
        (
            "xl/_rels/workbook.xml.rels",
            head + f'<Relationships xmlns="{package_rel}">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/worksheet" Target="worksheets/sheet2.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
        ),
        ("xl/styles.xml", _STYLES),
    ]


def _sheet_start(columns: int, text: frozenset[int], *, frozen: bool) -> bytes:
    pane = (
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
        'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        if frozen
        else ""
    )
    cols = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="{20 if i in text else 14}" customWidth="1"'
        + (f' style="{_TEXT}"/>' if i in text else "/>")
        for i in range(columns)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}">'
        + pane
        + (f"<cols>{cols}</cols>" if cols else "")
        + "<sheetData>"
    ).encode()


_LETTERS = [get_column_letter(n) for n in range(1, 53)]


def _row_xml(number: int, values: Sequence[Any], text: frozenset[int], style: int = 0) -> str:
    cells = []
    for index, value in enumerate(values):
        ref = f"{_LETTERS[index] if index < len(_LETTERS) else get_column_letter(index + 1)}{number}"
        cell_style = style or (_TEXT if index in text else 0)
        attrs = f' r="{ref}"' + (f' s="{cell_style}"' if cell_style else "")
        value = safe_cell(value)
        if value is None or value == "":
            if cell_style:
                cells.append(f"<c{attrs}/>")
        elif isinstance(value, bool):
            cells.append(f'<c{attrs} t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, int | float | Decimal) and index not in text:
            cells.append(f"<c{attrs}><v>{value}</v></c>")
        else:
            shown = _ILLEGAL_XML.sub("", value.isoformat() if isinstance(value, dt.date) else str(value))
            cells.append(f'<c{attrs} t="inlineStr"><is><t xml:space="preserve">{escape(shown)}</t></is></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'


def xlsx_response(content: bytes, name: str, count: int | None = None) -> HttpResponse:
    """A workbook as a download; ``count``, the rows exported, in ``X-Row-Count``."""
    response = HttpResponse(content, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    if count is not None:
        response["X-Row-Count"] = str(count)
    return response


def xlsx_streaming_response(chunks: Iterator[bytes], name: str, count: int) -> StreamingHttpResponse:
    """A streamed workbook (``register_workbook_stream``) as a download, ``count`` in ``X-Row-Count``."""
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
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
