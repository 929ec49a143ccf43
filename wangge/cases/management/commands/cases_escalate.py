"""``wangge cases_escalate``: raise every case whose clock has run out to its supervisors (督办),
once per deadline; what the worker's ``cases.escalate`` job does every few minutes."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from wangge.cases.actions import cases_escalate


class Command(BaseCommand):
    help = _("督办超期案件（每个期限只督办一次）：最后一行输出一个 JSON 对象")

    def handle(self, *args: Any, **options: Any) -> None:
        made = cases_escalate()
        for escalation in made:
            self.stdout.write(f"{escalation.case_id} {escalation.phase} {escalation.due.isoformat()}")
        self.stdout.write(json.dumps({"escalated": len(made)}))
