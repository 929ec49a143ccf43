from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "wangge.cases"
    label = "cases"
    verbose_name = _("信访与网格事件")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wangge.cases import audit_objects
        from wangge.cases.defaults import ensure_defaults

        audit_objects.connect()
        post_migrate.connect(ensure_defaults, sender=self, dispatch_uid="cases_defaults")
