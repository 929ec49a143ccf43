"""Every write of missing-person protection: keyword-only, atomic, audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import Action, audit
from wangge.protection import broker
from wangge.protection.models import Consent, Device, Enrolment, Profile, SafeZone, new_password
from wangge.registry.models import Resident


@transaction.atomic
def enrolment_create(*, by: Any, resident: Resident) -> Enrolment:
    enrolment = Enrolment(resident=resident, enrolled_by=by if getattr(by, "is_authenticated", False) else None)
    enrolment.copy_scope(resident)
    enrolment.save()
    Profile.objects.create(enrolment=enrolment)
    audit(actor=by, action=Action.CREATE, obj=enrolment, summary=_("走失防护登记：%(name)s") % {"name": resident.name})
    return enrolment


@transaction.atomic
def enrolment_end(*, by: Any, enrolment: Enrolment) -> Enrolment:
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
        recorded_by=by if getattr(by, "is_authenticated", False) else None,
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
        withdrawn_at=timezone.now(), withdrawn_by=by if getattr(by, "is_authenticated", False) else None
    )
    audit(
        actor=by,
        action=Action.UPDATE,
        obj=enrolment,
        summary=_("撤回知情同意：%(name)s") % {"name": enrolment.resident.name},
    )
    return count


@transaction.atomic
def device_register(
    *, by: Any, enrolment: Enrolment, name: str = "手机", coord_system: str = Device.CoordSystem.WGS84
) -> tuple[Device, str]:
    """A new phone with an unguessable identifier; the password is returned once, stored hashed."""
    password = new_password()
    device = Device(enrolment=enrolment, name=name, coord_system=coord_system)
    device.set_password(password)
    device.save()
    audit(
        actor=by,
        action=Action.CREATE,
        obj=device,
        summary=_("登记定位设备：%(name)s") % {"name": enrolment.resident.name},
    )
    broker.sync_on_commit()
    return device, password


@transaction.atomic
def device_reset_password(*, by: Any, device: Device) -> str:
    password = new_password()
    device.set_password(password)
    device.save(update_fields=["password_hash"])
    audit(actor=by, action=Action.UPDATE, obj=device, summary=_("重置设备密码"))
    broker.sync_on_commit()  # the old password stops working on the broker too
    return password


@transaction.atomic
def zone_create(*, by: Any, enrolment: Enrolment, name: str, **shape: Any) -> SafeZone:
    zone = SafeZone.objects.create(enrolment=enrolment, name=name, **shape)
    audit(actor=by, action=Action.CREATE, obj=zone, summary=_("设置安全区域：%(name)s") % {"name": name})
    return zone


@transaction.atomic
def zone_delete(*, by: Any, zone: SafeZone) -> None:
    audit(actor=by, action=Action.DELETE, obj=zone, summary=_("删除安全区域：%(name)s") % {"name": zone.name})
    zone.delete()
