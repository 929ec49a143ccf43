"""``wangge broker_sync``: rewrite the broker's password and ACL files from the database.

Wangge does this itself on every device registration, reset and enrolment end; run it once when
setting up the broker, after restoring a backup, or after changing the worker's credentials.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wangge.protection import broker


class Command(BaseCommand):
    help = "Write the MQTT broker's password and ACL files from the registered phones, then reload it."

    def handle(self, *args: Any, **options: Any) -> None:
        count = broker.sync()
        if count is None:
            raise CommandError("MQTT_BROKER_PASSWORD_FILE and MQTT_BROKER_ACL_FILE are not set")
        self.stdout.write(f"{count} broker accounts written")
