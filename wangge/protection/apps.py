from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProtectionConfig(AppConfig):
    name = "wangge.protection"
    label = "protection"
    verbose_name = _("走失防护")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wangge.protection import audit_objects

        audit_objects.connect()
