"""The division preview of a street or the district, computed by the worker, not in the request.

A district's preview runs the engine over every building and draws every grid (seconds at
520,000 residents); the page queues this task, the task page shows its progress, and its result
(figures and the proposed polygons) is what the preview page then shows.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from wangge.areas.gridding import GriddingError
from wangge.areas.models import Area
from wangge.core.tasks import TaskContext, task_handler
from wangge.division.proposal import communities_of, propose

KIND = "division.preview"


@task_handler(KIND)
def preview_task(context: TaskContext) -> dict[str, Any]:
    args = context.args
    area = Area.objects.get(pk=args["area"])
    context.progress(5, _("正在读取楼栋和住户"))
    try:
        proposal = propose(communities=communities_of(area), mode=args["mode"], target=args["target"])
    except GriddingError as exc:
        return {"label": _("无法划分网格"), "error": str(exc)}
    context.progress(60, _("正在绘制建议网格"))
    geojson = proposal.geojson()
    context.progress(95, _("即将完成"))
    return {
        "url": f"{reverse('division:preview', args=[area.pk])}?mode={args['mode']}&task={context.task.pk}",
        "label": _("查看划分预览"),
        "preview": {
            "mode": proposal.mode,
            "target": proposal.target,
            "figures": proposal.figures,
            "unlocated": proposal.unlocated,
            "new_grids": len(proposal.new_grids),
            "unusable": [str(c.name) for c in proposal.unusable_boundaries],
            "geojson": geojson,
        },
    }
