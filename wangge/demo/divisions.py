"""The real divisions of Lishan District (立山区), read from the CSV shipped with the package."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "lishan-divisions.csv"
CODE_SCHEME = "NBS 统计用区划代码"
CODE_DATE = dt.date(2023, 6, 30)
DISTRICT_CODE = "210304"
# The model community of the 2015 report (product.md); the demo's showcase accounts live there.
MODEL_COMMUNITY = "灵西社区"

VILLAGE_SUFFIX = "村民委员会"
URBAN_SUFFIXES = ("社区居民委员会", "社区居委会")


@dataclass
class Division:
    level: str  # district, street, community
    code: str
    name: str
    parent_code: str
    kind: str = "urban"  # or "village"
    short_name: str = ""
    children: list[Division] = field(default_factory=list)


def short_name(name: str) -> tuple[str, str]:
    """``光明社区居民委员会`` → (``光明社区``, urban); ``灵山村民委员会`` → (``灵山村``, village)."""
    if name.endswith(VILLAGE_SUFFIX):
        base = name[: -len(VILLAGE_SUFFIX)]
        return (base if base.endswith("村") else base + "村"), "village"
    for suffix in URBAN_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)] + "社区", "urban"
    return name, "urban"


def load(path: Path = DATA) -> Division:
    """The district with its streets and their communities, in code order."""
    by_code: dict[str, Division] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            division = Division(level=row["level"], code=row["code"], name=row["name"], parent_code=row["parent_code"])
            if division.level == "community":
                division.short_name, division.kind = short_name(division.name)
            else:
                division.short_name = division.name
            by_code[division.code] = division
    district = by_code[DISTRICT_CODE]
    for division in sorted(by_code.values(), key=lambda d: d.code):
        parent = by_code.get(division.parent_code)
        if parent is not None:
            parent.children.append(division)
    return district
