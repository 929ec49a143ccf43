"""Location ingest: store a batch of fixes, update the phones, check zones, raise alerts.

``ingest(fixes)`` is the one write path for every protocol (HTTP requests pass a batch of one,
the MQTT worker up to a thousand). It is built for throughput: a handful of queries per batch
whatever its size (devices, consent, zones, open alerts, one bulk insert, one executemany
update), zones compiled once and cached, and the per-fix work done in memory.

Rules:
- No consent, no tracking: fixes for unknown or inactive devices, or for an enrolment without
  an active consent covering tracking, are refused and not stored.
- GCJ-02 phones are converted to WGS-84 before anything else.
- Fixes are stored with the phone's time whatever their order. For alert logic a fix's time is
  clamped to when the server received it, so a phone whose clock is ahead (or a forged ``tst``)
  can neither freeze nor reorder the alert state.
- Only a fix newer than its phone's latest moves the phone; only one that is also the freshest
  of all the person's active phones moves the person's zone state (alert state belongs to the
  person), so late, redelivered or stale-phone messages never raise false alarms. The person's
  freshest fix is read from their active phones' rows (rewritten per fix anyway); the person's
  own row is written only when a fix changes their zone state, and on PostgreSQL a batch locks
  the phones of its people, not the people (see ``store.lock_phones``).
- A fix is outside only if it lies farther outside every active zone than its own accuracy.
  ``left_zone`` is raised after two outside fixes, or once the person has been outside for
  ``WANGGE_ZONE_DWELL_SECONDS``; two consecutive fixes clearly inside resolve it.
- Alerts are raised and resolved at the server's receive time; one open alert of a kind per
  person (a database constraint).

Layout: this module is the batch (``ingest``, ``Result``); ``store`` holds its SQL,
``pgbinary`` the PostgreSQL binary arrays, ``alerts`` the person's state machine, and ``silent``
the periodic check for phones gone quiet (``check_silent``, re-exported here).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from wangge.core.coords import gcj02_to_wgs84
from wangge.protection.ingest.alerts import Changes, evaluate, outside_many, raise_alerts
from wangge.protection.ingest.silent import check_silent
from wangge.protection.ingest.store import (
    DeviceState,
    db_time,
    insert_locations,
    load_devices,
    open_alerts,
    update_devices,
    update_people,
    zones_for,
)
from wangge.protection.models import Alert
from wangge.protection.protocols import Fix

__all__ = ["Result", "check_silent", "ingest"]


@dataclass
class Result:
    stored: int = 0  # written (a redelivered duplicate counts here too: it is already stored)
    refused: int = 0  # unknown device or no active consent: not stored
    alerts: list[Alert] = field(default_factory=list)
    resolved: int = 0
    refused_identifiers: set[str] = field(default_factory=set)


def ingest(fixes: Sequence[Fix], *, now: dt.datetime | None = None) -> Result:
    """Store a batch of fixes atomically, with the alerts they raise and those alerts'
    notifications (the worker's senders deliver them; nothing is sent here).

    The phones' state is read inside the same transaction that writes it (and locked on
    PostgreSQL), so concurrent batches for one phone cannot act on a stale state.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql" and len(fixes) >= 50:
            # Every lookup of a batch is by key, for at most a few thousand keys: index probes.
            # Left to itself the planner hashes the whole enrolment table for the phones' query
            # and the whole phones' table for their update (a scan per batch that grows with the
            # number of people); for this transaction only.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
        return _ingest(fixes, now=now)


def _ingest(fixes: Sequence[Fix], *, now: dt.datetime | None) -> Result:
    result = Result()
    if not fixes:
        return result
    received = now or timezone.now()
    states = load_devices({fix.identifier for fix in fixes}, lock=True)
    accepted: list[tuple[DeviceState, Fix]] = []
    for fix in fixes:
        state = states.get(fix.identifier)
        if state is None:
            result.refused += 1
            result.refused_identifiers.add(fix.identifier)
            continue
        if state.gcj02:
            fix.lat, fix.lon = gcj02_to_wgs84(fix.lat, fix.lon)
        accepted.append((state, fix))
    if not accepted:
        return result
    # Each phone's fixes in time order, a time never later than the batch was received.
    # Fixes clamped to one time keep the phone's order among them.
    timed = sorted(
        ((min(fix.recorded_at, received), state, fix) for state, fix in accepted),
        key=lambda t: (t[0], t[2].recorded_at),
    )
    enrolment_ids = {state.enrolment_id for state in states.values()}
    zones = zones_for(enrolment_ids)
    open_kinds = open_alerts(enrolment_ids)

    adapt = db_time()
    received_db = adapt(received)
    rows = []
    changes = Changes(received=received, raise_=[], resolve=[])
    news: list[tuple[dt.datetime, DeviceState, Fix, bool]] = []
    for at, state, fix in timed:
        rows.append(
            (
                state.id,
                state.enrolment_id,
                state.district_id,
                adapt(fix.recorded_at),
                received_db,
                fix.lat,
                fix.lon,
                fix.accuracy,
                fix.speed,
                fix.bearing,
                fix.altitude,
                fix.battery,
                fix.source,
            )
        )
        if state.last_seen is not None and (
            at < state.last_seen
            # Same time: a redelivery, unless both are in this batch (clamped to its receive
            # time) and this one is later by the phone's clock.
            or (at == state.last_seen and (state.last is None or fix.recorded_at <= state.last.recorded_at))
        ):
            continue  # late or redelivered: stored, but it says nothing about now
        state.last_seen = at
        state.last, state.last_at, state.received, state.changed = fix, at, received, True
        if fix.battery is not None:
            state.battery = fix.battery
        person = state.person
        fresh = person.last_fix_at is None or at >= person.last_fix_at
        if fresh:
            person.last_fix_at = at  # in memory: the phone's row holds it (``PersonState``)
        news.append((at, state, fix, fresh))
    # Distances for the person-fresh fixes at once, then the state machine in time order (two
    # fixes of one person in the same batch both count towards the two-fixes rule).
    fresh_items = [(fix, zones.get(state.enrolment_id, [])) for _at, state, fix, fresh in news if fresh]
    distances = iter(outside_many(fresh_items))
    for at, state, fix, fresh in news:
        metres = next(distances) if fresh else None
        evaluate(state, fix, at, metres, fresh, open_kinds[state.enrolment_id], changes)

    insert_locations(rows)
    update_devices(list(states.values()))
    update_people({id(state.person): state.person for state in states.values()}.values())
    for enrolment_id, kind, at in changes.resolve:
        result.resolved += Alert.objects.filter(enrolment_id=enrolment_id, kind=kind, resolved_at__isnull=True).update(
            resolved_at=at
        )
    if changes.raise_:
        result.alerts = raise_alerts(changes.raise_)
    result.stored = len(rows)
    return result
