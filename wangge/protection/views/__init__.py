"""Pages of missing-person protection, one module per concern: ``home`` (the overview, alerts
and notifications), ``enrolments`` (enrolment, consent, profile, ending), ``devices``,
``zones`` and ``incidents`` (the live search page). ``common`` holds what they share.

Reads go through ``queries`` (out of scope = 404; a location read is audited with its purpose);
writes go through ``actions`` and ``incidents``. A GET never writes.
"""
