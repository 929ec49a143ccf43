"""How large an import file may be, read from the settings at the moment of reading, and the
errors that refuse a file as a whole (400: unreadable; 413: beyond a limit)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message is translated and shown as is."""

    status = 400


class ImportTooLarge(ImportFileError):
    """The file is beyond one of the import limits; nothing of it is imported."""

    status = 413


@dataclass(frozen=True)
class Limits:
    bytes: int
    rows: int
    columns: int
    inflated: int
    ratio: int
    cell_chars: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            bytes=settings.WANGGE_IMPORT_MAX_BYTES,
            rows=settings.WANGGE_IMPORT_MAX_ROWS,
            columns=settings.WANGGE_IMPORT_MAX_COLUMNS,
            inflated=settings.WANGGE_IMPORT_MAX_INFLATED_BYTES,
            ratio=settings.WANGGE_IMPORT_MAX_RATIO,
            cell_chars=settings.WANGGE_IMPORT_MAX_CELL_CHARS,
        )

    def too_many_bytes(self) -> ImportTooLarge:
        return ImportTooLarge(_("文件超过 %(mb)s MB，请分成几个文件导入") % {"mb": _megabytes(self.bytes)})

    def too_many_rows(self) -> ImportTooLarge:
        return ImportTooLarge(_("表格超过 %(n)d 行，请分成几个文件导入") % {"n": self.rows})

    def too_many_columns(self) -> ImportTooLarge:
        return ImportTooLarge(_("表格超过 %(n)d 列，无法导入") % {"n": self.columns})

    def too_long_cell(self) -> ImportTooLarge:
        return ImportTooLarge(_("有单元格超过 %(n)d 个字符，无法导入") % {"n": self.cell_chars})

    def too_much_inflated(self) -> ImportTooLarge:
        return ImportTooLarge(
            _("Excel 文件解压后超过 %(mb)s MB（或压缩比异常），无法导入") % {"mb": _megabytes(self.inflated)}
        )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"
