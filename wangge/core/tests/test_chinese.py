"""Chinese text folding and the pinyin readings names are indexed under."""

from __future__ import annotations

import pytest

from wangge.core import chinese


def readings(name: str) -> set[str]:
    return {r.full for r in chinese.pinyin_readings(chinese.normalise_name(name))}


def initials(name: str) -> set[str]:
    return {r.initials for r in chinese.pinyin_readings(chinese.normalise_name(name))}


def test_it_folds_traditional_characters_to_simplified() -> None:
    assert chinese.normalise_name("劉娟") == "刘娟"
    assert chinese.normalise_name("張偉") == "张伟"
    assert chinese.normalise_name("刘娟") == "刘娟"


def test_it_drops_separators_and_folds_width_and_case() -> None:
    assert chinese.normalise_name("买买提·艾力") == "买买提艾力"
    assert chinese.normalise_name(" 刘 娟 ") == "刘娟"
    assert chinese.fold("ＬＩＵ１２３") == "liu123"


def test_it_strips_tone_marks_and_writes_u_umlaut_as_v() -> None:
    assert chinese.strip_tones("liú juān") == "liu juan"
    assert chinese.strip_tones("lǜ") == "lv"


def test_it_reads_a_plain_name_once() -> None:
    assert chinese.pinyin_readings("刘娟") == (chinese.Reading(full="liujuan", initials="lj"),)


@pytest.mark.parametrize(
    ("name", "surname_reading"),
    [
        ("单伟", "shanwei"),
        ("曾国强", "zengguoqiang"),
        ("解放", "xiefang"),
        ("区伟", "ouwei"),
        ("仇敏", "qiumin"),
        ("朴树", "piaoshu"),
        ("查明", "zhaming"),
        ("盖伟", "gewei"),
        ("翟亮", "zhailiang"),
        ("乐嘉", "yuejia"),
    ],
)
def test_it_reads_polyphonic_surnames_as_surnames(name: str, surname_reading: str) -> None:
    assert surname_reading in readings(name)


def test_it_keeps_the_common_reading_of_a_polyphonic_surname_too() -> None:
    assert readings("单伟") == {"danwei", "shanwei"}
    assert initials("单伟") == {"dw", "sw"}
    assert "cengguoqiang" in readings("曾国强")


def test_it_reads_compound_surnames_syllable_by_syllable() -> None:
    assert readings("尉迟恭") == {"yuchigong"}
    assert initials("尉迟恭") == {"ycg"}
    assert readings("欧阳娜娜") == {"ouyangnana"}
    assert initials("欧阳娜娜") == {"oynn"}


def test_it_reads_a_traditional_name_like_its_simplified_form() -> None:
    assert readings("劉娟") == readings("刘娟") == {"liujuan"}


def test_it_sorts_names_by_pinyin() -> None:
    assert sorted(["张伟", "安娜", "刘娟"], key=chinese.sort_key) == ["安娜", "刘娟", "张伟"]


def test_it_gives_no_reading_for_an_empty_name() -> None:
    assert chinese.pinyin_readings("") == ()


def test_reading_segment_by_segment_gives_pypinyins_reading_of_the_whole_name() -> None:
    from pypinyin import Style, pinyin

    def whole(text: str) -> list[str]:
        syllables = (item[0].lower() for item in pinyin(text, style=Style.NORMAL, errors="default"))
        return [s for s in syllables if s.isascii() and s.isalnum()]

    # Phrases pypinyin reads differently inside a word (单位, 重庆, 银行, 朝阳, 了解), names mixing
    # scripts and digits, and plain ones.
    names = ["单位", "重庆", "长孙无忌", "银行行长", "朝阳", "了解", "解放军", "乐乐", "张3丰", "abc张三", "王大锤"]
    names += ["买买提艾力", "曾经沧海", "单于", "x", "", "刘娟", "欧阳娜娜", "朴志勋", "覃重阳", "种长春"]
    for name in names:
        assert chinese._syllables(name) == whole(name), name
