"""Identity document numbers other than the national ID, and one entry point for all of them.

Each rule is named by a ``format`` key that a document type (a row of the registry's code
table, editable by an administrator) points at; a district can add a type of its own with the
``free`` rule. The national ID is parsed by ``wangge.core.idnumbers`` exactly as before.

Formats, from the issuing authorities' public descriptions:

- 港澳居民居住证 / 台湾居民居住证 (2018): 18 characters laid out as the national ID, with
  the address code 810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan), and the same
  ISO 7064 MOD 11-2 check character.
- 外国人永久居留身份证, 2023 card (National Immigration Administration, "新版外国人永久居留身份证
  机读信息规则（2023版）"): 17 digits and a check character, the first digit ``9`` (national
  ID numbers begin 1–8), the check character by the same MOD 11-2 as the national ID. The
  public text does not say which positions hold the birth date, so it is entered, not derived.
- 外国人永久居留身份证, 2004/2017 card: 15 characters, 3 Latin letters (the nationality) and
  12 digits. Its check digit's algorithm is not public, so only the shape is checked.
- 港澳居民来往内地通行证: ``H`` (Hong Kong) or ``M`` (Macao) and 8 digits (10 on older cards).
- 台湾居民来往大陆通行证: 8 digits (older booklets carried a 10-character number with a
  suffix; those go under "other").
- 护照: issued by every state in its own form; letters and digits, 5 to 20 characters.
- Other: any printable text, so no document a real resident holds is refused.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from wangge.core import idnumbers

NUMBER_MAX = 40

NATIONAL_ID = "national_id"
RESIDENCE_PERMIT = "residence_permit"  # 港澳台居民居住证
FOREIGN_PERMANENT = "foreign_permanent"  # 外国人永久居留身份证, either card
HK_MACAO_PASS = "hk_macao_pass"
TAIWAN_PASS = "taiwan_pass"
PASSPORT = "passport"
FREE = "free"

FORMATS = (NATIONAL_ID, RESIDENCE_PERMIT, FOREIGN_PERMANENT, HK_MACAO_PASS, TAIWAN_PASS, PASSPORT, FREE)
# The formats whose number carries the holder's birth date and sex.
DERIVES_PERSON = frozenset({NATIONAL_ID, RESIDENCE_PERMIT})

_PERMIT_PREFIXES = ("810000", "820000", "830000")
_OLD_FOREIGN = re.compile(r"[A-Z]{3}\d{12}")
_NEW_FOREIGN = re.compile(r"9\d{16}[\dX]")
_HK_MACAO = re.compile(r"[HM](\d{8}|\d{10})")
_TAIWAN = re.compile(r"\d{8}")
_PASSPORT = re.compile(r"[A-Z0-9]{5,20}")


class InvalidDocument(ValueError):
    pass


@dataclass(frozen=True)
class Document:
    number: str
    birth_date: dt.date | None = None
    sex: str | None = None  # "M" or "F" when the number carries it
    warnings: tuple[str, ...] = field(default=())


def normalise(raw: str) -> str:
    """Full-width to ASCII, upper case, without spaces and the dashes people type."""
    text = unicodedata.normalize("NFKC", raw or "").strip().upper()
    return re.sub(r"[\s\-]", "", text)


def parse(fmt: str, raw: str, *, today: dt.date | None = None) -> Document:
    """Normalise and validate a number of the given format; raises ``InvalidDocument``."""
    if fmt == NATIONAL_ID:
        try:
            parsed = idnumbers.parse(raw, today=today)
        except idnumbers.InvalidIDNumber as exc:
            raise InvalidDocument(str(exc)) from None
        warnings = list(parsed.warnings)
        if parsed.upgraded_from:
            warnings.append(_("15位旧号码已按国家标准升级为18位"))
        return Document(parsed.number, parsed.birth_date, parsed.sex, tuple(warnings))
    text = normalise(raw)
    if not text:
        raise InvalidDocument(_("请填写证件号码"))
    if len(text) > NUMBER_MAX:
        raise InvalidDocument(_("证件号码不能超过 %(n)d 个字符") % {"n": NUMBER_MAX})
    if fmt == RESIDENCE_PERMIT:
        if not text.startswith(_PERMIT_PREFIXES):
            raise InvalidDocument(_("港澳台居民居住证号码以 810000、820000 或 830000 开头"))
        try:
            parsed = idnumbers.parse(text, today=today)
        except idnumbers.InvalidIDNumber as exc:
            raise InvalidDocument(str(exc)) from None
        return Document(parsed.number, parsed.birth_date, parsed.sex)
    if fmt == FOREIGN_PERMANENT:
        if _OLD_FOREIGN.fullmatch(text):
            return Document(text)
        if len(text) == 18 and text.startswith("9"):
            if not _NEW_FOREIGN.fullmatch(text):
                raise InvalidDocument(_("新版永居证号码为17位数字加1位校验位（数字或X）"))
            expected = idnumbers.check_char(text[:17])
            if text[17] != expected:
                raise InvalidDocument(
                    _("校验位错误：应为 %(expected)s，实际为 %(actual)s") % {"expected": expected, "actual": text[17]}
                )
            return Document(text)
        raise InvalidDocument(_("外国人永久居留身份证号码应为以9开头的18位，或旧版15位（3个字母加12位数字）"))
    if fmt == HK_MACAO_PASS:
        if not _HK_MACAO.fullmatch(text):
            raise InvalidDocument(_("港澳居民来往内地通行证号码为 H 或 M 加8位（旧版10位）数字"))
        return Document(text)
    if fmt == TAIWAN_PASS:
        if not _TAIWAN.fullmatch(text):
            raise InvalidDocument(_("台湾居民来往大陆通行证号码为8位数字"))
        return Document(text)
    if fmt == PASSPORT:
        if not _PASSPORT.fullmatch(text):
            raise InvalidDocument(_("护照号码应为5至20位字母或数字"))
        return Document(text)
    if not text.isprintable():
        raise InvalidDocument(_("证件号码含有不可打印的字符"))
    return Document(text)
