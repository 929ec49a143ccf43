"""Device endpoints (OwnTracks HTTP, OsmAnd / Traccar Client), and the URLs of the whole
protection API (the scoped REST views live in ``wangge.protection.rest``).

The device endpoints authenticate the phone, not a user: no session, no CSRF, no DRF
permission. They stay thin and fast: parse with ``protocols``, store with ``ingest``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from typing import Any

from django.db.models import Q
from django.http import HttpResponse, JsonResponse, QueryDict
from django.urls import include, path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from wangge.protection.ingest import ingest
from wangge.protection.models import Device, osmand_digest
from wangge.protection.protocols import (
    SOURCE_OWNTRACKS_HTTP,
    Rejected,
    parse_osmand,
    parse_owntracks,
    parse_traccar_json,
)
from wangge.protection.rest import locations

# -- device authentication ------------------------------------------------------------------

# A phone posts every few seconds, so a successful check is remembered in this process, keyed
# by the stored hash: a new password (a new hash) is checked afresh.
_verified: set[bytes] = set()
_verified_lock = threading.Lock()
_DUMMY = Device()
_DUMMY.set_password("wangge-no-such-device")


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def authenticate_device(identifier: str, password: str) -> Device | None:
    device = Device.objects.filter(identifier=identifier, active=True).only("id", "password_hash").first()
    if device is None or not device.password_hash:
        _DUMMY.check_password(password)  # same time as a wrong password
        return None
    key = hashlib.sha256(f"{device.pk}\0{device.password_hash}\0{password}".encode()).digest()
    if key in _verified:
        return device
    if not device.check_password(password):
        return None
    with _verified_lock:
        if len(_verified) > 100_000:
            _verified.clear()
        _verified.add(key)
    return device


def authenticate_osmand(key: str) -> tuple[str, bool] | None:
    """The phone an OsmAnd / Traccar Client id belongs to, as (identifier, verified).

    The id is the only credential these apps send, so it is a secret key stored hashed
    (verified). A phone registered before keys existed still posts with its old identifier
    until it is reset (not verified: its positions are taken, an SOS is not).
    """
    row = (
        Device.objects.filter(Q(osmand_digest=osmand_digest(key)) | Q(identifier=key, osmand_legacy=True), active=True)
        .values_list("identifier", "osmand_legacy")
        .first()
    )
    return None if row is None else (row[0], not row[1])


def _unauthorised() -> HttpResponse:
    response = JsonResponse({"error": _("设备认证失败")}, status=401)
    response["WWW-Authenticate"] = 'Basic realm="wangge", charset="UTF-8"'
    return response


def _refused(reason: Any) -> JsonResponse:
    return JsonResponse({"error": str(reason)}, status=400)


# -- OwnTracks HTTP -------------------------------------------------------------------------

OWNTRACKS_EXAMPLE = {
    "_type": "location",
    "lat": 41.1201,
    "lon": 122.9102,
    "tst": 1714550400,
    "acc": 12,
    "vel": 4,
    "batt": 76,
    "tid": "LX",
}


class OwnTracksView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="locations_owntracks",
        tags=["locations"],
        summary="OwnTracks HTTP mode",
        description=(
            "Location from the OwnTracks app in HTTP mode. HTTP Basic auth with the device's "
            "identifier and password (the app also sends them as X-Limit-U / X-Limit-D). Body: one "
            "OwnTracks JSON message (`_type` location, transition or lwt); an empty body is ignored. "
            "Replies `[]`. Refused (400) when the message is malformed or the person's consent is "
            "not active."
        ),
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("X-Limit-U", str, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("X-Limit-D", str, OpenApiParameter.HEADER, required=False),
        ],
        examples=[OpenApiExample("location", value=OWNTRACKS_EXAMPLE, request_only=True)],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="`[]`"),
            400: OpenApiResponse(description="malformed or not consented"),
            401: OpenApiResponse(description="bad device credentials"),
        },
        auth=[],
    )
    def post(self, request: Request) -> HttpResponse:
        credentials = _basic_credentials(request.META.get("HTTP_AUTHORIZATION", ""))
        if credentials is None:
            return _unauthorised()
        user, password = credentials
        limit_user = request.META.get("HTTP_X_LIMIT_U")
        if limit_user and limit_user != user:
            return _unauthorised()
        if authenticate_device(user, password) is None:
            return _unauthorised()
        body = request.body
        if not body.strip():
            return JsonResponse([], safe=False)
        try:
            fix = parse_owntracks(
                body,
                user=user,
                device=request.META.get("HTTP_X_LIMIT_D", ""),
                source=SOURCE_OWNTRACKS_HTTP,
                now=timezone.now(),
            )
        except Rejected as exc:
            return _refused(exc.reason)
        if fix is not None:
            fix.verified = True  # the password was checked above
        if fix is not None and ingest([fix]).refused:
            return _refused(_("未取得有效的知情同意，位置未保存"))
        return JsonResponse([], safe=False)


# -- OsmAnd / Traccar Client ----------------------------------------------------------------

OSMAND_PARAMETERS = [
    OpenApiParameter("id", str, description="the device's secret OsmAnd key (or `deviceid`)"),
    OpenApiParameter("lat", float),
    OpenApiParameter("lon", float),
    OpenApiParameter("location", str, description="`lat,lon` instead of lat and lon"),
    OpenApiParameter("timestamp", str, description="epoch s or ms, ISO 8601, or `yyyy-MM-dd HH:mm:ss` (UTC)"),
    OpenApiParameter("speed", float, description="knots"),
    OpenApiParameter("bearing", float),
    OpenApiParameter("altitude", float),
    OpenApiParameter("accuracy", float, description="metres"),
    OpenApiParameter("batt", float, description="percent"),
    OpenApiParameter("alarm", str, description="`sos`"),
]


class OsmAndView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def _handle(self, request: Request) -> HttpResponse:
        now = timezone.now()
        try:
            if request.GET:
                fixes = [parse_osmand(request.GET, now=now)]
            else:
                body = request.body
                if body.lstrip()[:1] == b"{":
                    fixes = parse_traccar_json(body, now=now)
                else:
                    # As Traccar does: a body without a query string is read as form parameters.
                    fixes = [parse_osmand(QueryDict(body.decode("utf-8", "replace")), now=now)]
        except Rejected as exc:
            return HttpResponse(str(exc.reason), status=400, content_type="text/plain; charset=utf-8")
        found = authenticate_osmand(fixes[0].identifier)
        if found is None:
            # The same answer for an unknown id and for a device without consent.
            return HttpResponse(_("设备未登记或未获授权"), status=400, content_type="text/plain; charset=utf-8")
        identifier, verified = found
        if not verified and any(fix.alarm for fix in fixes):
            # Anyone who saw an old identifier could raise a false SOS; a reset phone can.
            return HttpResponse(
                _("紧急求助需要安全的设备标识，请重置手机后重新设置"),
                status=403,
                content_type="text/plain; charset=utf-8",
            )
        for fix in fixes:
            # From here on the phone is named by its identifier: the key goes no further.
            fix.identifier, fix.verified = identifier, verified
        if ingest(fixes).refused:
            # The same answer for an unknown id and for a device without consent.
            return HttpResponse(_("设备未登记或未获授权"), status=400, content_type="text/plain; charset=utf-8")
        return HttpResponse(status=200)

    @extend_schema(
        operation_id="locations_osmand_get",
        tags=["locations"],
        summary="OsmAnd / Traccar Client (query parameters)",
        parameters=OSMAND_PARAMETERS,
        responses={200: OpenApiResponse(description="stored"), 400: OpenApiResponse(description="refused")},
        auth=[],
    )
    def get(self, request: Request) -> HttpResponse:
        return self._handle(request)

    @extend_schema(
        operation_id="locations_osmand_post",
        tags=["locations"],
        summary="OsmAnd / Traccar Client (form parameters or the Traccar Client 9 JSON body)",
        request={"application/json": OpenApiTypes.OBJECT, "application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        parameters=OSMAND_PARAMETERS,
        responses={200: OpenApiResponse(description="stored"), 400: OpenApiResponse(description="refused")},
        auth=[],
    )
    def post(self, request: Request) -> HttpResponse:
        return self._handle(request)


urlpatterns = [
    path("locations/owntracks", OwnTracksView.as_view(), name="locations-owntracks"),
    path("locations/osmand", OsmAndView.as_view(), name="locations-osmand"),
    path("protection/enrolments/<int:pk>/trail/", locations.TrailView.as_view(), name="protection-trail"),
    path(
        "protection/enrolments/<int:pk>/last-location/",
        locations.LastLocationView.as_view(),
        name="protection-last",
    ),
    path("protection/alerts/", locations.AlertListView.as_view(), name="protection-alerts"),
    # Enrolments, consent, profile, phones, zones, alerts and incidents (wangge.protection.rest).
    path("", include("wangge.protection.rest")),
]
