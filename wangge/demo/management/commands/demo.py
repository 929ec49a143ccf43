"""``wangge demo``: build or rebuild the demo district and print its accounts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from wangge.accounts.models import Role
from wangge.demo import DEFAULT_RESIDENTS


class Command(BaseCommand):
    help = _("构建（或重建）演示区：立山区的真实街道和社区，以及生成的网格、楼栋、住户、居民和演示账号")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--residents",
            type=int,
            default=DEFAULT_RESIDENTS,
            help=_("居民人数（默认 %(default)s；520000 为全区规模）"),
        )
        parser.add_argument("--seed", type=int, default=1, help=_("随机种子（默认 %(default)s）"))
        parser.add_argument("--all-accounts", action="store_true", help=_("为每个网格的网格员账号也生成并打印密码"))
        parser.add_argument("--no-migrate", action="store_true", help=_("不先运行数据库迁移"))
        parser.add_argument("--force", action="store_true", help=_("即使数据库中有非演示账号或其他区的数据也重建"))
        parser.add_argument(
            "--serving",
            action="store_true",
            help=_("调用方随后启动服务（make demo）：只提示打开的地址，不提示如何启动"),
        )

    def handle(
        self,
        *args: Any,
        residents: int,
        seed: int,
        all_accounts: bool,
        force: bool,
        serving: bool = False,
        **options: Any,
    ) -> None:
        if residents < 1:
            raise CommandError(_("--residents 必须是正整数"))
        verbose = options.get("verbosity", 1) >= 2
        try:
            from wangge.demo.build import DemoRefused, build
        except ModuleNotFoundError as exc:
            if exc.name != "faker":
                raise
            # Faker is in the ``demo`` extra: a production install does without it.
            raise CommandError(_("演示数据需要 Faker：请运行 make demo，或 pip install 'wangge[demo]'")) from None
        if not options.get("no_migrate"):
            # A fresh checkout runs ``wangge demo`` first: make sure the tables exist.
            call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(_("正在构建演示区（%(n)s 名居民）……") % {"n": residents})
        try:
            summary = build(
                residents=residents,
                seed=seed,
                all_accounts=all_accounts,
                force=force,
                progress=self.stdout.write if verbose else None,
            )
        except DemoRefused as exc:
            raise CommandError(
                _("数据库中已有不是演示数据创建的%(what)s；重建会删除全部区域和居民数据。确需重建请加 --force。")
                % {"what": _("账号") if str(exc) == "accounts" else _("其他区的区域")}
            ) from None
        from wangge.registry import rollups
        from wangge.worklist import rollups as worklist_rollups

        # after a bulk load: per-area counts and the planner's statistics, before anyone browses
        rollups.refresh(analyze=True)
        worklist_rollups.refresh()
        lines = [
            _("街道 %(n)s 个") % {"n": summary.streets},
            _("社区 %(n)s 个（其中村 %(v)s 个）") % {"n": summary.communities, "v": summary.villages},
            _("网格 %(n)s 个") % {"n": summary.grids},
            _("楼栋 %(n)s 栋") % {"n": summary.buildings},
            _("住户 %(n)s 户") % {"n": summary.households},
            _("居民 %(n)s 人，户均 %(avg).2f 人")
            % {
                "n": summary.residents,
                "avg": summary.residents / max(summary.households, 1),
            },
            _("60 岁及以上 %(share).1f%%") % {"share": summary.elderly_share * 100},
            _("失智老人 %(n)s 人") % {"n": summary.dementia},
            _("党支部和志愿服务队 %(n)s 个") % {"n": summary.organisations},
            _("用时 %(s).1f 秒") % {"s": summary.seconds},
        ]
        self.stdout.write(self.style.SUCCESS(_("演示区已建成：")) + "；".join(lines))
        story = summary.protection
        if story.enrolled:
            found = story.time_to_find
            minutes = int(found.total_seconds() // 60) if found else 0
            self.stdout.write(
                _(
                    "走失防护：%(n)s 人已登记（有同意书、手机、家附近安全区域和 %(fixes)s 个定位点）；"
                    "%(alerts)s 条告警待处理，%(open)s 起正在搜寻，%(closed)s 起已找到（用时 %(h)s 小时 %(m)s 分）"
                )
                % {
                    "n": story.enrolled,
                    "fixes": story.fixes,
                    "alerts": int(story.open_alert is not None),
                    "open": int(story.active_incident is not None),
                    "closed": int(story.closed_incident is not None),
                    "h": minutes // 60,
                    "m": minutes % 60,
                }
            )
        cases = summary.cases
        if cases.cases:
            self.stdout.write(
                _("信访和网格事件：近一年 %(n)s 件（其中信访 %(p)s 件），各办理阶段都有，含一件无理但已解决的信访")
                % {"n": cases.cases, "p": cases.petitions}
            )
        worklist = summary.worklist
        if worklist.tasks:
            self.stdout.write(
                _("走访：%(visits)s 次走访记录，今天 %(open)s 项待办服务任务（%(escalated)s 项逾期已上报社区）")
                % {"visits": worklist.visits, "open": worklist.open, "escalated": worklist.escalated}
            )
        self.stdout.write("")
        lines = account_lines(summary.accounts)
        path = write_accounts(lines, settings.DATA_DIR)
        self.stdout.write(_("演示账号（密码每次运行随机生成）："))
        for line in lines:
            self.stdout.write(f"  {line}")
        self.stdout.write(_("以上账号和密码也已写入 %(path)s（仅文件所有者可读）") % {"path": path})
        self.stdout.write(closing_hint(serving=serving))


ACCOUNTS_FILE = "demo-accounts.txt"


def account_lines(accounts: list[Any]) -> list[str]:
    width = max((len(a.username) for a in accounts), default=0)
    return [
        f"{a.username:<{width}}  {a.password}  {a.title or Role(a.role).label}  {a.scope}".rstrip() for a in accounts
    ]


def write_accounts(lines: list[str], directory: Path) -> Path:
    """Write the demo's accounts to the data directory, readable by its owner only (0600, even
    when the file was there before with wider rights), replacing the last run's."""
    path = directory / ACCOUNTS_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def closing_hint(*, serving: bool) -> str:
    if serving:
        # make demo starts the server right after this command: say where to go, not what to run.
        return _("正在启动服务，启动后打开 http://127.0.0.1:8000/login/")
    return _("启动服务：wangge serve，然后打开 http://127.0.0.1:8000/login/")
