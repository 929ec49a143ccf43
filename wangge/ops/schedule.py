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

    from wangge.worklist import jobs as worklist_jobs

    # The day's service tasks (issue 12); idempotent, so the hourly run is cheap after the first.
    register_job("worklist.generate", every=worklist_jobs.EVERY, run=worklist_jobs.run)
    from wangge.worklist import rollups as worklist_rollups

    # Visit coverage per area for the summaries above the grid (issue 16): at most EVERY s old.
    register_job("worklist.coverage", every=worklist_rollups.EVERY, run=lambda now: worklist_rollups.refresh(now))

    from wangge.cases import stats as case_stats

    # Monthly case figures for the statistics page (issue 11): at most EVERY s old.
    register_job("cases.monthly_counts", every=case_stats.EVERY, run=lambda now: case_stats.refresh(now))

    # Overdue cases go to their supervisors (督办, issue 11) within this many seconds.
    register_job("cases.escalate", every=escalate_every, run=lambda now: len(cases_escalate(now=now)))

    for name, (every, function) in JOBS.items():
        register_job(f"protection.{name}", every=every, run=function)

    # Residents who reported through Open311 or /report/ hear of status changes (issue 13).
    from wangge.open311.actions import notify_status_changes

    register_job("open311.notify", every=60, run=lambda now: notify_status_changes(now))
