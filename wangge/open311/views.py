"""The resident's pages: /report/ (no account; a phone first) and /report/<code>/ to follow it."""

from __future__ import annotations

import io

import segno
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_http_methods
from PIL import Image

from wangge.cases import photos as case_photos
from wangge.cases.models import Case
from wangge.cases.queries import clock_of
from wangge.core.middleware import client_ip
from wangge.open311 import actions, limits, queries
from wangge.open311.forms import RatingForm, ReportForm

PER_ADDRESS_HOUR = 10
PER_PHONE_DAY = 5


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["website"]:
            form.add_error(None, _("提交失败，请稍后再试"))  # a bot: tell it nothing useful
        elif not limits.allow("address", client_ip(request) or "-", limit=PER_ADDRESS_HOUR, seconds=3600):
            form.add_error(None, _("提交过于频繁，请一小时后再试"))
        elif data["phone"] and not limits.allow("phone", data["phone"], limit=PER_PHONE_DAY, seconds=86400):
            form.add_error("phone", _("该手机号今天提交次数过多"))
        else:
            try:
                made = actions.report_submit(
                    category=data["category"],
                    text=data["text"],
                    channel=Case.Channel.WEB,
                    lat=data["lat"],
                    lon=data["lon"],
                    address=data["address"],
                    phone=data["phone"] or "",
                    photos=[data["photo"]] if data["photo"] else [],
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                return redirect("open311-track", code=made.code)
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        "outlines_url": reverse("open311-grids"),
    }
    return render(request, "open311/report.html", context, status=status)


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest, code: str) -> HttpResponse:
    found = queries.report_by_code(code)
    if found is None:
        raise Http404
    case = found.case
    rating = RatingForm(request.POST or None)
    can_rate = bool(case.resolution) and case.status in (Case.Status.ACCEPTED, Case.Status.CLOSED)
    if request.method == "POST" and can_rate and rating.is_valid():
        try:
            actions.resident_rating(
                case=case, satisfaction=rating.cleaned_data["satisfaction"], note=rating.cleaned_data["note"]
            )
        except ValidationError as exc:
            for message in exc.messages:
                rating.add_error(None, message)
        else:
            return redirect("open311-track", code=found.code)
    url = request.build_absolute_uri(reverse("open311-track", args=[found.code]))
    context = {
        "report": found,
        "case": case,
        "clock": clock_of(case),
        "open311_status": queries.open311_status(case.status),
        "updates": queries.public_steps(case),
        "rating": rating,
        "can_rate": can_rate,
        "photo_urls": [queries.photo_url(pk) for pk in queries.case_public_photos(case)],
        "qr": segno.make(url, error="m").svg_data_uri(scale=4),
        "url": url,
    }
    return render(request, "open311/track.html", context, status=400 if request.method == "POST" else 200)


RENDITION_EDGE = 640


@require_http_methods(["GET"])
def photo(request: HttpRequest, pk: int) -> HttpResponse:
    """The public rendition of a resident's photo (``media_url``): at most 640 pixels on the long
    side, re-encoded again from the stored, EXIF-free copy. Only the photos
    ``queries.public_photos`` allows; any other is 404."""
    found = queries.public_photos().filter(pk=pk).values_list("path", flat=True).first()
    if found is None:
        raise Http404
    try:
        with Image.open(case_photos.absolute(found)) as image:
            image.draft("RGB", (RENDITION_EDGE, RENDITION_EDGE))
            small = image.convert("RGB")
    except (OSError, ValueError):
        raise Http404 from None
    small.thumbnail((RENDITION_EDGE, RENDITION_EDGE), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=75)
    response = HttpResponse(out.getvalue(), content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_http_methods(["GET"])
@gzip_page
def grids(request: HttpRequest) -> HttpResponse:
    """The grids' outlines for the report page's map (no names of people, only of grids)."""
    return HttpResponse(queries.grid_outlines(), content_type="application/geo+json")
