"""Signing in and out, and the profile page where a client's API token is made."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts import actions, queries, throttle


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        # The sign-in and its audit entry (written by accounts.signals) stand or fall together.
        with transaction.atomic():
            return super().form_valid(form)

    def form_invalid(self, form: Any) -> HttpResponse:
        # The backend refuses a locked-out pair (accounts.throttle); say so instead of "wrong password".
        username = str(self.request.POST.get("username", ""))
        if not throttle.is_locked(username=username, ip=throttle.address_of(self.request)):
            return super().form_invalid(form)
        minutes = throttle.LOCK_SECONDS // 60
        form.errors[NON_FIELD_ERRORS] = form.error_class(
            [_("登录失败次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": minutes}]
        )
        response = super().form_invalid(form)
        response.status_code = 429
        return response


class LogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    return render(
        request,
        "accounts/profile.html",
        {
            "areas": user.areas.order_by("level", "name"),
            "tokens": queries.tokens_of(user)[:50],
            "new_token": request.session.pop("new_token", None),
            "token_days": settings.WANGGE_API_TOKEN_DAYS,
        },
    )


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    """Make an API token for a named client; the secret is shown once, right after this redirect."""
    user: Any = request.user
    issued = actions.token_rotate(user=user, by=user, name=str(request.POST.get("name", "")))
    request.session["new_token"] = {"secret": issued.secret, "name": issued.token.name}
    messages.success(request, _("已生成新的 API 令牌；同名客户端的旧令牌已失效。"))
    return redirect("profile")


@login_required
@require_POST
def token_delete(request: HttpRequest) -> HttpResponse:
    """Revoke one token (``token`` in the form) or, without one, all of the user's tokens."""
    user: Any = request.user
    raw = str(request.POST.get("token", "")).strip()
    token_id = int(raw) if raw.isdigit() and len(raw) < 19 else None
    if raw and token_id is None:
        return HttpResponseBadRequest(_("令牌编号不正确。"))
    actions.token_revoke(user=user, by=user, via="profile", token_id=token_id)
    messages.success(request, _("API 令牌已作废。"))
    return redirect("profile")
