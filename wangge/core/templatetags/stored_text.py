"""``{{ entry.summary|shown }}``: text stored for display, in the reader's language."""

from __future__ import annotations

from django import template

from wangge.core import stored_text

register = template.Library()


@register.filter
def shown(text: object) -> str:
    return stored_text.translate(str(text)) if text else ""
