"""The area tree (district → street → community/village → grid), buildings and organisations."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Area(models.Model):
    class Level(models.TextChoices):
        DISTRICT = "district", _("区")
        STREET = "street", _("街道")
        COMMUNITY = "community", _("社区")
        GRID = "grid", _("网格")

    class Kind(models.TextChoices):
        URBAN = "urban", _("社区")
        VILLAGE = "village", _("村")

    LEVEL_DEPTH = {Level.DISTRICT: 0, Level.STREET: 1, Level.COMMUNITY: 2, Level.GRID: 3}

    level = models.CharField(_("层级"), max_length=16, choices=Level.choices, db_index=True)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, default=Kind.URBAN)
    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=50, blank=True)
    code = models.CharField(_("区划代码"), max_length=20, blank=True, db_index=True)
    code_scheme = models.CharField(_("代码体系"), max_length=40, blank=True, help_text=_("例如 NBS 统计用区划代码"))
    code_date = models.DateField(_("代码日期"), null=True, blank=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, related_name="children", on_delete=models.PROTECT
    )
    # Denormalised ancestors: every scoped query filters on one indexed column.
    district = models.ForeignKey(
        "self", null=True, blank=True, related_name="+", on_delete=models.PROTECT, verbose_name=_("区")
    )
    street = models.ForeignKey(
        "self", null=True, blank=True, related_name="+", on_delete=models.PROTECT, verbose_name=_("街道")
    )
    community = models.ForeignKey(
        "self", null=True, blank=True, related_name="+", on_delete=models.PROTECT, verbose_name=_("社区")
    )
    boundary = models.JSONField(_("边界 (GeoJSON, WGS-84)"), null=True, blank=True)
    target_households = models.PositiveIntegerField(_("网格目标户数"), default=300)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")
        ordering = ["level", "code", "name"]

    def __str__(self) -> str:
        return self.short_name or self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.fill_ancestors()
        super().save(*args, **kwargs)

    def fill_ancestors(self) -> None:
        parent = self.parent
        self.district = self.street = self.community = None
        if parent is None:
            if self.level == self.Level.DISTRICT:
                self.district = None
            return
        self.district_id = parent.district_id or (parent.pk if parent.level == self.Level.DISTRICT else None)
        self.street_id = parent.street_id or (parent.pk if parent.level == self.Level.STREET else None)
        self.community_id = parent.community_id or (parent.pk if parent.level == self.Level.COMMUNITY else None)

    @property
    def depth(self) -> int:
        return self.LEVEL_DEPTH[self.Level(self.level)]


class Building(models.Model):
    name = models.CharField(_("楼栋"), max_length=60, help_text=_("例如 12号楼"))
    address = models.CharField(_("地址"), max_length=200, blank=True)
    grid = models.ForeignKey(
        Area, verbose_name=_("网格"), null=True, blank=True, related_name="buildings", on_delete=models.PROTECT
    )
    community = models.ForeignKey(Area, verbose_name=_("社区"), related_name="+", on_delete=models.PROTECT)
    street = models.ForeignKey(Area, verbose_name=_("街道"), related_name="+", on_delete=models.PROTECT)
    district = models.ForeignKey(Area, verbose_name=_("区"), related_name="+", on_delete=models.PROTECT)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    entrances = models.PositiveSmallIntegerField(_("单元数"), default=1)
    needs_location = models.BooleanField(_("待定位"), default=False, help_text=_("导入时新建，尚未标注位置"))

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["community_id", "name"]
        constraints = [models.UniqueConstraint(fields=["community", "name"], name="building_unique_in_community")]
        # "Which building is nearest this point" (wangge.areas.places) searches a lat/lon box.
        indexes = [models.Index(fields=["lat", "lon"], name="building_lat_lon")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.grid is not None and not self.community_id:
            if self.grid.community_id is None:
                raise ValueError("a grid must sit in a community")
            self.community_id = self.grid.community_id
        community = Area.objects.get(pk=self.community_id)
        if community.street_id is None or community.district_id is None:
            raise ValueError("a building's community must sit in a street and a district")
        self.street_id = community.street_id
        self.district_id = community.district_id
        super().save(*args, **kwargs)


class Organisation(models.Model):
    class Kind(models.TextChoices):
        PARTY_BRANCH = "party_branch", _("党支部")
        VOLUNTEERS = "volunteers", _("志愿服务队")
        OTHER = "other", _("其他组织")

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    area = models.ForeignKey(Area, verbose_name=_("所属区域"), related_name="organisations", on_delete=models.PROTECT)

    class Meta:
        verbose_name = _("组织")
        verbose_name_plural = _("组织")
        ordering = ["area_id", "kind", "name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    organisation = models.ForeignKey(Organisation, related_name="memberships", on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="memberships", on_delete=models.CASCADE
    )
    resident = models.ForeignKey(
        "registry.Resident", null=True, blank=True, related_name="memberships", on_delete=models.CASCADE
    )
    role = models.CharField(_("职务"), max_length=40, blank=True)
    since = models.DateField(_("加入日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("组织成员")
        verbose_name_plural = _("组织成员")

    def __str__(self) -> str:
        return f"{self.organisation}: {self.user or self.resident}"


def models_with_a_grid() -> list[Any]:
    """Every model other than Area with a ``grid`` column pointing at the area tree."""
    return [
        model
        for model in apps.get_models()
        if model is not Area
        and any(f.name == "grid" and getattr(f, "related_model", None) is Area for f in model._meta.get_fields())
    ]
