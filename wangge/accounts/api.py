"""API of accounts, mounted under /api/v1/: who am I, and API tokens for clients."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from wangge.accounts.models import EXPORT_ROLES, IMPORT_ROLES, User
from wangge.areas.models import Area
from wangge.core.api import JSONParser
from wangge.core.audit import Action, audit


class AssignedAreaSerializer(serializers.ModelSerializer[Area]):
    class Meta:
        model = Area
        fields = ["id", "level", "name", "code"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer[User]):
    role_label = serializers.CharField(read_only=True)
    areas = AssignedAreaSerializer(many=True, read_only=True)
    sees_full_detail = serializers.BooleanField(read_only=True)
    can_import = serializers.SerializerMethodField()
    can_export = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "full_name",
            "role",
            "role_label",
            "areas",
            "sees_full_detail",
            "can_import",
            "can_export",
        ]
        read_only_fields = fields

    def get_can_import(self, user: User) -> bool:
        return user.role in IMPORT_ROLES

    def get_can_export(self, user: User) -> bool:
        return user.role in EXPORT_ROLES


class MeView(APIView):
    """The calling account: role, assigned areas and what it may do."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)  # IsAuthenticated ran first
        return Response(MeSerializer(request.user).data)


class LoginThrottle(AnonRateThrottle):
    # Password guessing against the token endpoint: a client needs a token once, not often.
    scope = "login"
    rate = "20/minute"

    def get_rate(self) -> str:
        return self.rate


TokenResponse = inline_serializer("TokenResponse", fields={"token": serializers.CharField()})


class TokenView(ObtainAuthToken):
    """Exchange a username and password for an API token (``Authorization: Token <key>``)."""

    throttle_classes = [LoginThrottle]
    serializer_class = AuthTokenSerializer
    # ObtainAuthToken names DRF's own parsers, not the configured ones that turn JSON nested too
    # deep into a 400.
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(request=AuthTokenSerializer, responses={200: TokenResponse}, auth=[])
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = self.get_serializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        user = incoming.validated_data["user"]
        with transaction.atomic():
            token, created = Token.objects.get_or_create(user=user)
            audit(
                actor=user,
                action=Action.LOGIN,
                obj=user,
                summary=_("通过接口获取令牌") if created else _("通过接口取回令牌"),
                detail={"via": "api-token"},
            )
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: OpenApiResponse(description="令牌已作废")})
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Revoke the caller's token (sign a client out)."""
        assert isinstance(request.user, User)
        with transaction.atomic():
            deleted, _rows = Token.objects.filter(user=request.user).delete()
            if deleted:
                audit(
                    actor=request.user,
                    action=Action.DELETE,
                    object_type="authtoken.token",
                    object_id=request.user.pk,
                    summary=_("通过接口作废令牌"),
                    detail={"via": "api-token"},
                )
        return Response(status=204)

    def get_permissions(self) -> list[Any]:
        if self.request.method == "DELETE":
            return [permissions.IsAuthenticated()]
        return [permissions.AllowAny()]

    def get_throttles(self) -> list[Any]:
        return [LoginThrottle()] if self.request.method == "POST" else []


urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    path("auth/token/", TokenView.as_view(), name="api-token"),
]
