"""Form widgets whose values browsers accept whatever the page's language.

``<input type="date">`` only takes ``yyyy-mm-dd`` (and ``datetime-local`` ``yyyy-mm-ddThh:mm``);
Django would render the localized format ("2026/12/02"), which the browser drops, leaving a
required field empty and its form impossible to send.
"""

from __future__ import annotations

from typing import Any

from django import forms


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")
