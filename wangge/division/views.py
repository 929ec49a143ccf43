"""Grid division in the app: preview a division or rebalance on the map, apply it, staff new grids.

A community's preview is computed in the request (well under a second); a street's or the
district's is queued for the worker (``division.tasks``), whose task page shows the progress and
links back to the preview drawn from its result. Applying recomputes the same deterministic
proposal, so no half-applied state is kept between the two steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from wangge.accounts import policy
from wangge.accounts.models import Role, User
from wangge.areas import actions as areas_actions
from wangge.areas.gridding import GriddingError
from wangge.areas.models import Area
from wangge.areas.queries import areas_within, get_area
from wangge.core import confirm
from wangge.core.models import Task
from wangge.core.tasks import task_enqueue
from wangge.division import actions
from wangge.division import tasks as division_tasks
from wangge.division.proposal import MODES, Proposal, communities_of, grid_pk, moved_to, propose


def _area_for(request: HttpRequest, pk: int, allowed: Callable[[Any], bool]) -> Area:
    user: Any = request.user
    if not allowed(user):
        raise Http404
    area = get_area(user, pk)
    # Being able to see an ancestor for breadcrumbs is not responsibility for it.
    if not areas_within(user).filter(pk=area.pk).exists() or area.level == Area.Level.GRID:
        raise Http404
    return area


def _proposal(request: HttpRequest, area: Area) -> Proposal:
    data = request.POST if request.method == "POST" else request.GET
    mode = data.get("mode", "rebalance")
    if mode not in MODES:
        mode = "rebalance"
    district = area if area.level == Area.Level.DISTRICT else area.district
    target = district.target_households if district else 300
    return propose(communities=communities_of(area), mode=mode, target=target)


def _current_geojson(area: Area) -> dict[str, Any]:
    grids = Area.objects.filter(level=Area.Level.GRID).exclude(boundary=None)
    grids = grids.filter(community=area) if area.level == Area.Level.COMMUNITY else grids.filter(**{area.level: area})
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": g.boundary, "properties": {"name": g.name}}
            for g in grids.only("name", "boundary")
        ],
    }


@dataclass
class _Stored:
    """A preview read back from the worker's result: what the template asks of a Proposal."""

    mode: str
    target: int
    unlocated: int
    new_grids: list[None]


def _mode(request: HttpRequest) -> str:
    mode = request.GET.get("mode", "rebalance")
    return mode if mode in MODES else "rebalance"


def _queued_preview(request: HttpRequest, area: Area) -> HttpResponse:
    """The street's or district's preview: the worker's result if asked for, else queue it."""
    user: Any = request.user
    mode = _mode(request)
    mine = Task.objects.filter(kind=division_tasks.KIND, created_by=user, args__area=area.pk, args__mode=mode)
    task_id = request.GET.get("task", "")
    task = mine.filter(pk=int(task_id), status=Task.Status.DONE).first() if task_id.isdigit() else None
    stored = (task.result or {}).get("preview") if task else None
    if stored is None:
        pending = mine.filter(status__in=[Task.Status.QUEUED, Task.Status.RUNNING]).order_by("-pk").first()
        if pending is None:
            district = area if area.level == Area.Level.DISTRICT else area.district
            target = district.target_households if district else 300
            pending = task_enqueue(
                kind=division_tasks.KIND, args={"area": area.pk, "mode": mode, "target": target}, by=user
            )
        return redirect("core:task", pk=pending.pk)
    if stored["unusable"]:
        messages.warning(
            request,
            _("以下社区的边界无法修复，预览按楼栋位置画出网格：%(names)s") % {"names": "、".join(stored["unusable"])},
        )
    return render(
        request,
        "division/division.html",
        {
            "area": area,
            "proposal": _Stored(stored["mode"], stored["target"], stored["unlocated"], [None] * stored["new_grids"]),
            "figures": stored["figures"],
            "proposed_geojson": stored["geojson"],
            "current_geojson": _current_geojson(area),
            "can_apply": policy.can_apply_division(user),
            "can_set_target": policy.can_set_grid_target(user),
            "district": area if area.level == Area.Level.DISTRICT else area.district,
        },
    )


@login_required
def preview(request: HttpRequest, pk: int) -> HttpResponse:
    area = _area_for(request, pk, policy.can_preview_division)
    if area.level != Area.Level.COMMUNITY:
        return _queued_preview(request, area)
    user: Any = request.user
    try:
        proposal = _proposal(request, area)
    except GriddingError as exc:
        messages.error(request, _("无法划分网格：%(reason)s") % {"reason": exc})
        return redirect("registry:area", pk=area.pk)
    proposed_geojson = proposal.geojson()
    if proposal.unusable_boundaries:
        messages.warning(
            request,
            _("以下社区的边界无法修复，预览按楼栋位置画出网格：%(names)s")
            % {"names": "、".join(str(c.name) for c in proposal.unusable_boundaries)},
        )
    return render(
        request,
        "division/division.html",
        {
            "area": area,
            "proposal": proposal,
            "figures": proposal.figures,
            "proposed_geojson": proposed_geojson,
            "current_geojson": _current_geojson(area),
            "can_apply": policy.can_apply_division(user),
            "why_not_apply": policy.why_not_apply_division(user),
            "can_set_target": policy.can_set_grid_target(user),
            "district": area if area.level == Area.Level.DISTRICT else area.district,
        },
    )


def apply_consequences(proposal: Proposal) -> list[str]:
    """What applying the proposal does, in the words the confirmation page shows: how many
    households move to which grid, which grids are created and removed."""
    moves = moved_to(proposal.current, proposal.division.assignment)
    kept = {g.pk: g for g in Area.objects.filter(pk__in=proposal.kept_grids)}
    current = Area.objects.filter(level=Area.Level.GRID, community__in=proposal.communities)
    removed = [g.name for g in current.exclude(pk__in=list(kept)).order_by("name")]
    lines: list[str] = []
    total = sum(moves.values())
    if total:
        places = []
        for gid, n in sorted(moves.items(), key=lambda item: (-item[1], item[0])):
            grid = kept.get(grid_pk(gid) or 0)
            name = grid.name if grid is not None else _("新网格")
            places.append(_("%(grid)s %(n)d 户") % {"grid": name, "n": n})
        lines.append(
            ngettext("%(n)d 户调整到其他网格：%(places)s", "%(n)d 户调整到其他网格：%(places)s", total)
            % {"n": total, "places": "、".join(places)}
        )
    else:
        lines.append(_("没有住户需要调整网格"))
    if proposal.new_grids:
        lines.append(_("新建 %(n)d 个网格，需要分配网格员") % {"n": len(proposal.new_grids)})
    if removed:
        lines.append(
            _("撤销 %(n)d 个网格：%(names)s；其网格员需要重新分配") % {"n": len(removed), "names": "、".join(removed)}
        )
    lines.append(_("居民、楼栋和防走失登记随住户一起调整，网格统计随之改变"))
    return lines


@login_required
@require_POST
def apply(request: HttpRequest, pk: int) -> HttpResponse:
    area = _area_for(request, pk, policy.can_apply_division)
    proposal = _proposal(request, area)
    if not confirm.confirmed(request):
        return confirm.ask(
            request,
            title=_("确认按此方案调整 %(area)s 的网格？") % {"area": area.name},
            consequences=apply_consequences(proposal),
            button=_("确认调整网格"),
            cancel_url=reverse("division:preview", args=[area.pk]) + f"?mode={proposal.mode}",
        )
    result = actions.grids_apply(by=request.user, proposal=proposal)
    messages.success(
        request,
        _("已调整网格：新建 %(created)d 个，撤销 %(removed)d 个，移动 %(moved)d 户。")
        % {
            "created": len(result["created"]),
            "removed": len(result["removed"]),
            "moved": result["figures"].get("moved_households", 0),
        },
    )
    if result["unassigned_workers"]:
        messages.warning(
            request, _("以下网格员需要重新分配网格：%(names)s") % {"names": "、".join(result["unassigned_workers"])}
        )
    return redirect("division:staffing", pk=area.pk)


@login_required
def staffing(request: HttpRequest, pk: int) -> HttpResponse:
    """Grids without a worker, and the workers of this area without a grid."""
    area = _area_for(request, pk, policy.can_apply_division)
    grids = Area.objects.filter(level=Area.Level.GRID)
    grids = grids.filter(community=area) if area.level == Area.Level.COMMUNITY else grids.filter(**{area.level: area})
    unstaffed = grids.exclude(assignments__user__role=Role.GRID_WORKER).order_by("community__name", "name")
    workers = User.objects.filter(role=Role.GRID_WORKER, is_active=True).exclude(assignments__area__level="grid")
    if request.method == "POST":
        try:
            grid = unstaffed.get(pk=request.POST.get("grid", ""))
            worker = workers.get(pk=request.POST.get("worker", ""))
        except (Area.DoesNotExist, User.DoesNotExist, ValueError):
            messages.error(request, _("请选择一个网格和一名网格员。"))
        else:
            try:
                areas_actions.grid_worker_assign(by=request.user, grid=grid, worker=worker)
            except ValidationError as exc:
                messages.error(request, "；".join(exc.messages))
            else:
                messages.success(request, _("已分配 %(worker)s 到 %(grid)s") % {"worker": worker, "grid": grid})
        return redirect("division:staffing", pk=area.pk)
    return render(request, "division/staffing.html", {"area": area, "unstaffed": unstaffed, "workers": workers})


@login_required
@require_POST
def target(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    district = _area_for(request, pk, policy.can_set_grid_target)
    try:
        value = int(request.POST.get("target", ""))
        areas_actions.district_target_set(by=user, district=district, target=value)
    except ValueError:
        messages.error(request, _("目标户数必须是整数。"))
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("网格目标户数已设为 %(n)d 户。") % {"n": value})
    return redirect("division:preview", pk=district.pk)
