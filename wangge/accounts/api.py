"""API of accounts, mounted under /api/v1/: who am I, and API tokens for clients."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from wangge.accounts import actions, policy
from wangge.accounts.models import ApiToken, AreaAssignment, User
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


class TokenRequestSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(write_only=True, max_length=150)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=4096)
    client = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="客户端（设备）名称；同名客户端再次登录时替换其旧令牌，其他客户端的令牌不受影响。",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = authenticate(request=self.context.get("request"), username=attrs["username"], password=attrs["password"])
        if user is None:  # wrong password, inactive or locked out (accounts.throttle)
            raise serializers.ValidationError(_("用户名或密码不正确。"), code="authorization")
        attrs["user"] = user
        return attrs


TokenResponse = inline_serializer(
    "TokenResponse",
    fields={
        "token": serializers.CharField(),
        "client": serializers.CharField(),
        "expires_at": serializers.DateTimeField(),
    },
)


class TokenView(APIView):
    """Exchange a username and password for an API token (``Authorization: Token <secret>``).

    Each call makes a new token for the named client; it is shown in this answer only, and it
    expires after ``WANGGE_API_TOKEN_DAYS`` days.
    """

    throttle_classes = [LoginThrottle]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponse}, auth=[])
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = TokenRequestSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        issued = actions.token_obtain(
            user=incoming.validated_data["user"],
            via="api-token",
            name=incoming.validated_data.get("client", ""),
        )
        return Response({"token": issued.secret, "client": issued.token.name, "expires_at": issued.token.expires_at})

    @extend_schema(request=None, responses={204: OpenApiResponse(description="令牌已作废")})
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Revoke the token of this request (sign this client out); signed in by session, all of them."""
        assert isinstance(request.user, User)
        token_id = request.auth.pk if isinstance(request.auth, ApiToken) else None
        actions.token_revoke(user=request.user, by=request.user, via="api-token", token_id=token_id)
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
