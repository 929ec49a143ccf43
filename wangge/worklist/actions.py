"""Every write of the worklist: keyword-only, atomic, audited in the same transaction.

``generate`` turns today's registry into tasks (daily, by the worker's periodic job and by
``wangge worklist generate``); ``visit_record`` stores a visit once per client id and completes
the tasks it covers; ``rule_save`` versions a rule; ``helper_link`` ties a party member or
volunteer to a household.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.areas.models import Membership, Organisation
from wangge.cases import actions as case_actions
from wangge.cases import photos as case_photos
from wangge.cases.models import Case, Category
from wangge.core.audit import Action, audit
from wangge.groups import actions as group_actions
from wangge.groups.models import Listing
from wangge.registry.models import Household, Resident
from wangge.worklist import conditions
from wangge.worklist.models import HelperLink, Rule, Task, Visit

# A recurring rule's periods are counted from a Monday, so weekly checks run Monday to Sunday.
EPOCH = dt.date(2024, 1, 1)
# Days after its due date an open task is shown to the community secretary (once).
ESCALATE_AFTER = 3
BATCH = 2000


def local_today() -> dt.date:
    return timezone.localdate()


@dataclass
class Summary:
    created: int = 0
    closed: int = 0
    moved: int = 0
    escalated: int = 0
    open: int = 0


def _period(
    rule: Rule, anchor: dt.date | None, key: str, today: dt.date, resident_id: int
) -> tuple[str, dt.date, dt.date]:
    """(period key, anchor, due) of the task the rule makes for one candidate today.

    A recurring check without an anchor starts each person's period on a day of their own (by
    their id), so a grid's weekly checks and annual reviews spread over the week and the year
    instead of all falling due on one day. A task made late in its period (a new person, a
    rule just switched on) is due within the rule's time from today, before the period ends.
    """
    if rule.every_days:
        start = anchor or EPOCH + dt.timedelta(days=resident_id % rule.every_days)
        start += dt.timedelta(days=(today - start).days // rule.every_days * rule.every_days)
        due = start + dt.timedelta(days=rule.due_days)
        if due < today:
            due = min(today + dt.timedelta(days=rule.due_days), start + dt.timedelta(days=rule.every_days - 1))
        return start.isoformat(), start, due
    if anchor is None:
        return key, today, today + dt.timedelta(days=rule.due_days)
    return key, anchor, anchor + dt.timedelta(days=rule.due_days)


def _helpers(household_ids: set[int]) -> dict[int, int]:
    """household → the party member or volunteer who looks after it (the first linked)."""
    found: dict[int, int] = {}
    ids = sorted(household_ids)
    for start in range(0, len(ids), BATCH):
        rows = HelperLink.objects.filter(household_id__in=ids[start : start + BATCH]).order_by("id")
        for household_id, helper_id in rows.values_list("household_id", "helper_id"):
            found.setdefault(household_id, helper_id)
    return found


def _generate_source(rule: Rule, today: dt.date, now: dt.datetime, summary: Summary) -> None:
    """A rule over the registers' follow-ups or the rentals: one task per listing's or rental's
    due date. A task whose date is no longer due (the follow-up or inspection was recorded on
    the register's or rental's own page, the listing or lease ended) closes by itself."""
    by_rental = rule.kind != Rule.Kind.GROUP_FOLLOW_UP
    wanted = {(item.key, item.period): item for item in conditions.due_items(rule.kind, rule.condition, today)}
    key_field = "rental_id" if by_rental else "resident_id"
    lapsed = [
        pk
        for pk, key, period in Task.objects.filter(rule=rule, status=Task.Status.OPEN).values_list(
            "pk", key_field, "period"
        )
        if (key, period) not in wanted
    ]
    for start in range(0, len(lapsed), BATCH):
        summary.closed += Task.objects.filter(pk__in=lapsed[start : start + BATCH]).update(
            status=Task.Status.LAPSED, closed_at=now
        )
    done: set[tuple[int, str]] = set()
    if wanted:
        done = set(Task.objects.filter(rule=rule).values_list(key_field, "period"))
    tasks = [
        Task(
            rule=rule,
            rule_version=rule.version,
            resident_id=item.resident_id,
            household_id=item.household_id,
            listing_id=item.listing_id,
            rental_id=item.rental_id,
            grid_id=item.grid_id,
            community_id=item.community_id,
            street_id=item.street_id,
            district_id=item.district_id,
            period=item.period,
            anchor=item.day,
            due=item.day,
            assignee_id=item.assignee_id,
        )
        for key, item in wanted.items()
        if key not in done
    ]
    Task.objects.bulk_create(tasks, batch_size=BATCH, ignore_conflicts=True)
    summary.created += len(tasks)


def _generate_rule(rule: Rule, today: dt.date, now: dt.datetime, summary: Summary) -> None:
    if rule.kind != Rule.Kind.RESIDENTS:
        return _generate_source(rule, today, now, summary)
    wanted: dict[tuple[int, str], tuple[conditions.Candidate, dt.date, dt.date]] = {}
    for candidate in conditions.candidates(rule.condition, today):
        period, anchor, due = _period(rule, candidate.anchor, candidate.key, today, candidate.resident_id)
        wanted[(candidate.resident_id, period)] = (candidate, anchor, due)
    anchored = rule.every_days is None and bool(rule.condition.get("anchor"))
    lapsed: list[int] = []
    missed: list[int] = []
    residents_wanted = {resident_id for resident_id, _period_key in wanted}
    for pk, resident_id, period, due, anchor in Task.objects.filter(rule=rule, status=Task.Status.OPEN).values_list(
        "pk", "resident_id", "period", "due", "anchor"
    ):
        hit = wanted.get((resident_id, period))
        if hit is None:
            # A recurring rule's new period replaces the old one; otherwise the condition ended
            # (moved out, died, a correction) and the task closes by itself.
            (missed if rule.every_days and resident_id in residents_wanted else lapsed).append(pk)
        elif anchored and (hit[2] != due or hit[1] != anchor):
            Task.objects.filter(pk=pk).update(anchor=hit[1], due=hit[2])  # a corrected birth date
            summary.moved += 1
    for status, pks in ((Task.Status.LAPSED, lapsed), (Task.Status.MISSED, missed)):
        for start in range(0, len(pks), BATCH):
            summary.closed += Task.objects.filter(pk__in=pks[start : start + BATCH]).update(
                status=status, closed_at=now
            )
    # Done, closed and open tasks all hold their (rule, resident, period): only new ones are made.
    done: set[tuple[int, str]] = set()
    periods = {period for _resident, period in wanted}
    if wanted:
        existing = Task.objects.filter(rule=rule)
        if len(periods) < 50:
            existing = existing.filter(period__in=periods)
        done = set(existing.values_list("resident_id", "period"))
    fresh = [(key, value) for key, value in wanted.items() if key not in done]
    helpers = (
        _helpers({c.household_id for _k, (c, _a, _d) in fresh if c.household_id})
        if (rule.assignee == Rule.Assignee.HELPER and fresh)
        else {}
    )
    tasks = [
        Task(
            rule=rule,
            rule_version=rule.version,
            resident_id=resident_id,
            household_id=c.household_id,
            grid_id=c.grid_id,
            community_id=c.community_id,
            street_id=c.street_id,
            district_id=c.district_id,
            period=period,
            anchor=anchor,
            due=due,
            assignee_id=helpers.get(c.household_id) if c.household_id else None,
        )
        for (resident_id, period), (c, anchor, due) in fresh
    ]
    Task.objects.bulk_create(tasks, batch_size=BATCH, ignore_conflicts=True)
    summary.created += len(tasks)


@transaction.atomic
def generate(*, today: dt.date | None = None, by: Any = None, now: dt.datetime | None = None) -> Summary:
    """Make today's tasks from every active rule; close those whose condition ended; escalate
    the overdue once. Idempotent: a second run for the same day creates and closes nothing."""
    today = today or local_today()
    now = now or timezone.now()
    summary = Summary()
    for rule in Rule.objects.filter(active=True):
        _generate_rule(rule, today, now, summary)
    summary.escalated = Task.objects.filter(
        status=Task.Status.OPEN, escalated_at__isnull=True, due__lt=today - dt.timedelta(days=ESCALATE_AFTER)
    ).update(escalated_at=now)
    summary.open = Task.objects.filter(status=Task.Status.OPEN).count()
    audit(
        actor=by,
        action=Action.CREATE,
        object_type="worklist.task",
        summary=_("生成 %(date)s 的服务任务：新建 %(created)d，关闭 %(closed)d")
        % {"date": today.isoformat(), "created": summary.created, "closed": summary.closed},
        detail={"date": today.isoformat(), **asdict(summary)},
    )
    return summary


def rule_preview(*, rule: Rule, today: dt.date | None = None) -> dict[str, int]:
    """What switching the rule on would do today: tasks and grids (a read; nothing is written)."""
    today = today or local_today()
    residents: set[tuple[int, str]] = set()
    grids: set[int | None] = set()
    if rule.kind != Rule.Kind.RESIDENTS:
        for item in conditions.due_items(rule.kind, rule.condition, today):
            residents.add((item.key, item.period))
            grids.add(item.grid_id)
        return {"tasks": len(residents), "grids": len(grids - {None})}
    for candidate in conditions.candidates(rule.condition, today):
        period, _anchor, _due = _period(rule, candidate.anchor, candidate.key, today, candidate.resident_id)
        residents.add((candidate.resident_id, period))
        grids.add(candidate.grid_id)
    return {"tasks": len(residents), "grids": len(grids - {None})}


@transaction.atomic
def rule_save(*, rule: Rule, by: Any) -> Rule:
    """Save an administrator's edit; a change to what the rule does makes a new version."""
    if not policy.can_edit_rules(by):
        raise PermissionDenied
    conditions.validate(rule.condition, kind=rule.kind)
    created = rule.pk is None
    if not created:
        before = Rule.objects.select_for_update().get(pk=rule.pk)
        fields = ("kind", "condition", "due_days", "every_days", "priority", "assignee")
        if any(getattr(before, f) != getattr(rule, f) for f in fields):
            rule.version = before.version + 1
    rule.save()
    audit(
        actor=by,
        action=Action.CREATE if created else Action.UPDATE,
        obj=rule,
        summary=_("服务规则“%(name)s”（第 %(version)d 版）") % {"name": rule.name, "version": rule.version},
        detail={"condition": rule.condition, "active": rule.active},
    )
    return rule


def _clean_uuid(value: Any) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise ValidationError(_("走访记录缺少有效的客户端编号")) from None


@transaction.atomic
def visit_record(
    *,
    by: Any,
    household: Household,
    client_id: Any,
    kind: str = Visit.Kind.HOME,
    met: str = "",
    notes: str = "",
    follow_up: bool = False,
    tasks: Iterable[Task] = (),
    resident: Resident | None = None,
    photo: Any = None,
    lon: float | None = None,
    lat: float | None = None,
    visited_at: dt.datetime | None = None,
    case_category: Category | None = None,
    now: dt.datetime | None = None,
) -> tuple[Visit, bool]:
    """Record a visit to a household (loaded through the caller's scope); (visit, created).

    The same ``client_id`` again answers the stored visit and changes nothing: a phone that
    resends after a dropped answer does not record the visit twice. With ``case_category`` the
    problem found becomes a grid event case at once.
    """
    if not policy.can_record_visits(by):
        raise PermissionDenied
    client_id = _clean_uuid(client_id)
    existing = Visit.objects.filter(client_id=client_id).first()
    if existing is not None:
        if existing.recorded_by_id != getattr(by, "pk", None):
            raise ValidationError(_("该客户端编号已被使用"))
        return existing, False
    now = now or timezone.now()
    visited_at = visited_at or now
    if visited_at > now + dt.timedelta(minutes=5):
        raise ValidationError(_("走访时间不能晚于现在"))
    if kind not in Visit.Kind.values:
        raise ValidationError(_("请选择走访方式"))
    if resident is not None and resident.household_id != household.pk:
        raise ValidationError(_("该居民不属于这户"))
    covered = list(tasks)
    if any(task.household_id != household.pk for task in covered):
        raise ValidationError(_("任务不属于这户"))
    visit = Visit(
        client_id=client_id,
        household=household,
        resident=resident,
        kind=kind,
        met=met.strip()[:100],
        notes=notes.strip(),
        follow_up=follow_up,
        lon=lon,
        lat=lat,
        visited_at=visited_at,
        recorded_by=by,
    )
    visit.copy_scope(household)
    prepared = case_photos.prepare(photo) if photo else None  # refused before anything is written
    if prepared is not None:
        name = uuid.uuid4().hex
        visit.photo.save(f"{name}.jpg", ContentFile(prepared.data), save=False)
        visit.photo_thumb.save(f"{name}_t.jpg", ContentFile(prepared.thumb), save=False)
    try:
        with transaction.atomic():
            visit.save()
    except IntegrityError:
        # The same visit, resent while the first request was still being stored.
        return Visit.objects.get(client_id=client_id), False
    open_ids = set(
        Task.objects.filter(
            pk__in=[t.pk for t in covered], household=household, status=Task.Status.OPEN, rental__isnull=True
        ).values_list("pk", flat=True)
    )
    done = Task.objects.filter(pk__in=open_ids).update(status=Task.Status.DONE, visit=visit, closed_at=now)
    # A special-group follow-up done on the visit is recorded on the register too, through its
    # own action (dates checked, the next follow-up set, audited there).
    follow_ups = [t.listing_id for t in covered if t.pk in open_ids and t.listing_id is not None]
    for listing in Listing.objects.filter(pk__in=follow_ups).select_related("resident").order_by("pk"):
        group_actions.follow_up_record(
            by=by,
            listing=listing,
            date=timezone.localtime(visited_at).date(),
            finding=visit.notes or str(Visit.Kind(kind).label),
        )
    if case_category is not None:
        people = [resident or household.head] if (resident or household.head) else []
        visit.case = case_actions.case_receive(
            by=by,
            category=case_category,
            text=visit.notes or _("走访中发现的问题"),
            channel=Case.Channel.FIELD,
            petitioners=[p for p in people if p is not None],
            area=household.grid,
            photos=[prepared.data] if prepared is not None else [],
            now=now,
        )
        visit.save(update_fields=["case"])
    audit(
        actor=by,
        action=Action.CREATE,
        obj=visit,
        summary=_("走访 %(address)s，完成 %(n)d 项任务") % {"address": household.address, "n": done},
        detail={"tasks": [t.pk for t in covered], "kind": kind, "follow_up": follow_up, "listings": follow_ups},
    )
    return visit, True


def helper_organisation(*, helper: Any, household: Household) -> Organisation:
    """The party branch or volunteer team of the household's grid that ``helper`` belongs to."""
    if household.grid_id is None:
        raise ValidationError(_("该住户尚未划入网格"))
    organisation = (
        Organisation.objects.filter(
            area_id=household.grid_id,
            kind__in=(Organisation.Kind.PARTY_BRANCH, Organisation.Kind.VOLUNTEERS),
            memberships__in=Membership.objects.filter(user=helper),
        )
        .order_by("kind", "pk")
        .first()
    )
    if organisation is None:
        raise ValidationError(_("此人不是该网格党支部或志愿服务队的成员"))
    return organisation


@transaction.atomic
def helper_link(*, by: Any, helper: Any, household: Household, since: dt.date | None = None) -> HelperLink:
    """Link a party member or volunteer of the household's grid to it (党员联系户)."""
    if not policy.can_link_helpers(by):
        raise PermissionDenied
    organisation = helper_organisation(helper=helper, household=household)
    link, created = HelperLink.objects.get_or_create(
        helper=helper,
        household=household,
        defaults={
            "organisation": organisation,
            "since": since or local_today(),
            "grid_id": household.grid_id,
            "community_id": household.community_id,
            "street_id": household.street_id,
            "district_id": household.district_id,
        },
    )
    if created:
        audit(
            actor=by,
            action=Action.CREATE,
            obj=link,
            summary=_("%(helper)s 联系 %(address)s") % {"helper": helper, "address": household.address},
        )
    return link
