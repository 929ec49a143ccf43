"""Every write on a case: keyword-only, atomic, one timeline step and one audit entry each.

A refusal is a ``ValidationError`` with a translated message and changes nothing. Who may act at
all is asked of the policy here too; *which* cases a user may touch is decided before, by the
scoped queries the views and the API load the case with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.cases import clocks
from wangge.cases import photos as case_photos
from wangge.cases.models import (
    Case,
    CasePhoto,
    Category,
    Department,
    Escalation,
    EscortedVisit,
    Kind,
    Review,
    SatisfactionLink,
    Step,
)
from wangge.core.audit import Action, audit
from wangge.core.inserts import save_new
from wangge.core.notify import notify_users, queue_sms
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
    step = Step(case=case, kind=kind, by=by, at=at, note=note, data=data or {})
    save_new(step)
    # The label straight from the enum: get_kind_display() hashes every lazy label of the
    # choices (a translation lookup each), a tenth of an Open311 POST's CPU.
    label = Step.Kind(kind).label if kind in Step.Kind.values else kind
    audit(
        actor=by,
        action=Action.CREATE if kind == Step.Kind.RECEIVE else Action.UPDATE,
        obj=case,
        summary=_("案件 %(number)s：%(step)s") % {"number": case.number, "step": label},
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
    lon: float | None = None,
    lat: float | None = None,
    address: str = "",
    photos: Iterable[Any] = (),
    new_facts: str = "",
    now: dt.datetime | None = None,
) -> Case:
    """Register a petition or a grid event. Its area is the first petitioner's, else ``area``.
    ``photos`` are uploaded files (or bytes), all checked before anything is written.

    A petition repeating a re-reviewed matter (复核) of the same petitioner is refused unless
    ``new_facts`` states the new facts and grounds it rests on (Article 36 bars only a complaint
    raised "仍然以同一事实和理由", on the same facts and grounds); they are kept on the receive step."""
    _require(policy.can_take_cases(by))
    now = now or timezone.now()
    people = list({person.pk: person for person in petitioners}.values())  # once each, in order
    prepared = _prepare_photos(photos)
    _check_location(lon, lat)
    contact_name = contact_name.strip()
    if category.kind == Kind.PETITION and not people and not contact_name:
        raise ValidationError(_("信访不能匿名：请选择反映人或填写其姓名"))
    if channel not in Case.Channel.values:
        raise ValidationError(_("请选择渠道"))
    if collective_count < max(1, len(people)):
        raise ValidationError(_("人数不能少于所选反映人数"))
    new_facts = new_facts.strip()[:2000]
    data: dict[str, Any] = {"channel": channel, "category": category.code}
    if category.kind == Kind.PETITION:
        earlier = _rereviewed(
            text=text,
            people=people,
            contact_name=contact_name,
            contact_phone=contact_phone,
            address=address,
            lat=lat,
            lon=lon,
        )
        if earlier is not None and not new_facts:
            raise _rereviewed_refusal(earlier, _("如信访人提出了新的事实和理由，请在“新的事实和理由”中写明后再登记。"))
        if earlier is not None:
            data |= {"after_rereview": earlier.case_id, "earlier_number": earlier.case.number}
    if new_facts:
        data["new_facts"] = new_facts
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
        lon=lon,
        lat=lat,
        address=address.strip()[:200],
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
    _step(case, kind=Step.Kind.RECEIVE, by=by, at=now, data=data)
    if prepared:
        _store_photos(case, by=by, prepared=prepared, now=now)
    return case


def _rereviewed(**intake: Any) -> Review | None:
    from wangge.cases import repeats  # here, not on top: repeats reads through queries

    found = repeats.rereviewed_matter(**intake)
    return found[0] if found is not None else None


def _rereviewed_refusal(review: Review, then: str) -> ValidationError:
    """Article 36: the same matter on the same facts and grounds is not accepted after re-review.
    The quoted sentence is the regulation's own (source: ``wangge.cases.clocks``)."""
    message = _(
        "同一事项已经复核，不再受理：案件 %(number)s 的复核意见于 %(date)s 作出（%(outcome)s）。"
        "《信访工作条例》第三十六条：“信访人对复核意见不服，仍然以同一事实和理由提出投诉请求的，"
        "各级党委和政府信访部门和其他机关、单位不再受理。”"
    ) % {
        "number": review.case.number,
        "date": timezone.localtime(review.answered_at, _tz()).date().isoformat() if review.answered_at else "",
        "outcome": review.get_outcome_display(),
    }
    return ValidationError(f"{message}{then}", code="rereviewed")


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
    *,
    case: Case,
    by: Any,
    met: str,
    found: str,
    visited_at: dt.datetime | None = None,
    lon: float | None = None,
    lat: float | None = None,
    photos: Iterable[Any] = (),
    now: dt.datetime | None = None,
) -> Case:
    """A home visit: who went (``by``), when, whom they met and what they found; optionally
    where (the phone's position) and photos."""
    _require(policy.can_work_cases(by))
    prepared = _prepare_photos(photos)
    _check_location(lon, lat)
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
    data: dict[str, Any] = {"met": met, "visited_at": visited_at.isoformat()}
    if lon is not None:
        data.update(lon=lon, lat=lat)
    _step(case, kind=Step.Kind.VISIT, by=by, at=now, note=found, data=data)
    if prepared:
        _store_photos(case, by=by, prepared=prepared, now=now)
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
    *,
    case: Case,
    by: Any,
    satisfaction: str,
    note: str = "",
    want_review: bool = False,
    now: dt.datetime | None = None,
) -> Case:
    """The petitioner's satisfaction, asked on a visit. 不满意 with ``want_review`` on an answered
    petition also records their request for review (复查), in the same transaction: when no
    review can be asked now (window closed, already re-reviewed) nothing is recorded."""
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
    if want_review and satisfaction == Case.Satisfaction.DISSATISFIED:
        reason = note.strip() or _("反映人对处理结果不满意，申请复查")
        _review_request(case, by=by, reason=reason, requested_at=now, now=now)
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
    photos: Iterable[Any] = (),
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
    prepared = _prepare_photos(photos)  # checked before anything is written
    if category.kind == Kind.PETITION and not contact_name:
        raise ValidationError(_("信访不能匿名：请选择反映人或填写其姓名"))
    if category.kind == Kind.PETITION:
        earlier = _rereviewed(
            text=text, contact_name=contact_name, contact_phone=contact_phone, address=address, lat=lat, lon=lon
        )
        if earlier is not None:
            raise _rereviewed_refusal(earlier, _("如有新的事实和理由，请到信访接待场所当面反映。"))
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
    data: dict[str, Any] = {"channel": channel, "category": category.code}
    if client:
        data["client"] = client
    # Everything is checked above; the writes need no savepoint of their own inside the public
    # doors' transaction (two round trips per report): a failed write fails that transaction.
    with transaction.atomic(savepoint=False):
        save_new(case)  # the INSERT of ~35 columns built once, not per report
        _step(case, kind=Step.Kind.RECEIVE, by=None, at=now, data=data)
        if prepared:
            _store_photos(case, by=None, prepared=prepared, now=now)
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


# Photos, location, reviews, escalation, escorted visits, satisfaction links (issue 11) ---------


def _prepare_photos(photos: Iterable[Any]) -> list[case_photos.Prepared]:
    uploads = list(photos)
    if len(uploads) > case_photos.MAX_PHOTOS:
        raise ValidationError(_("一次最多上传 %(n)d 张照片") % {"n": case_photos.MAX_PHOTOS})
    # Photos prepared earlier (outside a transaction, by the public doors) pass as they are.
    return [u if isinstance(u, case_photos.Prepared) else case_photos.prepare(u) for u in uploads]


def _check_location(lon: float | None, lat: float | None) -> None:
    if (lon is None) != (lat is None):
        raise ValidationError(_("经度和纬度须同时填写"))
    if lon is not None and lat is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError(_("经纬度超出范围"))


def _store_photos(case: Case, *, by: Any, prepared: list[case_photos.Prepared], now: dt.datetime) -> list[CasePhoto]:
    """Write the files, then their rows and the step; a failure removes the files written."""
    written: list[str] = []
    try:
        rows = []
        for photo in prepared:
            path, thumb = case_photos.write(photo, when=timezone.localtime(now))
            written += [path, thumb]
            rows.append(
                CasePhoto.objects.create(
                    case=case,
                    path=path,
                    thumb_path=thumb,
                    width=photo.width,
                    height=photo.height,
                    size=len(photo.data),
                    sha256=photo.sha256,
                    uploaded_by=by,
                    uploaded_at=now,
                )
            )
        _step(case, kind=Step.Kind.PHOTO, by=by, at=now, data={"photos": [row.pk for row in rows]})
    except BaseException:
        case_photos.remove(*written)
        raise
    # Should a caller's enclosing transaction roll back later, the files stay without rows:
    # harmless (never served, no row points to them) and rare; not worth a sweeper yet.
    return rows


@transaction.atomic
def photos_add(*, case: Case, by: Any, photos: Iterable[Any], now: dt.datetime | None = None) -> list[CasePhoto]:
    """More photos of an open or closed case (from a home visit, after the repair …)."""
    _require(policy.can_work_cases(by))
    prepared = _prepare_photos(photos)
    if not prepared:
        raise ValidationError(_("请选择照片"))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.RECEIVED, Case.Status.ACCEPTED, Case.Status.CLOSED)
    return _store_photos(case, by=by, prepared=prepared, now=now)


def _open_review(case: Case) -> Review | None:
    return case.reviews.filter(answered_at__isnull=True).first()


@transaction.atomic
def review_request(
    *,
    case: Case,
    by: Any,
    reason: str,
    requested_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Review:
    """Record a petitioner's request for a review (复查, Article 35) of the written reply, or, once
    the review is answered, for a re-review (复核, Article 36). Each is asked within 30 days and
    answered within 30 days of the request; after a re-review nothing more is accepted."""
    _require(policy.can_work_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    return _review_request(case, by=by, reason=reason, requested_at=requested_at or now, now=now)


def _review_request(case: Case, *, by: Any, reason: str, requested_at: dt.datetime, now: dt.datetime) -> Review:
    if not case.is_petition:
        raise ValidationError(_("只有信访可以申请复查、复核"))
    _require_status(case, Case.Status.ACCEPTED, Case.Status.CLOSED)
    if case.replied_at is None:
        raise ValidationError(_("尚未书面答复，不能申请复查"))
    reason = _required_text(reason, _("请填写申请理由"))
    if requested_at > now or requested_at < case.replied_at:
        raise ValidationError(_("申请时间须在答复之后、现在之前"))
    done = {review.level: review for review in case.reviews.all()}
    if Review.Level.REREVIEW in done:
        raise ValidationError(_("已经复核：同一事项不再受理"))
    if Review.Level.REVIEW not in done:
        level, window_due = Review.Level.REVIEW, clocks.review_request_due(case.replied_at, _tz())
        answer_due, kind = clocks.review_answer_due(requested_at, _tz()), Step.Kind.REVIEW_REQUEST
    else:
        review = done[Review.Level.REVIEW]
        if review.answered_at is None:
            raise ValidationError(_("复查尚未答复"))
        level, window_due = Review.Level.REREVIEW, clocks.rereview_request_due(review.answered_at, _tz())
        answer_due, kind = clocks.rereview_answer_due(requested_at, _tz()), Step.Kind.REREVIEW_REQUEST
    if not clocks.may_request(window_due, requested_at):
        raise ValidationError(
            _("申请期限已过（应在 %(due)s 之前提出）") % {"due": f"{timezone.localtime(window_due):%Y-%m-%d %H:%M}"}
        )
    row = Review.objects.create(
        case=case, level=level, requested_at=requested_at, reason=reason, answer_due=answer_due, recorded_by=by
    )
    _step(
        case,
        kind=kind,
        by=by,
        at=now,
        note=reason,
        data={"requested_at": requested_at.isoformat(), "answer_due": answer_due.isoformat()},
    )
    return row


@transaction.atomic
def review_answer(*, case: Case, by: Any, outcome: str, answer: str, now: dt.datetime | None = None) -> Review:
    """The written opinion of the review or re-review under way."""
    _require(policy.can_decide_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    review = _open_review(case)
    if review is None:
        raise ValidationError(_("没有待答复的复查或复核"))
    if outcome not in Review.Outcome.values:
        raise ValidationError(_("请选择结论"))
    review.answer = _required_text(answer, _("请填写复查（复核）意见"))
    review.outcome = outcome
    review.answered_at = now
    review.save(update_fields=["answer", "outcome", "answered_at"])
    kind = Step.Kind.REVIEW_ANSWER if review.level == Review.Level.REVIEW else Step.Kind.REREVIEW_ANSWER
    _step(
        case,
        kind=kind,
        by=by,
        at=now,
        note=review.answer,
        data={"outcome": outcome, "late": now >= review.answer_due},
    )
    return review


PHASE_LABELS = {
    "accept": gettext_lazy("受理"),
    "handle": gettext_lazy("办理"),
    Review.Level.REVIEW: gettext_lazy("复查"),
    Review.Level.REREVIEW: gettext_lazy("复核"),
}


def _overdue_now(now: dt.datetime, limit: int) -> list[tuple[int, str, dt.datetime]]:
    """(case id, phase, due) of every deadline run out and not yet escalated, oldest first."""
    found: list[tuple[int, str, dt.datetime]] = []
    not_escalated = ~Q(escalations__phase="accept")
    for pk, due in (
        Case.objects.filter(not_escalated, status=Case.Status.RECEIVED, accept_due__lte=now)
        .order_by("accept_due")
        .values_list("pk", "accept_due")[:limit]
    ):
        found.append((pk, "accept", due))
    unanswered = Q(kind=Kind.PETITION, replied_at__isnull=True) | Q(kind=Kind.EVENT, resolution="")
    for pk, handle_due in (
        Case.objects.filter(
            unanswered, ~Q(escalations__phase="handle"), status=Case.Status.ACCEPTED, handle_due__lte=now
        )
        .order_by("handle_due")
        .values_list("pk", "handle_due")[:limit]
    ):
        if handle_due is not None:
            found.append((pk, "handle", handle_due))
    for pk, level, due in (
        Review.objects.filter(answered_at__isnull=True, answer_due__lte=now)
        .exclude(Exists(Escalation.objects.filter(case_id=OuterRef("case_id"), phase=OuterRef("level"))))
        .order_by("answer_due")
        .values_list("case_id", "level", "answer_due")[:limit]
    ):
        found.append((pk, level, due))
    return found


def supervisors_of(case: Case) -> list[Any]:
    """Who 督办 goes to: the petition office over the case's area, else its district admins."""
    from wangge.accounts.models import Role, User

    areas = [pk for pk in (case.district_id, case.street_id, case.community_id) if pk]
    for role in (Role.PETITION_OFFICE, Role.DISTRICT_ADMIN):
        users = list(User.objects.filter(is_active=True, role=role, assignments__area_id__in=areas).distinct())
        if users:
            return users
    return []


# How often the worker looks for cases to escalate (seconds).
ESCALATE_EVERY = 300


def cases_escalate(*, now: dt.datetime | None = None, limit: int = 500) -> list[Escalation]:
    """督办: every case whose clock has run out goes to the supervisors, once per deadline, with a
    timeline step, an audit entry and a notification, each case in its own transaction. Run by
    the worker (job ``cases.escalate``) and by ``wangge cases_escalate``."""
    now = now or timezone.now()
    made = []
    for pk, phase, due in _overdue_now(now, limit):
        with transaction.atomic():
            case = Case.objects.select_for_update().select_related("category").get(pk=pk)
            if Escalation.objects.filter(case=case, phase=phase).exists():
                continue  # another runner got there first
            supervisors = supervisors_of(case)
            escalation = Escalation.objects.create(case=case, phase=phase, due=due, at=now, notified=len(supervisors))
            label = str(PHASE_LABELS.get(phase, phase))
            _step(
                case,
                kind=Step.Kind.ESCALATE,
                by=None,
                at=now,
                note=label,
                data={"phase": phase, "due": due.isoformat()},
            )
            notify_users(
                users=supervisors,
                title=_("督办：案件 %(number)s 已超过%(phase)s期限") % {"number": case.number, "phase": label},
                body=_("%(category)s，%(phase)s期限为 %(due)s。")
                % {"category": case.category.name, "phase": label, "due": f"{timezone.localtime(due):%Y-%m-%d %H:%M}"},
                url=reverse("cases:detail", args=[case.pk]),
            )
            made.append(escalation)
    return made


@transaction.atomic
def escort_schedule(
    *, case: Case, by: Any, leader: str, date: dt.date, note: str = "", now: dt.datetime | None = None
) -> EscortedVisit:
    """Schedule a leader's escorted visit (领访/带访) for a date."""
    _require(policy.can_decide_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.RECEIVED, Case.Status.ACCEPTED)
    leader = _required_text(leader, _("请填写带访领导"))[:100]
    if date < timezone.localdate(now):
        raise ValidationError(_("安排日期不能早于今天"))
    escort = EscortedVisit.objects.create(case=case, leader=leader, scheduled_for=date, scheduled_by=by)
    _step(
        case,
        kind=Step.Kind.ESCORT_SCHEDULE,
        by=by,
        at=now,
        note=note.strip(),
        data={"escort": escort.pk, "leader": leader, "date": date.isoformat()},
    )
    return escort


@transaction.atomic
def escort_record(
    *,
    escort: EscortedVisit,
    by: Any,
    went_on: dt.date,
    attendees: str,
    outcome: str,
    now: dt.datetime | None = None,
) -> EscortedVisit:
    """Record the escorted visit: when it happened, who went and what came of it."""
    _require(policy.can_work_cases(by))
    now = now or timezone.now()
    case = _locked(escort.case)
    escort = EscortedVisit.objects.select_for_update().get(pk=escort.pk)
    if escort.went_on is not None:
        raise ValidationError(_("该次领访已登记"))
    if went_on > timezone.localdate(now):
        raise ValidationError(_("领访日期不能晚于今天"))
    escort.attendees = _required_text(attendees, _("请填写参加人员"))[:300]
    escort.outcome = _required_text(outcome, _("请填写领访情况"))
    escort.went_on = went_on
    escort.recorded_by = by
    escort.save(update_fields=["attendees", "outcome", "went_on", "recorded_by"])
    _step(
        case,
        kind=Step.Kind.ESCORT_RECORD,
        by=by,
        at=now,
        note=escort.outcome,
        data={
            "escort": escort.pk,
            "leader": escort.leader,
            "went_on": went_on.isoformat(),
            "attendees": escort.attendees,
        },
    )
    return escort


SATISFACTION_LINK_DAYS = 30


def link_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def petitioner_phone(case: Case) -> str:
    if case.contact_phone:
        return case.contact_phone
    for person in case.petitioners.all():
        if person.phone:
            return str(person.phone)
    return ""


@transaction.atomic
def satisfaction_link_create(
    *, case: Case, by: Any, base_url: str, send_sms: bool = False, now: dt.datetime | None = None
) -> tuple[SatisfactionLink, str]:
    """A one-time link on which the petitioner rates the solution (shown as a QR code, and sent
    by SMS when asked); earlier unused links stop working. Returns the link and its URL."""
    _require(policy.can_work_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    _require_status(case, Case.Status.ACCEPTED, Case.Status.CLOSED)
    if not case.resolution:
        raise ValidationError(_("尚未登记问题解决情况"))
    phone = petitioner_phone(case) if send_sms else ""
    if send_sms and not phone:
        raise ValidationError(_("没有反映人的手机号，无法发送短信；请出示二维码"))
    SatisfactionLink.objects.filter(case=case, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    token = secrets.token_urlsafe(24)
    link = SatisfactionLink.objects.create(
        case=case,
        digest=link_digest(token),
        created_at=now,
        created_by=by,
        expires_at=now + dt.timedelta(days=SATISFACTION_LINK_DAYS),
        sent_to=phone,
    )
    url = base_url.rstrip("/") + reverse("cases:satisfaction", args=[token])
    if phone:
        queue_sms(
            phone=phone,
            text=_("您反映的问题（案件 %(number)s）已有处理结果，请点击链接评价：%(url)s")
            % {"number": case.number, "url": url},
        )
    _step(case, kind=Step.Kind.SATISFACTION_LINK, by=by, at=now, data={"sms": bool(phone)})
    return link, url


def satisfaction_link_find(token: str, *, now: dt.datetime | None = None) -> SatisfactionLink | None:
    """The live link of ``token``: None when unknown, revoked or expired (used ones are found)."""
    now = now or timezone.now()
    return (
        SatisfactionLink.objects.select_related("case", "case__category")
        .filter(digest=link_digest(token), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )


@transaction.atomic
def satisfaction_by_link(
    *, token: str, satisfaction: str, note: str = "", want_review: bool = False, now: dt.datetime | None = None
) -> Case:
    """The petitioner's own rating, once per link. 不满意 with ``want_review`` on an answered
    petition records a request for review (复查) while its window is open."""
    now = now or timezone.now()
    found = satisfaction_link_find(token, now=now)
    if found is None:
        raise ValidationError(_("链接无效或已过期"))
    link = SatisfactionLink.objects.select_for_update().get(pk=found.pk)
    if link.used_at is not None:
        raise ValidationError(_("已经评价过了，谢谢"))
    if satisfaction not in Case.Satisfaction.values:
        raise ValidationError(_("请选择满意度"))
    case = _locked(link.case)
    link.used_at = now
    link.save(update_fields=["used_at"])
    case.satisfaction = satisfaction
    case.save(update_fields=["satisfaction"])
    note = note.strip()[:2000]
    _step(case, kind=Step.Kind.SATISFACTION, by=None, at=now, note=note, data={"via": "link"})
    if want_review and satisfaction == Case.Satisfaction.DISSATISFIED and case.is_petition:
        try:
            with transaction.atomic():
                _review_request(
                    case, by=None, reason=note or _("反映人对处理结果不满意，申请复查"), requested_at=now, now=now
                )
        except ValidationError:
            pass  # no review possible now (window closed, already re-reviewed): the rating stands
    return case


# Public replies (issue 13) ----------------------------------------------------------------

PUBLIC_REPLY_MAX = 1000


@transaction.atomic
def public_reply_write(*, case: Case, by: Any, text: str, now: dt.datetime | None = None) -> Step:
    """A reply meant for the resident who reported the case themselves: shown on their tracking
    page and in Open311 (``status_notes``, ``servicerequestupdates``). A timeline step of its own
    kind, audited like every step; the internal notes of other steps stay inside."""
    from wangge.cases.models import PUBLIC_CHANNELS

    _require(policy.can_work_cases(by))
    now = now or timezone.now()
    case = _locked(case)
    if case.channel not in PUBLIC_CHANNELS:
        raise ValidationError(_("只有居民自行上报的案件可以公开答复"))
    text = _required_text(text, _("请填写答复内容"))
    if len(text) > PUBLIC_REPLY_MAX:
        raise ValidationError(_("公开答复不能超过 %(n)d 字") % {"n": PUBLIC_REPLY_MAX})
    return _step(case, kind=Step.Kind.PUBLIC_REPLY, by=by, at=now, note=text, data={"public": True})
