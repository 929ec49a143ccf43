"""Sign-ins and failed sign-ins go to the audit log, so an auditor can see who used the registry."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.utils.translation import gettext as _

from wangge.core.audit import Action, audit


@receiver(user_logged_in, dispatch_uid="wangge-audit-login")
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit(actor=user, action=Action.LOGIN, obj=user, summary=_("登录成功"))


@receiver(user_login_failed, dispatch_uid="wangge-audit-login-failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    audit(actor=None, action=Action.LOGIN, object_type="accounts.user", summary=_("登录失败：%(u)s") % {"u": username})
