"""特殊人群 and 重点青少年 in the demo: about 1.5 per thousand residents on the registers (a few
hundred at Lishan's scale), with follow-ups behind them and some due or overdue today.

Applied after the residents are written, deterministically from the demo's seed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from wangge.core import bulk
from wangge.groups.codes import ensure_defaults
from wangge.groups.models import FollowUp, Listing, Register
from wangge.registry.models import Resident

PER_THOUSAND = 1.5
MINIMUM = 24  # so that a small demo still shows every page
# register code: share of the listings, ages (min, max)
MIX = {
    "released": (0.22, 22, 65),
    "correction": (0.12, 18, 60),
    "mental": (0.30, 18, 80),
    "drugs": (0.10, 20, 55),
    "aids": (0.03, 20, 55),
    "youth_idle": (0.08, 16, 25),
    "youth_misbehaving": (0.06, 12, 18),
    "youth_offender": (0.03, 16, 25),
    "youth_street": (0.02, 10, 17),
    "youth_prisoners_child": (0.04, 6, 17),
}
FINDINGS = [
    "情况稳定，按时服药",
    "已找到工作，家庭关系良好",
    "按时报到，思想稳定",
    "家属配合，未发现异常",
    "近期情绪波动，已联系社区医生",
]


@dataclass
class Counts:
    listed: int = 0
    due: int = 0
    follow_ups: int = 0


def assign(*, seed: int, today: dt.date) -> Counts:
    rng = random.Random(seed * 31337 + 3)
    ensure_defaults()
    counts = Counts()
    periods = dict(Register.objects.values_list("code", "follow_up_days"))
    people = list(
        Resident.objects.filter(status=Resident.Status.LIVING)
        .order_by("pk")
        .values_list("pk", "birth_date", "grid_id", "community_id", "street_id", "district_id")
    )
    total = max(MINIMUM, round(len(people) * PER_THOUSAND / 1000))
    rng.shuffle(people)
    taken: set[int] = set()
    now = timezone.now()
    rows: list[dict[str, Any]] = []
    due = 0
    for code, (share, low, high) in MIX.items():
        wanted = max(1, round(total * share))
        for pk, birth, grid, community, street, district in people:
            if wanted == 0:
                break
            age = (today - birth).days // 365
            if pk in taken or not low <= age <= high:
                continue
            taken.add(pk)
            wanted -= 1
            days = periods.get(code, 30)
            last = today - dt.timedelta(days=rng.randrange(0, days + 10))
            due += last + dt.timedelta(days=days) <= today
            start = today - dt.timedelta(days=rng.randrange(days + 10, 1500))
            rows.append(
                {
                    "register_id": code,
                    "resident_id": pk,
                    "attention": rng.choices(["normal", "watch", "key"], weights=[70, 22, 8])[0],
                    "follow_up_days": days,
                    "next_follow_up": last + dt.timedelta(days=days),
                    "last_follow_up": last,
                    "start": start,
                    "release_date": start - dt.timedelta(days=rng.randrange(0, 30)) if code == "released" else None,
                    "period_start": start if code in ("released", "correction") else None,
                    "period_end": start + dt.timedelta(days=365 * rng.choice([1, 3, 5]))
                    if code in ("released", "correction")
                    else None,
                    "office": "立山区司法局" if code in ("released", "correction") else "",
                    "risk_level": rng.choices(range(6), weights=[40, 30, 15, 8, 5, 2])[0] if code == "mental" else None,
                    "guardian_name": "",
                    "guardian_phone": "",
                    "note": "",
                    "end_reason": "",
                    "grid_id": grid,
                    "community_id": community,
                    "street_id": street,
                    "district_id": district,
                    "created_at": now,
                }
            )
    bulk.insert(Listing, rows)
    follow_ups = []
    for pk, latest, days in Listing.objects.order_by("pk").values_list("pk", "last_follow_up", "follow_up_days"):
        assert latest is not None  # every demo listing has been followed up
        date = latest
        for _n in range(rng.randrange(1, 4)):
            follow_ups.append(
                {
                    "listing_id": pk,
                    "date": date,
                    "finding": rng.choice(FINDINGS),
                    "next_date": date + dt.timedelta(days=days),
                    "recorded_at": now,
                }
            )
            date -= dt.timedelta(days=days)
    bulk.insert(FollowUp, follow_ups)
    counts.listed = len(rows)
    counts.due = due
    counts.follow_ups = len(follow_ups)
    return counts
