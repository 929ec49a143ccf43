"""The import template: the header row and one example row, as an XLSX file. The example row
is marked in its last column, so the importer skips it even when the template comes back
unchanged."""

from __future__ import annotations

import datetime as dt
import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from wangge.core import idnumbers
from wangge.registry.importing.columns import COLUMNS, EXAMPLE_ID_NUMBER, EXAMPLE_NAME, POPULATION_KEYS

# Columns typed as text so Excel keeps ID numbers whole and leading zeros of landlines.
TEXT_COLUMNS = {"id_number", "phone", "entrance", "room", "permit_number", "birth_date", "arrival_date", "visa_expiry"}


def template_xlsx(*, community: str = "光明社区") -> bytes:
    example = {
        "name": "张伟",
        "id_number": idnumbers.make(area_code="210304", birth_date=dt.date(1956, 3, 8), sequence=12, sex="M"),
        "phone": "13904121234",
        "community": community,
        "building": "12号楼",
        "entrance": "2",
        "room": "301",
        "relationship": _("户主"),
        "categories": _("独居老人、低保"),
        "example": _("示例"),
        # 实有人口: blank for a registered resident with a national ID (the defaults).
        "document_type": _("居民身份证"),
        "population_type": _("户籍人口"),
        **dict.fromkeys(POPULATION_KEYS[2:], ""),
    }
    assert example["id_number"] == EXAMPLE_ID_NUMBER and example["name"] == EXAMPLE_NAME
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _("居民")
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        header = sheet.cell(row=1, column=index, value=str(column.label))
        header.font = Font(bold=True)
        header.fill = PatternFill("solid", fgColor="DDEBF7")
        cell = sheet.cell(row=2, column=index, value=example[column.key])
        width = 22 if column.key == "id_number" else 14
        sheet.column_dimensions[letter].width = width
        if column.key in TEXT_COLUMNS:
            cell.number_format = "@"
            sheet.column_dimensions[letter].number_format = "@"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
