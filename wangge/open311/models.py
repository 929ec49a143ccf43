"""The public doors to cases: Open311 client apps with their API keys, and the report a resident
filed through them or through the /report/ page (tracking code, reply address, what was last told)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.cases.models import Case


class ClientApp(models.Model):
    """An application allowed to POST requests. Its key is shown once and stored as a SHA-256
    digest: a key is 32 random bytes, so a fast hash is as safe as a slow one and costs
    microseconds per request rather than a PBKDF2 round."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    key_prefix = models.CharField(_("密钥前缀"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    active = models.BooleanField(_("启用"), default=True)
    per_minute = models.PositiveIntegerField(_("每分钟上限"), default=600)
    webhook_url = models.URLField(_("状态回调地址"), max_length=300, blank=True)
    # Signs this app's webhooks (HMAC-SHA256, like the protection webhooks). Shown once when the
    # app is made; kept as it is because signing needs it (it admits nothing: it only proves
    # to the app that a call comes from us).
    webhook_secret = models.CharField(_("回调签名密钥"), max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 应用")
        verbose_name_plural = _("Open311 应用")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Report(models.Model):
    """A case a resident reported through a public channel."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="public_report")
    # The short tracking code of /report/<code>/, also Open311's token.
    code = models.CharField(_("查询码"), max_length=12, unique=True)
    client_app = models.ForeignKey(
        ClientApp, verbose_name=_("Open311 应用"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    email = models.EmailField(_("电子邮件"), blank=True)
    media_url = models.URLField(_("照片链接"), max_length=500, blank=True)
    device_id = models.CharField(max_length=100, blank=True)
    account_id = models.CharField(max_length=100, blank=True)
    # The case status the reporter was last told about (the outbound job's bookmark).
    notified_status = models.CharField(max_length=10, default=Case.Status.RECEIVED)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("居民上报")
        verbose_name_plural = _("居民上报")
        # An app's rate limit counts its reports of the last minute.
        indexes = [models.Index(fields=["client_app", "created_at"], name="open311_report_app_created_idx")]

    def __str__(self) -> str:
        return self.code
