"""Client apps in the admin: a district administrator issues an app its key (shown once, stored
hashed, exactly as ``wangge open311 keys create`` does), rotates its webhook signing secret
(shown once), revokes it by unticking "active". Every write goes through ``actions`` and is
audited with the administrator as the actor."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts.admin import DistrictAdminMixin
from wangge.open311 import actions
from wangge.open311.models import ClientApp, Report

# Where save_model leaves what must be shown once, for response_add to show (never stored).
_SHOWN_ONCE = "_wangge_open311_shown_once"


class ClientAppAddForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ClientApp
        fields = ["name", "webhook_url", "per_minute"]

    def clean_name(self) -> str:
        name = str(self.cleaned_data.get("name") or "").strip()
        if not name:
            raise forms.ValidationError(_("请填写应用名称"))
        if ClientApp.objects.filter(name=name).exists():
            raise forms.ValidationError(_("已有同名应用"))
        return name


@admin.register(ClientApp)
class ClientAppAdmin(DistrictAdminMixin, admin.ModelAdmin[ClientApp]):
    list_display = ["name", "key_prefix", "active", "per_minute", "webhook_url", "created_at", "revoked_at"]
    list_filter = ["active"]
    search_fields = ["name", "key_prefix"]
    readonly_fields = ["key_prefix", "created_at", "revoked_at"]
    actions = ["rotate_secret"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ClientAppAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["name", "webhook_url", "per_minute"]
        return ["name", "key_prefix", "active", "per_minute", "webhook_url", "created_at", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its reports point to it; revoke instead

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            app, key = actions.client_app_create(
                name=obj.name, by=request.user, webhook_url=obj.webhook_url, per_minute=obj.per_minute
            )
            for field in ("pk", "key_prefix", "key_hash", "webhook_secret", "created_at"):
                setattr(obj, field, getattr(app, field))
            setattr(request, _SHOWN_ONCE, [(app, key, app.webhook_secret)])
            return
        was_active = ClientApp.objects.filter(pk=obj.pk).values_list("active", flat=True).first()
        if was_active and not obj.active:
            # Revoked: the action stamps the time, forgets the key in this process and audits.
            obj.active = True
            super().save_model(request, obj, form, change)  # the other edits, audited
            actions.client_app_revoke(app=obj, by=request.user)
            return
        if obj.active and not was_active:
            obj.revoked_at = None
        super().save_model(request, obj, form, change)

    def response_add(self, request: HttpRequest, obj: ClientApp, post_url_continue: str | None = None) -> HttpResponse:
        shown = getattr(request, _SHOWN_ONCE, None)
        if shown is None:
            return super().response_add(request, obj, post_url_continue)
        return self._shown_once(request, shown, title=_("已发放 Open311 密钥"))

    @admin.action(description=gettext_lazy("更换所选应用的回调签名密钥"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[ClientApp]) -> HttpResponse:
        shown = [(app, "", actions.client_app_rotate_secret(app=app, by=request.user)) for app in queryset]
        return self._shown_once(request, shown, title=_("已更换回调签名密钥"))

    def _shown_once(self, request: HttpRequest, shown: list[tuple[ClientApp, str, str]], *, title: str) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "shown": [{"app": app, "key": key, "secret": secret} for app, key, secret in shown],
        }
        return TemplateResponse(request, "open311/admin/shown_once.html", context)


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin[Report]):
    list_display = ["code", "case", "client_app", "notified_status", "created_at"]
    readonly_fields = ["case", "code", "client_app", "notified_status", "created_at"]
    search_fields = ["code"]
