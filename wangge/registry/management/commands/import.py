"""``wangge import residents FILE [--report PATH] [--by USERNAME]``.

Exit status: 0 when every row was imported (warnings allowed), 1 when some rows were
rejected (see the report), 2 when the file as a whole could not be read.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.registry.importing import ImportFileError, import_residents
from wangge.registry.importing import report as reports
from wangge.registry.importing.limits import Limits


class Command(BaseCommand):
    exit_status = 0
    help = _("导入居民表（XLSX 或 CSV，编码自动识别）。退出码：0 全部导入，1 有被拒绝的行，2 文件无法读取")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["residents"], help=_("导入的内容"))
        parser.add_argument("file", type=Path, help=_("XLSX 或 CSV 文件"))
        parser.add_argument("--report", type=Path, help=_("把逐行报告（CSV）写到此路径"))
        parser.add_argument(
            "--by", metavar="USERNAME", help=_("以该用户的身份和管辖范围导入；不填则不限范围，审计记录为 system")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        user = None
        if options["by"]:
            user = get_user_model().objects.filter(username=options["by"], is_active=True).first()
            if user is None:
                raise CommandError(_("没有名为 %(name)s 的有效用户") % {"name": options["by"]}, returncode=2)
            if not policy.can_import(user):
                raise CommandError(_("用户 %(name)s 的角色无权导入") % {"name": user.username}, returncode=2)
        limits = Limits.from_settings()
        try:
            if path.stat().st_size > limits.bytes:
                raise CommandError(str(limits.too_many_bytes()), returncode=2)
            data = path.read_bytes()
        except OSError as exc:
            message = _("无法读取文件 %(path)s：%(error)s") % {"path": path, "error": exc.strerror}
            raise CommandError(message, returncode=2) from None
        try:
            result = import_residents(data=data, file_name=path.name, by=user)
        except ImportFileError as exc:
            raise CommandError(str(exc), returncode=2) from None

        report_path: Path | None = options["report"]
        if report_path is None and result.problems:
            report_path = reports.directory() / f"{path.stem}-{secrets.token_hex(4)}.csv"
        if report_path is not None:
            reports.write_csv(result, report_path)
        self.stdout.write(result.summary)
        if result.warned:
            self.stdout.write(_("另有 %(n)d 行已导入但有警告") % {"n": result.warned})
        if report_path is not None:
            self.stdout.write(_("逐行报告：%(path)s") % {"path": report_path})
        self.exit_status = 1 if result.rejected else 0

    def run_from_argv(self, argv: list[str]) -> None:
        # Only the console script exits with 1; call_command() just returns.
        self.exit_status = 0
        super().run_from_argv(argv)
        if self.exit_status:
            sys.exit(self.exit_status)
