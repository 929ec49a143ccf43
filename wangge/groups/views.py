"""Pages of the special-group registers: the follow-ups due, a register's entries, one listed
person with the forms to record a follow-up and to end the listing. Every read goes through
``wangge.groups.queries`` with its purpose; every write through ``wangge.groups.actions``."""

from __future__ import annotations

from collections.abc import Callable
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
from wangge.groups import actions, codes, queries
from wangge.groups.models import Listing
from wangge.registry.room_views import DateInput

DUE_WITHIN_DAYS = 7


class EndForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("解除日期"), widget=DateInput())
    reason = forms.CharField(label=gettext_lazy("解除原因"), max_length=200)

    prefix = "end"  # the listing page holds the follow-up form too

    def __init__(self, *args: Any, reasons: tuple[Any, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Suggestions for the reason (a datalist), any other may be written.
        self.fields["reason"].widget.attrs["list"] = "end-reasons"
        self.reasons = [str(reason) for reason in reasons]


def _end_form(listing: Listing, data: Any = None, today: Any = None) -> EndForm:
    reasons = codes.END_REASONS.get(listing.register_id, codes.DEFAULT_END_REASONS)
    return EndForm(data, reasons=reasons, initial={"date": today})


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


def _listing_page(
    request: HttpRequest, listing: Listing, status: int = 200, form: Any = None, end_form: Any = None
) -> HttpResponse:
    user: Any = request.user
    today = timezone.localdate()
    context = {
        "listing": listing,
        "follow_ups": list(queries.follow_ups_of(listing)[:50]),
        "can_edit": policy.can_edit_register(user, listing.register) and listing.ended is None,
        "form": form or FollowUpForm(initial={"date": today}),
        "end_form": end_form or _end_form(listing, today=today),
        "overdue": listing.next_follow_up < today,
        "period_over": listing.ended is None and listing.period_end is not None and listing.period_end < today,
    }
    return render(request, "groups/listing.html", context, status=status)


@login_required
def listing(request: HttpRequest, pk: int) -> HttpResponse:
    with transaction.atomic():
        found = queries.get_listing(request.user, pk, purpose=queries.Purpose.FOLLOW_UP)
        return _listing_page(request, found)


def _post_on_listing(
    request: HttpRequest,
    pk: int,
    *,
    form_for: Callable[[Listing], forms.Form],
    act: Callable[..., Any],
    done: str,
    then: Callable[[Listing], HttpResponse],
    form_name: str,
) -> HttpResponse:
    """A form posted on a listing's page, for an editor of its register: the action on success,
    else the page again with the form's errors (400)."""
    user: Any = request.user
    with transaction.atomic():
        found = queries.get_listing(user, pk, purpose=queries.Purpose.FOLLOW_UP)
        if not policy.can_edit_register(user, found.register):
            raise Http404
        form = form_for(found)
        if form.is_valid():
            try:
                act(by=user, listing=found, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, done)
                return then(found)
        return _listing_page(request, found, status=400, **{form_name: form})


@login_required
@require_POST
def follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_on_listing(
        request,
        pk,
        form_for=lambda listing: FollowUpForm(request.POST),
        act=actions.follow_up_record,
        done=_("已记录随访"),
        then=lambda listing: redirect("groups:listing", pk=listing.pk),
        form_name="form",
    )


@login_required
@require_POST
def end(request: HttpRequest, pk: int) -> HttpResponse:
    """Take the person off the register (解除列管): the period is over, they moved away, died."""
    return _post_on_listing(
        request,
        pk,
        form_for=lambda listing: _end_form(listing, request.POST),
        act=actions.listing_end,
        done=_("已将其解除列管"),
        then=lambda listing: redirect("groups:register", code=listing.register_id),
        form_name="end_form",
    )


@login_required
def register(request: HttpRequest, code: str) -> HttpResponse:
    """A register's entries in the user's areas: current ones, or (``?ended=1``) those taken off."""
    user: Any = request.user
    found = queries.get_register(user, code)
    ended = request.GET.get("ended") == "1"
    today = timezone.localdate()
    with transaction.atomic():  # nothing shown unless the read is in the audit log
        listings = queries.listings_for(
            user, purpose=queries.Purpose.CHECK, register=found.code, current=not ended, ended=ended
        )
    context = {
        "register": found,
        "listings": listings,
        "ended": ended,
        "today": today,
        "can_export": policy.can_export_register(user, found),
        "can_import": policy.can_import_register(user, found),
        "purposes": [(p.value, p.label) for p in (queries.Purpose.REPORT, queries.Purpose.CHECK)],
    }
    return render(request, "groups/register.html", context)
