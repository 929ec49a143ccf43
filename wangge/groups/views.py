"""Pages of the special-group registers: the follow-ups due, one listed person with the form to
record a follow-up. Every read goes through ``wangge.groups.queries`` with its purpose."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wangge.accounts import policy
from wangge.groups import actions, queries
from wangge.groups.models import Listing
from wangge.registry.room_views import DateInput

DUE_WITHIN_DAYS = 7


class FollowUpForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("随访日期"), widget=DateInput())
    finding = forms.CharField(label=gettext_lazy("随访情况"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    next_date = forms.DateField(label=gettext_lazy("下次随访日期"), widget=DateInput(), required=False)


@login_required
def due(request: HttpRequest) -> HttpResponse:
    """Listed people in the user's areas whose follow-up is due within a week, on the registers
    their role may see; the counts per register beside them."""
    user: Any = request.user
    registers = queries.registers_visible_to(user)
    if not registers:
        raise Http404
    today = timezone.localdate()
    with transaction.atomic():  # nothing shown unless the read is in the audit log
        listings = queries.listings_due(user, on=today, purpose=queries.Purpose.FOLLOW_UP, within_days=DUE_WITHIN_DAYS)
    counts = queries.counts(user, on=today)
    context = {
        "listings": listings,
        "today": today,
        "registers": [(r, counts.get(r.code, {"listed": 0, "due": 0})) for r in registers],
        "within": DUE_WITHIN_DAYS,
    }
    return render(request, "groups/due.html", context)


def _listing_page(request: HttpRequest, listing: Listing, status: int = 200, form: Any = None) -> HttpResponse:
    user: Any = request.user
    today = timezone.localdate()
    context = {
        "listing": listing,
        "follow_ups": list(queries.follow_ups_of(listing)[:50]),
        "can_edit": policy.can_edit_register(user, listing.register) and listing.ended is None,
        "form": form or FollowUpForm(initial={"date": today}),
        "overdue": listing.next_follow_up < today,
    }
    return render(request, "groups/listing.html", context, status=status)


@login_required
def listing(request: HttpRequest, pk: int) -> HttpResponse:
    with transaction.atomic():
        found = queries.get_listing(request.user, pk, purpose=queries.Purpose.FOLLOW_UP)
        return _listing_page(request, found)


@login_required
@require_POST
def follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    with transaction.atomic():
        found = queries.get_listing(user, pk, purpose=queries.Purpose.FOLLOW_UP)
        if not policy.can_edit_register(user, found.register):
            raise Http404
        form = FollowUpForm(request.POST)
        if form.is_valid():
            try:
                actions.follow_up_record(by=user, listing=found, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("已记录随访"))
                return redirect("groups:listing", pk=found.pk)
        return _listing_page(request, found, status=400, form=form)
