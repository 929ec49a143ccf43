"""Writes to the area tree: a district's grid target, a grid worker's grid (a division: ``wangge.division``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.accounts.models import AreaAssignment, User
from wangge.areas.models import Area
from wangge.core.audit import Action, audit


def district_target_set(*, by: Any, district: Area, target: int) -> Area:
    if district.level != Area.Level.DISTRICT:
        raise ValidationError({"target": _("只有区可以设置网格目标户数")})
    if not 50 <= target <= 2000:
        raise ValidationError({"target": _("目标户数应在 50 到 2000 之间")})
    with transaction.atomic():
        before = district.target_households
        district.target_households = target
        district.save(update_fields=["target_households", "updated_at"])
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=district,
            summary=_("网格目标户数由 %(a)d 改为 %(b)d") % {"a": before, "b": target},
        )
    return district


def grid_worker_assign(*, by: Any, grid: Area, worker: User) -> AreaAssignment:
    if grid.level != Area.Level.GRID:
        raise ValidationError({"grid": _("只能把网格员分配到网格")})
    if not policy.is_grid_worker(worker):
        raise ValidationError({"worker": _("该账号不是网格员")})
    with transaction.atomic():
        assignment, _created = AreaAssignment.objects.get_or_create(user=worker, area=grid)
        audit(
            actor=by,
            action=Action.UPDATE,
            obj=grid,
            summary=_("分配网格员 %(worker)s 到 %(grid)s") % {"worker": worker, "grid": grid},
        )
    return assignment
