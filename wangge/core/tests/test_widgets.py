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


def test_the_fast_select_renders_what_djangos_select_renders() -> None:
    import re

    from django import forms

    from wangge.core.widgets import FastSelect

    choices = [
        ("", "—"),
        (1, 'Tom & "Jerry" <b>'),
        ("grids", [(2, "灵西社区第8网格"), (3, "x'y")]),
        (4, "立山区"),
    ]
    for value in (None, 2, "4"):

        def html(widget: forms.Select, value: object = value) -> str:
            widget.choices = choices
            text = str(widget.render("area", value, attrs={"id": "id_area", "class": "x"}))
            return re.sub(r">\s+<", "><", text).strip()

        fast, django = html(FastSelect()), html(forms.Select())
        assert fast == django
    selected = FastSelect(choices=choices).render("area", 2)
    assert '<option value="2" selected>灵西社区第8网格</option>' in selected
    assert "&lt;b&gt;" in selected and "&quot;Jerry&quot;" in selected
