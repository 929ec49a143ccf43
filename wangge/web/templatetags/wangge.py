"""Template filters for personal data: masking, ages, and data-held names in the page language."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from wangge.core import idnumbers

register = template.Library()


@register.filter
def mask_id(number: str | None) -> str:
    return idnumbers.mask(number or "")


@register.filter
def mask_phone(phone: str | None) -> str:
    return idnumbers.mask_phone(phone or "")


@register.filter
def age(birth: dt.date | None) -> int | str:
    if birth is None:
        return ""
    from wangge.registry.serializers import age_on

    return age_on(birth, timezone.localdate())


@register.filter
def care_name(category: Any) -> str:
    from wangge.registry.event_forms import care_label

    return care_label(category)
