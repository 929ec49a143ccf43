"""Missing-person incidents: report, reach the nearest people who can search, log, close.

When a guardian or staff member reports someone missing (or escalates an alert), the incident
records the last known location and time at once (the newest of the phone's fix, the alert's
fix and, failing both, the home address), finds the grid workers and volunteers nearest to it
(the grid containing the point, the nearest grids around it, and the person's own grid) and
notifies them with the profile and the location through ``notify`` (stored, then delivered and
retried). Every action here is keyword-only, atomic and audited; callers check scope first.

Layout: ``actions`` holds the writes (re-exported here, so ``incidents.incident_report`` reads
as before), ``responders`` where the person was last and who is nearest, ``messages`` what
they are sent, ``labels`` the durations the pages and the API show.
"""

from wangge.protection.incidents.actions import (
    alert_escalate,
    alert_resolve,
    incident_assign_searcher,
    incident_close,
    incident_log_update,
    incident_report,
)

__all__ = [
    "alert_escalate",
    "alert_resolve",
    "incident_assign_searcher",
    "incident_close",
    "incident_log_update",
    "incident_report",
]
