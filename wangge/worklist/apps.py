from django.apps import AppConfig
from django.db.models.signals import post_migrate


class WorklistConfig(AppConfig):
    name = "wangge.worklist"
    label = "worklist"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wangge.worklist import audit_objects
        from wangge.worklist.defaults import ensure_default_rules

        audit_objects.connect()
        post_migrate.connect(ensure_default_rules, sender=self, dispatch_uid="worklist_default_rules")
