"""API of accounts, mounted under /api/v1/: who am I, and API tokens for clients."""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from wangge.accounts import actions, policy
from wangge.accounts.models import AreaAssignment, User
from wangge.core.api import JSONParser

# The area tree sits above accounts: reach its model through the assignment, not an import.
Area: Any = AreaAssignment._meta.get_field("area").related_model


class AssignedAreaSerializer(serializers.ModelSerializer[Any]):
    class Meta:
        model = Area
        fields = ["id", "level", "name", "code"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer[User]):
    role_label = serializers.CharField(read_only=True)
    areas = AssignedAreaSerializer(many=True, read_only=True)
    sees_full_detail = serializers.SerializerMethodField()
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

    def get_sees_full_detail(self, user: User) -> bool:
        return policy.sees_full_detail(user)

    def get_can_import(self, user: User) -> bool:
        return policy.can_import(user)

    def get_can_export(self, user: User) -> bool:
        return policy.can_export(user)


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
        token = actions.token_obtain(user=incoming.validated_data["user"], via="api-token")
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: OpenApiResponse(description="令牌已作废")})
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Revoke the caller's token (sign a client out)."""
        assert isinstance(request.user, User)
        actions.token_revoke(user=request.user, by=request.user, via="api-token")
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
