"""Every write on a case: keyword-only, atomic, one timeline step and one audit entry each.

A refusal is a ``ValidationError`` with a translated message and changes nothing. Who may act at
all is asked of the policy here too; *which* cases a user may touch is decided before, by the
scoped queries the views and the API load the case with.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.cases import clocks
from wangge.cases.models import Case, Category, Department, Kind, Step
from wangge.core.audit import Action, audit
from wangge.registry.models import Resident


def _tz() -> dt.tzinfo:
    return timezone.get_default_timezone()


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update().select_related("category").get(pk=case.pk)


def _step(
    case: Case, *, kind: str, by: Any, at: dt.datetime, note: str = "", data: dict[str, Any] | None = None
) -> Step:
    step = Step.objects.create(case=case, kind=kind, by=by, at=at, note=note, data=data or {})
    audit(
        actor=by,
        action=Action.CREATE if kind == Step.Kind.RECEIVE else Action.UPDATE,
        obj=case,
        summary=_("案件 %(number)s：%(step)s") % {"number": case.number, "step": step.get_kind_display()},
        detail={"step": kind, **(data or {})},
    )
    return step


def _require_status(case: Case, *statuses: str) -> None:
    if case.status not in statuses:
        raise ValidationError(_("案件当前状态为“%(status)s”，不能进行此操作") % {"status": case.get_status_display()})


def _require_visit(case: Case) -> None:
    if case.needs_home_visit and not case.visit_done:
        raise ValidationError(_("须先入户走访（或登记免于走访的原因），才能定性或答复"))


def _required_text(value: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(message)
    return value


def _scope_from_area(case: Case, area: Area) -> None:
    if area.level == Area.Level.GRID:
        grid_id, community_id = area.pk, area.community_id
    elif area.level == Area.Level.COMMUNITY:
        grid_id, community_id = None, area.pk
    else:
        raise ValidationError(_("请选择网格或社区"))
    if community_id is None or area.street_id is None or area.district_id is None:
        raise ValidationError(_("该区域不在完整的区划中"))
    case.grid_id = grid_id
    case.community_id = community_id
    case.street_id = area.street_id
    case.district_id = area.district_id


@transaction.atomic
def case_receive(
    *,
    by: Any,
    category: Category,
    text: str,
    channel: str,
    petitioners: Iterable[Resident] = (),
    contact_name: str = "",
    contact_phone: str = "",
    collective_count: int = 1,
    area: Area | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Register a petition or a grid event. Its area is the first petitioner's, else ``area``."""
    _require(policy.can_take_cases(by))
    now = now or timezone.now()
    people = list(petitioners)
    contact_name = contact_name.strip()
    if category.kind == Kind.PETITION and not people and not contact_name:
        raise ValidationError(_("信访不能匿名：请选择反映人或填写其姓名"))
    if channel not in Case.Channel.values:
        raise ValidationError(_("请选择渠道"))
    if collective_count < max(1, len(people)):
        raise ValidationError(_("人数不能少于所选反映人数"))
    case = Case(
        kind=category.kind,
        category=category,
        text=_required_text(text, _("请填写反映内容")),
        channel=channel,
        contact_name=contact_name,
        contact_phone=contact_phone.strip(),
        collective_count=collective_count,
        received_at=now,
        received_by=by,
    )
    if people:
        case.copy_scope(people[0])
    elif area is not None:
        _scope_from_area(case, area)
    else:
        raise ValidationError(_("请选择反映人，或选择事件所在的网格或社区"))
    if category.kind == Kind.PETITION:
        case.accept_due = clocks.petition_accept_due(now, _tz())
    else:
        case.accept_due = clocks.event_accept_due(now, respond_hours=category.respond_hours)
    case.save()
    case.petitioners.set(people)
    _step(case, kind=Step.Kind.RECEIVE, by=by, at=now, data={"channel": channel, "category": category.code})
    return case


@transaction.atomic
def case_accept(*, case: Case, by: Any, accept: bool = True, note: str = "", now: dt.datetime | None = None) -> Case:
    """Accept the case and start its handling clock, or decline it with a reason."""
    _require(policy.can_decide_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.RECEIVED)
    if not accept:
        note = _required_text(note, _("不予受理须说明理由"))
        case.status = Case.Status.DECLINED
        case.closed_at = now
        case.save(update_fields=["status", "closed_at"])
        _step(case, kind=Step.Kind.DECLINE, by=by, at=now, note=note)
        return case
    case.status = Case.Status.ACCEPTED
    case.accepted_at = now
    if case.is_petition and case.category.solve_days is None:
        case.handle_due = clocks.petition_handle_due(now, _tz())
    else:
        case.handle_due = clocks.event_handle_due(now, solve_days=case.category.solve_days)
    if case.lead_department_id is None and case.category.department_id is not None:
        case.lead_department_id = case.category.department_id
    case.save(update_fields=["status", "accepted_at", "handle_due", "lead_department"])
    _step(case, kind=Step.Kind.ACCEPT, by=by, at=now, note=note.strip())
    return case


@transaction.atomic
def visit_record(
    *, case: Case, by: Any, met: str, found: str, visited_at: dt.datetime | None = None, now: dt.datetime | None = None
) -> Case:
    """A home visit: who went (``by``), when, whom they met and what they found."""
    _require(policy.can_work_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.RECEIVED, Case.Status.ACCEPTED)
    met = _required_text(met, _("请填写见到的人"))
    found = _required_text(found, _("请填写走访了解到的情况"))
    visited_at = visited_at or now
    if visited_at > now:
        raise ValidationError(_("走访时间不能晚于现在"))
    case.visited_at = visited_at
    case.save(update_fields=["visited_at"])
    _step(
        case, kind=Step.Kind.VISIT, by=by, at=now, note=found, data={"met": met, "visited_at": visited_at.isoformat()}
    )
    return case


@transaction.atomic
def visit_exempt(*, case: Case, by: Any, reason: str, now: dt.datetime | None = None) -> Case:
    """No home visit, for a recorded reason (the petitioner refused, lives elsewhere …)."""
    _require(policy.can_decide_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.RECEIVED, Case.Status.ACCEPTED)
    if case.visited_at is not None:
        raise ValidationError(_("已入户走访，无需免于走访"))
    case.visit_exempt_reason = _required_text(reason, _("免于走访须说明原因"))[:200]
    case.save(update_fields=["visit_exempt_reason"])
    _step(case, kind=Step.Kind.VISIT_EXEMPT, by=by, at=now, note=case.visit_exempt_reason)
    return case


@transaction.atomic
def case_assign(
    *,
    case: Case,
    by: Any,
    department: Department,
    co_departments: Iterable[Department] = (),
    note: str = "",
    now: dt.datetime | None = None,
) -> Case:
    """Give the case a lead department and co-handlers."""
    _require(policy.can_decide_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.ACCEPTED)
    if not department.active:
        raise ValidationError(_("该部门已停用"))
    helpers = [d for d in co_departments if d.pk != department.pk]
    case.lead_department = department
    case.save(update_fields=["lead_department"])
    case.co_departments.set(helpers)
    _step(
        case,
        kind=Step.Kind.ASSIGN,
        by=by,
        at=now,
        note=note.strip(),
        data={"lead": department.code, "co": [d.code for d in helpers]},
    )
    return case


@transaction.atomic
def case_transfer(*, case: Case, by: Any, department: Department, reason: str, now: dt.datetime | None = None) -> Case:
    """Hand the case to another lead department, with the reason."""
    _require(policy.can_work_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.ACCEPTED)
    reason = _required_text(reason, _("转办须说明理由"))
    if case.lead_department_id == department.pk:
        raise ValidationError(_("案件已由该部门承办"))
    if not department.active:
        raise ValidationError(_("该部门已停用"))
    previous = case.lead_department.code if case.lead_department else ""
    case.lead_department = department
    case.save(update_fields=["lead_department"])
    case.co_departments.remove(department)
    _step(case, kind=Step.Kind.TRANSFER, by=by, at=now, note=reason, data={"from": previous, "to": department.code})
    return case


@transaction.atomic
def case_extend(*, case: Case, by: Any, days: int, reason: str, now: dt.datetime | None = None) -> Case:
    """The one extension the regulation allows (Article 34): at most 30 days, approved, with a
    reason; ``by`` is the approver."""
    _require(policy.can_decide_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.ACCEPTED)
    reason = _required_text(reason, _("延期须说明理由"))
    if case.extension_days:
        raise ValidationError(_("办理期限只能延长一次"))
    if not 1 <= days <= clocks.EXTENSION_MAX_DAYS:
        raise ValidationError(_("延期为 1 至 %(n)d 天") % {"n": clocks.EXTENSION_MAX_DAYS})
    assert case.accepted_at is not None
    case.extension_days = days
    if case.is_petition and case.category.solve_days is None:
        case.handle_due = clocks.petition_handle_due(case.accepted_at, _tz(), extension_days=days)
    else:
        case.handle_due = clocks.event_handle_due(
            case.accepted_at, solve_days=case.category.solve_days, extension_days=days
        )
    case.save(update_fields=["extension_days", "handle_due"])
    _step(case, kind=Step.Kind.EXTEND, by=by, at=now, note=reason, data={"days": days})
    return case


@transaction.atomic
def reply_write(*, case: Case, by: Any, text: str, now: dt.datetime | None = None) -> Case:
    """The written reply to the petitioner; it stops a petition's handling clock."""
    _require(policy.can_work_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.ACCEPTED)
    _require_visit(case)
    text = _required_text(text, _("请填写答复内容"))
    if case.replied_at is not None:
        raise ValidationError(_("已书面答复"))
    case.replied_at = now
    case.save(update_fields=["replied_at"])
    _step(case, kind=Step.Kind.REPLY, by=by, at=now, note=text)
    return case


@transaction.atomic
def merit_decide(*, case: Case, by: Any, merit: str, note: str = "", now: dt.datetime | None = None) -> Case:
    """The procedural verdict on a petition. It does not close the case or touch its resolution."""
    _require(policy.can_decide_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    if not case.is_petition:
        raise ValidationError(_("只有信访需要定性"))
    _require_status(case, Case.Status.ACCEPTED)
    _require_visit(case)
    if merit not in Case.Merit.values:
        raise ValidationError(_("请选择定性"))
    case.merit = merit
    case.save(update_fields=["merit"])
    _step(case, kind=Step.Kind.MERIT, by=by, at=now, note=note.strip(), data={"merit": merit})
    return case


@transaction.atomic
def resolution_record(
    *,
    case: Case,
    by: Any,
    resolution: str,
    done: str,
    done_by: str = "",
    cost_yuan: Decimal | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """What became of the need behind the case: what was done, by whom, at what cost. Allowed
    after closing too: a need solved later leaves the community's list then."""
    _require(policy.can_work_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.ACCEPTED, Case.Status.CLOSED)
    if resolution not in Case.Resolution.values:
        raise ValidationError(_("请选择解决情况"))
    done = _required_text(done, _("请填写做了什么"))
    if cost_yuan is not None and cost_yuan < 0:
        raise ValidationError(_("花费不能为负数"))
    case.resolution = resolution
    case.resolution_by = by
    case.resolved_at = now
    case.cost_yuan = cost_yuan
    # A new resolution has to be verified afresh.
    case.verified_at = None
    case.verified_by = None
    case.save(update_fields=["resolution", "resolution_by", "resolved_at", "cost_yuan", "verified_at", "verified_by"])
    data: dict[str, Any] = {"resolution": resolution, "done_by": done_by.strip()}
    if cost_yuan is not None:
        data["cost_yuan"] = str(cost_yuan)
    _step(case, kind=Step.Kind.RESOLUTION, by=by, at=now, note=done, data=data)
    return case


@transaction.atomic
def case_verify(*, case: Case, by: Any, note: str = "", now: dt.datetime | None = None) -> Case:
    """Check (核查) the recorded resolution: by someone other than the handler."""
    _require(policy.can_decide_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.ACCEPTED, Case.Status.CLOSED)
    if not case.resolution:
        raise ValidationError(_("尚未登记问题解决情况，无从核查"))
    lead = case.lead_department
    if case.resolution_by_id == by.pk or (lead is not None and lead.members.filter(pk=by.pk).exists()):
        raise ValidationError(_("核查须由承办人以外的人进行"))
    case.verified_at = now
    case.verified_by = by
    case.save(update_fields=["verified_at", "verified_by"])
    _step(case, kind=Step.Kind.VERIFY, by=by, at=now, note=note.strip())
    return case


@transaction.atomic
def satisfaction_record(
    *, case: Case, by: Any, satisfaction: str, note: str = "", now: dt.datetime | None = None
) -> Case:
    """The petitioner's satisfaction, asked on a visit."""
    _require(policy.can_work_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.ACCEPTED, Case.Status.CLOSED)
    if not case.resolution:
        raise ValidationError(_("尚未登记问题解决情况"))
    if satisfaction not in Case.Satisfaction.values:
        raise ValidationError(_("请选择满意度"))
    case.satisfaction = satisfaction
    case.save(update_fields=["satisfaction"])
    _step(case, kind=Step.Kind.SATISFACTION, by=by, at=now, note=note.strip(), data={"via": "visit"})
    return case


@transaction.atomic
def case_close(*, case: Case, by: Any, note: str = "", now: dt.datetime | None = None) -> Case:
    """Close the case procedurally: verified, and a petition ruled on and answered in writing.
    Closing says nothing about the need: an unsolved one stays on the community's list."""
    _require(policy.can_decide_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.ACCEPTED)
    if case.is_petition and not case.merit:
        raise ValidationError(_("信访须先定性"))
    if case.is_petition and case.replied_at is None:
        raise ValidationError(_("信访须先书面答复"))
    if case.verified_at is None:
        raise ValidationError(_("须经核查才能办结"))
    case.status = Case.Status.CLOSED
    case.closed_at = now
    case.save(update_fields=["status", "closed_at"])
    _step(case, kind=Step.Kind.CLOSE, by=by, at=now, note=note.strip())
    return case


@transaction.atomic
def case_report(
    *,
    category: Category,
    text: str,
    channel: str,
    area: Area,
    contact_name: str = "",
    contact_phone: str = "",
    lon: float | None = None,
    lat: float | None = None,
    address: str = "",
    client: str = "",
    now: dt.datetime | None = None,
) -> Case:
    """A resident's own report through a public channel (an Open311 client app, the /report/
    page): nobody signed in registers it, so it is received by the system (``by`` None) into the
    queue of the grid (or community) it lies in. Anonymous events are welcome; a petition needs
    a name, as at the desk."""
    from wangge.cases.models import PUBLIC_CHANNELS  # here, not on top: keeps merges of this file small

    now = now or timezone.now()
    if channel not in PUBLIC_CHANNELS:
        raise ValidationError(_("请选择渠道"))
    if not category.active:
        raise ValidationError(_("该类别已停用"))
    contact_name = contact_name.strip()[:60]
    if category.kind == Kind.PETITION and not contact_name:
        raise ValidationError(_("信访不能匿名：请选择反映人或填写其姓名"))
    case = Case(
        kind=category.kind,
        category=category,
        text=_required_text(text, _("请填写反映内容"))[:5000],
        channel=channel,
        contact_name=contact_name,
        contact_phone=contact_phone.strip()[:20],
        lon=lon,
        lat=lat,
        address=address.strip()[:200],
        received_at=now,
        received_by=None,
    )
    _scope_from_area(case, area)
    if category.kind == Kind.PETITION:
        case.accept_due = clocks.petition_accept_due(now, _tz())
    else:
        case.accept_due = clocks.event_accept_due(now, respond_hours=category.respond_hours)
    case.save()
    data: dict[str, Any] = {"channel": channel, "category": category.code}
    if client:
        data["client"] = client
    _step(case, kind=Step.Kind.RECEIVE, by=None, at=now, data=data)
    return case


@transaction.atomic
def satisfaction_from_resident(
    *, case: Case, satisfaction: str, note: str = "", now: dt.datetime | None = None
) -> Case:
    """The reporter's own rating, given on the public tracking page once the need is resolved.
    Whoever holds the tracking code is the reporter; a rating may be changed until closing."""
    from wangge.cases.models import PUBLIC_CHANNELS

    now = now or timezone.now()
    case = _locked(case)
    if case.channel not in PUBLIC_CHANNELS:
        raise ValidationError(_("只有居民自行上报的案件可在此评价"))
    _require_status(case, Case.Status.ACCEPTED, Case.Status.CLOSED)
    if not case.resolution:
        raise ValidationError(_("尚未登记问题解决情况"))
    if satisfaction not in Case.Satisfaction.values:
        raise ValidationError(_("请选择满意度"))
    case.satisfaction = satisfaction
    case.save(update_fields=["satisfaction"])
    _step(case, kind=Step.Kind.SATISFACTION, by=None, at=now, note=note.strip()[:500], data={"via": "resident"})
    return case
