"""Reading an XLSX workbook without trusting it, in memory bounded by a chunk, not the file.

Before any row is read, the ZIP archive's declared sizes and compression ratios are checked, and
every XML part but the worksheets is streamed once through expat with document type declarations
refused (no entity expansion) and every text's length checked. The first worksheet is then
scanned quickly as bytes (regular expressions over 1 MB windows of the unpacked part: its last
row, its widest cell reference, its longest text), so a sheet beyond the limits is refused before
any row is imported; a declared ``<dimension>`` beyond them is refused too. Only then is the sheet
streamed through expat, 64 KB at a time, each row handed out as soon as its closing tag is read
and the limits checked again as the rows go by. What stays in memory is the shared-strings table
(bounded by the unpacked-size limit) and one chunk's rows. Other worksheets are never parsed.

python-calamine, used before, builds a sheet as one dense block of rows × columns in native memory
(given a 2 KB file with a cell at XFD1048576 it aborts the process; a 520,000-row sheet took
hundreds of MB); it still reads legacy ``.xls`` files, which the format itself bounds.
"""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
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
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})")
_WORKSHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
_TEXT_ELEMENTS = frozenset({"t", "v", "f"})


def corrupt() -> ImportFileError:
    return ImportFileError(_("无法读取该 Excel 文件：文件已损坏或不是 Excel 格式"))


@dataclass
class Extent:
    rows: int = 0
    columns: int = 0


def check_archive(data: bytes, limits: Limits, *, worksheets: bool = True) -> Extent:
    """Refuse a workbook beyond the limits; return the largest worksheet extent found.

    With ``worksheets=False`` the worksheets are left to the streaming reader, which checks the
    same limits as it reads."""
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
            sheet = bool(_WORKSHEET.fullmatch(member.filename))
            if sheet and not worksheets:
                continue
            scan = _Scan(limits, sheet=sheet)
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
    """The first sheet's rows as they are read, and about how many there are (for progress)."""
    check_archive(data, limits, worksheets=False)
    archive = zipfile.ZipFile(io.BytesIO(data))
    try:
        sheet = _first_sheet(archive)
        strings = _shared_strings(archive, limits)
        dates, epoch = _date_styles(archive), _epoch(archive)
    except KeyError:
        raise corrupt() from None
    member = archive.getinfo(sheet)
    rows = _prescan(archive, member, limits)
    reader = _SheetReader(limits, strings, dates, epoch)
    return reader.rows(archive, member), max(rows, _rows_declared(archive, member, limits))


_SCAN_WINDOW = 1 << 20
_ROW_NUMBER = re.compile(rb'[^>]*?\sr="(\d{1,10})"')


def _letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _prescan(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: Limits) -> int:
    """Check the sheet's rows, columns and longest text before any row is imported, at the
    speed of the regular-expression engine (the streaming reader checks again as it reads).
    Returns the last row number. Rows come in ascending order (ECMA-376), so the last row tag of
    the sheet carries the last number."""
    # a text longer than the limit (up to 4 bytes a character in UTF-8), from the tag before it
    long_text = re.compile(rb"<[^<]{%d,}" % (limits.cell_chars + 1))
    # cell references with as many letters as the widest allowed column, or more
    width = len(_letters(limits.columns))
    wide = re.compile(rb'\sr="([A-Za-z]{%d,3})\d' % width)
    overlap = limits.cell_chars * 4 + 64
    last_row = tags = 0
    tail = b""
    try:
        with archive.open(member) as part:
            while chunk := part.read(_SCAN_WINDOW):
                tags += chunk.count(b"<row") + chunk.count(b":row ")
                window = tail + chunk
                last = max(window.rfind(b"<row "), window.rfind(b":row "))
                if last >= 0 and (found := _ROW_NUMBER.match(window, last + 4)):
                    last_row = max(last_row, int(found.group(1)))
                for letters in wide.findall(window):
                    if _column_number(letters.decode()) > limits.columns:
                        raise limits.too_many_columns()
                for match in long_text.finditer(window):
                    text = match.group(0).decode("utf-8", "replace")
                    if len(text) - text.find(">") - 1 > limits.cell_chars:
                        raise limits.too_long_cell()
                tail = window[-overlap:]
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, ValueError):
        raise corrupt() from None
    if max(last_row, tags) > limits.rows:
        raise limits.too_many_rows()
    return max(last_row, tags)


def _parse(archive: zipfile.ZipFile, name: str | zipfile.ZipInfo, parser: Any) -> Iterator[None]:
    """Feed one part to ``parser`` a chunk at a time, yielding after each chunk."""
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    try:
        with archive.open(name) as part:
            while chunk := part.read(READ_SIZE):
                parser.Parse(chunk, False)
                yield
        parser.Parse(b"", True)
        yield
    except (expat.ExpatError, zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, ValueError):
        raise corrupt() from None


def _drain(chunks: Iterator[None]) -> None:
    for _chunk in chunks:
        pass


def _refuse(*args: Any) -> None:
    raise corrupt()


def _read(archive: zipfile.ZipFile, name: str, start: Callable[[str, dict[str, str]], None]) -> None:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    _drain(_parse(archive, name, parser))


def _local(name: str) -> str:
    return name[name.rfind(" ") + 1 :]


def _first_sheet(archive: zipfile.ZipFile) -> str:
    """The part of the workbook's first sheet, as Excel orders them (``xl/workbook.xml``)."""
    first: list[str] = []
    targets: dict[str, str] = {}

    def sheet(name: str, attributes: dict[str, str]) -> None:
        if _local(name) == "sheet" and not first:
            first.extend(v for k, v in attributes.items() if _local(k) == "id")

    def relation(name: str, attributes: dict[str, str]) -> None:
        if _local(name) == "Relationship":
            targets[attributes.get("Id", "")] = attributes.get("Target", "")

    _read(archive, "xl/workbook.xml", sheet)
    _read(archive, "xl/_rels/workbook.xml.rels", relation)
    target = targets.get(first[0], "") if first else ""
    path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    if not _WORKSHEET.fullmatch(path) or path not in archive.namelist():
        raise corrupt()
    return path


def _shared_strings(archive: zipfile.ZipFile, limits: Limits) -> list[str]:
    """The shared strings, each the text of its runs (phonetic hints, ``rPh``, left out)."""
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    strings: list[str] = []
    parts: list[str] = []
    state = {"text": False, "phonetic": 0}

    def start(name: str, attributes: dict[str, str]) -> None:
        local = _local(name)
        if local == "si":
            parts.clear()
        elif local == "rPh":
            state["phonetic"] += 1
        elif local == "t" and not state["phonetic"]:
            state["text"] = True

    def end(name: str) -> None:
        local = _local(name)
        if local == "t":
            state["text"] = False
        elif local == "rPh":
            state["phonetic"] -= 1
        elif local == "si":
            text = "".join(parts)
            if len(text) > limits.cell_chars:
                raise limits.too_long_cell()
            strings.append(text)

    def characters(data: str) -> None:
        if state["text"]:
            parts.append(data)

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = characters
    _drain(_parse(archive, "xl/sharedStrings.xml", parser))
    return strings


# Excel's built-in number formats that show a date or a time (ECMA-376 §18.8.30, and the ids
# Chinese Excel gives its 年月日 formats).
_BUILTIN_DATES = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_QUOTED = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')


def _date_styles(archive: zipfile.ZipFile) -> frozenset[int]:
    """The cell styles (``s`` indexes) whose number format shows a date."""
    if "xl/styles.xml" not in archive.namelist():
        return frozenset()
    custom: dict[int, str] = {}
    formats: list[int] = []
    within = {"cellXfs": False}

    def start(name: str, attributes: dict[str, str]) -> None:
        local = _local(name)
        if local == "numFmt":
            number = attributes.get("numFmtId", "")
            if number.isdigit():
                custom[int(number)] = attributes.get("formatCode", "")
        elif local == "cellXfs":
            within["cellXfs"] = True
        elif local == "xf" and within["cellXfs"]:
            number = attributes.get("numFmtId", "0")
            formats.append(int(number) if number.isdigit() else 0)

    def end(name: str) -> None:
        if _local(name) == "cellXfs":
            within["cellXfs"] = False

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler, parser.EndElementHandler = start, end
    _drain(_parse(archive, "xl/styles.xml", parser))

    def is_date(number: int) -> bool:
        if number in custom:
            code = _QUOTED.sub("", custom[number]).lower()
            return any(letter in code for letter in "ymdhs") and "general" not in code
        return number in _BUILTIN_DATES

    return frozenset(index for index, number in enumerate(formats) if is_date(number))


def _epoch(archive: zipfile.ZipFile) -> dt.datetime:
    found = {"1904": False}

    def start(name: str, attributes: dict[str, str]) -> None:
        if _local(name) == "workbookPr" and attributes.get("date1904", "").lower() in ("1", "true"):
            found["1904"] = True

    _read(archive, "xl/workbook.xml", start)
    return dt.datetime(1904, 1, 1) if found["1904"] else dt.datetime(1899, 12, 30)


def _rows_declared(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: Limits) -> int:
    """The rows the sheet declares (``<dimension>``, written at its top), else a guess from its size."""
    try:
        with archive.open(member) as part:
            head = part.read(READ_SIZE).decode("utf-8", "replace")
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, ValueError):
        raise corrupt() from None
    match = re.search(r'<(?:\w+:)?dimension\s+ref="([^"]+)"', head)
    if match:
        _Scan(limits, sheet=True).declared(match.group(1))  # refuse a declared extent beyond the limits
        last = _CELL_REF.fullmatch(match.group(1).split(":")[-1])
        if last:
            return int(last.group(2))
    return member.file_size // 200


class _SheetReader:
    """One worksheet, streamed: rows as lists of cell values (``str``, ``float``, ``bool``, dates)."""

    def __init__(self, limits: Limits, strings: list[str], dates: frozenset[int], epoch: dt.datetime) -> None:
        self.limits, self.strings, self.dates, self.epoch = limits, strings, dates, epoch
        self.done: list[list[Any]] = []
        self.row: dict[int, Any] = {}
        self.row_number = 0
        self.column = 0
        self.kind = ""
        self.style = 0
        self.text: list[str] | None = None
        self.value: list[str] = []

    def rows(self, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> Iterator[list[Any]]:
        # Without namespace processing, names arrive as written ("c", or "x:c" where the file
        # gives the spreadsheet namespace a prefix): the root element tells which, and one
        # dictionary lookup per element then dispatches (this loop runs for every cell).
        self.parser = parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler = self.root
        parser.CharacterDataHandler = self.characters
        for _chunk in _parse(archive, member, parser):
            if self.done:
                yield from self.done
                self.done.clear()

    def root(self, name: str, attributes: dict[str, str]) -> None:
        prefix = name[: name.index(":") + 1] if ":" in name else ""
        self.names = {prefix + local: kind for local, kind in (("c", 1), ("v", 2), ("t", 2), ("row", 3), ("rPh", 4))}
        self.parser.StartElementHandler, self.parser.EndElementHandler = self.start, self.end

    def start(self, name: str, attributes: dict[str, str]) -> None:
        kind = self.names.get(name)
        if kind == 1:
            match = _CELL_REF.fullmatch(attributes.get("r", ""))
            self.column = _column_number(match.group(1)) if match else self.column + 1
            if self.column > self.limits.columns:
                raise self.limits.too_many_columns()
            self.kind = attributes.get("t", "n")
            style = attributes.get("s", "0")
            self.style = int(style) if style.isdigit() else 0
            self.value = []
            self.text = None
        elif kind == 2:
            if self.text is None:
                self.text = self.value
        elif kind == 3:
            number = attributes.get("r")
            row = int(number) if number and number.isdigit() else self.row_number + 1
            if row > self.limits.rows:
                raise self.limits.too_many_rows()
            # rows left out of the file are empty rows, so that row numbers stay Excel's
            self.done.extend([] for _row in range(self.row_number + 1, row))
            self.row_number, self.column, self.row = row, 0, {}
        elif kind == 4:
            self.text = []  # a phonetic hint of an inline string: not the cell's text

    def end(self, name: str) -> None:
        kind = self.names.get(name)
        if kind == 2 or kind == 4:
            self.text = None
        elif kind == 1:
            text = "".join(self.value)
            if len(text) > self.limits.cell_chars:
                raise self.limits.too_long_cell()
            if text:
                self.row[self.column] = self.cell(text)
        elif kind == 3:
            self.done.append([self.row.get(c, "") for c in range(1, max(self.row, default=0) + 1)])

    def characters(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def cell(self, text: str) -> Any:
        kind = self.kind
        try:
            if kind == "s":
                return self.strings[int(text)]
            if kind in ("inlineStr", "str", "e"):
                return text
            if kind == "b":
                return text.strip() == "1"
            if kind == "d":
                return dt.datetime.fromisoformat(text.strip())
            number = float(text)
        except (ValueError, IndexError):
            raise corrupt() from None
        if self.style in self.dates and 0 <= number < 2958466:  # up to 9999-12-31
            moment = self.epoch + dt.timedelta(days=number)
            moment = moment.replace(microsecond=0) + dt.timedelta(seconds=round(moment.microsecond / 1e6))
            if number < 1 and self.epoch.year == 1899:
                return moment.time()
            return moment
        return number
