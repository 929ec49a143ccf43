"""Special groups (特殊人群) and key youth (重点青少年) as managed registers.

A ``Listing`` puts a resident on a ``Register`` with an attention level, a responsible person
and a follow-up period; ``FollowUp`` rows (随访/帮教) record each contact and set the next one.
Who may learn that a person is on a register at all is the register's own policy
(``viewer_roles``); every read goes through ``wangge.groups.queries``, which audits it with its
purpose.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.registry.models import CodeTable, Resident, Scoped


class Register(CodeTable):
    class Kind(models.TextChoices):
        SPECIAL = "special", _("特殊人群")
        KEY_YOUTH = "key_youth", _("重点青少年")

    kind = models.CharField(_("类别"), max_length=12, choices=Kind.choices, default=Kind.SPECIAL)
    follow_up_days = models.PositiveSmallIntegerField(_("默认随访周期（天）"), default=30)
    #: the roles that may learn a person is on this register (codes of ``accounts.Role``)
    viewer_roles = models.JSONField(_("可查看的角色"), default=list, blank=True)

    class Meta(CodeTable.Meta):
        verbose_name = _("列管名册")
        verbose_name_plural = _("列管名册")

    def clean(self) -> None:
        from wangge.accounts.models import Role

        roles = self.viewer_roles
        if not isinstance(roles, list) or any(role not in Role.values for role in roles):
            raise ValidationError(
                {"viewer_roles": _("请填写角色代码的列表，可用：%(roles)s") % {"roles": ", ".join(Role.values)}}
            )


class Listing(Scoped):
    """A person on a register (列管对象), from ``start`` until ``ended``."""

    class Attention(models.TextChoices):
        NORMAL = "normal", _("一般")
        WATCH = "watch", _("关注")
        KEY = "key", _("重点")

    register = models.ForeignKey(
        Register, verbose_name=_("列管名册"), to_field="code", related_name="listings", on_delete=models.PROTECT
    )
    resident = models.ForeignKey(
        Resident, verbose_name=_("居民"), related_name="group_listings", on_delete=models.PROTECT
    )
    attention = models.CharField(_("关注程度"), max_length=10, choices=Attention.choices, default=Attention.NORMAL)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("责任人"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    follow_up_days = models.PositiveSmallIntegerField(_("随访周期（天）"))
    next_follow_up = models.DateField(_("下次随访日期"), db_index=True)
    last_follow_up = models.DateField(_("最近随访日期"), null=True, blank=True)
    start = models.DateField(_("列管日期"))
    ended = models.DateField(_("解除列管日期"), null=True, blank=True)
    end_reason = models.CharField(_("解除原因"), max_length=200, blank=True)
    # What the registers record beyond the person; each register uses its own.
    release_date = models.DateField(_("释放日期"), null=True, blank=True)
    period_start = models.DateField(_("期限开始（帮教期、矫正期）"), null=True, blank=True)
    period_end = models.DateField(_("期限结束（帮教期、矫正期）"), null=True, blank=True)
    office = models.CharField(_("负责机关（司法所等）"), max_length=100, blank=True)
    risk_level = models.PositiveSmallIntegerField(_("危险性评估等级（0–5 级）"), null=True, blank=True)
    guardian_name = models.CharField(_("监护人姓名"), max_length=60, blank=True)
    guardian_phone = models.CharField(_("监护人电话"), max_length=20, blank=True)
    note = models.TextField(_("备注"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("列管对象")
        verbose_name_plural = _("列管对象")
        ordering = ["next_follow_up", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["register", "resident"], condition=models.Q(ended__isnull=True), name="listing_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resident_id}@{self.register_id}"


class FollowUp(models.Model):
    """One contact with a listed person (随访/帮教): when, by whom, what was found, when next."""

    listing = models.ForeignKey(
        Listing, verbose_name=_("列管对象"), related_name="follow_ups", on_delete=models.CASCADE
    )
    date = models.DateField(_("随访日期"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("随访人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    finding = models.TextField(_("随访情况"))
    next_date = models.DateField(_("下次随访日期"))
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("随访记录")
        verbose_name_plural = _("随访记录")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.listing_id} {self.date}"
