"""``wangge restore PATH``: load a backup into the configured database (an empty one, unless
``--force``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.core.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore a backup made by `wangge backup` into the configured database."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the backup file")
        parser.add_argument("--force", action="store_true", help="overwrite a database that already has tables")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.stdout.write(restore(options["path"], force=options["force"]))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
