"""Every write of missing-person protection: keyword-only, atomic, audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import Action, audit, recorded_user
from wangge.protection import broker
from wangge.protection.models import (
    Consent,
    Device,
    DeviceSecrets,
    Enrolment,
    Incident,
    Notification,
    Profile,
    SafeZone,
)
from wangge.registry.models import Resident


@transaction.atomic
def enrolment_create(*, by: Any, resident: Resident, consent: dict[str, Any] | None = None) -> Enrolment:
    """Enrol the resident, with the consent it was given (the fields of ``consent_record``).

    A resident has at most one active enrolment: a second is refused here, and by the
    database's constraint when two requests race.
    """
    if Enrolment.objects.filter(resident=resident, active=True).exists():
        raise ValidationError(_("该居民已登记走失防护"))
    enrolment = Enrolment(resident=resident, enrolled_by=recorded_user(by))
    enrolment.copy_scope(resident)
    try:
        with transaction.atomic():
            enrolment.save()
    except IntegrityError:
        raise ValidationError(_("该居民已登记走失防护")) from None
    Profile.objects.create(enrolment=enrolment)
    audit(actor=by, action=Action.CREATE, obj=enrolment, summary=_("走失防护登记：%(name)s") % {"name": resident.name})
    if consent is not None:
        consent_record(by=by, enrolment=enrolment, **consent)
    return enrolment


@transaction.atomic
def enrolment_end(*, by: Any, enrolment: Enrolment) -> Enrolment:
    """End the protection: the phones' fixes are refused from now on and no alert is raised;
    stored locations age out with the retention period. Refused while a search is open."""
    enrolment = Enrolment.objects.select_for_update(of=("self",)).select_related("resident").get(pk=enrolment.pk)
    if not enrolment.active:
        raise ValidationError(_("该人员的走失防护登记已结束"))
    if enrolment.incidents.filter(status=Incident.Status.OPEN).exists():
        raise ValidationError(_("正在搜寻，请先结束走失事件"))
    enrolment.active = False
    enrolment.ended_at = timezone.now()
    enrolment.save(update_fields=["active", "ended_at"])
    audit(
        actor=by,
        action=Action.UPDATE,
        obj=enrolment,
        summary=_("结束走失防护：%(name)s") % {"name": enrolment.resident.name},
    )
    broker.sync_on_commit()  # its phones lose their broker accounts
    return enrolment


@transaction.atomic
def consent_record(
    *,
    by: Any,
    enrolment: Enrolment,
    given_by_kind: str,
    given_by_name: str,
    date: dt.date,
    relationship: str = "",
    covers_tracking: bool = True,
    covers_sharing_workers: bool = True,
    covers_sharing_police: bool = True,
    document: Any = None,
) -> Consent:
    consent = Consent(
        enrolment=enrolment,
        given_by_kind=given_by_kind,
        given_by_name=given_by_name,
        relationship=relationship,
        date=date,
        covers_tracking=covers_tracking,
        covers_sharing_workers=covers_sharing_workers,
        covers_sharing_police=covers_sharing_police,
        recorded_by=recorded_user(by),
    )
    if document is not None:
        consent.document = document
    consent.save()
    audit(
        actor=by,
        action=Action.CREATE,
        obj=consent,
        summary=_("登记知情同意：%(name)s") % {"name": enrolment.resident.name},
    )
    return consent


@transaction.atomic
def consent_withdraw(*, by: Any, enrolment: Enrolment) -> int:
    """Withdraw every active consent: tracking stops at once and past locations are hidden."""
    count = enrolment.consents.filter(withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now(), withdrawn_by=recorded_user(by)
    )
    audit(
        actor=by,
        action=Action.UPDATE,
        obj=enrolment,
        summary=_("撤回知情同意：%(name)s") % {"name": enrolment.resident.name},
    )
    return count


@transaction.atomic
def profile_update(*, by: Any, enrolment: Enrolment, changes: dict[str, Any], medical: bool) -> Profile:
    """Save the changed fields of the missing-person profile (a photo upload, or False to clear
    it, included); the medical notes only by those who may see them."""
    if not medical:
        changes = {name: value for name, value in changes.items() if name != "medical_notes"}
    profile = Profile.objects.select_for_update().filter(enrolment=enrolment).first() or Profile(enrolment=enrolment)
    for name, value in changes.items():
        Profile._meta.get_field(name).save_form_data(profile, value)  # type: ignore[union-attr]
    profile.updated_by = recorded_user(by)
    profile.save()
    audit(
        actor=by,
        action=Action.UPDATE,
        obj=profile,
        summary=_("更新走失预案档案：%(name)s") % {"name": enrolment.resident.name},
        detail={"fields": sorted(changes)},
    )
    return profile


@transaction.atomic
def device_register(
    *, by: Any, enrolment: Enrolment, name: str = "手机", coord_system: str = Device.CoordSystem.WGS84
) -> tuple[Device, DeviceSecrets]:
    """A new phone with an unguessable identifier; its password and OsmAnd key are returned
    once, and only their hashes are stored."""
    device = Device(enrolment=enrolment, name=name, coord_system=coord_system)
    credentials = device.set_secrets()
    device.save()
    audit(
        actor=by,
        action=Action.CREATE,
        obj=device,
        summary=_("登记定位设备：%(name)s") % {"name": enrolment.resident.name},
    )
    broker.sync_on_commit()
    return device, credentials


@transaction.atomic
def device_reset_password(*, by: Any, device: Device) -> DeviceSecrets:
    """New password and OsmAnd key: whoever learnt the old ones can no longer post positions."""
    credentials = device.set_secrets()
    device.save(update_fields=["password_hash", "osmand_digest", "osmand_legacy"])
    audit(actor=by, action=Action.UPDATE, obj=device, summary=_("重置设备密码"))
    broker.sync_on_commit()  # the old password stops working on the broker too
    return credentials


@transaction.atomic
def device_set_active(*, by: Any, device: Device, active: bool) -> Device:
    """Switch a phone on or off. An off phone's fixes are refused and it no longer counts for
    the person's alerts (a phone left at home need not make the person look silent)."""
    if device.active == active:
        return device
    device.active = active
    device.save(update_fields=["active"])
    summary = _("启用定位设备：%(name)s") if active else _("停用定位设备：%(name)s")
    audit(actor=by, action=Action.UPDATE, obj=device, summary=summary % {"name": device.name})
    broker.sync_on_commit()  # an off phone has no broker account
    return device


@transaction.atomic
def zone_create(*, by: Any, enrolment: Enrolment, name: str, **shape: Any) -> SafeZone:
    zone = SafeZone.objects.create(enrolment=enrolment, name=name, **shape)
    audit(actor=by, action=Action.CREATE, obj=zone, summary=_("设置安全区域：%(name)s") % {"name": name})
    return zone


@transaction.atomic
def zone_delete(*, by: Any, zone: SafeZone) -> None:
    audit(actor=by, action=Action.DELETE, obj=zone, summary=_("删除安全区域：%(name)s") % {"name": zone.name})
    zone.delete()


@transaction.atomic
def notifications_mark_read(*, by: Any) -> int:
    """Mark the user's own in-app notifications read. Not audited: it changes nothing but the
    user's own inbox and reveals nothing about anyone."""
    return Notification.objects.filter(recipient=by, channel=Notification.Channel.IN_APP, read_at__isnull=True).update(
        read_at=timezone.now()
    )
