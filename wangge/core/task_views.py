"""The page of one background task: its creator watches the progress and reads the result."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from wangge.core.models import Task


@login_required
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # Only its creator sees a task; anyone else gets the same 404 as for a task that does not exist.
    task = get_object_or_404(Task, pk=pk, created_by=request.user)
    template = "core/_task_status.html" if request.headers.get("HX-Request") == "true" else "core/task.html"
    return render(request, template, {"task": task})
