from django.apps import AppConfig
from django.db.models.signals import post_migrate


class GroupsConfig(AppConfig):
    name = "wangge.groups"
    label = "groups"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wangge.groups.codes import ensure_defaults

        post_migrate.connect(ensure_defaults, sender=self, dispatch_uid="groups_registers")
