from django.contrib import admin

from wangge.open311.models import ClientApp, Report


@admin.register(ClientApp)
class ClientAppAdmin(admin.ModelAdmin[ClientApp]):
    """Keys are made by ``wangge open311 keys create NAME`` (shown once); here they are revoked
    (untick "active") and given a webhook."""

    list_display = ["name", "key_prefix", "active", "per_minute", "created_at", "revoked_at"]
    readonly_fields = ["key_prefix", "created_at", "revoked_at"]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin[Report]):
    list_display = ["code", "case", "client_app", "notified_status", "created_at"]
    readonly_fields = ["case", "code", "client_app", "notified_status", "created_at"]
    search_fields = ["code"]
