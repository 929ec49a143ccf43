"""Services that find people: rules over the registry, the tasks they make, visits, helper links.

A rule is data (an administrator edits it; each edit bumps its version and every task records the
version that made it). Tasks carry the area columns of their resident, so every scoped read is one
indexed filter, as in the registry. A task is unique per (rule, resident, period): generation is
an insert that ignores conflicts, so running it twice creates nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.areas.models import Area, Organisation
from wangge.cases.models import Case
from wangge.groups.models import Listing
from wangge.registry.models import Household, Rental, Resident, Scoped


class Rule(models.Model):
    class Priority(models.IntegerChoices):
        HIGH = 1, _("高")
        NORMAL = 2, _("中")
        LOW = 3, _("低")

    class Assignee(models.TextChoices):
        GRID_WORKER = "grid_worker", _("网格员")
        HELPER = "helper", _("联系户的党员或志愿者（无则网格员）")

    class Kind(models.TextChoices):
        RESIDENTS = "residents", _("居民条件")
        GROUP_FOLLOW_UP = "group_follow_up", _("列管对象到期随访")
        RENTAL_INSPECTION = "rental_inspection", _("出租房屋到期检查")
        LEASE_ENDING = "lease_ending", _("出租房屋租期将满")

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    name_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    source = models.CharField(_("政策依据"), max_length=200, blank=True)
    condition = models.JSONField(
        _("条件"),
        default=dict,
        help_text=_("对居民的条件，见 wangge/worklist/conditions.py：年龄、人员类别、生活事件、家庭构成、防走失登记"),
    )
    #: what the rule reads: the registry's residents (by ``condition``), the special-group
    #: registers' follow-ups due, or the rentals' inspections due and leases ending
    kind = models.CharField(_("规则类型"), max_length=20, choices=Kind.choices, default=Kind.RESIDENTS)
    due_days = models.PositiveSmallIntegerField(_("办理期限（天）"), default=7)
    every_days = models.PositiveSmallIntegerField(
        _("重复周期（天）"), null=True, blank=True, help_text=_("留空：每个起算日只做一次")
    )
    priority = models.PositiveSmallIntegerField(_("优先级"), choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.CharField(_("承办人"), max_length=20, choices=Assignee.choices, default=Assignee.GRID_WORKER)
    active = models.BooleanField(_("启用"), default=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("服务规则")
        verbose_name_plural = _("服务规则")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def label(self) -> str:
        from django.utils.translation import get_language

        return self.name_en if (get_language() or "").startswith("en") and self.name_en else self.name

    def clean(self) -> None:
        from wangge.worklist.conditions import validate

        validate(self.condition, kind=self.kind)


class Task(Scoped):
    class Status(models.TextChoices):
        OPEN = "open", _("待办")
        DONE = "done", _("已完成")
        LAPSED = "lapsed", _("条件已不满足")
        MISSED = "missed", _("逾期未做")

    rule = models.ForeignKey(Rule, verbose_name=_("规则"), related_name="tasks", on_delete=models.PROTECT)
    rule_version = models.PositiveIntegerField(_("规则版本"))
    # Empty only for a rental's task (the rental may have no registered landlord or tenant).
    resident = models.ForeignKey(
        Resident, verbose_name=_("居民"), null=True, blank=True, related_name="+", on_delete=models.CASCADE
    )
    household = models.ForeignKey(
        Household, verbose_name=_("住户"), null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    #: a special-group follow-up's listing: who may see the task is the register's policy
    listing = models.ForeignKey(
        Listing, verbose_name=_("列管对象"), null=True, blank=True, related_name="+", on_delete=models.CASCADE
    )
    rental = models.ForeignKey(
        Rental, verbose_name=_("出租房屋"), null=True, blank=True, related_name="+", on_delete=models.CASCADE
    )
    # "once" for a one-off per anchor, else the first day of the recurrence period.
    period = models.CharField(_("周期"), max_length=20)
    anchor = models.DateField(_("起算日"))
    due = models.DateField(_("应办日期"))
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("承办人"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
        help_text=_("留空：网格员"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    visit = models.ForeignKey(
        "Visit", verbose_name=_("走访"), null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    escalated_at = models.DateTimeField(_("上报社区时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("服务任务")
        verbose_name_plural = _("服务任务")
        ordering = ["due", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "resident", "period"], name="worklist_task_once_per_period"),
            models.UniqueConstraint(
                fields=["rule", "rental", "period"],
                condition=models.Q(rental__isnull=False),
                name="worklist_task_rental_once_per_period",
            ),
        ]
        indexes = [
            models.Index(fields=["grid", "status", "due"], name="worklist_task_grid_idx"),
            models.Index(fields=["community", "status", "due"], name="worklist_task_community_idx"),
            models.Index(fields=["household", "status"], name="worklist_task_household_idx"),
            models.Index(fields=["rule", "status"], name="worklist_task_rule_idx"),
            # The summary by child area above the grid (open, due today, overdue, escalated per
            # street, community or grid) reads only this index: filtered on the status and the
            # area's ancestors, grouped by the next column, without visiting the table. The
            # listing and rental columns let the register and rental policies filter it too.
            models.Index(
                fields=[
                    "status",
                    "district",
                    "street",
                    "community",
                    "grid",
                    "due",
                    "escalated_at",
                    "listing",
                    "rental",
                ],
                name="worklist_task_summary_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.resident or self.rental_id}"


class Visit(Scoped):
    class Kind(models.TextChoices):
        HOME = "home", _("入户走访")
        PHONE = "phone", _("电话联系")
        OUTSIDE = "outside", _("户外见面")

    # Generated by the phone before it first tries to send: a retry carries the same id, so a
    # visit is stored once however often a weak connection makes the phone resend it.
    client_id = models.UUIDField(_("客户端编号"), unique=True)
    household = models.ForeignKey(Household, verbose_name=_("住户"), related_name="+", on_delete=models.CASCADE)
    resident = models.ForeignKey(
        Resident, verbose_name=_("居民"), null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    kind = models.CharField(_("方式"), max_length=10, choices=Kind.choices, default=Kind.HOME)
    met = models.CharField(_("见到的人"), max_length=100, blank=True)
    notes = models.TextField(_("情况记录"), blank=True)
    follow_up = models.BooleanField(_("需要跟进"), default=False)
    # Re-encoded without EXIF (no phone's GPS position or serial), as the cases' photos are.
    photo = models.ImageField(_("照片"), upload_to="visits/%Y/%m/", blank=True)
    photo_thumb = models.FileField(_("照片缩略图"), upload_to="visits/%Y/%m/", blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    visited_at = models.DateTimeField(_("走访时间"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("走访人"), null=True, related_name="+", on_delete=models.SET_NULL
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    case = models.ForeignKey(
        # The reverse name lets the case page link back to the visit without cases importing
        # the worklist (it sits below it).
        Case,
        verbose_name=_("转办案件"),
        null=True,
        blank=True,
        related_name="opened_by_visits",
        on_delete=models.SET_NULL,
    )

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ["-visited_at", "-id"]
        indexes = [
            models.Index(fields=["grid", "visited_at"], name="worklist_visit_grid_idx"),
            models.Index(fields=["household", "visited_at"], name="worklist_visit_household_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.visited_at:%Y-%m-%d} {self.household_id}"


class CoverageCount(models.Model):
    """Visit coverage per area (grid, community, street, district), refreshed by the worker
    (``worklist.rollups``, every ``rollups.EVERY`` seconds): counting the district's 231,555
    households against their visits took ~3 s per page. Households visited in the last
    ``COVERAGE_DAYS`` days and never, tasks due then and done on time, and the same by month."""

    area = models.OneToOneField(Area, primary_key=True, related_name="+", on_delete=models.CASCADE)
    day = models.DateField(_("统计日期"))
    households = models.PositiveIntegerField(_("住户数"), default=0)
    visited = models.PositiveIntegerField(_("近期走访住户数"), default=0)
    never = models.PositiveIntegerField(_("从未走访住户数"), default=0)
    due = models.PositiveIntegerField(_("近期到期任务数"), default=0)
    on_time = models.PositiveIntegerField(_("按时完成任务数"), default=0)
    #: ``{"YYYY-MM": [tasks due, done on time]}`` for the last months
    months = models.JSONField(_("按月"), default=dict, blank=True)
    refreshed_at = models.DateTimeField(_("统计时间"))

    class Meta:
        verbose_name = _("走访覆盖统计")
        verbose_name_plural = _("走访覆盖统计")

    def __str__(self) -> str:
        return f"{self.area_id}: {self.visited}/{self.households}"


class HelperLink(Scoped):
    """党员联系户: a party member or volunteer (an account in the grid's organisation) looks
    after a household; their tasks and visits count towards the grid."""

    helper = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("党员或志愿者"), related_name="helper_links", on_delete=models.CASCADE
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("所属组织"), related_name="+", on_delete=models.CASCADE
    )
    household = models.ForeignKey(
        Household, verbose_name=_("住户"), related_name="helper_links", on_delete=models.CASCADE
    )
    since = models.DateField(_("联系起始日期"))

    class Meta:
        verbose_name = _("联系户")
        verbose_name_plural = _("联系户")
        constraints = [models.UniqueConstraint(fields=["helper", "household"], name="worklist_helper_household")]

    def __str__(self) -> str:
        return f"{self.helper} → {self.household_id}"
