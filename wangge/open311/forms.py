"""The resident's report form of /report/ and the rating form of the tracking page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.cases import photos as case_photos
from wangge.cases.models import Case
from wangge.open311 import queries


class ReportForm(forms.Form):
    category = forms.ModelChoiceField(label=_("问题类别"), queryset=queries.public_categories(), empty_label=None)
    text = forms.CharField(label=_("问题描述"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
    lat = forms.FloatField(label=_("纬度"), min_value=-90, max_value=90)
    lon = forms.FloatField(label=_("经度"), min_value=-180, max_value=180)
    address = forms.CharField(label=_("地点说明"), max_length=200, required=False)
    phone = forms.RegexField(
        label=_("手机号（用于接收处理进度短信，可不填）"),
        regex=r"^1[3-9][0-9]{9}$",
        required=False,
        error_messages={"invalid": _("请填写 11 位手机号")},
    )
    photo = forms.FileField(
        label=_("照片（可不填）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )
    # A honeypot: hidden from people by CSS, filled in by bots.
    website = forms.CharField(required=False, label=_("网址"))

    def clean_photo(self) -> Any:
        """The photo checked and re-encoded here, so a refusal is shown beside its input."""
        upload = self.cleaned_data.get("photo")
        return case_photos.prepare(upload) if upload else None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = queries.public_categories()


class RatingForm(forms.Form):
    satisfaction = forms.ChoiceField(label=_("您对处理结果满意吗？"), choices=Case.Satisfaction.choices)
    note = forms.CharField(label=_("意见（可不填）"), max_length=500, required=False)
