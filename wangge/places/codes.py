"""The shipped code tables of units and places, editable in the admin.

Unit kinds follow the 一标三实 practice of 实有单位: enterprises, individual businesses, social
organisations, public bodies; ``two_new`` marks the 两新组织 (新经济组织: non-public enterprises and
individual businesses; 新社会组织: social organisations). The place types are the 九小场所 as the
fire services list them (小商店、小餐饮、小旅馆、小网吧、小美容洗浴、小歌舞娱乐、小学校（幼儿园）、
小医院（诊所）、小生产加工). ``standard_code`` is left blank: the GB/T 31000 code values could not be
confirmed from a public source. The inspection periods are this project's defaults.
"""

from __future__ import annotations

from typing import Any

UNIT_KINDS = [
    # code, name, English, two new, aliases
    ("enterprise", "非公有制企业", "Non-public enterprise", True, "企业,私营企业,民营企业,有限公司"),
    ("individual", "个体工商户", "Individual business", True, "个体户,个体"),
    ("social_org", "社会组织", "Social organisation", True, "社会团体,民办非企业单位,基金会"),
    ("state_owned", "国有企业", "State-owned enterprise", False, "国企"),
    ("public_body", "机关事业单位", "Government body or public institution", False, "机关,事业单位"),
]

PLACE_TYPES = [
    # code, name, English, inspection period in days, aliases
    ("small_shop", "小商店", "Small shop", 90, "商店,超市,便利店"),
    ("small_restaurant", "小餐饮", "Small restaurant", 60, "餐饮,饭店,餐馆"),
    ("small_hostel", "小旅馆", "Small hostel", 30, "旅馆,旅店,宾馆"),
    ("small_internet_cafe", "小网吧", "Small internet café", 30, "网吧"),
    ("small_beauty_bath", "小美容洗浴", "Small beauty salon or bathhouse", 60, "美容,美发,洗浴"),
    ("small_entertainment", "小歌舞娱乐", "Small karaoke or dance hall", 30, "歌舞厅,KTV"),
    ("small_school", "小学校（幼儿园）", "Small school or kindergarten", 60, "幼儿园,托管班,培训机构"),
    ("small_clinic", "小医院（诊所）", "Small hospital or clinic", 60, "诊所,卫生室,医院"),
    ("small_workshop", "小生产加工", "Small workshop", 30, "加工厂,作坊,小作坊"),
]


def ensure_defaults(**kwargs: Any) -> None:
    """A ``post_migrate`` receiver: create the shipped rows that are missing (by code or name)."""
    from wangge.places.models import PlaceType, UnitKind

    have = {v for row in UnitKind.objects.values_list("code", "name") for v in row}
    for order, (code, name, name_en, two_new, aliases) in enumerate(UNIT_KINDS):
        if code not in have and name not in have:
            UnitKind.objects.create(
                order=order, code=code, name=name, name_en=name_en, two_new=two_new, aliases=aliases
            )
    have = {v for row in PlaceType.objects.values_list("code", "name") for v in row}
    for order, (code, name, name_en, days, aliases) in enumerate(PLACE_TYPES):
        if code not in have and name not in have:
            PlaceType.objects.create(
                order=order, code=code, name=name, name_en=name_en, inspect_every_days=days, aliases=aliases
            )
