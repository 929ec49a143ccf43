"""Repeat (重复访) and cross-level (越级访) petitions: suggest the earlier cases a new case may
repeat, and record the marks that the statistics count.

A case repeats an earlier one when the same person, household or place raises the same matter
again while that matter is still inside its statutory path: acceptance (15 days), handling (60),
the one extension (30), review asked and answered (30 + 30) and re-review asked and answered
(30 + 30) — 225 days from the earlier receipt (``WINDOW``; the articles are cited in
``wangge.cases.clocks``). "Same matter" is judged by a person; the suggestion ranks candidates by
the overlap of their texts' Chinese character pairs (bigrams, Dice coefficient), with no external
service.

After a re-review (复核) the same petitioner's same matter is not accepted again, however long
ago (Article 36): ``rereviewed_matter`` finds the re-reviewed petition a new intake repeats, with
the same people test as the suggestions and a stricter text test (``SAME_MATTER``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts import policy
from wangge.cases import clocks, queries
from wangge.cases.models import Case, CrossLevelMark, Kind, RepeatMark, Review, Step
from wangge.core.audit import Action, audit

WINDOW = dt.timedelta(
    days=clocks.ACCEPT_DAYS
    + clocks.HANDLE_DAYS
    + clocks.EXTENSION_MAX_DAYS
    + clocks.REVIEW_REQUEST_DAYS
    + clocks.REVIEW_ANSWER_DAYS
    + clocks.REREVIEW_REQUEST_DAYS
    + clocks.REREVIEW_ANSWER_DAYS
)
#: how many earlier cases of the same people or place are compared at most
CANDIDATES = 200
#: below this text similarity a case of the same place (not person) is not suggested
PLACE_THRESHOLD = 0.3
#: about 100 m in degrees of latitude: "the same place" for a located event
NEAR = 0.001

#: from this text similarity on, a petition of the same petitioner is "the same matter" as a
#: re-reviewed one (rephrasings of one complaint score 0.5–0.8 on the tests' examples, another
#: matter of the same person under 0.15)
SAME_MATTER = 0.5

REASONS = {
    "person": gettext_lazy("同一反映人"),
    "household": gettext_lazy("同一住户"),
    "place": gettext_lazy("同一地点"),
}
_NOT_TEXT = re.compile(r"[\W_]+", re.UNICODE)


def bigrams(text: str) -> set[str]:
    """Pairs of neighbouring characters, punctuation and spaces removed (a single character
    counts as itself)."""
    chars = _NOT_TEXT.sub("", text.lower())
    if len(chars) < 2:
        return {chars} if chars else set()
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


def similarity(a: str, b: str) -> float:
    """Dice coefficient of the two texts' character bigrams, 0 to 1."""
    left, right = bigrams(a), bigrams(b)
    if not left or not right:
        return 0.0
    return round(2 * len(left & right) / (len(left) + len(right)), 4)


@dataclass(frozen=True)
class Suggestion:
    case: Case
    reason: str  # a key of REASONS
    similarity: float

    @property
    def reason_label(self) -> str:
        return str(REASONS[self.reason])


def suggestions(user: Any, case: Case, *, limit: int = 10) -> list[Suggestion]:
    """Earlier cases, visible to ``user`` and inside the window, of the same petitioner, household
    or place, most similar first."""
    people = list(case.petitioners.values_list("pk", "household_id"))
    person_ids = [pk for pk, _household in people]
    household_ids = [household for _pk, household in people if household is not None]
    same = Q(pk__in=[])
    if person_ids:
        same |= Q(petitioners__in=person_ids)
    if household_ids:
        same |= Q(petitioners__household__in=household_ids)
    if case.address:
        same |= Q(address=case.address)
    if case.lat is not None and case.lon is not None:
        same |= Q(lat__range=(case.lat - NEAR, case.lat + NEAR), lon__range=(case.lon - NEAR, case.lon + NEAR))
    candidate_ids = (
        queries.cases_visible_to(user)
        .filter(same, received_at__gte=case.received_at - WINDOW, received_at__lte=case.received_at)
        .exclude(pk=case.pk)
        .order_by("-received_at")
        .values_list("pk", flat=True)
        .distinct()[:CANDIDATES]
    )
    candidates = (
        Case.objects.filter(pk__in=list(candidate_ids)).select_related("category").prefetch_related("petitioners")
    )
    found = []
    for other in candidates:
        theirs = {(p.pk, p.household_id) for p in other.petitioners.all()}
        score = similarity(case.text, other.text)
        if any(pk in person_ids for pk, _h in theirs):
            reason = "person"
        elif any(h is not None and h in household_ids for _pk, h in theirs):
            reason = "household"
        elif score >= PLACE_THRESHOLD:
            reason = "place"
        else:
            continue
        found.append(Suggestion(case=other, reason=reason, similarity=score))
    found.sort(key=lambda s: (s.similarity, s.case.received_at), reverse=True)
    return found[:limit]


def rereviewed_matter(
    *,
    text: str,
    people: Iterable[Any] = (),
    contact_name: str = "",
    contact_phone: str = "",
    address: str = "",
    lat: float | None = None,
    lon: float | None = None,
) -> tuple[Review, float] | None:
    """The answered re-review (复核) of an earlier petition of the same petitioner on the same
    matter as this new one, with the texts' similarity, or None. Not scoped to a user and not
    limited in time: Article 36 binds every office, for good.

    "The same petitioner" is what the suggestions call person or household (the registry), or,
    for a petitioner not in the registry, the same name with the same phone or at the same place.
    A place alone is not enough: a neighbour raising the matter is another petitioner, whom the
    article does not bar."""
    pairs = [(person.pk, person.household_id) for person in people]
    same = Q(pk__in=[])
    if pairs:
        same |= Q(case__petitioners__in=[pk for pk, _household in pairs])
        households = [household for _pk, household in pairs if household is not None]
        if households:
            same |= Q(case__petitioners__household__in=households)
    name, phone, address = contact_name.strip(), contact_phone.strip(), address.strip()
    if name:
        where = Q(pk__in=[])
        if phone:
            where |= Q(case__contact_phone=phone)
        if address:
            where |= Q(case__address=address)
        if lat is not None and lon is not None:
            where |= Q(case__lat__range=(lat - NEAR, lat + NEAR), case__lon__range=(lon - NEAR, lon + NEAR))
        same |= Q(case__contact_name=name) & where
    rereviews = (
        Review.objects.filter(same, level=Review.Level.REREVIEW, answered_at__isnull=False, case__kind=Kind.PETITION)
        .select_related("case")
        .distinct()
        .order_by("-answered_at")[:CANDIDATES]
    )
    scored = [(review, similarity(text, review.case.text)) for review in rereviews]
    found = [(review, score) for review, score in scored if score >= SAME_MATTER]
    return max(found, key=lambda pair: pair[1], default=None)


def _require_decider(by: Any) -> None:
    if not policy.can_decide_cases(by):
        raise PermissionDenied


@transaction.atomic
def repeat_mark(*, case: Case, earlier: Case, by: Any, note: str = "", now: dt.datetime | None = None) -> RepeatMark:
    """Mark ``case`` as a repeat of ``earlier`` (both loaded through the user's scope)."""
    _require_decider(by)
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    if earlier.pk == case.pk or earlier.received_at > case.received_at:
        raise ValidationError(_("只能标记为此前案件的重复访"))
    if case.received_at - earlier.received_at > WINDOW:
        raise ValidationError(_("前次案件登记已超过 %(days)d 天，不在重复访认定期限内") % {"days": WINDOW.days})
    if RepeatMark.objects.filter(case=case).exists():
        raise ValidationError(_("该案件已标记为重复访"))
    mark = RepeatMark.objects.create(
        case=case,
        earlier=earlier,
        by=by,
        at=now,
        note=note.strip()[:200],
        similarity=similarity(case.text, earlier.text),
    )
    # A timeline step like every other action: the case page shows it, and the statistics'
    # incremental refresh (which reads new steps) recounts the case's month.
    Step.objects.create(
        case=case,
        kind=Step.Kind.REPEAT,
        by=by,
        at=now,
        note=mark.note,
        data={"earlier": earlier.pk, "earlier_number": earlier.number, "similarity": mark.similarity},
    )
    audit(
        actor=by,
        action=Action.UPDATE,
        obj=case,
        summary=_("案件 %(number)s 标记为 %(earlier)s 的重复访") % {"number": case.number, "earlier": earlier.number},
        detail={"repeat_of": earlier.pk, "similarity": mark.similarity},
    )
    return mark


@transaction.atomic
def cross_level_mark(
    *, case: Case, by: Any, level: str, note: str = "", now: dt.datetime | None = None
) -> CrossLevelMark:
    """Record that the petitioner took the matter to a higher level (越级访)."""
    _require_decider(by)
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not case.is_petition:
        raise ValidationError(_("只有信访可以标记越级访"))
    if level not in CrossLevelMark.Level.values:
        raise ValidationError(_("请选择越级到哪一级"))
    if CrossLevelMark.objects.filter(case=case).exists():
        raise ValidationError(_("该案件已标记为越级访"))
    mark = CrossLevelMark.objects.create(case=case, level=level, by=by, at=now, note=note.strip()[:200])
    Step.objects.create(case=case, kind=Step.Kind.CROSS_LEVEL, by=by, at=now, note=mark.note, data={"level": level})
    audit(
        actor=by,
        action=Action.UPDATE,
        obj=case,
        summary=_("案件 %(number)s 标记为越级访（%(level)s）")
        % {"number": case.number, "level": mark.get_level_display()},
        detail={"cross_level": level},
    )
    return mark
