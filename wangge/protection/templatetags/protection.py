"""``{% protection_link resident %}``: the resident page's way into missing-person protection;
``{{ password|otp_groups }}``: a one-time password that wraps between its groups only.

Shown for a resident who is enrolled, or who has the dementia care category and is not yet
(the people the district gave phones to). The pages behind it check scope themselves.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from wangge.accounts import policy
from wangge.protection.models import Enrolment

register = template.Library()

DEMENTIA = "dementia"


@register.inclusion_tag("protection/_resident_link.html", takes_context=True)
def protection_link(context: dict[str, Any], resident: Any) -> dict[str, Any]:
    user = context.get("user")
    enrolment = Enrolment.objects.filter(resident=resident, active=True).only("id").first()
    dementia = resident.care_tags.filter(category__code=DEMENTIA).exists()
    may_enrol = user is not None and policy.can_enrol(user, resident)
    return {"resident": resident, "enrolment": enrolment, "suggest": dementia and may_enrol and enrolment is None}


@register.filter
def battery(value: Any) -> str:
    """A phone's battery level as every page shows it: a whole percentage ("11%"), or "—"."""
    if value is None or value == "":
        return "—"
    try:
        level = Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return "—"
    return f"{int(level)}%"


@register.filter
def otp_groups(value: str) -> SafeString:
    """A one-time password in its dash-separated groups, each kept on one line (``.otp-group``
    has ``white-space: nowrap``), so a narrow screen breaks it between groups only."""
    groups = str(value).split("-")
    last = len(groups) - 1
    return format_html_join(
        "",
        '<span class="otp-group">{}{}</span>',
        ((group, "-" if index < last else "") for index, group in enumerate(groups)),
    )
