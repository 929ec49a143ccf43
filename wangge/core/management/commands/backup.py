"""``wangge backup PATH``: a consistent copy of the configured database, taken while serving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.core.backup import BackupError, backup


class Command(BaseCommand):
    help = "Back up the configured database to PATH (SQLite: online backup; PostgreSQL: pg_dump)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="a new file for the backup")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.stdout.write(backup(options["path"]))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
