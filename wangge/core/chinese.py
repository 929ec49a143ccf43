"""Chinese text for search: simplified/traditional folding and pinyin readings of names."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import opencc
from pypinyin import Style, pinyin

_t2s = opencc.OpenCC("t2s")

# Surnames read differently from the character's common reading; both readings are indexed so
# a worker who types either finds the person.
SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "区": "ou", "仇": "qiu", "朴": "piao", "查": "zha",
    "盖": "ge", "翟": "zhai", "乐": "yue", "尉": "yu", "缪": "miao", "繁": "po", "召": "shao",
    "覃": "qin", "员": "yun", "冼": "xian", "秘": "bi", "万俟": "moqi", "尉迟": "yuchi",
}  # fmt: skip


@dataclass(frozen=True)
class Reading:
    full: str
    initials: str


@lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    return str(_t2s.convert(text))


def pinyin_readings(name: str, *, limit: int = 4) -> list[Reading]:
    """Readings of a (simplified) name: the surname's reading(s) times the given name's."""
    if not name:
        return []
    syllables: list[list[str]] = [
        [s.lower() for s in options if s.isascii() and s.isalpha()] or [options[0]]
        for options in pinyin(name, style=Style.NORMAL, heteronym=False, errors="default")
    ]
    surname_alts = {syllables[0][0]}
    for surname, reading in SURNAME_READINGS.items():
        if name.startswith(surname):
            surname_alts = {reading, *surname_alts} if len(surname) == 1 else {reading}
            if len(surname) > 1:
                syllables = [[reading], *syllables[len(surname) :]]
    rest = [options[0] for options in syllables[1:]]
    readings = []
    for first in itertools.islice(sorted(surname_alts), limit):
        parts = [first, *rest]
        readings.append(Reading(full="".join(parts), initials="".join(p[0] for p in parts if p)))
    return readings
