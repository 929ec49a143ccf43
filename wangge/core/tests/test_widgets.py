"""Date fields render values that a browser's date picker accepts in every language."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import translation

from wangge.core.widgets import DateInput, DateTimeInput


class _Form(forms.Form):
    day = forms.DateField(widget=DateInput, initial=dt.date(2026, 12, 2))
    moment = forms.DateTimeField(widget=DateTimeInput, initial=dt.datetime(2026, 12, 2, 8, 5))


def test_it_renders_dates_as_iso_in_chinese_and_english() -> None:
    for language in ("zh-hans", "en"):
        with translation.override(language):
            html = str(_Form())
        assert 'type="date"' in html and 'value="2026-12-02"' in html
        assert 'type="datetime-local"' in html and 'value="2026-12-02T08:05"' in html
