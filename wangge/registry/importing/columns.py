"""The import template's columns and how the cells of each are read.

Headers are matched after folding traditional to simplified characters and full-width to
ASCII, so ``公民身份號碼``, ``身份证号`` and ``id_number`` all name the same column.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from wangge.core.chinese import to_simplified
from wangge.registry.models import Resident


@dataclass(frozen=True)
class Column:
    key: str
    label: Promise  # the template's header
    english: str
    aliases: tuple[str, ...]


COLUMNS = (
    Column("name", _("姓名"), "name", ("姓名", "名字", "居民姓名", "fullname")),
    Column(
        "id_number",
        _("公民身份号码"),
        "id_number",
        ("公民身份号码", "身份证号", "身份证号码", "身份证", "身份号码", "证件号码", "idno", "idcard", "idcardnumber"),
    ),
    Column(
        "phone",
        _("联系电话"),
        "phone",
        ("联系电话", "电话", "电话号码", "手机", "手机号", "手机号码", "联系方式", "mobile", "telephone", "tel"),
    ),
    Column("community", _("社区"), "community", ("社区", "社区名称", "社区代码", "所属社区", "居委会", "社区村", "村")),
    Column("building", _("楼栋"), "building", ("楼栋", "楼号", "楼栋号", "楼")),
    Column("entrance", _("单元"), "entrance", ("单元", "单元号", "unit")),
    Column("room", _("房号"), "room", ("房号", "房间号", "门牌号", "室", "roomnumber")),
    Column("relationship", _("与户主关系"), "relationship", ("与户主关系", "关系", "relation", "relationshiptohead")),
    Column(
        "categories",
        _("人员类别"),
        "care_categories",
        ("人员类别", "类别", "人员类型", "重点人群", "carecategories", "categories", "category", "carecategory"),
    ),
    # The template's example row says so here; a row with anything in this column is skipped.
    Column("example", _("示例行标记"), "example", ("示例行标记", "示例", "示例行", "样例", "example", "sample")),
    # 实有人口: optional columns; a file without them imports national IDs and 户籍 as before.
    Column("document_type", _("证件类型"), "document_type", ("证件类型", "证件种类", "身份证件类型", "idtype")),
    Column("population_type", _("人口类型"), "population_type", ("人口类型", "人口类别", "populationtype")),
    Column("sex", _("性别"), "sex", ("性别", "gender")),
    Column("birth_date", _("出生日期"), "birth_date", ("出生日期", "出生年月日", "生日", "dateofbirth", "dob")),
    Column("separation", _("人户分离"), "separation", ("人户分离", "人户分离情况")),
    Column("permit_number", _("居住证号码"), "residence_permit_number", ("居住证号码", "居住证号", "居住证编号")),
    Column("origin", _("户籍地"), "origin", ("户籍地", "户籍地址", "户籍所在地", "原籍", "来源地")),
    Column("arrival_date", _("来本地日期"), "arrival_date", ("来本地日期", "来本地时间", "来本地日期时间", "到达日期")),
    Column("reason", _("来本地事由"), "reason", ("来本地事由", "来本地原因", "暂住事由", "流入原因")),
    Column("expected_stay", _("拟居住期限"), "expected_stay", ("拟居住期限", "拟居住时间", "拟居住时限")),
    Column("nationality", _("国籍"), "nationality", ("国籍", "国籍地区", "国籍（地区）", "country")),
    Column("visa_type", _("签证种类"), "visa_type", ("签证种类", "签证类型", "签证（居留许可）种类", "visa")),
    Column(
        "visa_expiry",
        _("签证有效期至"),
        "visa_expiry",
        ("签证有效期至", "签证有效期", "签证到期日期", "签证（居留许可）有效期至", "visaexpiry"),
    ),
)
# The columns a spreadsheet without them leaves at their defaults (``importing.population``).
POPULATION_KEYS = (
    "document_type",
    "population_type",
    "sex",
    "birth_date",
    "separation",
    "permit_number",
    "origin",
    "arrival_date",
    "reason",
    "expected_stay",
    "nationality",
    "visa_type",
    "visa_expiry",
)
# The template's example person: also recognised in a template downloaded before the marker
# column existed, so an unchanged old template imports nobody either.
EXAMPLE_NAME = "张伟"
EXAMPLE_ID_NUMBER = "210304195603080251"
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}


def header_key(text: str) -> str:
    """``*公民身份號碼（必填）`` → ``公民身份号码``; ``ID Number`` → ``idnumber``."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"\(.*?\)|\[.*?\]", "", text)
    text = re.sub(r"[\s*_\-/、:]+", "", text).lower()
    return to_simplified(text)


_HEADER_INDEX = {
    header_key(alias): column.key
    for column in COLUMNS
    for alias in (*column.aliases, column.english, column.key, str(column.label))
}


def map_header(header: list[str], words: dict[str, str] | None = None) -> dict[str, int]:
    """Column key → cell index; the first of two columns with the same meaning wins. ``words``:
    folded header (``header_key``) → column key, for another register's columns."""
    words = _HEADER_INDEX if words is None else words
    found: dict[str, int] = {}
    for index, text in enumerate(header):
        key = words.get(header_key(text))
        if key and key not in found:
            found[key] = index
    return found


def is_header(row: list[str]) -> bool:
    found = map_header(row)
    return "name" in found and "id_number" in found


R = Resident.Relationship
_RELATIONSHIPS: dict[str, str] = {}
for _value, _words in {
    R.HEAD: "户主 本人 户主本人 自己 head self",
    R.SPOUSE: "配偶 妻 妻子 夫 丈夫 老伴 爱人 spouse wife husband",
    R.CHILD: "子 女 子女 儿子 女儿 长子 次子 三子 四子 长女 次女 三女 四女 独子 独女 养子 养女 继子 继女 "
    "之子 之女 child son daughter",
    R.PARENT: "父亲 母亲 父母 父 母 公公 婆婆 岳父 岳母 继父 继母 parent father mother",
    R.GRANDCHILD: "孙子 孙女 孙子女 外孙 外孙子 外孙女 孙 grandchild grandson granddaughter",
    R.GRANDPARENT: "祖父 祖母 外祖父 外祖母 祖父母 爷爷 奶奶 姥爷 姥姥 外公 外婆 grandparent grandfather grandmother",
    R.SIBLING: "兄 弟 姐 妹 哥哥 弟弟 姐姐 妹妹 兄弟 姐妹 兄弟姐妹 sibling brother sister",
    R.CHILD_IN_LAW: "儿媳 女婿 儿媳妇 儿媳女婿 childinlaw soninlaw daughterinlaw",
    R.OTHER: "其他 其他亲属 非亲属 亲属 other",
}.items():
    for _word in (*_words.split(), str(_value), str(R(_value).label)):
        _RELATIONSHIPS[header_key(_word)] = str(_value)


def relationship(text: str) -> str | None:
    """A ``Resident.Relationship`` value, or ``None`` when the words are not recognised."""
    return _RELATIONSHIPS.get(header_key(text))


_MOBILE = re.compile(r"1\d{10}")
_LANDLINE = re.compile(r"(0\d{2,3})[-\s]+(\d{7,8})(?:[-\s转]+(\d{1,6}))?")
_PARENS_LANDLINE = re.compile(r"\((0\d{2,3})\)\s*(\d{7,8})")


def phone(text: str) -> str | None:
    """The number in a canonical form (``13812345678``, ``0412-1234567``), or ``None`` if bad.

    Blank is allowed and gives ``""``.
    """
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return ""
    compact = re.sub(r"[\s\-]", "", text)
    if compact.startswith("+86"):
        compact = compact[3:]
    elif compact.startswith("86") and len(compact) == 13:
        compact = compact[2:]
    if _MOBILE.fullmatch(compact):
        return compact
    match = _PARENS_LANDLINE.fullmatch(text) or _LANDLINE.fullmatch(text)
    if match:
        number = f"{match.group(1)}-{match.group(2)}"
        extension = match.group(3) if match.re is _LANDLINE else None
        return f"{number}-{extension}" if extension else number
    return None


def categories(text: str) -> list[str]:
    """``独居老人、低保`` → ``["独居老人", "低保"]``."""
    return [part for part in re.split(r"[、,，;；/|\s]+", text.strip()) if part]
