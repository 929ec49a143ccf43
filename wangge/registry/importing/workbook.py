"""Reading an XLSX workbook without trusting it.

Before a spreadsheet library opens the file, the ZIP archive's declared sizes and compression
ratios are checked, and every XML part is streamed once through expat with document type
declarations refused (no entity expansion), every cell's text length checked, and each
worksheet's declared (``<dimension>``) and actual extent (the last row and column that hold a
cell) measured, stopping at the first limit passed. Python's zipfile stops at a part's declared
size and checks its CRC, so an archive that lies about its sizes fails here too.

Only then does python-calamine read the first sheet. It builds the sheet as one dense block of
rows × columns in native memory (given a 2 KB file with a cell at XFD1048576 it aborts the
process), which is why the extent is measured first and capped by ``MAX_DENSE_CELLS``; rows are
then handed out one at a time. openpyxl's read-only mode would stream in bounded memory but
reads about 25 times slower, too slow for a district's file.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from django.utils.translation import gettext as _

from wangge.registry.importing.limits import ImportFileError, Limits

READ_SIZE = 1 << 16
# A part smaller than this may compress as well as it likes (a 2 MB run of blanks is harmless);
# larger parts must stay within the ratio limit.
RATIO_FLOOR = 1 << 20
MAX_MEMBERS = 10_000
# About 32 bytes of native memory per cell of the sheet's extent: 1 GB at most, which is still
# 1,000,000 rows of 30 columns.
MAX_DENSE_CELLS = 30_000_000
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})")
_WORKSHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
_TEXT_ELEMENTS = frozenset({"t", "v", "f"})


def corrupt() -> ImportFileError:
    return ImportFileError(_("无法读取该 Excel 文件：文件已损坏或不是 Excel 格式"))


@dataclass
class Extent:
    rows: int = 0
    columns: int = 0


def check_archive(data: bytes, limits: Limits) -> Extent:
    """Refuse a workbook beyond the limits; return the largest worksheet extent found."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise corrupt() from None
    names = {member.filename for member in members}
    if "[Content_Types].xml" not in names or not any(_WORKSHEET.fullmatch(name) for name in names):
        raise corrupt()  # a ZIP, but not a workbook
    if len(members) > MAX_MEMBERS or sum(member.file_size for member in members) > limits.inflated:
        raise limits.too_much_inflated()
    for member in members:
        if member.file_size >= RATIO_FLOOR and member.file_size > limits.ratio * max(member.compress_size, 1):
            raise limits.too_much_inflated()
    extent = Extent()
    for member in members:
        if member.filename.endswith((".xml", ".rels")):
            scan = _Scan(limits, sheet=bool(_WORKSHEET.fullmatch(member.filename)))
            scan.run(archive, member)
            extent.rows = max(extent.rows, scan.last_row)
            extent.columns = max(extent.columns, scan.last_column)
    return extent


class _Scan:
    """One pass of expat over one XML part: extent and text lengths, nothing kept."""

    def __init__(self, limits: Limits, *, sheet: bool) -> None:
        self.limits = limits
        self.sheet = sheet
        self.row = 0
        self.column = 0
        self.last_row = 0
        self.last_column = 0
        self.text = 0

    def run(self, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self.refuse  # no DTD, so no entity can be declared or expanded
        parser.EntityDeclHandler = self.refuse
        parser.StartElementHandler = self.start
        parser.CharacterDataHandler = self.characters
        try:
            with archive.open(member) as part:
                while chunk := part.read(READ_SIZE):
                    parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except (expat.ExpatError, zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, ValueError):
            # ExpatError: not well-formed; BadZipFile: a CRC or header that does not match;
            # RuntimeError (and NotImplementedError): encrypted, or an unknown compression.
            raise corrupt() from None

    def refuse(self, *args: Any) -> None:
        raise corrupt()

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.text = 0
        if not self.sheet:
            return
        local = name.rpartition(" ")[2]
        if local == "row":
            number = attributes.get("r")
            self.row = int(number) if number and number.isdigit() else self.row + 1
            self.column = 0
            self.last_row = max(self.last_row, self.row)
            if self.row > self.limits.rows:
                raise self.limits.too_many_rows()
        elif local == "c":
            match = _CELL_REF.fullmatch(attributes.get("r", ""))
            self.column = _column_number(match.group(1)) if match else self.column + 1
            self.last_column = max(self.last_column, self.column)
            if self.column > self.limits.columns:
                raise self.limits.too_many_columns()
        elif local == "dimension":
            self.declared(attributes.get("ref", ""))

    def declared(self, ref: str) -> None:
        corners = [_CELL_REF.fullmatch(corner) for corner in ref.split(":")]
        if not ref or not all(corners):
            return  # a dimension we cannot read is ignored, as Excel does; the cells are counted
        for corner in corners:
            assert corner is not None
            if int(corner.group(2)) > self.limits.rows:
                raise self.limits.too_many_rows()
            if _column_number(corner.group(1)) > self.limits.columns:
                raise self.limits.too_many_columns()

    def characters(self, data: str) -> None:
        self.text += len(data)
        if self.text > self.limits.cell_chars:
            raise self.limits.too_long_cell()


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def workbook_rows(data: bytes, limits: Limits) -> tuple[Iterator[list[Any]], int]:
    """The first sheet's rows, and about how many there are (for the bulk strategy)."""
    extent = check_archive(data, limits)
    if extent.rows * extent.columns > MAX_DENSE_CELLS:
        raise limits.too_many_rows()
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = workbook.get_sheet_by_index(0)
    except Exception:  # calamine raises its own errors, and others, on a damaged file
        raise corrupt() from None
    return _stream(sheet.iter_rows()), extent.rows


def _stream(rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
    try:
        yield from rows
    except Exception:
        raise corrupt() from None
