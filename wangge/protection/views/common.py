"""What the protection pages share: the acting user, form errors from an action, the managed
enrolment of a URL, and responses that must not be cached."""

from __future__ import annotations

import mimetypes
from typing import Any

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse

from wangge.protection import queries
from wangge.protection.models import Enrolment


def acting_user(request: HttpRequest) -> Any:
    return request.user


def add_errors(form: Any, exc: ValidationError) -> None:
    """An action's refusal shown on the form that asked for it."""
    for message in exc.messages:
        form.add_error(None, message)


def managed_enrolment(request: HttpRequest, pk: int) -> Enrolment:
    """The enrolment of the URL, for those who may change it; 404 for everyone else."""
    user = acting_user(request)
    enrolment = queries.get_enrolment(user, pk)
    if not queries.can_manage(user, enrolment):
        raise Http404
    return enrolment


def file_response(field: Any) -> FileResponse:
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    content_type = mimetypes.guess_type(field.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


def no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response
