"""Reading a spreadsheet file into rows of text: XLSX/XLS/ODS, or CSV in whatever encoding.

Encodings are detected, never asked: UTF-8 (with or without BOM) strictly first, then GB18030
(a superset of GBK, which is what Excel on Chinese Windows writes), then charset-normalizer's
best guess. A decoding only counts if it also yields a recognisable header row, so a Big5 file
that happens to decode as GB18030 into nonsense still gets its chance with the detector.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

HEADER_SEARCH_ROWS = 20
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message is translated and shown as is."""


@dataclass
class Table:
    header: list[str]
    header_row: int  # 1-based, as the spreadsheet numbers rows
    rows: Iterator[tuple[int, list[str]]]  # (spreadsheet row number, cells), blank rows skipped
    encoding: str  # "xlsx" for workbooks
    size_hint: int = 0  # about how many rows follow, for choosing a bulk strategy


HeaderCheck = Callable[[list[str]], bool]


def read_table(data: bytes, *, filename: str, is_header: HeaderCheck) -> Table:
    """The first sheet's rows from the header row on; ``is_header`` recognises the header."""
    if not data.strip():
        raise ImportFileError(_("文件是空的"))
    if data.startswith(ZIP_MAGIC) or data.startswith(OLE_MAGIC):
        rows = list(_workbook_rows(data))
        table = _table(iter(rows), encoding="xlsx", is_header=is_header)
        assert table is not None
        table.size_hint = len(rows)
        return table
    lower = filename.lower()
    if lower.endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        raise ImportFileError(_("无法读取该 Excel 文件：文件已损坏或不是 Excel 格式"))
    return _read_text(data, is_header=is_header)


def _read_text(data: bytes, *, is_header: HeaderCheck) -> Table:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export: UTF-16 with a BOM, tab separated.
        candidates = ["utf-16"]
    else:
        if b"\x00" in data[:65536]:
            raise ImportFileError(_("该文件不是表格文件，请上传 Excel（.xlsx）或 CSV 文件"))
        candidates = ["utf-8-sig", "gb18030"]
    decoded_any = False
    for encoding in [*candidates, None]:
        if encoding is None:
            encoding = _detect(data)
            if encoding is None or encoding in candidates:
                break
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        decoded_any = True
        table = _table(_csv_rows(text), encoding=encoding, is_header=is_header, raise_missing=False)
        if table is not None:
            table.size_hint = text.count("\n")
            return table
    if not decoded_any:
        raise ImportFileError(_("无法识别文件的文字编码，请另存为 UTF-8 或 GBK 编码的 CSV，或 Excel 文件"))
    raise _no_header()


def _detect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return best.encoding if best is not None else None


def _csv_rows(text: str) -> Iterator[list[str]]:
    first_line = text[: text.find("\n")] if "\n" in text else text
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for row in reader:
        yield [cell.strip() for cell in row]


def _workbook_rows(data: bytes) -> Iterator[list[str]]:
    rows: Iterable[Sequence[object]]
    try:
        rows = _calamine_rows(data)
    except Exception:  # calamine could not read it (or is missing): openpyxl gets a go
        rows = _openpyxl_rows(data)
    for row in rows:
        yield [_cell_text(value) for value in row]


def _calamine_rows(data: bytes) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheet = workbook.get_sheet_by_index(0)
    return sheet.to_python(skip_empty_area=False)


def _openpyxl_rows(data: bytes) -> Iterator[tuple[object, ...]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise ImportFileError(_("无法读取该 Excel 文件：文件已损坏或不是 Excel 格式")) from None
    sheet = workbook.worksheets[0]
    yield from sheet.iter_rows(values_only=True)


def _cell_text(value: object) -> str:
    """Cells as the person typed them: 13812345678.0 back to 13812345678, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _table(
    rows: Iterator[list[str]], *, encoding: str, is_header: HeaderCheck, raise_missing: bool = True
) -> Table | None:
    number = 0
    for number, row in enumerate(rows, start=1):
        if number > HEADER_SEARCH_ROWS:
            break
        if is_header(row):
            body = ((n, cells) for n, cells in enumerate(rows, start=number + 1) if any(cells))
            return Table(header=row, header_row=number, rows=body, encoding=encoding)
    if number == 0 and raise_missing:
        raise ImportFileError(_("文件是空的"))
    if raise_missing:
        raise _no_header()
    return None


def _no_header() -> ImportFileError:
    return ImportFileError(
        _("找不到表头：表格前 %(n)d 行中须有一行包含“姓名”和“公民身份号码”两列") % {"n": HEADER_SEARCH_ROWS}
    )
