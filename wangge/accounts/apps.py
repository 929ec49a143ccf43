from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "wangge.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wangge.accounts import audit_objects, authentication, signals  # noqa: F401  (audit receivers, schema extension)

        audit_objects.connect()
