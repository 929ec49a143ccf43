"""Writes to accounts: API tokens made, replaced and revoked, each atomic and audited.

The profile page and the token endpoint of the API both call these, so a token is handled one
way whichever door the user comes through. A token belongs to one client (a device, a script),
named by its owner; the secret is returned once and only its SHA-256 is stored.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.models import ApiToken, User, token_digest
from wangge.core.audit import Action, audit

OBJECT_TYPE = "accounts.apitoken"
DEFAULT_CLIENT = "api"


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: the stored row and the secret, which exists nowhere else."""

    token: ApiToken
    secret: str


def _issue(*, user: User, name: str) -> IssuedToken:
    secret = secrets.token_urlsafe(32)  # 256 bits
    token = ApiToken.objects.create(
        user=user,
        name=name[: ApiToken._meta.get_field("name").max_length],  # type: ignore[index]
        digest=token_digest(secret),
        expires_at=timezone.now() + timedelta(days=settings.WANGGE_API_TOKEN_DAYS),
    )
    return IssuedToken(token=token, secret=secret)


def _revoke_named(*, user: User, name: str) -> int:
    return ApiToken.objects.live().filter(user=user, name=name).update(revoked_at=timezone.now())


def token_obtain(*, user: User, via: str, name: str = "") -> IssuedToken:
    """A client signs in with a password and gets a new token of its own.

    A client signing in again under the same name replaces its earlier token; the user's other
    clients keep theirs.
    """
    name = name.strip() or DEFAULT_CLIENT
    with transaction.atomic():
        replaced = _revoke_named(user=user, name=name)
        issued = _issue(user=user, name=name)
        audit(
            actor=user,
            action=Action.LOGIN,
            obj=user,
            summary=_("通过接口获取令牌"),
            detail={"via": via, "client": name, "token": issued.token.pk, "replaced": replaced},
        )
    return issued


def token_rotate(*, user: User, by: User, name: str) -> IssuedToken:
    """Make a token for the named client, replacing that client's earlier one if any."""
    name = name.strip() or DEFAULT_CLIENT
    with transaction.atomic():
        replaced = _revoke_named(user=user, name=name)
        issued = _issue(user=user, name=name)
        audit(
            actor=by,
            action=Action.CREATE,
            object_type=OBJECT_TYPE,
            object_id=issued.token.pk,
            summary=_("生成 API 令牌"),
            detail={"user": user.pk, "client": name, "replaced": replaced},
        )
    return issued


def token_revoke(*, user: User, by: User, via: str, token_id: int | None = None) -> int:
    """Revoke one of the user's tokens, or all of them when no token is named; the number revoked.

    A revoked token stays listed (with when it was revoked) but opens nothing.
    """
    with transaction.atomic():
        tokens = ApiToken.objects.live().filter(user=user)
        if token_id is not None:
            tokens = tokens.filter(pk=token_id)
        ids = list(tokens.values_list("pk", flat=True))
        if ids:
            ApiToken.objects.filter(pk__in=ids).update(revoked_at=timezone.now())
            audit(
                actor=by,
                action=Action.DELETE,
                object_type=OBJECT_TYPE,
                object_id=ids[0] if len(ids) == 1 else user.pk,
                summary=_("作废 API 令牌"),
                detail={"via": via, "user": user.pk, "tokens": ids},
            )
    return len(ids)
