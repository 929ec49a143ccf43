"""A case's possible repeats (earlier cases of the same person, household or place, most similar
first) and its repeat and cross-level marks. Thin: the work is in ``wangge.cases.repeats``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.cases import queries, repeats
from wangge.cases.models import CrossLevelMark, RepeatMark


@login_required
def repeats_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    if not policy.can_view_cases(user):
        raise Http404
    case = queries.get_case(user, pk)
    errors: list[str] = []
    if request.method == "POST":
        try:
            if request.POST.get("what") == "repeat":
                earlier = queries.get_case(user, request.POST.get("earlier"))
                repeats.repeat_mark(case=case, earlier=earlier, by=user, note=request.POST.get("note", ""))
                messages.success(request, _("已标记为重复访"))
            elif request.POST.get("what") == "cross_level":
                repeats.cross_level_mark(
                    case=case, by=user, level=request.POST.get("level", ""), note=request.POST.get("note", "")
                )
                messages.success(request, _("已标记为越级访"))
            else:
                raise Http404
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            errors = exc.messages
        else:
            return redirect("cases:repeats", pk=case.pk)
    with transaction.atomic():
        queries.case_read(user, case)
        context = {
            "case": case,
            "suggestions": repeats.suggestions(user, case),
            "repeat": RepeatMark.objects.filter(case=case).select_related("earlier").first(),
            "cross_level": CrossLevelMark.objects.filter(case=case).first(),
            "levels": CrossLevelMark.Level.choices,
            "can_mark": policy.can_decide_cases(user),
            "errors": errors,
            "window_days": repeats.WINDOW.days,
        }
        return render(request, "cases/repeats.html", context, status=400 if errors else 200)
