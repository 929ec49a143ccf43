"""The shipped registers: five special groups and the five classes of key youth, each with the
roles that may learn a person is on it, and its default follow-up period.

Names follow the 综治 practice (特殊人群: 刑满释放, 社区矫正, 严重精神障碍, 吸毒, 艾滋病危险人员;
重点青少年: the five classes of the 2011 list); ``standard_code`` is left blank, as the GB/T 31000
code values could not be confirmed from a public source. The follow-up periods and the viewer
roles are this project's defaults: a district sets its own in the admin. 艾滋病危险人员 is
visible to district and community staff only (not to grid workers), because the law on AIDS
prevention protects a person's status; 留守儿童 is already a care category of the registry.
"""

from __future__ import annotations

from typing import Any

STAFF = ["district_admin", "street_staff", "community_staff", "grid_worker"]

REGISTERS = [
    # code, name, English, kind, follow-up days, viewer roles
    ("released", "刑满释放人员", "Released prisoner", "special", 30, STAFF),
    ("correction", "社区矫正对象", "Under community correction", "special", 14, STAFF),
    ("mental", "严重精神障碍患者", "Severe mental disorder", "special", 30, STAFF),
    ("drugs", "吸毒人员", "Drug user", "special", 30, STAFF),
    ("aids", "艾滋病危险人员", "At risk of HIV/AIDS", "special", 90, ["district_admin", "community_staff"]),
    ("youth_idle", "闲散青少年", "Idle youth (not in school or work)", "key_youth", 60, STAFF),
    ("youth_misbehaving", "有不良行为青少年", "Youth with misbehaviour", "key_youth", 30, STAFF),
    ("youth_offender", "社区服刑和刑满释放未满五年的青少年", "Youth serving or released within five years",
     "key_youth", 30, STAFF),
    ("youth_street", "流浪乞讨未成年人", "Minor living on the street", "key_youth", 14, STAFF),
    ("youth_prisoners_child", "服刑在教人员未成年子女", "Minor child of a prisoner", "key_youth", 60, STAFF),
]  # fmt: skip

FIELDS = ("code", "name", "name_en", "kind", "follow_up_days", "viewer_roles")


def ensure_defaults(**kwargs: Any) -> None:
    """A ``post_migrate`` receiver: create the shipped registers that are missing (by code or name)."""
    from wangge.groups.models import Register

    have = {v for row in Register.objects.values_list("code", "name") for v in row}
    for order, row in enumerate(REGISTERS):
        values = dict(zip(FIELDS, row, strict=True))
        if values["code"] not in have and values["name"] not in have:
            Register.objects.create(order=order, **values)
