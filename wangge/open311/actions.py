"""Writes of the public doors: client apps and their keys, a resident's report, and the
outbound status updates. Keyword-only, atomic, audited (the case's own writes are audited by
``wangge.cases.actions``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.areas.queries import grid_at
from wangge.cases import actions as case_actions
from wangge.cases import photos as case_photos
from wangge.cases.models import Case, Category
from wangge.core.audit import Action, audit
from wangge.core.inserts import save_new
from wangge.open311.models import ClientApp, Report

# Tracking codes: no 0/O, 1/I/L, so a code read out over the phone is not misheard.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
MAX_PHOTOS = 3  # a resident's report: a few photos of the problem, not an album
# How old this process's copy of the keys, the public categories and the grids' outlines may be
# when a report comes in: an edit made in another server process reaches the POSTs within this.
STALE_SECONDS = 5.0


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def client_app_create(
    *, name: str, by: Any = None, webhook_url: str = "", per_minute: int = 600
) -> tuple[ClientApp, str]:
    """A new client app and its key; the key is returned once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationError(_("请填写应用名称"))
    if ClientApp.objects.filter(name=name).exists():
        raise ValidationError(_("已有同名应用"))
    key = secrets.token_urlsafe(32)
    app = ClientApp.objects.create(
        name=name,
        key_prefix=key[:8],
        key_hash=key_digest(key),
        webhook_url=webhook_url,
        webhook_secret=new_webhook_secret(),
        per_minute=per_minute,
    )
    audit(actor=by, action=Action.CREATE, obj=app, summary=_("新建 Open311 应用 %(name)s") % {"name": name})
    return app, key


@transaction.atomic
def client_app_rotate_secret(*, app: ClientApp, by: Any = None) -> str:
    """A new webhook signing secret for ``app``, returned once; webhooks still queued are signed
    with it when they go out."""
    app.webhook_secret = new_webhook_secret()
    app.save(update_fields=["webhook_secret"])
    audit(
        actor=by,
        action=Action.UPDATE,
        obj=app,
        summary=_("更换 Open311 应用 %(name)s 的回调签名密钥") % {"name": app.name},
    )
    return app.webhook_secret


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


def webhook_secret_of(reference: str) -> str | None:
    """The signing secret of a client app, by the ``open311:<pk>`` reference its webhooks carry
    (looked up at delivery, so a rotated secret signs what is still queued); None when the app
    is gone or revoked (the delivery fails and is not sent unsigned)."""
    found = ClientApp.objects.filter(pk=int(reference), active=True).values_list("webhook_secret", flat=True).first()
    return found or None


@transaction.atomic
def client_app_revoke(*, app: ClientApp, by: Any = None, now: dt.datetime | None = None) -> ClientApp:
    app.active = False
    app.revoked_at = now or timezone.now()
    app.save(update_fields=["active", "revoked_at"])
    audit(actor=by, action=Action.UPDATE, obj=app, summary=_("吊销 Open311 应用 %(name)s") % {"name": app.name})
    from wangge.open311.queries import forget_keys

    forget_keys()  # forgetting early only costs a lookup
    return app


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def report_submit(
    *,
    category: Category,
    text: str,
    channel: str,
    lat: float,
    lon: float,
    address: str = "",
    name: str = "",
    phone: str = "",
    email: str = "",
    media_url: str = "",
    device_id: str = "",
    account_id: str = "",
    client_app: ClientApp | None = None,
    photos: Sequence[Any] = (),
    now: dt.datetime | None = None,
) -> Report:
    """A resident's report: the point is placed in its grid and the case lands in that grid's
    queue. Refused (ValidationError) when the point lies in no grid of the district, or when a
    photo (an uploaded file) is refused by the cases' photo checks; nothing is stored then."""
    if len(photos) > MAX_PHOTOS:
        raise ValidationError(_("一次最多上传 %(n)d 张照片") % {"n": MAX_PHOTOS})
    # Decoding and re-encoding take tens of milliseconds: done before any transaction.
    prepared = [u if isinstance(u, case_photos.Prepared) else case_photos.prepare(u) for u in photos]
    # The grid is looked up before the transaction: on SQLite a write transaction holds the
    # database's one write lock from its first statement, and every other POST waits for it.
    grid = grid_at(lon=lon, lat=lat, max_age=STALE_SECONDS)
    if grid is None:
        raise ValidationError(_("该位置不在本区任何网格内"))
    with transaction.atomic():
        return _report_create(
            category=category,
            text=text,
            channel=channel,
            grid=grid,
            lat=lat,
            lon=lon,
            address=address,
            name=name,
            phone=phone,
            email=email,
            media_url=media_url,
            device_id=device_id,
            account_id=account_id,
            client_app=client_app,
            photos=prepared,
            now=now,
        )


def _report_create(
    *,
    category: Category,
    text: str,
    channel: str,
    grid: Any,
    lat: float,
    lon: float,
    address: str,
    name: str,
    phone: str,
    email: str,
    media_url: str,
    device_id: str,
    account_id: str,
    client_app: ClientApp | None,
    photos: list[Any],
    now: dt.datetime | None,
) -> Report:
    case = case_actions.case_report(
        category=category,
        text=text,
        channel=channel,
        area=grid,
        contact_name=name,
        contact_phone=phone,
        lon=lon,
        lat=lat,
        address=address,
        client=client_app.name if client_app else "",
        photos=photos,
        now=now,
    )
    report = Report(
        case=case,
        code=_new_code(),
        client_app=client_app,
        email=email[:254],
        media_url=media_url[:500],
        device_id=device_id[:100],
        account_id=account_id[:100],
        created_at=case.received_at,
    )
    save_new(report)
    return report


def status_message(case: Case, code: str) -> dict[str, Any]:
    title = _("您反映的问题（查询码 %(code)s）") % {"code": code}
    body = _("处理状态：%(status)s") % {"status": case.get_status_display()}
    return {"title": title, "body": body, "code": code, "status": case.status}


def notify_status_changes(now: dt.datetime | None = None, *, limit: int = 500) -> int:
    """The periodic job: for each report whose case changed status since the reporter was last
    told, queue an SMS to the phone they left and a webhook to their client app, through the
    protection outbox (delivered by the worker's senders, signed like its webhooks). Returns how
    many reports were brought up to date."""
    from wangge.protection import notify
    from wangge.protection.models import Notification

    done = 0
    pending = list(
        Report.objects.exclude(notified_status=F("case__status"))
        .select_related("case", "client_app")
        .order_by("id")[:limit]
    )
    for report in pending:
        with transaction.atomic():
            # Claim the report: only the runner whose UPDATE moves the bookmark sends.
            case = report.case
            if not Report.objects.filter(pk=report.pk, notified_status=report.notified_status).update(
                notified_status=case.status
            ):
                continue
            payload = {**status_message(case, report.code), "service_request_id": str(case.pk)}
            rows = []
            if case.contact_phone:
                rows.append(Notification(channel="sms", address=case.contact_phone, payload=payload, priority=5))
            app = report.client_app
            if app is not None and app.active and app.webhook_url:
                # Signed with the app's own secret at delivery (the key is not sent).
                signed = {**payload, notify.SIGNER_KEY: f"open311:{app.pk}"}
                rows.append(Notification(channel="webhook", address=app.webhook_url, payload=signed, priority=25))
            Notification.objects.bulk_create(rows)
            transaction.on_commit(notify.wake)
            done += 1
    return done


def resident_rating(*, case: Case, satisfaction: str, note: str = "") -> Case:
    """The reporter rates the result on the tracking page (feeds the cases' satisfaction)."""
    return case_actions.satisfaction_from_resident(case=case, satisfaction=satisfaction, note=note)
