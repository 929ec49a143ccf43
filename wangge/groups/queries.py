"""Every read of the special-group registers: by the register's policy, in the user's areas,
and audited with its purpose.

A register the user's role may not see does not exist for them: its listings are a 404, its
people are absent from lists and counts. Each read writes one audit entry naming the purpose
(``Purpose``) in the caller's transaction, so nothing is shown when it cannot be logged. The
worklist reads due follow-ups through ``listings_due`` like any other caller.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts import policy
from wangge.core.audit import Action, audit
from wangge.core.scope import area_filter
from wangge.groups.models import FollowUp, Listing, Register


class Purpose(models.TextChoices):
    FOLLOW_UP = "follow_up", gettext_lazy("随访帮教")
    WORKLIST = "worklist", gettext_lazy("工作清单")
    CHECK = "check", gettext_lazy("核查信息")
    REPORT = "report", gettext_lazy("统计上报")
    REGISTER = "register", gettext_lazy("登记列管")


def registers_visible_to(user: Any) -> list[Register]:
    return [register for register in Register.objects.all() if policy.can_see_register(user, register)]


def get_register(user: Any, code: str) -> Register:
    """A register the user's role may see; any other (or none by that code) is a 404."""
    register = Register.objects.filter(code=code).first()
    if register is None or not policy.can_see_register(user, register):
        raise Http404
    return register


def _listings(user: Any, registers: list[Register] | None = None) -> QuerySet[Listing]:
    visible = registers_visible_to(user) if registers is None else registers
    codes = [r.code for r in visible if policy.can_see_register(user, r)]
    if not codes or policy.sees_only_wards(user):
        return Listing.objects.none()
    return Listing.objects.filter(area_filter(user), register_id__in=codes)


def _purpose(purpose: str) -> str:
    if purpose not in Purpose.values:
        raise ValueError(f"unknown purpose {purpose!r}: reads of the registers must say why")
    return str(Purpose(purpose).label)


def _audit_read(user: Any, listings: list[Listing], *, purpose: str, what: str) -> None:
    label = _purpose(purpose)
    audit(
        actor=user,
        action=Action.VIEW,
        object_type="groups.listing",
        object_id=str(listings[0].pk) if len(listings) == 1 else "",
        summary=_("查看列管对象（%(what)s），用途：%(purpose)s") % {"what": what, "purpose": label},
        detail={"purpose": purpose, "listings": [listing.pk for listing in listings[:500]], "count": len(listings)},
    )


def listings_for(
    user: Any,
    *,
    purpose: str,
    register: str | None = None,
    current: bool = True,
    ended: bool = False,
    limit: int = 500,
) -> list[Listing]:
    """Listings the user may see (of one register, or all they may see), audited as one read;
    ``current``: only those still on it; ``ended``: only those taken off."""
    _purpose(purpose)
    listings = _listings(user).select_related("resident", "register", "responsible")
    if register is not None:
        listings = listings.filter(register_id=register)
    if current:
        listings = listings.filter(ended__isnull=True)
    if ended:
        listings = listings.filter(ended__isnull=False).order_by("-ended", "id")
    else:
        listings = listings.order_by("next_follow_up", "id")
    found = list(listings[:limit])
    _audit_read(user, found, purpose=purpose, what=register or _("全部名册"))
    return found


def listings_export(user: Any, *, register: Register, purpose: str) -> list[Listing]:
    """The current listings of ``register`` in the user's areas, for an export: audited as one
    export with its purpose and row count before anything is returned. A 404 for a role that may
    not export the register."""
    label = _purpose(purpose)
    if not policy.can_export_register(user, register):
        raise Http404
    found = list(
        _listings(user, [register])
        .filter(register=register, ended__isnull=True)
        .select_related("resident", "register", "responsible", "street", "community", "grid")
        .order_by("street_id", "community_id", "grid_id", "start", "id")
    )
    audit(
        actor=user,
        action=Action.EXPORT,
        object_type="groups.listing",
        summary=_("导出%(register)s %(count)d 人，用途：%(purpose)s")
        % {"register": register.name, "count": len(found), "purpose": label},
        detail={"purpose": purpose, "register": register.code, "count": len(found), "format": "xlsx"},
    )
    return found


def listings_due(
    user: Any,
    *,
    on: dt.date,
    purpose: str = Purpose.WORKLIST,
    within_days: int = 0,
    registers: list[Register] | None = None,
) -> list[Listing]:
    """Current listings whose next follow-up is on or before ``on + within_days``: what the
    worklist and the follow-up page ask for. Audited. ``registers``: those the caller already
    read with ``registers_visible_to`` (each is checked against the policy again)."""
    _purpose(purpose)
    found = list(
        _listings(user, registers)
        .filter(ended__isnull=True, next_follow_up__lte=on + dt.timedelta(days=within_days))
        .select_related("resident", "register", "responsible")
        .order_by("next_follow_up", "id")
    )
    _audit_read(user, found, purpose=purpose, what=_("到期随访"))
    return found


def get_listing(user: Any, pk: Any, *, purpose: str) -> Listing:
    """One listing, audited; a 404 when out of the user's areas or on a register they may not see."""
    _purpose(purpose)
    try:
        listing = _listings(user).select_related("resident", "register", "responsible").get(pk=pk)
    except (Listing.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    _audit_read(user, [listing], purpose=purpose, what=listing.register.name)
    return listing


def follow_ups_of(listing: Listing) -> QuerySet[FollowUp]:
    """The follow-ups of a listing the caller has just read through ``get_listing``."""
    return listing.follow_ups.select_related("by")


def counts(user: Any, *, on: dt.date) -> dict[str, dict[str, int]]:
    """Current listings and those due, per register the user may see, in their areas (no names,
    so not audited). A register the user may not see is absent, not zero."""
    rows = (
        _listings(user)
        .filter(ended__isnull=True)
        .values("register_id")
        .annotate(listed=Count("id"), due=Count("id", filter=Q(next_follow_up__lte=on)))
    )
    return {str(row["register_id"]): {"listed": row["listed"], "due": row["due"]} for row in rows}
