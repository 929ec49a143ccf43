"""The register workbook written forward as a stream: what openpyxl (and so Excel) reads back."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from openpyxl import load_workbook

from wangge.core.spreadsheet import FIRST_ROWS, register_workbook, register_workbook_stream


def test_a_streamed_register_reads_back_with_its_header_types_and_code_table() -> None:
    read: list[int] = []

    def rows() -> Iterator[list[Any]]:
        for n in range(5000):
            read.append(n)
            yield [f"单位{n}", "091234567890123456", n, None, dt.date(2026, 12, 3), True, "=SUM(A1)", "a\x07b & <c>"]

    chunks = register_workbook_stream(
        title="实有单位",
        header=["名称", "代码", "人数", "空", "日期", "是", "公式", "控制"],
        rows=rows(),
        codes_title="代码表",
        codes_header=["字段", "代码", "名称"],
        codes=[["单位类别", "01", "企业"]],
        text_columns=[1],
        chunk_rows=1000,
    )
    first, second = next(chunks), next(chunks)
    assert first[:2] == b"PK" and len(read) == FIRST_ROWS + 1000  # it starts before the rows are all read
    content = first + second + b"".join(chunks)
    book = load_workbook(io.BytesIO(content))
    sheet, codes = book.worksheets
    assert (sheet.title, codes.title) == ("实有单位", "代码表")
    assert sheet.max_row == 5001 and sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and sheet["A1"].value == "名称"
    assert [c.value for c in sheet[5001]] == [
        "单位4999", "091234567890123456", 4999, None, "2026-12-03", True, "'=SUM(A1)", "ab & <c>",
    ]  # fmt: skip
    assert sheet["B2"].number_format == "@"  # ID-like codes stay text
    assert list(codes.iter_rows(values_only=True)) == [("字段", "代码", "名称"), ("单位类别", "01", "企业")]


def test_an_empty_register_is_its_header_alone() -> None:
    content = register_workbook(
        title="x" * 40, header=["名称"], rows=[], codes_title="代码表", codes_header=["代码"], codes=[]
    )
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert sheet.title == "x" * 31 and sheet.max_row == 1
