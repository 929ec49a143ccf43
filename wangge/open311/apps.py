from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Open311Config(AppConfig):
    name = "wangge.open311"
    label = "open311"
    verbose_name = _("居民上报（Open311）")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wangge.open311.actions import webhook_secret_of
        from wangge.protection import notify

        # Client apps' webhooks are signed with each app's own secret.
        notify.register_signer("open311", webhook_secret_of)
