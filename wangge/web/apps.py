from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "wangge.web"
    label = "web"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Compile the English catalogue if it is missing or older than its .po (a stat check).
        from wangge.core.i18n import compile_catalogues

        compile_catalogues()
