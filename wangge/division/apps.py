from django.apps import AppConfig


class DivisionConfig(AppConfig):
    name = "wangge.division"
    label = "division"
