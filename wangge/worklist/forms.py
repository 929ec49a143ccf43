"""The visit form: what a grid worker types on the phone (all but the tasks optional)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.cases.models import Category, Kind
from wangge.worklist.models import Visit


class VisitForm(forms.Form):
    client_id = forms.UUIDField(widget=forms.HiddenInput)
    tasks = forms.MultipleChoiceField(label=_("完成的任务"), required=False, widget=forms.CheckboxSelectMultiple)
    kind = forms.ChoiceField(label=_("方式"), choices=Visit.Kind.choices, initial=Visit.Kind.HOME)
    resident = forms.ChoiceField(label=_("见到的居民"), required=False)
    met = forms.CharField(label=_("见到的人"), max_length=100, required=False)
    notes = forms.CharField(label=_("情况记录"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    follow_up = forms.BooleanField(label=_("需要跟进"), required=False)
    photo = forms.ImageField(label=_("照片"), required=False)
    lon = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180, max_value=180)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90, max_value=90)
    case_category = forms.ModelChoiceField(
        label=_("发现问题，转为网格事件"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=_("不转"),
    )

    def __init__(self, *args: Any, tasks: list[Any], residents: list[Any], can_open_case: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        task_field = cast(forms.ChoiceField, self.fields["tasks"])
        task_field.choices = [(str(t.pk), f"{t.rule.label()} · {t.resident.name}") for t in tasks]
        resident_field = cast(forms.ChoiceField, self.fields["resident"])
        resident_field.choices = [("", "—")] + [(str(r.pk), r.name) for r in residents]
        if can_open_case:
            self.fields["case_category"].queryset = Category.objects.filter(kind=Kind.EVENT, active=True)  # type: ignore[attr-defined]
        else:
            del self.fields["case_category"]
