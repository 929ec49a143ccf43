"""The worklist's periodic job: today's tasks, made once a day by whichever worker wins the lease."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

# Hourly: the day's run happens within an hour of midnight, and a run is cheap when nothing
# changed (a second run for the same day creates nothing).
EVERY = 3600


def run(now: dt.datetime) -> dict[str, Any]:
    from dataclasses import asdict

    from wangge.worklist.actions import generate

    return asdict(generate(today=timezone.localdate(now), now=now))
