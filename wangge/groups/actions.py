"""Every write to the special-group registers: atomic, audited, keyword-only.

The callers (pages, API, import) have read the resident and the listing through the scoped,
policy-checked queries; these check only the facts: dates, the 0–5 risk scale, one open
listing per person and register.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.core.audit import Action, audit, recorded_user
from wangge.groups import exchange
from wangge.groups.models import FollowUp, Listing, Register
from wangge.groups.queries import Purpose
from wangge.registry.importing import ImportResult, Problem
from wangge.registry.importing.residents import REJECTED
from wangge.registry.models import Resident

DETAILS = frozenset(
    {"release_date", "period_start", "period_end", "office", "risk_level", "guardian_name", "guardian_phone", "note"}
)
RISK_LEVELS = range(0, 6)  # 0–5, as the health system grades the risk of a severe mental disorder


def _check_details(details: dict[str, Any]) -> None:
    unknown = set(details) - DETAILS
    if unknown:
        raise ValidationError({field: _("该字段不能直接修改") for field in unknown})
    errors = {}
    risk = details.get("risk_level")
    if risk is not None and risk not in RISK_LEVELS:
        errors["risk_level"] = _("危险性评估等级应为 0–5 级")
    start, end = details.get("period_start"), details.get("period_end")
    if start and end and end < start:
        errors["period_end"] = _("期限结束不能早于期限开始")
    release = details.get("release_date")
    if release and release > timezone.localdate():
        errors["release_date"] = _("释放日期不能晚于今天")
    if errors:
        raise ValidationError(errors)


def listing_add(
    *,
    by: Any,
    register: Register,
    resident: Resident,
    start: dt.date,
    attention: str = Listing.Attention.NORMAL,
    responsible: Any = None,
    follow_up_days: int | None = None,
    **details: Any,
) -> Listing:
    """Put a living resident on a register; the first follow-up falls due one period after ``start``."""
    _check_details(details)
    if attention not in Listing.Attention.values:
        raise ValidationError({"attention": _("未知的关注程度")})
    if resident.status != Resident.Status.LIVING:
        raise ValidationError({"resident": _("只能列管在住居民")})
    if start > timezone.localdate():
        raise ValidationError({"start": _("列管日期不能晚于今天")})
    days = follow_up_days or register.follow_up_days
    if not 1 <= days <= 366:
        raise ValidationError({"follow_up_days": _("随访周期应在 1 到 366 天之间")})
    duplicate = ValidationError({"register": _("该居民已在此名册中")})
    with transaction.atomic():
        listing = Listing(
            register=register,
            resident=resident,
            attention=attention,
            responsible=responsible,
            follow_up_days=days,
            next_follow_up=start + dt.timedelta(days=days),
            start=start,
            created_by=recorded_user(by),
            **{k: v.strip() if isinstance(v, str) else v for k, v in details.items()},
        )
        listing.copy_scope(resident)
        try:
            with transaction.atomic():
                listing.save()
        except IntegrityError:
            raise duplicate from None
        audit(
            actor=by,
            action=Action.CREATE,
            obj=listing,
            summary=_("列管 %(name)s（%(register)s）") % {"name": resident.name, "register": register.name},
            detail={"register": register.code, "resident": resident.pk},
        )
    return listing


def follow_up_record(
    *, by: Any, listing: Listing, date: dt.date, finding: str, next_date: dt.date | None = None
) -> FollowUp:
    """Record a follow-up (随访/帮教); the next one is due ``next_date`` or one period later."""
    finding = finding.strip()
    errors = {}
    if not finding:
        errors["finding"] = _("请填写随访情况")
    if date > timezone.localdate():
        errors["date"] = _("随访日期不能晚于今天")
    elif date < listing.start:
        errors["date"] = _("随访日期不能早于列管日期")
    nxt = next_date or date + dt.timedelta(days=listing.follow_up_days)
    if nxt <= date:
        errors["next_date"] = _("下次随访日期应晚于本次")
    if listing.ended is not None:
        errors["listing"] = _("已解除列管")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        record = FollowUp.objects.create(
            listing=listing, date=date, by=recorded_user(by), finding=finding, next_date=nxt
        )
        if listing.last_follow_up is None or date >= listing.last_follow_up:
            listing.last_follow_up = date
            listing.next_follow_up = nxt
            listing.save(update_fields=["last_follow_up", "next_follow_up"])
        audit(
            actor=by,
            action=Action.CREATE,
            obj=record,
            summary=_("随访列管对象 %(name)s") % {"name": listing.resident.name},
            detail={"listing": listing.pk, "next": nxt.isoformat()},
        )
    return record


def listing_end(*, by: Any, listing: Listing, date: dt.date, reason: str) -> Listing:
    """Take a person off a register (解除列管): the period is over, they moved away, died."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("请填写解除原因")})
    if listing.ended is not None:
        raise ValidationError({"date": _("已解除列管")})
    if date < listing.start or date > timezone.localdate():
        raise ValidationError({"date": _("解除日期应在列管日期与今天之间")})
    with transaction.atomic():
        listing.ended = date
        listing.end_reason = reason[:200]
        listing.save(update_fields=["ended", "end_reason"])
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=listing,
            summary=_("解除 %(name)s 的列管（%(register)s）")
            % {"name": listing.resident.name, "register": listing.register.name},
            detail={"reason": reason},
        )
    return listing


def listings_import(*, by: Any, register: Register, data: bytes, file_name: str) -> ImportResult:
    """Put the people of a filled-in register file on ``register``: good rows are listed, bad
    ones reported with their reasons, and a person already on the register is left as they are
    (so importing the same file again adds nothing). One transaction with one import entry in
    the audit log (purpose 登记列管) besides each listing's own; if that entry cannot be written,
    nothing is imported. Raises ``ImportFileError`` for a file that cannot be read at all."""
    if by is not None and not policy.can_import_register(by, register):
        raise PermissionDenied  # the pages answer 404 before this; a caller that did not ask stops here
    started = time.monotonic()
    result = ImportResult(file_name=file_name)
    rows = exchange.read_rows(data=data, file_name=file_name, register=register, by=by, result=result)
    labels = {f.key: str(f.label) for f in exchange.fields(register)}
    with transaction.atomic():
        listed = set(
            Listing.objects.filter(
                register=register, ended__isnull=True, resident__in=[row.resident.pk for row in rows]
            ).values_list("resident_id", flat=True)
        )
        for row in rows:
            if row.resident.pk in listed:
                result.unchanged += 1
                continue
            try:
                listing_add(
                    by=by,
                    register=register,
                    resident=row.resident,
                    start=row.start,
                    attention=row.attention,
                    follow_up_days=row.follow_up_days,
                    **row.details,
                )
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    result.problems.append(Problem(row.number, labels.get(field, ""), REJECTED, " ".join(messages)))
                result.rejected += 1
            else:
                listed.add(row.resident.pk)
                result.created += 1
        result.problems.sort(key=lambda problem: problem.row)
        result.seconds = round(time.monotonic() - started, 2)
        audit(
            actor=by,
            action=Action.IMPORT,
            object_type="groups.listing",
            summary=_("导入%(register)s %(file)s：%(summary)s，用途：%(purpose)s")
            % {
                "register": register.name,
                "file": file_name,
                "summary": result.summary,
                "purpose": Purpose.REGISTER.label,
            },
            detail={"purpose": Purpose.REGISTER.value, "register": register.code, "file": file_name, **result.counts()},
        )
    return result
