"""Chinese citizen ID numbers (公民身份号码, GB 11643-1999).

18 characters: 6-digit area code, 8-digit birth date, 3-digit sequence (odd = male), and a
check character (ISO 7064 MOD 11-2, ``X`` for 10). 15-digit numbers issued before 1999 are
accepted and upgraded. A number must never be refused for an area code our tables do not
know: codes are retired and merged all the time, and the person still exists. That is only
a warning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from operator import mul

from django.utils.translation import gettext as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# Province-level prefixes in use (GB/T 2260), plus 71/81/82 for Taiwan, Hong Kong and Macao
# residence permits (830000 prefix) and 91 used on some permanent residence cards.
PROVINCES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
        "91",
    ]
)


class InvalidIDNumber(ValueError):
    pass


@dataclass(frozen=True)
class IDNumber:
    number: str
    birth_date: dt.date
    sex: str  # "M" or "F"
    upgraded_from: str | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def area_code(self) -> str:
        return self.number[:6]


_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789XX")


def check_char(first17: str) -> str:
    if len(first17) != len(WEIGHTS):
        raise ValueError(f"check_char takes {len(WEIGHTS)} digits, not {len(first17)}")
    # map() rather than a generator: an import parses half a million numbers.
    return CHECK_CHARS[sum(map(mul, map(int, first17), WEIGHTS)) % 11]


def _birth_date(text: str) -> dt.date:
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise InvalidIDNumber(_("出生日期 %(date)s 不存在") % {"date": text}) from None


def parse(raw: str, *, today: dt.date | None = None) -> IDNumber:
    """Normalise and validate; raises ``InvalidIDNumber`` with a translated reason."""
    today = today or dt.date.today()
    text = (raw or "").strip().replace(" ", "").upper()
    text = text.translate(_FULL_WIDTH)
    upgraded_from = None
    if len(text) == 15:
        if not text.isdigit():
            raise InvalidIDNumber(_("15位身份号码只能由数字组成"))
        upgraded_from = text
        first17 = text[:6] + "19" + text[6:]
        text = first17 + check_char(first17)
    if len(text) != 18:
        raise InvalidIDNumber(_("身份号码应为18位（或旧版15位），实际为 %(n)d 位") % {"n": len(text)})
    if not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise InvalidIDNumber(_("身份号码前17位必须是数字，最后一位是数字或X"))
    birth = _birth_date(text[6:14])
    if birth > today:
        raise InvalidIDNumber(_("出生日期 %(date)s 晚于今天") % {"date": birth.isoformat()})
    if birth.year < 1880:
        raise InvalidIDNumber(_("出生日期 %(date)s 不可能") % {"date": birth.isoformat()})
    expected = check_char(text[:17])
    if text[17] != expected:
        raise InvalidIDNumber(
            _("校验位错误：应为 %(expected)s，实际为 %(actual)s") % {"expected": expected, "actual": text[17]}
        )
    warnings: list[str] = []
    if text[:2] not in PROVINCES:
        warnings.append(_("地区代码 %(code)s 不在已知的省级代码中，请核对") % {"code": text[:6]})
    sex = "M" if int(text[16]) % 2 else "F"
    return IDNumber(number=text, birth_date=birth, sex=sex, upgraded_from=upgraded_from, warnings=tuple(warnings))


def make(*, area_code: str, birth_date: dt.date, sequence: int, sex: str) -> str:
    """A valid number for demo data and tests; ``sequence`` 0–499 picks the order code."""
    order = (sequence % 500) * 2 + (1 if sex == "M" else 0)
    first17 = f"{area_code}{birth_date:%Y%m%d}{order:03d}"
    return first17 + check_char(first17)


def mask(number: str) -> str:
    """``210304********123X`` style: area and last four only, as lists and exports show."""
    if len(number) < 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str) -> str:
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
