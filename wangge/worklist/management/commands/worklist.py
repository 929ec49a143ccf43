"""``wangge worklist generate [--date YYYY-MM-DD]`` makes the day's tasks (the last line of the
output is a JSON summary: created, closed, open); ``wangge worklist preview RULE [--date]``
tells what a rule would create today without writing anything."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from wangge.worklist import actions
from wangge.worklist.models import Rule


def _date(raw: str | None) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise CommandError(
            _("%(option)s 应为 YYYY-MM-DD 格式的日期，而不是 %(value)s") % {"option": "--date", "value": raw},
            returncode=2,
        ) from None


class Command(BaseCommand):
    help = _("服务任务：generate 生成当天任务，preview 试算一条规则")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["generate", "preview"], help=_("要做的事"))
        parser.add_argument("rule", nargs="?", help=_("规则代码（preview）"))
        parser.add_argument("--date", metavar="YYYY-MM-DD", help=_("日期；不填则为今天"))

    def handle(self, *args: Any, **options: Any) -> None:
        today = _date(options["date"])
        if options["what"] == "preview":
            rule = Rule.objects.filter(code=options["rule"] or "").first()
            if rule is None:
                raise CommandError(_("没有代码为 %(code)s 的规则") % {"code": options["rule"]}, returncode=2)
            self.stdout.write(json.dumps(actions.rule_preview(rule=rule, today=today)))
            return
        summary = actions.generate(today=today)
        self.stdout.write(
            json.dumps(
                {
                    "created": summary.created,
                    "closed": summary.closed,
                    "open": summary.open,
                    "moved": summary.moved,
                    "escalated": summary.escalated,
                }
            )
        )
