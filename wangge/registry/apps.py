from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RegistryConfig(AppConfig):
    name = "wangge.registry"
    label = "registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wangge.registry import audit_objects, imports  # noqa: F401  (imports: the import task handlers)
        from wangge.registry.codes import ensure_defaults

        audit_objects.connect()
        post_migrate.connect(ensure_defaults, sender=self, dispatch_uid="registry_code_tables")
