"""Reading a spreadsheet file into rows of text: XLSX/XLS/ODS, or CSV in whatever encoding.

Encodings are detected, never asked: UTF-8 (with or without BOM) strictly first, then GB18030
(a superset of GBK, which is what Excel on Chinese Windows writes), then charset-normalizer's
best guess. A decoding only counts if it also yields a recognisable header row, so a Big5 file
that happens to decode as GB18030 into nonsense still gets its chance with the detector.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.utils.translation import gettext as _

from wangge.registry.importing.limits import ImportFileError, ImportTooLarge, Limits
from wangge.registry.importing.workbook import corrupt, workbook_rows

__all__ = ["ImportFileError", "ImportTooLarge", "Table", "read_table"]

HEADER_SEARCH_ROWS = 20
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
# A physical line of a CSV longer than this is refused before it is held whole in memory; no
# resident's row comes near it, and one field is limited further by the cell limit.
MAX_LINE_CHARS = 1 << 20
DECODE_STEP = 1 << 18


@dataclass
class Table:
    header: list[str]
    header_row: int  # 1-based, as the spreadsheet numbers rows
    rows: Iterator[tuple[int, list[str]]]  # (spreadsheet row number, cells), blank rows skipped
    encoding: str  # "xlsx" for workbooks
    size_hint: int = 0  # about how many rows follow, for choosing a bulk strategy


HeaderCheck = Callable[[list[str]], bool]


def read_table(
    data: bytes, *, filename: str, is_header: HeaderCheck, no_header: Callable[[], ImportFileError] | None = None
) -> Table:
    """The first sheet's rows from the header row on; ``is_header`` recognises the header, and
    ``no_header`` says which columns were looked for when none is found (default: the residents').

    Rows are streamed: the table's ``rows`` raise ``ImportTooLarge`` when the file turns out to
    pass a limit while it is read (the import then writes nothing).
    """
    limits = Limits.from_settings()
    if len(data) > limits.bytes:
        raise limits.too_many_bytes()
    if not data or data.isspace():  # without copying the file, as strip() would
        raise ImportFileError(_("文件是空的"))
    if data.startswith(ZIP_MAGIC):
        rows, size = workbook_rows(data, limits)
        table = _table(_limited(_texts(rows), limits), encoding="xlsx", is_header=is_header, no_header=no_header)
        assert table is not None
        table.size_hint = size
        return table
    if data.startswith(OLE_MAGIC):
        # Legacy .xls: read whole by python-calamine, which the format itself bounds (65,536 rows,
        # 256 columns) and the byte limit above keeps small.
        table = _table(
            _limited(_texts(_xls_rows(data)), limits), encoding="xlsx", is_header=is_header, no_header=no_header
        )
        assert table is not None
        return table
    lower = filename.lower()
    if lower.endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        raise corrupt()
    return _read_text(data, is_header=is_header, limits=limits, no_header=no_header)


def _read_text(
    data: bytes, *, is_header: HeaderCheck, limits: Limits, no_header: Callable[[], ImportFileError] | None = None
) -> Table:
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
        if not _decodes(data, encoding):
            continue
        decoded_any = True
        lines = data.count(b"\n")
        if lines >= limits.rows and _count(_csv_rows(data, encoding, limits), up_to=limits.rows + 1) > limits.rows:
            raise limits.too_many_rows()  # counted before any row is imported
        table = _table(
            _limited(_csv_rows(data, encoding, limits), limits),
            encoding=encoding,
            is_header=is_header,
            raise_missing=False,
        )
        if table is not None:
            table.size_hint = lines
            return table
    if not decoded_any:
        raise ImportFileError(_("无法识别文件的文字编码，请另存为 UTF-8 或 GBK 编码的 CSV，或 Excel 文件"))
    raise (no_header or _no_header)()


def _count(rows: Iterator[list[str]], *, up_to: int) -> int:
    return sum(1 for _ in islice(rows, up_to))


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether all of ``data`` is valid in ``encoding``, decoded a slice at a time (no full copy)."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
        view = memoryview(data)
        for start in range(0, len(data), DECODE_STEP):
            decoder.decode(view[start : start + DECODE_STEP])
        decoder.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _detect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return best.encoding if best is not None else None


def _csv_rows(data: bytes, encoding: str, limits: Limits) -> Iterator[list[str]]:
    first_line = _text_stream(data, encoding).readline(MAX_LINE_CHARS)
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    # The limit is process-wide in the csv module; every import sets the same configured value.
    csv.field_size_limit(limits.cell_chars)
    reader = csv.reader(_lines(_text_stream(data, encoding), limits), delimiter=delimiter)
    try:
        for row in reader:
            yield [cell.strip() for cell in row]
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise limits.too_long_cell() from None
        raise ImportFileError(
            _("CSV 文件第 %(line)d 行格式错误，请用 Excel 另存为 CSV 后再导入") % {"line": reader.line_num}
        ) from None


def _text_stream(data: bytes, encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")


def _lines(stream: io.TextIOWrapper, limits: Limits) -> Iterator[str]:
    while line := stream.readline(MAX_LINE_CHARS + 1):
        if len(line) > MAX_LINE_CHARS:
            raise limits.too_long_cell()
        yield line


def _limited(rows: Iterable[list[str]], limits: Limits) -> Iterator[list[str]]:
    """Rows as text, refused as soon as one passes the row or column limit."""
    for number, row in enumerate(rows, start=1):
        if number > limits.rows:
            raise limits.too_many_rows()
        if len(row) > limits.columns:
            raise limits.too_many_columns()
        yield row


def _texts(rows: Iterable[Sequence[object]]) -> Iterator[list[str]]:
    for row in rows:
        yield [_cell_text(value) for value in row]


def _xls_rows(data: bytes) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        return workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception:  # calamine raises its own errors, and others, on a damaged file
        raise corrupt() from None


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
    rows: Iterator[list[str]],
    *,
    encoding: str,
    is_header: HeaderCheck,
    raise_missing: bool = True,
    no_header: Callable[[], ImportFileError] | None = None,
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
        raise (no_header or _no_header)()
    return None


def _no_header() -> ImportFileError:
    return ImportFileError(
        _("找不到表头：表格前 %(n)d 行中须有一行包含“姓名”和“公民身份号码”两列") % {"n": HEADER_SEARCH_ROWS}
    )
