"""The shipped service rules, put back when missing after a migrate or flush (as the registry's
code tables are): a rule an administrator edited, switched off or re-coded is left alone.

Each cites the policy it serves; conditions are explained in ``wangge.worklist.conditions``.
"""

from __future__ import annotations

from typing import Any

HIGH, NORMAL, LOW = 1, 2, 3
WORKER, HELPER = "grid_worker", "helper"

# code, name, English, policy source, condition, due days, every days, priority, assignee
RULES: list[tuple[str, str, str, str, dict[str, Any], int, int | None, int, str]] = [
    ("newborn-visit", "新生儿家庭访视", "Newborn home visit",
     "国家基本公共卫生服务规范（第三版）新生儿家庭访视：出院后1周内",
     {"anchor": {"months": [0]}, "window_days": 28}, 7, None, HIGH, WORKER),
    ("child-health", "儿童健康检查与预防接种提醒", "Child health check and vaccination reminder",
     "国家基本公共卫生服务规范 0～6岁儿童健康管理；国家免疫规划疫苗儿童免疫程序",
     {"anchor": {"months": [1, 3, 6, 8, 12, 18, 24, 30, 36, 48, 60, 72]}, "window_days": 20}, 14, None, NORMAL,
     WORKER),
    ("school-enrolment", "适龄儿童入学提醒", "School enrolment at six",
     "《中华人民共和国义务教育法》第十一条：年满六周岁的儿童入学",
     {"anchor": {"birthday": 6}, "window_days": 60}, 30, None, NORMAL, WORKER),
    ("elderly-card", "办理老年证", "Elderly card (老年证) at 60",
     "《中华人民共和国老年人权益保障法》；本省老年人优待办法：年满六十周岁可申领",
     {"anchor": {"birthday": 60}, "window_days": 60}, 30, None, NORMAL, WORKER),
    ("longevity-allowance", "高龄津贴申领", "Longevity allowance at 80",
     "本省高龄津贴制度（待区民政局确认）：年满八十周岁按月发放",
     {"anchor": {"birthday": 80}, "window_days": 60}, 14, None, HIGH, WORKER),
    ("alone-80-weekly", "独居高龄老人每周探访", "Weekly check on the very old living alone",
     "本区独居老人探访制度（待区民政局确认）：80岁以上每周一次",
     {"age_min": 80, "care_all": ["elderly_alone"]}, 6, 7, HIGH, HELPER),
    ("alone-ill-weekly", "独居患病老人每周探访", "Weekly check on the ill elderly living alone",
     "本区独居老人探访制度：患重病的独居老人每周一次",
     {"age_min": 60, "age_max": 79, "care_all": ["elderly_alone", "serious_illness"]}, 6, 7, HIGH, HELPER),
    ("alone-60-fortnightly", "独居老人每两周探访", "Fortnightly check on the elderly living alone",
     "本区独居老人探访制度：60至79岁每两周一次",
     {"age_min": 60, "age_max": 79, "care_all": ["elderly_alone"], "care_none": ["serious_illness"]}, 13, 14,
     NORMAL, HELPER),
    ("dementia-protection", "失智老人防走失登记", "Offer missing-person protection for dementia",
     "本区防走失工作方案：失智老人应登记并配发定位手机",
     {"care_all": ["dementia"], "not_protected": True}, 14, None, HIGH, WORKER),
    ("disability-subsidy", "残疾人两项补贴年度核查", "Disability subsidies: annual check",
     "《国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》（国发〔2015〕52号）",
     {"care_all": ["disability"]}, 60, 365, NORMAL, WORKER),
    ("minimum-income-review", "低保家庭年度复核", "Minimum-income support: annual review",
     "《最低生活保障审核确认办法》（民发〔2021〕57号）：定期核查",
     {"care_all": ["minimum_income"]}, 60, 365, NORMAL, WORKER),
    ("extreme-poverty-monthly", "特困人员每月探访", "Monthly visit to people on extreme-poverty support",
     "《特困人员认定办法》（民发〔2021〕43号）：定期探访照料",
     {"care_all": ["extreme_poverty"]}, 20, 30, NORMAL, HELPER),
    ("resettlement-monthly", "刑满释放人员首年每月帮教", "Released prisoners: monthly follow-up in the first year",
     "《关于加强和改进刑满释放人员安置帮教工作的意见》：释放后一年内重点帮教",
     {"anchor": {"care_since": "released_prisoner"}, "window_days": 365}, 20, 30, NORMAL, WORKER),
    ("move-in-welcome", "新迁入住户欢迎走访", "Welcome visit after moving in",
     "本区网格化服务管理办法：新迁入住户14日内上门",
     {"anchor": {"event": "move_in"}, "window_days": 30}, 14, None, NORMAL, WORKER),
    ("bereavement", "丧事慰问并停发待遇", "Bereavement visit; benefits stopped",
     "《社会保险法》及民政待遇停发规定：死亡后停发养老金、低保等待遇",
     {"status": "deceased", "anchor": {"event": "death"}, "window_days": 30}, 7, None, HIGH, WORKER),
]  # fmt: skip


# Rules over the special-group registers and the rentals (``Rule.kind``): code, name, English,
# policy source, kind, condition, due days, priority. The task falls due on the register's or
# rental's own date; ``due_days`` is unused by them.
SOURCE_RULES: list[tuple[str, str, str, str, str, dict[str, Any], int]] = [
    ("group-follow-up", "列管对象到期随访", "Special-group follow-up due",
     "各列管名册自定的随访周期（管理后台：列管名册）",
     "group_follow_up", {"within_days": 7}, HIGH),
    ("rental-inspection", "出租房屋到期检查", "Rental inspection due",
     "本区出租房屋分级检查制度：按隐患等级定检查周期（待区住建局确认）",
     "rental_inspection", {}, NORMAL),
    ("lease-ending", "出租房屋租期将满", "Lease ending: check the tenants' registration",
     "本区流动人口和出租房屋管理办法：租期届满核实承租人去留并更新登记（待确认）",
     "lease_ending", {}, LOW),
]  # fmt: skip


def _shipped() -> list[dict[str, Any]]:
    fields = ("code", "name", "name_en", "source", "condition", "due_days", "every_days", "priority", "assignee")
    rows = [dict(zip(fields, row, strict=True)) for row in RULES]
    for code, name, name_en, source, kind, condition, priority in SOURCE_RULES:
        rows.append({"code": code, "name": name, "name_en": name_en, "source": source, "kind": kind,
                     "condition": condition, "due_days": 0, "priority": priority, "assignee": WORKER})  # fmt: skip
    return rows


def ensure_default_rules(**kwargs: Any) -> None:
    """A ``post_migrate`` receiver: create the shipped rules that are missing (by code)."""
    from wangge.worklist.models import Rule

    have = {v for row in Rule.objects.values_list("code", "name") for v in row}
    for order, values in enumerate(_shipped()):
        if values["code"] not in have and values["name"] not in have:
            Rule.objects.create(order=order, **values)
