from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "wangge.registry"
    label = "registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wangge.registry import audit_objects, imports  # noqa: F401  (imports: the import task handlers)

        audit_objects.connect()
