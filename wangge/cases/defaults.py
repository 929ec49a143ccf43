"""The departments and categories a district starts with (admin-editable afterwards).

Created by migration 0002 and again after every ``migrate`` where missing (a ``post_migrate``
receiver), so a test database flushed between tests still has them, as registry's code tables.
"""

from __future__ import annotations

from typing import Any

DEPARTMENTS = [
    ("civil-affairs", "民政局"),
    ("human-resources", "人力资源和社会保障局"),
    ("housing", "住房和城乡建设局"),
    ("street-office", "街道办事处"),
    ("community", "社区居委会"),
    ("urban-management", "城市管理局"),
    ("petition-office", "信访局"),
]

# code, name, kind, department, home visit, sensitive, respond hours, solve days
CATEGORIES = [
    ("pension-social-security", "养老社保", "petition", "human-resources", True, True, None, None),
    ("social-assistance", "低保救助", "petition", "civil-affairs", True, True, None, None),
    ("housing-demolition", "住房拆迁", "petition", "housing", True, True, None, None),
    ("wages-labour", "劳资纠纷", "petition", "human-resources", True, False, None, None),
    ("other-petition", "其他信访", "petition", "petition-office", True, False, None, None),
    ("facilities", "公共设施损坏", "event", "street-office", False, False, 24, 7),
    ("neighbour-dispute", "邻里纠纷", "event", "community", True, False, 24, 7),
    ("hazard", "安全隐患", "event", "urban-management", False, False, 2, 3),
    ("unpaid-benefit", "待遇未发放", "event", "civil-affairs", True, True, 24, 15),
    ("environment", "环境卫生", "event", "urban-management", False, False, 24, 3),
]


def create_missing(department_model: Any, category_model: Any) -> None:
    """Create the shipped departments and categories that are missing (by code)."""
    Department, Category = department_model, category_model
    departments = {}
    for code, name in DEPARTMENTS:
        departments[code], _ = Department.objects.get_or_create(code=code, defaults={"name": name})
    for code, name, kind, department, visit, sensitive, hours, days in CATEGORIES:
        Category.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "department": departments[department],
                "home_visit_required": visit,
                "sensitive": sensitive,
                "respond_hours": hours,
                "solve_days": days,
            },
        )


def ensure_defaults(**kwargs: Any) -> None:
    """A ``post_migrate`` receiver."""
    from wangge.cases.models import Category, Department

    create_missing(Department, Category)
