"""Which periodic jobs the worker runs: the apps' jobs, registered with core's scheduler.

Protection keeps its jobs in ``protection.jobs.JOBS`` (name → (every seconds, function)); they
are registered here until protection registers them itself.
"""

from __future__ import annotations

from wangge.core.periodic import register_job


def register() -> None:
    from wangge.cases.actions import ESCALATE_EVERY as escalate_every
    from wangge.cases.actions import cases_escalate
    from wangge.protection.jobs import JOBS
    from wangge.registry import rollups

    # Per-area counts for the district's and streets' pages (issue 16): at most EVERY s old.
    register_job("registry.area_counts", every=rollups.EVERY, run=lambda now: rollups.refresh(now))

    # Overdue cases go to their supervisors (督办, issue 11) within this many seconds.
    register_job("cases.escalate", every=escalate_every, run=lambda now: len(cases_escalate(now=now)))

    for name, (every, function) in JOBS.items():
        register_job(f"protection.{name}", every=every, run=function)
