"""Accounts: a role and the area nodes it covers decide everything a user may see."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as BaseUserManager
from django.db import models
from django.utils import timezone
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


def token_digest(secret: str) -> str:
    """What the database keeps of an API token: its SHA-256, never the token itself.

    The secret has 256 random bits, so a plain hash (no salt, no stretching) cannot be reversed
    and lets a request's token be found by an indexed equality.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def live(self) -> ApiTokenQuerySet:
        """Tokens that still open the API: not revoked, not expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ApiToken(models.Model):
    """One client's (device's) API token. The secret is shown once when made; only its hash stays."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("用户"))
    name = models.CharField(_("客户端名称"), max_length=100)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("到期时间"))
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        indexes = [models.Index(fields=["user", "revoked_at"], name="apitoken_user_revoked")]

    def __str__(self) -> str:
        return f"{self.user} · {self.name}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
