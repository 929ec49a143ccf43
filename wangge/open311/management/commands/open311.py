"""``wangge open311 keys create NAME`` (prints the key alone on its last line, once),
``keys revoke NAME``, ``keys list``, ``keys secret NAME`` (a new webhook signing secret, printed
once) and ``notify`` (the outbound job, once)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.open311 import actions
from wangge.open311.models import ClientApp


class Command(BaseCommand):
    help = "Open311 client apps and their keys"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        keys = sub.add_parser("keys")
        keys.add_argument("verb", choices=["create", "revoke", "list", "secret"])
        keys.add_argument("name", nargs="?", default="")
        keys.add_argument("--webhook", default="", help="URL that receives the status changes of its requests")
        sub.add_parser("notify")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["what"] == "notify":
            self.stdout.write(str(actions.notify_status_changes()))
            return
        verb, name = options["verb"], options["name"]
        if verb == "list":
            for app in ClientApp.objects.all():
                state = "active" if app.active else "revoked"
                self.stdout.write(f"{app.name}\t{app.key_prefix}…\t{state}")
            return
        if not name:
            raise CommandError("NAME is required")
        try:
            if verb == "create":
                app, key = actions.client_app_create(name=name, webhook_url=options["webhook"])
                self.stdout.write(f"Webhook signing secret for {name} (shown once; X-Wangge-Signature: sha256=HMAC):")
                self.stdout.write(app.webhook_secret)
                self.stdout.write(f"Open311 key for {name} (shown once, stored hashed):")
                self.stdout.write(key)
            else:
                found = ClientApp.objects.filter(name=name).first()
                if found is None:
                    raise CommandError(f"no client app named {name}")
                if verb == "secret":
                    secret = actions.client_app_rotate_secret(app=found)
                    self.stdout.write(f"New webhook signing secret for {name} (shown once):")
                    self.stdout.write(secret)
                    return
                actions.client_app_revoke(app=found)
                self.stdout.write(f"revoked {name}")
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
