"""Accounts: a role and the area nodes it covers decide everything a user may see."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("区级管理员")
    STREET_STAFF = "street_staff", _("街道工作人员")
    COMMUNITY_STAFF = "community_staff", _("社区工作人员")
    GRID_WORKER = "grid_worker", _("网格员")
    PETITION_OFFICE = "petition_office", _("信访办")
    DEPARTMENT = "department", _("职能部门")
    GUARDIAN = "guardian", _("监护人")
    AUDITOR = "auditor", _("审计员")


class UserManager(BaseUserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        # The operator's first account runs the district; the admin site admits district admins only.
        extra.setdefault("role", Role.DISTRICT_ADMIN)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    objects = UserManager()  # type: ignore[misc]
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.GRID_WORKER)
    full_name = models.CharField(_("姓名"), max_length=60, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    areas = models.ManyToManyField(
        "areas.Area", verbose_name=_("负责区域"), blank=True, related_name="staff", through="AreaAssignment"
    )

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)


class AreaAssignment(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    area = models.ForeignKey("areas.Area", on_delete=models.CASCADE, related_name="assignments")
    since = models.DateField(_("起始日期"), auto_now_add=True)

    class Meta:
        verbose_name = _("区域分配")
        verbose_name_plural = _("区域分配")
        constraints = [models.UniqueConstraint(fields=["user", "area"], name="assignment_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.area}"
