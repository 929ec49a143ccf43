"""Chinese text for search: traditional → simplified folding and pinyin readings of names.

pypinyin reads a character by its commonest reading and has no surname mode (see
mozillazg/python-pinyin issues #120 and #297), so 单 comes out ``dan`` and 曾 ``ceng``. Names
are indexed under both the surname reading and the common one: a worker who types either
finds the person.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc
from pypinyin import Style, pinyin
from pypinyin.seg.simpleseg import seg as _segment

_t2s = opencc.OpenCC("t2s")

# Surnames whose reading differs from the character's commonest reading (simplified forms).
# Compound surnames come first in matching because they are tried longest first.
SURNAME_READINGS: dict[str, str] = {
    "单": "shan", "曾": "zeng", "解": "xie", "区": "ou", "仇": "qiu", "朴": "piao", "查": "zha",
    "盖": "ge", "翟": "zhai", "乐": "yue", "尉": "yu", "缪": "miao", "繁": "po", "召": "shao",
    "覃": "qin", "员": "yun", "贠": "yun", "冼": "xian", "秘": "bi", "种": "chong", "重": "chong",
    "华": "hua", "过": "guo", "纪": "ji", "燕": "yan", "都": "du", "薄": "bo", "贾": "jia",
    "居": "ju", "盛": "sheng", "柏": "bai", "牟": "mou", "阚": "kan", "宿": "su", "卜": "bu",
    "沈": "shen", "折": "she", "佴": "nai", "能": "nai", "藏": "zang", "殷": "yin", "句": "gou",
    "隗": "wei", "颉": "xie", "眭": "sui", "郇": "huan", "莘": "shen", "长": "chang", "万": "wan",
    "尉迟": "yu chi", "万俟": "mo qi", "单于": "chan yu", "长孙": "zhang sun", "澹台": "tan tai",
    "令狐": "ling hu", "皇甫": "huang fu", "欧阳": "ou yang", "上官": "shang guan", "司马": "si ma",
    "诸葛": "zhu ge", "夏侯": "xia hou", "东方": "dong fang", "公孙": "gong sun", "慕容": "mu rong",
}  # fmt: skip
_LONGEST_SURNAME = max(len(s) for s in SURNAME_READINGS)

# Separators that appear inside names (ethnic-minority names such as 买买提·艾力, spaces from
# forms) and in typed queries; they never carry meaning for search.
SEPARATORS = frozenset(" \t\r\n·•・‧.-_'’,，、")


@dataclass(frozen=True)
class Reading:
    """One way to read a name: full pinyin without spaces (``liujuan``) and initials (``lj``)."""

    full: str
    initials: str


def fold(text: str) -> str:
    """Width and case folding: full-width digits and letters become ASCII, letters lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


@lru_cache(maxsize=8192)
def to_simplified(text: str) -> str:
    """Traditional characters to simplified (OpenCC t2s); other text unchanged."""
    return str(_t2s.convert(text))


def normalise_name(name: str) -> str:
    """The form names are indexed and searched under: simplified, folded, without separators."""
    folded = fold(to_simplified((name or "").strip()))
    return "".join(ch for ch in folded if ch not in SEPARATORS)


def strip_tones(text: str) -> str:
    """``liú juān`` → ``liu juan``; ``ü`` becomes ``v`` as pypinyin writes it in plain style."""
    decomposed = unicodedata.normalize("NFD", text).replace("u\u0308", "v").replace("U\u0308", "V")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=32768)
def _segment_syllables(segment: str) -> tuple[str, ...]:
    out: list[str] = []
    for item in pinyin(segment, style=Style.NORMAL, heteronym=False, errors="default"):
        syllable = item[0].lower()
        if syllable.isascii() and syllable.isalnum():
            out.append(syllable)
    return tuple(out)


def _syllables(text: str) -> list[str]:
    """pypinyin's phrase-aware plain reading, one string per character (non-Han kept as is).

    pypinyin cuts a text into segments (phrases of its dictionary, single characters, runs of
    other text) and reads each segment on its own; reading them here one at a time, each once,
    gives the same syllables at a fraction of the cost, since a district's half a million names
    are made of a few thousand segments (its per-call pipeline was a third of an import's CPU).
    """
    return [syllable for segment in _segment(text) for syllable in _segment_syllables(segment)]


def _surname_split(name: str) -> tuple[str, str]:
    for length in range(min(_LONGEST_SURNAME, len(name) - 1), 0, -1):
        if name[:length] in SURNAME_READINGS:
            return name[:length], name[length:]
    return "", name


@lru_cache(maxsize=65536)
def pinyin_readings(name: str) -> tuple[Reading, ...]:
    """Readings of a name under which it should be found, the common reading first.

    The surname's own reading (单 ``shan``) and pypinyin's common reading (``dan``) both
    count; given names take pypinyin's phrase-aware reading. ``name`` should already be
    normalised (simplified, no separators).
    """
    if not name:
        return ()
    common = _syllables(name)
    if not common:
        return ()
    variants = [common]
    surname, given = _surname_split(name)
    if surname:
        # Given name read on its own so that a phrase spanning surname and given name
        # (e.g. 单位) does not distort it.
        variants.append([*SURNAME_READINGS[surname].split(), *_syllables(given)])
    readings: list[Reading] = []
    for parts in variants:
        reading = Reading(full="".join(parts), initials="".join(p[0] for p in parts))
        if reading not in readings:
            readings.append(reading)
    return tuple(readings)


def sort_key(name: str) -> str:
    """Order names as a Chinese reader expects (by pinyin), not by code point."""
    readings = pinyin_readings(normalise_name(name))
    return readings[0].full if readings else name
