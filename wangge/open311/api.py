"""Open311 GeoReport v2 under ``/open311/v2/``, in XML and JSON, as the published specification
describes: discovery, services, service definitions, POST/GET requests, tokens, and
FixMyStreet's ``servicerequestupdates``. Errors are the spec's ``errors`` bodies (404 for what
does not exist, 403 for a missing or wrong api_key, 400 otherwise), in the caller's language.

Plain Django views rather than DRF: the spec fixes the bodies to the element, and a list of
1,000 requests is built from tuples straight to bytes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape

import orjson
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import re_path, reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from wangge.cases import photos as case_photos
from wangge.cases.models import Case
from wangge.open311 import actions, queries
from wangge.open311.models import ClientApp

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-03T00:00:00+08:00"
MAX_BODY = 64 * 1024  # a request is a few fields …
# … plus, in a multipart body, at most MAX_PHOTOS uploaded photos (``media``, the extension of
# several GeoReport servers; the spec itself only has media_url).
MAX_MULTIPART_BODY = MAX_BODY + actions.MAX_PHOTOS * case_photos.MAX_BYTES
# What an element of a list is called in XML (the spec's singular children).
CHILD = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "service_requests_updates": "request_update",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


class Open311Error(Exception):
    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__(descriptions)
        self.status = status
        self.descriptions = descriptions


def _xml_value(tag: str, value: Any) -> str:
    if value is None or value == "":
        return f"<{tag}/>"
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "".join(_xml_value(k, v) for k, v in value.items())
    elif isinstance(value, list):
        child = CHILD.get(tag, "item")
        text = "".join(_xml_value(child, item) for item in value)
    else:
        text = escape(str(value))
    return f"<{tag}>{text}</{tag}>"


def render(fmt: str, root: str, data: Any, *, status: int = 200) -> HttpResponse:
    """``data`` as the spec's JSON (a list, or an object for a single document) or as XML under
    ``root`` (with the UTF-8 declaration the spec asks for)."""
    if fmt == "json":
        body = orjson.dumps(data)
    else:
        body = ('<?xml version="1.0" encoding="utf-8"?>' + _xml_value(root, data)).encode()
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])
    response["Access-Control-Allow-Origin"] = "*"
    return response


def error(fmt: str, status: int, *descriptions: str) -> HttpResponse:
    return render(fmt, "errors", [{"code": status, "description": d} for d in descriptions], status=status)


def open311_view(methods: Iterable[str]) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    allowed = set(methods)

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        def wrapped(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                response = error(fmt, 405, _("不支持的请求方法"))
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            # Client apps say their language with Accept-Language, as on /api/ (pages use the cookie).
            with translation.override(translation.get_language_from_request(request)):
                try:
                    return view(request, fmt, **kwargs)
                except Open311Error as exc:
                    return error(fmt, exc.status, *exc.descriptions)
                except (RequestDataTooBig, TooManyFieldsSent):
                    return error(fmt, 413, _("请求内容过大"))

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return wrapped

    return decorate


def _base(request: HttpRequest) -> str:
    """Scheme and host for absolute media URLs."""
    return request.build_absolute_uri("/").rstrip("/")


def _param(request: HttpRequest, name: str, *, post: bool = False) -> str:
    source = request.POST if post else request.GET
    return (source.get(name) or "").strip()


def _status_labels() -> dict[str, str]:
    return {str(value): str(label) for value, label in Case.Status.choices}


def _service(category: Any) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.name,
        "metadata": False,
        "type": "realtime",
        "keywords": "",
        "group": category.department.name if category.department_id else "",
    }


@open311_view(["GET"])
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    """Where this endpoint is and what it speaks."""
    base = request.build_absolute_uri(reverse("open311-services", args=["xml"])).rsplit("/", 1)[0] + "/"
    data = {
        "changeset": CHANGESET,
        "contact": _("请联系区网格化服务管理中心"),
        "key_service": _("API 密钥由区网格化服务管理中心发放"),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", data)


@open311_view(["GET"])
def services(request: HttpRequest, fmt: str) -> HttpResponse:
    """The public case categories."""
    rows = [_service(c) for c in queries.public_categories().select_related("department")]
    return render(fmt, "services", rows)


@open311_view(["GET"])
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    if queries.public_category(code) is None:
        raise Open311Error(404, _("未知的服务代码：%(code)s") % {"code": code})
    # No category asks for extra fields yet: the definition lists none.
    return render(fmt, "service_definition", {"service_code": code, "attributes": []})


def _float(value: str, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise Open311Error(400, _("%(name)s 不是有效的数字") % {"name": name}) from None
    if not math.isfinite(number) or not low <= number <= high:
        raise Open311Error(400, _("%(name)s 超出范围") % {"name": name})
    return number


def _date(value: str, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise Open311Error(400, _("%(name)s 须为 W3C 日期时间，例如 2026-01-01T00:00:00+08:00") % {"name": name})
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _phone(value: str) -> str:
    digits = value.replace(" ", "").replace("-", "")
    if digits and not (digits.lstrip("+").isdigit() and 5 <= len(digits) <= 20):
        raise Open311Error(400, _("电话号码无效"))
    return digits


def _client_app(request: HttpRequest) -> ClientApp:
    key = _param(request, "api_key", post=True) or _param(request, "api_key")
    if not key:
        raise Open311Error(403, _("缺少 api_key"))
    app = queries.client_app_for_key(key)
    if app is None:
        raise Open311Error(403, _("api_key 无效或已吊销"))
    # Counted on the app's own reports (an indexed count), not in the file cache: a cache add
    # and incr cost more than the whole case insert (bench/open311.py).
    if queries.reports_in_last_minute(app) >= app.per_minute:
        raise Open311Error(429, _("请求过于频繁，请稍后再试"))
    return app


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    multipart = (request.content_type or "").startswith("multipart/")
    if int(request.META.get("CONTENT_LENGTH") or 0) > (MAX_MULTIPART_BODY if multipart else MAX_BODY):
        raise Open311Error(413, _("请求内容过大"))
    # In a multipart body only the photos may be large: the fields keep the plain body's limit.
    if multipart and sum(len(v.encode()) for _k, values in request.POST.lists() for v in values) > MAX_BODY:
        raise Open311Error(413, _("请求内容过大"))
    app = _client_app(request)
    code = _param(request, "service_code", post=True)
    if not code:
        raise Open311Error(400, _("缺少 service_code"))
    category = queries.public_category_for_report(code)
    if category is None:
        raise Open311Error(400, _("未知的服务代码：%(code)s") % {"code": code})
    lat_text, lon_text = _param(request, "lat", post=True), _param(request, "long", post=True)
    if not (lat_text and lon_text):
        if _param(request, "address_string", post=True) or _param(request, "address_id", post=True):
            raise Open311Error(400, _("请提供 lat 和 long：仅凭地址无法确定所在网格"))
        raise Open311Error(400, _("缺少位置：请提供 lat 和 long"))
    lat = _float(lat_text, "lat", -90, 90)
    lon = _float(lon_text, "long", -180, 180)
    media_url = _param(request, "media_url", post=True)
    if media_url and not media_url.startswith(("http://", "https://")):
        raise Open311Error(400, _("media_url 须为 http(s) 地址"))
    media = request.FILES.getlist("media") if multipart else []
    if len(media) > actions.MAX_PHOTOS:
        raise Open311Error(400, _("一次最多上传 %(n)d 张照片") % {"n": actions.MAX_PHOTOS})
    description = _param(request, "description", post=True)
    if not description and not media_url and not media:
        raise Open311Error(400, _("请填写 description"))
    name = (_param(request, "last_name", post=True) + _param(request, "first_name", post=True)).strip()
    try:
        report = actions.report_submit(
            category=category,
            text=description or _("（见照片）"),
            channel=Case.Channel.OPEN311,
            lat=lat,
            lon=lon,
            address=_param(request, "address_string", post=True),
            name=name,
            phone=_phone(_param(request, "phone", post=True)),
            email=_param(request, "email", post=True),
            media_url=media_url,
            device_id=_param(request, "device_id", post=True),
            account_id=_param(request, "account_id", post=True),
            client_app=app,
            photos=media,
        )
    except ValidationError as exc:
        raise Open311Error(400, *exc.messages) from None
    notice = _("请保存查询码 %(code)s，可在 %(url)s 查看进度") % {
        "code": report.code,
        "url": request.build_absolute_uri(reverse("open311-track", args=[report.code])),
    }
    row = {
        "service_request_id": str(report.case_id),
        "token": report.code,
        "service_notice": notice,
        "account_id": report.account_id or None,
    }
    return render(fmt, "service_requests", [row])


@open311_view(["GET", "POST"])
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    """GET: public requests (default the last 90 days, at most 1,000, newest first).
    POST: a new request (api_key required)."""
    if request.method == "POST":
        return _post_request(request, fmt)
    cases = queries.public_cases()
    ids_text = _param(request, "service_request_id")
    if ids_text:
        ids = [part.strip() for part in ids_text.split(",") if part.strip()]
        if not all(part.isdigit() and len(part) < 19 for part in ids):
            raise Open311Error(400, _("service_request_id 无效"))
        cases = cases.filter(pk__in=[int(part) for part in ids[: queries.MAX_RESULTS]])
    else:
        start, end = _date(_param(request, "start_date"), "start_date"), _date(_param(request, "end_date"), "end_date")
        window = dt.timedelta(days=queries.DEFAULT_DAYS)
        if start is None and end is None:
            end = timezone.now()
        if start is None:
            assert end is not None
            start = end - window
        if end is None:
            end = start + window
        if end < start:
            raise Open311Error(400, _("end_date 不能早于 start_date"))
        if end - start > window:
            raise Open311Error(400, _("start_date 与 end_date 相隔不能超过 90 天"))
        cases = cases.filter(received_at__gte=start, received_at__lte=end)
        codes = [c.strip() for c in _param(request, "service_code").split(",") if c.strip()]
        if codes:
            cases = cases.filter(category__code__in=codes)
        statuses = {s.strip() for s in _param(request, "status").split(",") if s.strip()}
        if statuses - {"open", "closed"}:
            raise Open311Error(400, _("status 只能是 open 或 closed"))
        if statuses == {"open"}:
            cases = cases.filter(status__in=queries.OPEN_STATUSES)
        elif statuses == {"closed"}:
            cases = cases.exclude(status__in=queries.OPEN_STATUSES)
    rows = queries.request_rows(
        cases.order_by("-received_at", "-id")[: queries.MAX_RESULTS], _status_labels(), base_url=_base(request)
    )
    return render(fmt, "service_requests", rows)


@open311_view(["GET"])
def request_detail(request: HttpRequest, fmt: str, pk: str) -> HttpResponse:
    one = queries.public_cases().filter(pk=int(pk)) if len(pk) < 19 else None
    rows = queries.request_rows(one, _status_labels(), base_url=_base(request)) if one is not None else []
    if not rows:
        raise Open311Error(404, _("未找到该请求：%(id)s") % {"id": pk})
    return render(fmt, "service_requests", rows)


@open311_view(["GET"])
def token(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    report = queries.report_by_code(code)
    if report is None:
        raise Open311Error(404, _("未找到该 token：%(token)s") % {"token": code})
    return render(fmt, "service_requests", [{"service_request_id": str(report.case_id), "token": report.code}])


@open311_view(["GET"])
def updates(request: HttpRequest, fmt: str) -> HttpResponse:
    """FixMyStreet's extension: the public status changes of public requests in a window."""
    end = _date(_param(request, "end_date"), "end_date") or timezone.now()
    start = _date(_param(request, "start_date"), "start_date") or end - dt.timedelta(days=queries.DEFAULT_DAYS)
    if end < start:
        raise Open311Error(400, _("end_date 不能早于 start_date"))
    rows = queries.update_rows(start=start, end=end)
    return render(fmt, "service_requests_updates", rows)


FMT = r"\.(?P<fmt>json|xml)$"
urlpatterns = [
    re_path(r"^open311/v2/discovery" + FMT, discovery, name="open311-discovery"),
    re_path(r"^open311/v2/services" + FMT, services, name="open311-services"),
    re_path(r"^open311/v2/services/(?P<code>[-\w]{1,40})" + FMT, service_definition, name="open311-service"),
    re_path(r"^open311/v2/requests" + FMT, requests, name="open311-requests"),
    re_path(r"^open311/v2/requests/(?P<pk>[0-9]{1,18})" + FMT, request_detail, name="open311-request"),
    re_path(r"^open311/v2/tokens/(?P<code>[0-9A-Za-z]{1,12})" + FMT, token, name="open311-token"),
    re_path(r"^open311/v2/servicerequestupdates" + FMT, updates, name="open311-updates"),
]
