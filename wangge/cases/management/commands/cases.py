"""``wangge cases stats [--area CODE] [--from DATE] [--to DATE]``: the case figures of an area
and date range; the last line of the output is one JSON object for operators' scripts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from wangge.areas.models import Area
from wangge.cases.queries import case_stats


def _date(raw: str | None, option: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise CommandError(
            _("%(option)s 应为 YYYY-MM-DD 格式的日期，而不是 %(value)s") % {"option": option, "value": raw},
            returncode=2,
        ) from None


class Command(BaseCommand):
    help = _("信访与网格事件统计：最后一行输出一个 JSON 对象")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["stats"], help=_("要做的事"))
        parser.add_argument("--area", metavar="CODE", help=_("区划代码（或区域编号）；不填则为全部区域"))
        parser.add_argument("--from", dest="date_from", metavar="DATE", help=_("登记日期起（含）"))
        parser.add_argument("--to", dest="date_to", metavar="DATE", help=_("登记日期止（含）"))

    def handle(self, *args: Any, **options: Any) -> None:
        date_from = _date(options["date_from"], "--from")
        date_to = _date(options["date_to"], "--to")
        if date_from and date_to and date_from > date_to:
            raise CommandError(_("--from 不能晚于 --to"), returncode=2)
        area = None
        if options["area"]:
            raw = options["area"]
            area = Area.objects.filter(code=raw).order_by("pk").first()
            if area is None and raw.isdigit():
                area = Area.objects.filter(pk=int(raw)).first()
            if area is None:
                raise CommandError(_("没有区划代码为 %(code)s 的区域") % {"code": raw}, returncode=2)
        figures = case_stats(area=area, date_from=date_from, date_to=date_to)
        self.stdout.write(json.dumps(figures, ensure_ascii=False, sort_keys=True))
