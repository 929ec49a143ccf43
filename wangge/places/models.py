"""Actual units (实有单位) and key places (重点场所).

A ``Unit`` is an enterprise, a 两新组织 or a public body at an address (a building, a room where
known) with its unified social credit code, legal representative, staff and party organisation.
A ``Place`` is a 九小场所 (a unit's shop, or a stall nobody registered as a unit) that the grid
inspects; an ``Inspection`` that finds a hazard opens a ``Rectification`` (整改) with a deadline,
and one not done by then can be handed over as a grid-event case. Area columns are copied from
the building, as for rooms, so the registry's scope applies unchanged.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.areas.models import Building
from wangge.registry.models import CodeTable, HazardLevel, Room, Scoped


class UnitKind(CodeTable):
    """单位类别; ``two_new`` marks the 两新组织 (non-public economic and social organisations)."""

    two_new = models.BooleanField(_("两新组织"), default=False)

    class Meta(CodeTable.Meta):
        verbose_name = _("单位类别")
        verbose_name_plural = _("单位类别")


class PlaceType(CodeTable):
    """场所类型 (九小场所 and whatever a district adds); how often one is inspected is data too."""

    inspect_every_days = models.PositiveSmallIntegerField(_("检查周期（天）"), default=90)

    class Meta(CodeTable.Meta):
        verbose_name = _("场所类型")
        verbose_name_plural = _("场所类型")


class Located(Scoped):
    """Where a unit or place is: a building, a room in it where known, and the address as written."""

    building = models.ForeignKey(Building, verbose_name=_("楼栋"), related_name="+", on_delete=models.PROTECT)
    room = models.ForeignKey(
        Room, verbose_name=_("房屋"), null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def full_address(self) -> str:
        if self.address:
            return self.address
        return self.room.address if self.room is not None else self.building.name


class UnitImport(models.Model):
    """One import of a units table: what it created, so it can be undone as a whole.

    Units it registered carry it (``Unit.import_run``); the buildings it made are listed here
    (they live in ``areas``). Updates it made to units already registered are not undone.
    """

    class Status(models.TextChoices):
        DONE = "done", _("已完成")
        UNDONE = "undone", _("已撤销")

    file_name = models.CharField(_("文件名"), max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("导入人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.DONE)
    counts = models.JSONField(_("统计"), default=dict, blank=True)
    buildings = models.JSONField(_("新建楼栋"), default=list, blank=True)
    undone_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("单位导入")
        verbose_name_plural = _("单位导入")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})" if self.created_at else self.file_name


class Unit(Located):
    """实有单位."""

    class PartyOrg(models.TextChoices):
        NONE = "none", _("未建立党组织")
        BRANCH = "branch", _("党支部")
        GENERAL_BRANCH = "general_branch", _("党总支")
        COMMITTEE = "committee", _("党委")
        JOINT_BRANCH = "joint_branch", _("联合党支部")
        INSTRUCTOR = "instructor", _("派驻党建指导员")

    name = models.CharField(_("单位名称"), max_length=100)
    kind = models.ForeignKey(
        UnitKind, verbose_name=_("单位类别"), to_field="code", related_name="units", on_delete=models.PROTECT
    )
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    #: False for an early pilot code whose check character the standard's rule does not give
    credit_code_checked = models.BooleanField(_("信用代码校验通过"), default=True)
    legal_rep = models.CharField(_("法定代表人（负责人）"), max_length=60)
    legal_rep_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    staff_count = models.PositiveIntegerField(_("从业人员数"), null=True, blank=True)
    party_org = models.CharField(_("党组织"), max_length=16, choices=PartyOrg.choices, default=PartyOrg.NONE)
    party_org_name = models.CharField(_("党组织名称"), max_length=100, blank=True)
    party_members = models.PositiveIntegerField(_("党员人数"), null=True, blank=True)
    import_run = models.ForeignKey(
        UnitImport, verbose_name=_("导入批次"), null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("实有单位")
        verbose_name_plural = _("实有单位")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"], condition=~models.Q(credit_code=""), name="unit_credit_code_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Place(Located):
    """重点场所: a place the grid inspects, with the date its next inspection falls due."""

    name = models.CharField(_("场所名称"), max_length=100)
    place_type = models.ForeignKey(
        PlaceType, verbose_name=_("场所类型"), to_field="code", related_name="places", on_delete=models.PROTECT
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("所属单位"), null=True, blank=True, related_name="places", on_delete=models.SET_NULL
    )
    operator = models.CharField(_("经营者"), max_length=60, blank=True)
    operator_phone = models.CharField(_("经营者电话"), max_length=20, blank=True)
    hazard_level = models.ForeignKey(
        HazardLevel, verbose_name=_("隐患等级"), to_field="code", related_name="+", on_delete=models.PROTECT
    )
    inspection_due = models.DateField(_("下次检查日期"), db_index=True)
    last_inspected = models.DateField(_("最近检查日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("重点场所")
        verbose_name_plural = _("重点场所")
        ordering = ["inspection_due", "id"]

    def __str__(self) -> str:
        return self.name


class Inspection(models.Model):
    """One hazard inspection of a place (隐患排查)."""

    place = models.ForeignKey(Place, verbose_name=_("重点场所"), related_name="inspections", on_delete=models.CASCADE)
    date = models.DateField(_("检查日期"))
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("检查人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    findings = models.TextField(_("检查情况"), blank=True)
    hazard_level = models.ForeignKey(
        HazardLevel, verbose_name=_("隐患等级"), to_field="code", related_name="+", on_delete=models.PROTECT
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("场所检查")
        verbose_name_plural = _("场所检查")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.place_id} {self.date}"


class Rectification(Scoped):
    """整改: what an inspection required to be put right, by when, and what became of it."""

    place = models.ForeignKey(
        Place, verbose_name=_("重点场所"), related_name="rectifications", on_delete=models.CASCADE
    )
    inspection = models.ForeignKey(
        Inspection, verbose_name=_("场所检查"), related_name="rectifications", on_delete=models.CASCADE
    )
    required = models.TextField(_("整改要求"))
    deadline = models.DateField(_("整改期限"), db_index=True)
    done = models.DateField(_("整改完成日期"), null=True, blank=True)
    done_note = models.CharField(_("整改情况"), max_length=500, blank=True)
    #: the grid-event case it was handed over as, once overdue (in ``wangge.cases``)
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("转为案件"), null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("整改")
        verbose_name_plural = _("整改")
        ordering = ["deadline", "id"]

    def __str__(self) -> str:
        return f"{self.place_id} {self.deadline}"
