"""Form widgets whose values browsers accept whatever the page's language.

``<input type="date">`` only takes ``yyyy-mm-dd`` (and ``datetime-local`` ``yyyy-mm-ddThh:mm``);
Django would render the localized format ("2026/12/02"), which the browser drops, leaving a
required field empty and its form impossible to send.
"""

from __future__ import annotations

from html import escape
from typing import Any

from django import forms
from django.utils.safestring import SafeString, mark_safe


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class FastSelect(forms.Select):
    """A ``<select>`` rendered in Python rather than one template per option.

    Django renders every option through ``select_option.html``, about half a millisecond each:
    a district administrator's area list (about 900 areas) took 400–700 ms to render, more than
    the rest of the page. Same markup, same escaping, same attributes."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group, options, _index in widget["optgroups"]:
            if group:
                parts.append(f'<optgroup label="{escape(str(group))}">')
            for option in options:
                value = "" if option["value"] is None else escape(str(option["value"]))
                extra = _attrs(option["attrs"]) if option["attrs"] else ""
                parts.append(f'<option value="{value}"{extra}>{escape(str(option["label"]))}</option>')
            if group:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("".join(parts))  # every value and label above is escaped


def _attrs(attrs: dict[str, Any]) -> str:
    """Django's ``attrs.html``: in order, ``True`` as a bare name, ``False`` left out."""
    return "".join(
        f" {name}" if value is True else f' {name}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )
