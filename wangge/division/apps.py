from django.apps import AppConfig


class DivisionConfig(AppConfig):
    name = "wangge.division"
    label = "division"

    def ready(self) -> None:
        # registers the "division.preview" task handler with core's queue
        from wangge.division import tasks  # noqa: F401
