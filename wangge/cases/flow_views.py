"""The case pages of issue 11's field intake and follow-up: the phone intake with photos,
location and several petitioners; photos served only within the case's scope; reviews, escorted
visits and satisfaction links on the case page; and the petitioner's own rating page
(``/s/<token>/``, the only page here without a login). Thin: parse, call, render."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wangge.accounts import policy
from wangge.cases import actions, photos, queries, views
from wangge.cases.forms import (
    EscortRecordForm,
    EscortScheduleForm,
    PhoneIntakeForm,
    PlaceForm,
    PublicReplyForm,
    RateForm,
    ReviewAnswerForm,
    ReviewRequestForm,
    SatisfactionLinkForm,
)
from wangge.cases.models import PUBLIC_CHANNELS, Case, Review
from wangge.registry.queries import get_resident
from wangge.registry.search import search_residents

MAX_PETITIONERS = 20

# name → (form, button label)
FLOW_FORMS: dict[str, tuple[Any, Any]] = {
    "review_request": (ReviewRequestForm, gettext_lazy("登记复查（复核）申请")),
    "review_answer": (ReviewAnswerForm, gettext_lazy("登记复查（复核）意见")),
    "escort_schedule": (EscortScheduleForm, gettext_lazy("安排领导领访")),
    "escort_record": (EscortRecordForm, gettext_lazy("登记领导领访")),
    "satisfaction_link": (SatisfactionLinkForm, gettext_lazy("满意度评价二维码")),
    "public_reply": (PublicReplyForm, gettext_lazy("公开答复报事人")),
}


# The phone intake ------------------------------------------------------------------------


def _picked(request: HttpRequest) -> list[Any]:
    """The residents picked so far (``resident`` repeated in the query or the form); each one
    loaded through the registry's scoped read, so one out of scope is a 404."""
    raw = request.POST.getlist("resident") + request.GET.getlist("resident")
    seen: list[Any] = []
    for value in raw[:MAX_PETITIONERS]:
        resident = get_resident(request.user, value)
        if all(resident.pk != other.pk for other in seen):
            seen.append(resident)
    return seen


def _with(picked: list[Any], *extra: Any, without: Any = None) -> str:
    ids = [p.pk for p in picked if p.pk != without] + [e for e in extra if e not in {p.pk for p in picked}]
    return "?" + urlencode([("resident", pk) for pk in ids]) if ids else "?"


@login_required
def field_intake(request: HttpRequest) -> HttpResponse:
    """A grid worker on the phone: tap the search box and a resident (as often as there are
    petitioners), then category, text and photo; the position comes from the phone."""
    user = request.user
    if not policy.can_take_cases(user):
        raise Http404
    picked = _picked(request)
    form = PhoneIntakeForm(request.POST or None, areas=views._intake_areas(user))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = actions.case_receive(
                    by=user,
                    category=data["category"],
                    text=data["text"],
                    channel=Case.Channel.FIELD,
                    petitioners=picked,
                    collective_count=max(data["collective_count"] or 1, len(picked)),
                    area=data["area"],
                    lon=data["lon"],
                    lat=data["lat"],
                    address=data["address"],
                    photos=request.FILES.getlist("photos"),
                )
            except ValidationError as exc:
                views._add_errors(form, exc)
            else:
                messages.success(request, _("已上报案件 %(number)s") % {"number": case.number})
                return redirect("cases:detail", pk=case.pk)
    context = picker_context(request, picked) | {
        "form": form,
        "title": _("网格员上报"),
        "max_photos": photos.MAX_PHOTOS,
        "max_mb": photos.MAX_BYTES // (1024 * 1024),
    }
    return render(request, "cases/field.html", context, status=status)


def picker_context(request: HttpRequest, picked: list[Any]) -> dict[str, Any]:
    """The residents picked so far, each with the link that removes it, and the search's hits,
    each with the link that adds it (the desk and the phone page pick alike)."""
    q = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    found = []
    if q and policy.can_search(request.user):
        found = [
            {"resident": r, "add": _with(picked, r.pk)}
            for r in search_residents(user=request.user, q=q, limit=10).residents
            if all(r.pk != p.pk for p in picked)
        ]
    return {
        "q": q,
        "found": found,
        "picked": [{"resident": p, "remove": _with(picked, without=p.pk)} for p in picked],
        "picked_query": _with(picked)[1:],
    }


# Photos ----------------------------------------------------------------------------------


def visit_extras(request: HttpRequest) -> dict[str, Any]:
    """A home visit's optional position (filled in by the page's script) and photos."""
    place = PlaceForm(request.POST)
    if not place.is_valid():
        raise ValidationError(_("经纬度超出范围"))
    return {
        "lon": place.cleaned_data["lon"],
        "lat": place.cleaned_data["lat"],
        "photos": request.FILES.getlist("photos"),
    }


def _photo_response(relative: str) -> FileResponse:
    try:
        handle = open(photos.absolute(relative), "rb")  # noqa: SIM115 (FileResponse closes it)
    except (OSError, ValueError):
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def photo(request: HttpRequest, pk: int, photo_pk: int) -> FileResponse:
    """A case's photo, to those who may read the case; the read is audited like the case's."""
    views._require_cases(request.user)
    with transaction.atomic():
        found = queries.get_photo(request.user, pk, photo_pk)
        queries.case_read(request.user, found.case)
    return _photo_response(found.path)


@login_required
def photo_thumb(request: HttpRequest, pk: int, photo_pk: int) -> FileResponse:
    views._require_cases(request.user)
    return _photo_response(queries.get_photo(request.user, pk, photo_pk).thumb_path)


@login_required
@require_POST
def photos_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    views._require_cases(user)
    case = queries.get_case(user, pk)
    try:
        actions.photos_add(case=case, by=user, photos=request.FILES.getlist("photos"))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("cases:detail", pk=case.pk)
    messages.success(request, _("照片已上传"))
    return redirect("cases:detail", pk=case.pk)


# Reviews, escorted visits, satisfaction links on the case page ------------------------------


def flow_next_steps(user: Any, case: Case, review: Review | None) -> list[str]:
    decide, work = policy.can_decide_cases(user), policy.can_work_cases(user)
    steps = []
    if case.is_petition and case.replied_at is not None and review is None and work and not queries.is_final(case):
        steps.append("review_request")
    if review is not None and decide:
        steps.append("review_answer")
    if case.is_open and decide:
        steps.append("escort_schedule")
    if case.is_open and work and case.escorts.filter(went_on__isnull=True).exists():
        steps.append("escort_record")
    if case.resolution and work and not case.satisfaction and case.status != Case.Status.DECLINED:
        steps.append("satisfaction_link")
    if work and case.channel in PUBLIC_CHANNELS and case.status != Case.Status.DECLINED:
        steps.append("public_reply")
    return steps


def detail_extras(request: HttpRequest, case: Case, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the case page shows of this module: photos, reviews, escorted visits, escalations,
    the review clock, and the forms of the next steps here."""
    review = queries.open_review(case)
    forms = forms or {}
    pending = list(case.escorts.filter(went_on__isnull=True))
    flow_forms = []
    for name in flow_next_steps(request.user, case, review):
        form = forms.get(name)
        if form is None:
            initial = {"escort": pending[0].pk} if name == "escort_record" and pending else None
            form = FLOW_FORMS[name][0](initial=initial)
        flow_forms.append({"name": name, "label": FLOW_FORMS[name][1], "form": form})
    extras: dict[str, Any] = {
        "photos": list(case.photos.all()),
        "reviews": queries.reviews_of(case),
        "escorts": list(case.escorts.all()),
        "escalations": list(case.escalations.order_by("at")),
        "final": queries.is_final(case),
        "flow_forms": flow_forms,
        "can_add_photos": policy.can_work_cases(request.user),
    }
    if review is not None:
        extras["clock"] = queries.clock_of(case, review=review)
    return extras


def _public_site(request: HttpRequest) -> str:
    return settings.WANGGE_PUBLIC_URL or f"{request.scheme}://{request.get_host()}"


def _run(name: str, *, request: HttpRequest, case: Case, data: dict[str, Any]) -> dict[str, Any]:
    user = request.user
    tz = timezone.get_default_timezone()
    if name == "review_request":
        on = data["requested_on"]
        # A date alone (the letter's) counts as its noon: inside the day whatever the hour.
        when = dt.datetime.combine(on, dt.time(12), tzinfo=tz) if on else None
        if when is not None and on == timezone.localdate():
            when = None
        actions.review_request(case=case, by=user, reason=data["reason"], requested_at=when)
    elif name == "review_answer":
        actions.review_answer(case=case, by=user, outcome=data["outcome"], answer=data["answer"])
    elif name == "escort_schedule":
        actions.escort_schedule(case=case, by=user, leader=data["leader"], date=data["date"], note=data["note"])
    elif name == "escort_record":
        escort = queries.get_escort(case, data["escort"])
        actions.escort_record(
            escort=escort, by=user, went_on=data["went_on"], attendees=data["attendees"], outcome=data["outcome"]
        )
    elif name == "satisfaction_link":
        _link, url = actions.satisfaction_link_create(
            case=case, by=user, base_url=_public_site(request), send_sms=data["send_sms"]
        )
        return {"link_url": url, "link_qr": segno.make(url, error="m").svg_inline(scale=4, border=2)}
    elif name == "public_reply":
        actions.public_reply_write(case=case, by=user, text=data["text"])
    return {}


@login_required
@require_POST
def flow_step(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    user = request.user
    views._require_cases(user)
    case = queries.get_case(user, pk)
    if name not in FLOW_FORMS:
        raise Http404
    form = FLOW_FORMS[name][0](request.POST)
    shown: dict[str, Any] = {}
    if form.is_valid():
        try:
            shown = _run(name, request=request, case=case, data=form.cleaned_data)
        except ValidationError as exc:
            views._add_errors(form, exc)
        else:
            if not shown:
                messages.success(request, _("已保存：%(step)s") % {"step": FLOW_FORMS[name][1]})
                return redirect("cases:detail", pk=case.pk)
    with transaction.atomic():
        case = queries.get_case(user, pk)
        queries.case_read(user, case)
        context = views._detail_context(request, case)
        context |= detail_extras(request, case, {} if shown else {name: form})
        context |= shown
        context["failed"] = "" if shown else name
        # The link is shown once, on this answer: only its digest is stored.
        return render(request, "cases/detail.html", context, status=200 if shown else 400)


# The petitioner's rating page --------------------------------------------------------------


def rate(request: HttpRequest, token: str) -> HttpResponse:
    """``/s/<token>/``: the petitioner rates the solution, once; unknown, revoked or expired
    links are 404 and say nothing about the case."""
    link = actions.satisfaction_link_find(token)
    if link is None:
        raise Http404
    case = link.case
    context: dict[str, Any] = {"case": case, "done": link.used_at is not None}
    form = RateForm(request.POST or None)
    if request.method == "POST" and not context["done"]:
        if form.is_valid():
            data = form.cleaned_data
            reviews = case.reviews.count()
            try:
                actions.satisfaction_by_link(
                    token=token, satisfaction=data["satisfaction"], note=data["note"], want_review=data["want_review"]
                )
            except ValidationError as exc:
                views._add_errors(form, exc)
            else:
                asked = data["want_review"] and data["satisfaction"] == Case.Satisfaction.DISSATISFIED
                opened = case.reviews.count() > reviews
                thanks = {"done": True, "thanks": True, "review_opened": opened, "review_refused": asked and not opened}
                return render(request, "cases/rate.html", context | thanks)
        return render(request, "cases/rate.html", context | {"form": form}, status=400)
    return render(request, "cases/rate.html", context | {"form": form})
