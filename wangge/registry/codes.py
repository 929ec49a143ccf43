"""The shipped rows of the registry's code tables, put back when missing after a migrate or flush.

Residents point at a population type and a document type by code, with 户籍 and 居民身份证 as
defaults, so those rows must always exist. Migration 0005 ships them; ``post_migrate`` (which
Django also sends after ``flush``, as between transactional tests) re-creates any that are
missing, without touching rows an administrator has edited.
"""

from __future__ import annotations

from typing import Any

POPULATION_TYPES = [
    # code, name, English, aliases
    ("registered", "户籍人口", "Registered (hukou here)", "户籍,常住户籍,本地户籍"),
    ("floating", "流动人口", "Floating population", "流动,外来人口,暂住人口,外来"),
    ("foreign", "境外人员", "Foreign national", "境外,外籍,外籍人员,外国人"),
    ("unregistered", "未落户人员", "Unregistered (no hukou)", "未落户,无户口,待落户"),
]

DOCUMENT_TYPES = [
    # code, name, English, format, aliases
    ("resident_id_card", "居民身份证", "Resident identity card", "national_id", "身份证,公民身份号码,二代身份证"),
    ("hk_macao_residence_permit", "港澳居民居住证", "Residence permit for Hong Kong and Macao residents",
     "residence_permit", "港澳居住证"),
    ("taiwan_residence_permit", "台湾居民居住证", "Residence permit for Taiwan residents", "residence_permit",
     "台湾居住证"),
    ("foreign_permanent_id", "外国人永久居留身份证", "Foreign permanent resident ID card", "foreign_permanent",
     "永居证,外国人永久居留证,绿卡"),
    ("passport", "护照", "Passport", "passport", "普通护照,外国护照,中国护照"),
    ("hk_macao_pass", "港澳居民来往内地通行证", "Mainland travel permit for Hong Kong and Macao residents",
     "hk_macao_pass", "回乡证,港澳通行证"),
    ("taiwan_pass", "台湾居民来往大陆通行证", "Mainland travel permit for Taiwan residents", "taiwan_pass",
     "台胞证"),
    ("other", "其他证件", "Other document", "free", "其他"),
]  # fmt: skip


ROOM_USES = [
    # code, name, English, aliases (migration 0009)
    ("residence", "自住", "Lived in by the owner", "住宅,自住房,居住,自用"),
    ("rented", "出租", "Rented out", "出租房,出租屋,租赁,出租房屋"),
    ("business", "经营", "Shop or business", "商铺,门市,商用,经营性,门面"),
    ("office", "办公", "Office", "办公用房,写字间"),
    ("vacant", "空置", "Vacant", "空房,闲置,空闲"),
    ("other", "其他", "Other use", ""),
]

HAZARD_LEVELS = [
    # code, name, English, aliases, inspect every (days) (migration 0009)
    ("none", "无隐患", "No hazard", "无,正常", 180),
    ("general", "一般隐患", "Minor hazard", "一般", 90),
    ("major", "重大隐患", "Major hazard", "重大,较大隐患", 30),
]


def ensure_defaults(**kwargs: Any) -> None:
    """A ``post_migrate`` receiver: create the shipped rows that are missing (by code)."""
    from wangge.registry.models import DocumentType, HazardLevel, PopulationType, RoomUse

    # A row an administrator re-coded keeps its name: neither is created again.
    have = {v for row in PopulationType.objects.values_list("code", "name") for v in row}
    for order, (code, name, name_en, aliases) in enumerate(POPULATION_TYPES):
        if code not in have and name not in have:
            PopulationType.objects.create(code=code, name=name, name_en=name_en, aliases=aliases, order=order)
    have = {v for row in DocumentType.objects.values_list("code", "name") for v in row}
    for order, (code, name, name_en, fmt, aliases) in enumerate(DOCUMENT_TYPES):
        if code not in have and name not in have:
            DocumentType.objects.create(code=code, name=name, name_en=name_en, format=fmt, aliases=aliases, order=order)
    # Rooms point at 自住/空置/出租 and rentals at 无隐患 by code, as residents at 户籍.
    _ensure(RoomUse, [dict(zip(("code", "name", "name_en", "aliases"), row, strict=True)) for row in ROOM_USES])
    fields = ("code", "name", "name_en", "aliases", "inspect_every_days")
    _ensure(HazardLevel, [dict(zip(fields, row, strict=True)) for row in HAZARD_LEVELS])


def _ensure(model: Any, rows: list[dict[str, Any]]) -> None:
    have = {v for row in model.objects.values_list("code", "name") for v in row}
    for order, row in enumerate(rows):
        if row["code"] not in have and row["name"] not in have:
            model.objects.create(order=order, **row)
