from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProtectionConfig(AppConfig):
    name = "wangge.protection"
    label = "protection"
    verbose_name = _("走失防护")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wangge.core.notify import register_outbox
        from wangge.protection import audit_objects, notify

        audit_objects.connect()
        register_outbox(sms=notify.queue_sms, users=notify.notify_users)
