"""The XLSX reader streams the first sheet: the same cells as a spreadsheet program shows, row by
row, in memory bounded by a chunk rather than by the file."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from wangge.registry.importing.limits import ImportFileError, ImportTooLarge, Limits
from wangge.registry.importing.reading import _texts
from wangge.registry.importing.workbook import workbook_rows

LIMITS = Limits(bytes=50 << 20, rows=1_000_000, columns=200, inflated=200 << 20, ratio=100, cell_chars=32_767)


def _xlsx(rows: list[list[object]], *, second_sheet: bool = False) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    sheet["B2"].number_format = "yyyy年m月d日"
    if second_sheet:
        book.create_sheet("其他").append(["不该读到"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _calamine(data: bytes) -> list[list[str]]:
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).iter_rows()
    return [row for row in _texts(rows)]


def _ours(data: bytes) -> list[list[str]]:
    rows, _size = workbook_rows(data, LIMITS)
    return list(_texts(rows))


def _trim(rows: list[list[str]]) -> list[list[str]]:
    """Rows without trailing blanks, as the import reads them."""
    out = []
    for row in rows:
        while row and row[-1] == "":
            row = row[:-1]
        out.append(row)
    return out


def test_it_reads_the_cells_a_spreadsheet_shows_as_calamine_did() -> None:
    rows: list[list[object]] = [
        ["姓名", "出生日期", "电话", "身份证号", "在世", "备注", "面积"],
        ["张三", dt.date(1946, 3, 9), 13812345678, "210304194603091234", True, None, 65.5],
        ["李四", dt.datetime(2001, 12, 31, 8, 30), 24000000, "21030420011231002X", False, "有 & <符号>", 80],
        ["王五", None, None, None, None, "  前后空格  ", -0.25],
    ]
    data = _xlsx(rows, second_sheet=True)
    ours = _ours(data)
    assert _trim(ours) == _trim(_calamine(data))
    assert ours[1][:5] == ["张三", "1946-03-09", "13812345678", "210304194603091234", "1"]
    assert ours[2][1] == "2001-12-31 08:30:00" and ours[2][5] == "有 & <符号>"
    assert all("不该读到" not in cell for row in ours for cell in row)


def _handmade(sheet: str, *, workbook_pr: str = "") -> bytes:
    """A minimal workbook as other programs write it: inline strings, prefixed tags, gaps."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        )
        archive.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0"?><x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'{workbook_pr}<x:sheets><x:sheet name="人口" sheetId="1" r:id="rId7"/></x:sheets></x:workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId7" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/data.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/styles.xml",
            '<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<numFmts count="1"><numFmt numFmtId="180" formatCode="yyyy&quot;年&quot;m&quot;月&quot;"/></numFmts>'
            '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="180"/></cellXfs></styleSheet>',
        )
        archive.writestr(
            "xl/worksheets/data.xml",
            '<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<x:sheetData>{sheet}</x:sheetData></x:worksheet>",
        )
    return out.getvalue()


def test_it_reads_inline_strings_prefixed_tags_row_gaps_and_date_styles() -> None:
    data = _handmade(
        '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>姓名</x:t></x:is></x:c>'
        '<x:c r="C1" t="inlineStr"><x:is><x:r><x:t>出生</x:t></x:r><x:r><x:t>日期</x:t></x:r>'
        "<x:rPh><x:t>ちゅっせい</x:t></x:rPh></x:is></x:c></x:row>"
        '<x:row r="3"><x:c r="A3" t="str"><x:f>"赵"&amp;"六"</x:f><x:v>赵六</x:v></x:c>'
        '<x:c r="B3" s="2"><x:v>17168</x:v></x:c><x:c r="C3" s="1"><x:v>17168.5</x:v></x:c></x:row>'
    )
    assert _ours(data) == [["姓名", "", "出生日期"], [], ["赵六", "1947-01-01", "1947-01-01 12:00:00"]]
    # the 1904 date system counts from 1904-01-01
    data1904 = _handmade(
        '<x:row r="1"><x:c r="A1" s="1"><x:v>0</x:v></x:c></x:row>', workbook_pr='<x:workbookPr date1904="1"/>'
    )
    assert _ours(data1904) == [["1904-01-01"]]


def test_a_sheet_past_the_limits_stops_the_reading_with_a_clear_error() -> None:
    wide = _handmade('<x:row r="1"><x:c r="GT1"><x:v>1</x:v></x:c></x:row>')  # column 202
    with pytest.raises(ImportTooLarge):
        _ours(wide)
    declared = _handmade('<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row>').replace(
        b"<x:sheetData>", b'<x:dimension ref="A1:XFD1048576"/><x:sheetData>'
    )
    with pytest.raises((ImportTooLarge, ImportFileError)):
        _ours(declared)
    with pytest.raises(ImportFileError):
        _ours(_handmade('<x:row r="1"><x:c r="A1" t="s"><x:v>7</x:v></x:c></x:row>'))  # no such shared string


def test_rows_stream_in_memory_bounded_by_a_chunk_not_the_file() -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for number in range(60_000):
        sheet.append([number, number * 2.5, number % 7, number + 1, number + 2, number + 3, number + 4, number + 5])
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    tracemalloc.start()
    try:
        rows, size = workbook_rows(data, LIMITS)
        first = next(rows)
        early_peak = tracemalloc.get_traced_memory()[1]
        count = 1 + sum(1 for _ in rows)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first[:2] == [0.0, 0.0] and count == 60_000 and size > 0  # an estimate for the progress bar
    # 480,000 cells held at once would be tens of MB of Python objects; one chunk's rows are not
    assert peak < 8 << 20, peak
    assert early_peak < 8 << 20


def test_a_sheet_beyond_the_limits_is_refused_before_its_first_row_is_handed_out() -> None:
    small = Limits(bytes=50 << 20, rows=1000, columns=10, inflated=200 << 20, ratio=100, cell_chars=50)
    far_row = _handmade(
        '<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row><x:row r="1001"><x:c r="A1001"><x:v>2</x:v></x:c></x:row>'
    )
    wide = _handmade('<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c><x:c r="K1"><x:v>2</x:v></x:c></x:row>')
    long_cell = _handmade(
        '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>' + "长" * 51 + "</x:t></x:is></x:c></x:row>"
    )
    for data in (far_row, wide, long_cell):
        with pytest.raises(ImportTooLarge):
            workbook_rows(data, small)  # raised by the call itself, not while iterating
    ok = _handmade('<x:row r="1"><x:c r="J1" t="inlineStr"><x:is><x:t>' + "长" * 50 + "</x:t></x:is></x:c></x:row>")
    rows, size = workbook_rows(ok, small)
    assert size == 1 and next(rows)[-1] == "长" * 50
