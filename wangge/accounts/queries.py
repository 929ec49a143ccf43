"""Reads of accounts: a user's own API token, for their profile page."""

from __future__ import annotations

from rest_framework.authtoken.models import Token

from wangge.accounts.models import User


def token_of(user: User) -> Token | None:
    return Token.objects.filter(user=user).first()
