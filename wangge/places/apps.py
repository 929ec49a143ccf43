from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PlacesConfig(AppConfig):
    name = "wangge.places"
    label = "places"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wangge.places.codes import ensure_defaults

        post_migrate.connect(ensure_defaults, sender=self, dispatch_uid="places_code_tables")
