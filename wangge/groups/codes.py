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

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

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

# What each register records beyond the person (the ``Listing`` detail fields its template and
# export carry). A register a district adds gets them all (``DEFAULT_DETAILS``).
DEFAULT_DETAILS = (
    "release_date",
    "period_start",
    "period_end",
    "office",
    "risk_level",
    "guardian_name",
    "guardian_phone",
)
GUARDIAN = ("guardian_name", "guardian_phone")
REGISTER_DETAILS: dict[str, tuple[str, ...]] = {
    "released": ("release_date", "period_start", "period_end", "office"),
    "correction": ("period_start", "period_end", "office"),
    "mental": ("risk_level", *GUARDIAN),
    "drugs": (),
    "aids": (),
    "youth_idle": GUARDIAN,
    "youth_misbehaving": GUARDIAN,
    "youth_offender": ("release_date", "period_start", "period_end", "office", *GUARDIAN),
    "youth_street": GUARDIAN,
    "youth_prisoners_child": GUARDIAN,
}

# 严重精神障碍患者的危险性评估 (0–5 级), as 《严重精神障碍管理治疗工作规范（2018 年版）》
# (国家卫生健康委) grades it; the code is the level.
RISK_LEVELS = [
    ("0", "0 级：无符合以下 1–5 级中的任何行为", "Level 0: none of the behaviour of levels 1–5"),
    ("1", "1 级：口头威胁，喊叫，但没有打砸行为", "Level 1: verbal threats, shouting, no smashing"),
    ("2", "2 级：打砸行为，局限在家里，针对财物，能被劝说制止",
     "Level 2: smashing at home, against property, stopped by persuasion"),
    ("3", "3 级：明显打砸行为，不分场合，针对财物，不能接受劝说而停止",
     "Level 3: smashing anywhere, against property, not stopped by persuasion"),
    ("4", "4 级：持续的打砸行为，不分场合，针对财物或人，不能接受劝说而停止（包括自伤、自杀）",
     "Level 4: continued smashing anywhere, against property or people, not stopped (incl. self-harm)"),
    ("5", "5 级：持械针对人的任何暴力行为，或者纵火、爆炸等行为，无论在家里还是公共场合",
     "Level 5: any armed violence against people, arson or explosion, at home or in public"),
]  # fmt: skip

# Reasons offered when a person is taken off a register (解除列管); anything else may be written.
# 安置帮教 runs five years from release, community correction to the end of the sentence's term.
END_REASONS: dict[str, tuple[Promise, ...]] = {
    "released": (_("安置帮教期满"), _("迁出本辖区"), _("再次犯罪被收监"), _("死亡")),
    "correction": (_("矫正期满，依法解除矫正"), _("收监执行"), _("迁出本辖区"), _("死亡")),
    "mental": (_("经诊断病情稳定，解除管理"), _("迁出本辖区"), _("死亡")),
    "drugs": (_("戒断三年未复吸"), _("迁出本辖区"), _("死亡")),
}
DEFAULT_END_REASONS = (_("期限届满"), _("迁出本辖区"), _("年满十八周岁"), _("死亡"))


def ensure_defaults(**kwargs: Any) -> None:
    """A ``post_migrate`` receiver: create the shipped registers that are missing (by code or name)."""
    from wangge.groups.models import Register

    have = {v for row in Register.objects.values_list("code", "name") for v in row}
    for order, row in enumerate(REGISTERS):
        values = dict(zip(FIELDS, row, strict=True))
        if values["code"] not in have and values["name"] not in have:
            Register.objects.create(order=order, **values)
