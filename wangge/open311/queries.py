"""What the public may read: the public categories and the public view of cases.

Public means: grid events of categories not marked sensitive (petitions never). Coordinates are
rounded to about 100 m; the description and the address are shown only for cases the resident
reported themselves (they published them); names and phones never.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from wangge.areas import mapview
from wangge.areas.models import Area
from wangge.cases.models import PUBLIC_CHANNELS, Case, CasePhoto, Category, Kind, Step
from wangge.open311.actions import STALE_SECONDS, key_digest
from wangge.open311.models import ClientApp, Report

ROUND_DIGITS = 3  # ~110 m of latitude
MAX_RESULTS = 1000
DEFAULT_DAYS = 90

OPEN_STATUSES = (Case.Status.RECEIVED, Case.Status.ACCEPTED)


def public_categories() -> QuerySet[Category]:
    return Category.objects.filter(active=True, kind=Kind.EVENT, sensitive=False).order_by("name")


def public_category(code: str) -> Category | None:
    return public_categories().filter(code=code).first()


# The public categories as this process last read them (at most STALE_SECONDS ago): a POST
# takes its category from here, not from a query (a tenth of a POST's CPU). A category switched
# off or made sensitive elsewhere stops taking reports within that time.
_categories: dict[str, tuple[float, dict[str, Category]]] = {}


def public_category_for_report(code: str) -> Category | None:
    now = time.monotonic()
    hit = _categories.get("all")
    if hit is None or now - hit[0] >= STALE_SECONDS:
        hit = _categories["all"] = (now, {category.code: category for category in public_categories()})
    return hit[1].get(code)


def public_cases() -> QuerySet[Case]:
    return Case.objects.filter(kind=Kind.EVENT, category__sensitive=False)


# Keys seen by this process in the last few seconds (a wrong key too): most POSTs come from a
# few apps, and the lookup was a tenth of a POST's CPU. A key revoked elsewhere stops working
# here within KEY_CACHE_SECONDS; revoking in this process forgets at once.
KEY_CACHE_SECONDS = STALE_SECONDS
_keys: dict[str, tuple[float, ClientApp | None]] = {}


def forget_keys() -> None:
    _keys.clear()


def forget() -> None:
    """Read keys, categories and grids afresh at the next POST (tests; an edit in this process)."""
    from wangge.areas import geometry

    _keys.clear()
    _categories.clear()
    geometry.forget()


def client_app_for_key(key: str) -> ClientApp | None:
    if not key:
        return None
    digest = key_digest(key)
    now = time.monotonic()
    hit = _keys.get(digest)
    if hit is not None and now - hit[0] < KEY_CACHE_SECONDS:
        return hit[1]
    app = ClientApp.objects.filter(key_hash=digest, active=True).first()
    if len(_keys) > 1000:
        _keys.clear()
    _keys[digest] = (now, app)
    return app


def reports_in_last_minute(app: ClientApp) -> int:
    """The app's reports of the last minute (an index-only count on (client_app, created_at)).
    One fixed statement, not a queryset: building the ORM's COUNT cost a millisecond of CPU per
    POST, four times the statement itself (bench/open311.py)."""
    since = timezone.now() - dt.timedelta(seconds=60)
    meta = Report._meta
    app_column, created_column = str(meta.get_field("client_app").column), str(meta.get_field("created_at").column)
    quote = connection.ops.quote_name
    sql = (
        f"SELECT COUNT(*) FROM {quote(meta.db_table)} WHERE {quote(app_column)} = %s AND {quote(created_column)} >= %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [app.pk, since])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def report_by_code(code: str) -> Report | None:
    return Report.objects.select_related("case", "case__category").filter(code=code.strip().upper()).first()


def open311_status(status: str) -> str:
    return "open" if status in OPEN_STATUSES else "closed"


# The columns one request needs: read as tuples, not models (1,000 rows in well under 300 ms).
FIELDS = (
    "pk",
    "status",
    "category__code",
    "category__name",
    "text",
    "channel",
    "lead_department__name",
    "category__department__name",
    "received_at",
    "accepted_at",
    "replied_at",
    "resolved_at",
    "closed_at",
    "accept_due",
    "handle_due",
    "address",
    "lat",
    "lon",
    "public_report__media_url",
)


def _round(value: float | None) -> float | None:
    return round(value, ROUND_DIGITS) if value is not None else None


def _iso(value: dt.datetime | None, tz: dt.tzinfo | None = None) -> str | None:
    if value is None:
        return None
    # The zone is passed in by loops: timezone.localtime() asks asgiref's Local for the current
    # zone each call, which was a third of a 1,000-row answer's CPU.
    return value.astimezone(tz or timezone.get_current_timezone()).isoformat(timespec="seconds")


def public_photos() -> QuerySet[CasePhoto]:
    """Photos anyone may see (as a smaller rendition): those a resident sent with their own
    report (``uploaded_by`` empty: staff photos may show the inside of a home) of a public case
    (an event of a category not marked sensitive); none when WANGGE_OPEN311_PUBLIC_PHOTOS is off."""
    if not settings.WANGGE_OPEN311_PUBLIC_PHOTOS:
        return CasePhoto.objects.none()
    return CasePhoto.objects.filter(
        uploaded_by__isnull=True,
        case__channel__in=PUBLIC_CHANNELS,
        case__kind=Kind.EVENT,
        case__category__sensitive=False,
    )


def photo_url(photo_pk: int) -> str:
    return reverse("open311-photo", args=[photo_pk])


def first_public_photos(case_ids: list[int]) -> dict[int, int]:
    """case id → its first public photo's id."""
    if not case_ids:
        return {}
    pairs = public_photos().filter(case_id__in=case_ids).order_by("-id").values_list("case_id", "id")
    return dict(pairs)  # the last pair of a case wins: its lowest id


def latest_public_replies(case_ids: list[int]) -> dict[int, str]:
    """case id → the text of its latest public reply."""
    if not case_ids:
        return {}
    steps = Step.objects.filter(case_id__in=case_ids, kind=Step.Kind.PUBLIC_REPLY).order_by("at", "id")
    return dict(steps.values_list("case_id", "note"))


def request_rows(cases: QuerySet[Case], status_labels: dict[str, str], *, base_url: str = "") -> list[dict[str, Any]]:
    """The GeoReport ``request`` elements of ``cases`` (already public and limited). A public
    reply, when there is one, is the ``status_notes``; a public photo is the ``media_url``
    (absolute under ``base_url``) unless the client app gave one."""
    tz = timezone.get_current_timezone()
    rows = []
    found = list(cases.values_list(*FIELDS))
    own_ids = [row[0] for row in found if row[5] in PUBLIC_CHANNELS]
    photos = first_public_photos(own_ids)
    replies = latest_public_replies(own_ids)
    for (
        pk,
        status,
        code,
        name,
        text,
        channel,
        department,
        usual_department,
        received_at,
        accepted_at,
        replied_at,
        resolved_at,
        closed_at,
        accept_due,
        handle_due,
        address,
        lat,
        lon,
        media_url,
    ) in found:
        own = channel in PUBLIC_CHANNELS
        updated = max(t for t in (received_at, accepted_at, replied_at, resolved_at, closed_at) if t is not None)
        is_open = status in OPEN_STATUSES
        rows.append(
            {
                "service_request_id": str(pk),
                "status": "open" if is_open else "closed",
                "status_notes": replies.get(pk) or status_labels.get(status, status),
                "service_name": name,
                "service_code": code,
                "description": text if own else "",
                "agency_responsible": department or usual_department or "",
                "service_notice": "",
                "requested_datetime": _iso(received_at, tz),
                "updated_datetime": _iso(updated, tz),
                "expected_datetime": _iso((handle_due if accepted_at else accept_due) if is_open else None, tz),
                "address": address if own else "",
                "address_id": "",
                "zipcode": "",
                "lat": _round(lat),
                "long": _round(lon),
                "media_url": media_url or (base_url + photo_url(photos[pk]) if pk in photos else ""),
            }
        )
    return rows


# FixMyStreet's update states for the steps a resident may see (notes stay inside: they may
# name people).
UPDATE_STATUS: dict[str, str] = {
    Step.Kind.ACCEPT: "in_progress",
    Step.Kind.DECLINE: "closed",
    Step.Kind.RESOLUTION: "in_progress",
    Step.Kind.CLOSE: "closed",
    Step.Kind.PUBLIC_REPLY: "open",  # its state follows the case's status when it was written
}


def update_rows(*, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    steps = (
        Step.objects.filter(case__in=public_cases(), kind__in=list(UPDATE_STATUS), at__gte=start, at__lte=end)
        .order_by("at", "id")
        .values_list("pk", "case_id", "kind", "at", "data", "note")[:MAX_RESULTS]
    )
    labels = {str(value): str(label) for value, label in Step.Kind.choices}
    rows = []
    steps_found = list(steps)
    # A public reply says the state of its case: "open" before acceptance, "in_progress" after.
    accepted = dict(
        Case.objects.filter(pk__in={row[1] for row in steps_found if row[2] == Step.Kind.PUBLIC_REPLY}).values_list(
            "pk", "accepted_at"
        )
    )
    for pk, case_id, kind, at, data, note in steps_found:
        status = UPDATE_STATUS[kind]
        description = labels.get(kind, kind)
        if kind == Step.Kind.RESOLUTION and (data or {}).get("resolution") == Case.Resolution.SOLVED:
            status = "fixed"
        if kind == Step.Kind.PUBLIC_REPLY:
            accepted_at = accepted.get(case_id)
            status = "in_progress" if accepted_at is not None and accepted_at <= at else "open"
            description = note
        rows.append(
            {
                "update_id": str(pk),
                "service_request_id": str(case_id),
                "status": status,
                "updated_datetime": _iso(at),
                "description": description,
                "media_url": "",
            }
        )
    return rows


def public_steps(case: Case) -> list[tuple[dt.datetime, str, str]]:
    """The tracking page's timeline: when, what and the public replies' text; never who or the
    internal notes."""
    kinds = (Step.Kind.RECEIVE, *UPDATE_STATUS)
    labels = {str(value): str(label) for value, label in Step.Kind.choices}
    return [
        (at, str(labels[kind]), note if kind == Step.Kind.PUBLIC_REPLY else "")
        for at, kind, note in case.steps.filter(kind__in=kinds).values_list("at", "kind", "note")
    ]


def case_public_photos(case: Case) -> list[int]:
    return list(public_photos().filter(case=case).order_by("id").values_list("id", flat=True))


OUTLINE_ZOOM = 14  # a pixel at zoom 14 is ~10 m: enough to see which grid a pin falls in


def grid_outlines() -> bytes:
    """The grids' outlines (with their names) as GeoJSON for the report page's map, simplified
    for zoom 14, with ``extent`` for the map to fit. Public knowledge: no people, no buildings."""
    features = []
    boxes = []
    rows = Area.objects.filter(level=Area.Level.GRID).exclude(boundary=None).order_by("id")
    for pk, name, edited, boundary in rows.values_list("id", "name", "updated_at", "boundary"):
        drawn = mapview.outline(pk, edited, boundary, OUTLINE_ZOOM)
        if drawn is None:
            continue
        boxes.append(drawn[0])
        features.append({"type": "Feature", "geometry": drawn[1], "properties": {"name": name}})
    extent = mapview.scope_bounds(boxes)
    return orjson.dumps({"type": "FeatureCollection", "features": features, "extent": extent})
