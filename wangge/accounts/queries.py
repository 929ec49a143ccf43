"""Reads of accounts: a user's own API tokens, for their profile page."""

from __future__ import annotations

from django.db.models import F, QuerySet

from wangge.accounts.models import ApiToken, User


def tokens_of(user: User) -> QuerySet[ApiToken]:
    """The user's tokens, live ones first, newest first (revoked and expired ones stay listed)."""
    return ApiToken.objects.filter(user=user).order_by(F("revoked_at").asc(nulls_first=True), "-created_at")
