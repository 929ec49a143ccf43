"""Text stored for display (audit summaries, notifications) is shown in the reader's language,
whichever language it was written in."""

from __future__ import annotations

import pytest
from django.utils import translation

from wangge.core.stored_text import translate, translate_in


@pytest.mark.parametrize(
    ("stored", "english"),
    [
        ("报告走失：张三", "Reported missing: 张三"),
        ("结束走失事件：已找到", "Closed the missing-person incident: Found"),
        ("结束：已找到，地点：火车站", "Closed: Found, at 火车站"),
        ("张三：离开安全区域", "张三: Left a safe zone"),
        ("查看位置轨迹：张三（用途：incident）", "Viewed the location trail: 张三 (purpose: missing-person search)"),
        ("调整网格：灵西社区，118 个网格，移动 35 户", "Grids redrawn: 灵西社区, 118 grids, 35 households moved"),
    ],
)
def test_it_shows_a_stored_chinese_text_in_english_and_back(stored: str, english: str) -> None:
    assert translate_in(stored, "en") == english
    assert translate_in(english, "zh-hans") == stored.replace("incident", "走失搜寻")


def test_it_translates_each_line_of_a_notification_body() -> None:
    body = "\n".join(
        [
            "李秀英（女，1941年生）走失，请协助寻找。",
            "最后已知位置：41.100000, 123.000000（2026-12-02 10:00）",
            "外貌特征：白发",
        ]
    )
    shown = translate_in(body, "en").splitlines()
    assert shown[0] == "李秀英 (Female, born 1941) is missing; please help find them."
    assert shown[1].startswith("Last known location: 41.100000, 123.000000")
    assert shown[2] == "Appearance: 白发"  # the family's own words stay as written


def test_it_uses_the_plural_the_number_needs() -> None:
    assert translate_in("1 个网格", "en") == "1 grid"
    assert translate_in("118 个网格", "en") == "118 grids"


def test_it_leaves_unknown_text_and_names_alone() -> None:
    for text in ("张三", "搜索 wjg", "超市门口有人看见", ""):
        assert translate_in(text, "en") == text
    with translation.override("zh-hans"):
        assert translate("导出居民名单 3 人") == "导出居民名单 3 人"
