"""The authentication backend: Django's, with failed sign-ins throttled (``throttle``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from wangge.accounts import throttle


class ThrottledModelBackend(ModelBackend):
    """Refuses a locked-out username and address before checking the password.

    Raising ``PermissionDenied`` stops ``authenticate()`` at once and still sends
    ``user_login_failed``, so a refused attempt is audited like any failed sign-in.
    """

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        name = username if username is not None else kwargs.get(self._username_field(), "")
        name = str(name or "")
        ip = throttle.address_of(request)
        if throttle.is_locked(username=name, ip=ip):
            raise PermissionDenied
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            if password is not None:
                throttle.record_failure(username=name, ip=ip)
        else:
            throttle.reset(username=name, ip=ip)
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return str(get_user_model().USERNAME_FIELD)
