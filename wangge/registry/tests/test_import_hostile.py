"""Hostile and malformed import files, each built here: refused with a clear 400 or 413, nothing
written, no import audited, and the memory spent on refusing them bounded."""

from __future__ import annotations

import csv
import io
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from wangge.core.models import AuditEntry
from wangge.registry.importing import ImportFileError, import_residents
from wangge.registry.importing.limits import ImportTooLarge
from wangge.registry.importing.reading import read_table
from wangge.registry.models import Resident
from wangge.registry.tests.test_import import HEADER, csv_bytes, id_for

MB = 1024 * 1024
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>'
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/></Relationships>'
)
SHEET = "xl/worksheets/sheet1.xml"


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


HEADER_ROW = '<row r="1">' + inline("A1", "姓名") + inline("B1", "公民身份号码") + "</row>"


def sheet_xml(rows: str, *, head: str = "", prolog: str = "") -> str:
    body = f"{head}<sheetData>{rows}</sheetData>"
    return f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{MAIN}">{body}</worksheet>'


def xlsx(sheet: str | Iterator[bytes], *, stored: bool = False) -> bytes:
    """A minimal workbook of one sheet; a sheet given as chunks is compressed as it streams."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        if isinstance(sheet, str):
            archive.writestr(SHEET, sheet)
        else:
            with archive.open(SHEET, "w", force_zip64=True) as part:
                for chunk in sheet:
                    part.write(chunk)
    return out.getvalue()


def huge_cell(chars: int) -> Iterator[bytes]:
    yield sheet_xml(HEADER_ROW + '<row r="2"><c r="A2" t="inlineStr"><is><t>').split("</t></is></c>")[0].encode()
    block = b"A" * MB
    for _ in range(chars // MB):
        yield block
    yield b"</t></is></c></row></sheetData></worksheet>"


def with_declared_size(data: bytes, name: str, size: int) -> bytes:
    """The archive with ``name``'s uncompressed size rewritten in both headers: a lying archive."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    info = archive.getinfo(name)
    patched = bytearray(data)
    patched[info.header_offset + 22 : info.header_offset + 26] = size.to_bytes(4, "little")
    for offset in _central_entries(data, archive.start_dir):
        length = int.from_bytes(data[offset + 28 : offset + 30], "little")
        if data[offset + 46 : offset + 46 + length].decode() == name:
            patched[offset + 24 : offset + 28] = size.to_bytes(4, "little")
    return bytes(patched)


def _central_entries(data: bytes, start: int) -> Iterator[int]:
    offset = start
    while data[offset : offset + 4] == b"PK\x01\x02":
        yield offset
        name, extra, comment = (int.from_bytes(data[offset + i : offset + i + 2], "little") for i in (28, 30, 32))
        offset += 46 + name + extra + comment


def with_bad_crc(data: bytes) -> bytes:
    """The archive with one byte of the (stored, so readable) sheet changed: its CRC no longer holds."""
    position = data.index(b"<v>7</v>") + 3
    return data[:position] + b"8" + data[position + 1 :]


BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(2, 10))
    + "]>"
)


def many_rows_csv(rows: int) -> bytes:
    line = ",".join(["张伟", id_for(1), "", "灵西社区", "1号楼", "1", "101", "", ""]) + "\r\n"
    return (",".join(HEADER) + "\r\n").encode() + (line * rows).encode()


def many_rows_xlsx(rows: int) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADER)
    for _ in range(rows):
        sheet.append(["张伟", id_for(1), "", "灵西社区", "1号楼", "1", "101", "", ""])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture
def small_limits(settings: Any) -> Any:
    """Limits small enough that a test can build a file beyond each of them in a moment."""
    settings.WANGGE_IMPORT_MAX_ROWS = 1_000
    settings.WANGGE_IMPORT_MAX_INFLATED_BYTES = 2 * MB
    return settings


def corpus() -> list[tuple[str, str, Callable[[], bytes], int]]:
    """(what, file name, how to build it, the status it must get); built lazily, one at a time."""
    seven = '<row r="2">' + inline("A2", "张伟") + '<c r="B2"><v>7</v></c></row>'
    return [
        (
            "a dimension declaring every cell of a sheet",
            "dim.xlsx",
            lambda: xlsx(sheet_xml(HEADER_ROW, head='<dimension ref="A1:XFD1048576"/>')),
            413,
        ),
        (
            "one cell in the last row and column",
            "far.xlsx",
            lambda: xlsx(sheet_xml(HEADER_ROW + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')),
            413,
        ),
        (
            "a cell in column 201",
            "wide.xlsx",
            lambda: xlsx(sheet_xml(HEADER_ROW + '<row r="2"><c r="GS2"><v>1</v></c></row>')),
            413,
        ),
        ("a cell of 3 MB inflating past the limit", "cell.xlsx", lambda: xlsx(huge_cell(3 * MB)), 413),
        (
            "a cell of 40,000 characters",
            "long.xlsx",
            lambda: xlsx(sheet_xml(HEADER_ROW + '<row r="2">' + inline("A2", "甲" * 40_000) + "</row>")),
            413,
        ),
        (
            "an archive declaring 1 GB for its sheet",
            "lies-big.xlsx",
            lambda: with_declared_size(xlsx(huge_cell(MB)), SHEET, 1024 * MB),
            413,
        ),
        (
            "an archive declaring 1 KB for a 1 MB sheet",
            "lies-small.xlsx",
            lambda: with_declared_size(xlsx(huge_cell(MB)), SHEET, 1024),
            400,
        ),
        ("1,500 rows in a workbook", "rows.xlsx", lambda: many_rows_xlsx(1_500), 413),
        ("1,500 rows in a CSV", "rows.csv", lambda: many_rows_csv(1_500), 413),
        (
            "a zip whose sheet fails its CRC",
            "crc.xlsx",
            lambda: with_bad_crc(xlsx(sheet_xml(HEADER_ROW + seven), stored=True)),
            400,
        ),
        ("an XLSX that is not a zip", "fake.xlsx", lambda: b"PK\x03\x04" + bytes(range(256)) * 8, 400),
        ("random bytes named .xlsx", "noise.xlsx", lambda: bytes(range(1, 256)) * 8, 400),
        ("a zip that is not a workbook", "other.xlsx", lambda: _zip_of({"hello.txt": "你好"}), 400),
        (
            "entity expansion in the sheet",
            "laughs.xlsx",
            lambda: xlsx(sheet_xml('<row r="1">' + inline("A1", "&lol9;") + "</row>", prolog=BILLION_LAUGHS)),
            400,
        ),
        (
            "a GBK CSV with an invalid byte",
            "bad-gbk.csv",
            lambda: ",".join(HEADER).encode("gbk") + b"\r\n\xb7\xff\xfe,1\r\n",
            400,
        ),
        ("a CSV with a 2 MB line", "line.csv", lambda: ",".join(HEADER).encode() + b"\r\n" + b"x" * (2 * MB), 413),
        ("a CSV of 201 columns", "cols.csv", lambda: ",".join(HEADER + ["x"] * 192).encode() + b"\r\n", 413),
        (
            "a CSV with a NUL byte after the start",
            "nul.csv",
            lambda: ",".join(HEADER).encode() + b"\r\n" + b"a,b\r\n" * 500 + b"\x00,1\r\n",
            400,
        ),
        ("an empty file", "empty.csv", lambda: b"", 400),
        ("a file of blanks", "blank.csv", lambda: b" \r\n\t\r\n", 400),
    ]


def _zip_of(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return out.getvalue()


def nothing_imported(before: int) -> bool:
    return (
        Resident.objects.count() == before and not AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT).exists()
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("what", "name", "build", "status"), corpus(), ids=[case[1] for case in corpus()])
def test_it_refuses_a_hostile_upload_with_a_clear_4xx_bounded_memory_and_nothing_written(
    what: str,
    name: str,
    build: Callable[[], bytes],
    status: int,
    small_limits: Any,
    client_for: Callable[[str], Client],
) -> None:
    client = client_for("district_admin")
    assert client.get(reverse("registry:import")).status_code == 200  # modules and templates loaded
    before = Resident.objects.count()
    upload = io.BytesIO(build())
    upload.name = name
    tracemalloc.start()
    try:
        response = client.post(reverse("registry:import"), {"file": upload})
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == status, what
    page = response.content.decode()
    assert 'class="errorlist' in page, what  # the reason is on the page, next to the file field
    assert nothing_imported(before), what
    # The upload itself is in memory once or twice (the test's copy, the request body); what
    # reading it costs on top is bounded, whatever the file claims or inflates to.
    assert peak < 2 * len(upload.getvalue()) + 24 * MB, (what, peak)


@pytest.mark.django_db
def test_it_answers_in_english_when_the_page_is_english(small_limits: Any, client_for: Callable[[str], Client]) -> None:
    client = client_for("district_admin")
    upload = io.BytesIO(many_rows_csv(1_500))
    upload.name = "rows.csv"
    client.cookies["django_language"] = "en"
    response = client.post(reverse("registry:import"), {"file": upload})
    assert response.status_code == 413
    assert "more than 1000 rows" in response.content.decode()


@pytest.mark.django_db
def test_it_refuses_an_upload_over_the_byte_limit_before_reading_it(
    settings: Any, client_for: Callable[[str], Client]
) -> None:
    settings.WANGGE_IMPORT_MAX_BYTES = 10_000
    before = Resident.objects.count()
    upload = io.BytesIO(csv_bytes([["张伟", id_for(1), "", "灵西社区", "1号楼", "1", "101", "", ""]] * 200))
    upload.name = "big.csv"
    response = client_for("district_admin").post(reverse("registry:import"), {"file": upload})
    assert response.status_code == 413
    assert "文件超过" in response.content.decode()
    assert nothing_imported(before)


@pytest.mark.django_db
def test_it_stops_reading_a_csv_line_of_100_mb_at_the_line_limit(world: object) -> None:
    data = ",".join(HEADER).encode() + b"\r\n" + b"y" * (100 * MB)
    before = Resident.objects.count()
    tracemalloc.start()
    try:
        with pytest.raises(ImportTooLarge):
            import_residents(data=data, file_name="line.csv")
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MB, peak  # a line of 1 M characters at most, not the 100 MB
    assert nothing_imported(before)


@pytest.mark.django_db
def test_the_command_refuses_a_hostile_file_with_exit_status_2(
    small_limits: Any, tmp_path: Path, world: object
) -> None:
    before = Resident.objects.count()
    bomb = tmp_path / "dim.xlsx"
    bomb.write_bytes(xlsx(sheet_xml(HEADER_ROW, head='<dimension ref="A1:XFD1048576"/>')))
    with pytest.raises(CommandError) as refused:
        call_command("import", "residents", str(bomb))
    assert refused.value.returncode == 2
    assert "超过 1000 行" in str(refused.value)

    small_limits.WANGGE_IMPORT_MAX_BYTES = 1024
    big = tmp_path / "big.csv"
    big.write_bytes(many_rows_csv(100))
    with pytest.raises(CommandError) as refused:
        call_command("import", "residents", str(big))
    assert refused.value.returncode == 2
    assert "文件超过" in str(refused.value)
    assert nothing_imported(before)


def _rows_read(data: bytes, name: str) -> int:
    table = read_table(data, filename=name, is_header=lambda row: bool(row) and row[0] == "姓名")
    return sum(1 for _ in table.rows)


def _peak_reading(data: bytes, name: str) -> int:
    tracemalloc.start()
    try:
        assert _rows_read(data, name) > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.django_db
def test_memory_for_reading_a_csv_follows_the_row_not_the_file() -> None:
    data = many_rows_csv(100_000)  # 5.7 MB; as rows of Python strings it would take about 60 MB
    tracemalloc.start()
    try:
        assert _rows_read(data, "rows.csv") == 100_000
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * MB, peak


@pytest.mark.django_db
def test_it_reads_a_workbook_whose_dimension_understates_its_rows(world: object) -> None:
    rows = "".join(
        f'<row r="{n}">' + inline(f"A{n}", "张伟") + inline(f"B{n}", id_for(n)) + "</row>" for n in range(2, 6)
    )
    data = xlsx(sheet_xml(HEADER_ROW + rows, head='<dimension ref="A1:B2"/>'))
    assert _rows_read(data, "short.xlsx") == 4  # every row, not the two the dimension claims


def test_the_csv_reader_reports_a_malformed_quote_as_a_file_error() -> None:
    data = ",".join(HEADER).encode() + b"\r\n" + b'"a\x00b",1\r\n'
    with pytest.raises(ImportFileError):
        _rows_read(data, "x.csv")
    assert csv.field_size_limit() > 0
