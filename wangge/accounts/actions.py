"""Writes to accounts: API tokens made, replaced and revoked, each atomic and audited.

The profile page and the token endpoint of the API both call these, so a token is handled one
way whichever door the user comes through.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from wangge.accounts.models import User
from wangge.core.audit import Action, audit


def token_obtain(*, user: User, via: str) -> Token:
    """A client signs in with a password: it gets the user's token, made if there is none.

    Several clients of one user share the token, so signing in again does not cut the others off.
    """
    with transaction.atomic():
        token, created = Token.objects.get_or_create(user=user)
        audit(
            actor=user,
            action=Action.LOGIN,
            obj=user,
            summary=_("通过接口获取令牌") if created else _("通过接口取回令牌"),
            detail={"via": via},
        )
    return token


def token_rotate(*, user: User, by: User) -> Token:
    """Replace the user's token with a new one; every client holding the old one is cut off."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        audit(
            actor=by,
            action=Action.CREATE,
            object_type="authtoken.token",
            object_id=user.pk,
            summary=_("生成 API 令牌"),
        )
    return token


def token_revoke(*, user: User, by: User, via: str) -> bool:
    """Delete the user's token (sign their clients out); False when there was none."""
    with transaction.atomic():
        deleted, _rows = Token.objects.filter(user=user).delete()
        if deleted:
            audit(
                actor=by,
                action=Action.DELETE,
                object_type="authtoken.token",
                object_id=user.pk,
                summary=_("删除 API 令牌"),
                detail={"via": via},
            )
    return bool(deleted)
