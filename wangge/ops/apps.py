from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "wangge.ops"
    label = "ops"

    def ready(self) -> None:
        from wangge.ops import schedule

        schedule.register()
