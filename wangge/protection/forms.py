"""Forms of the protection pages. They parse input; ``actions`` and ``incidents`` decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.core.widgets import DateInput, DateTimeInput, FastSelect
from wangge.protection.models import Consent, Device, Incident, IncidentUpdate, Profile
from wangge.protection.positions import metres_label


class TimeInput(forms.TimeInput):
    input_type = "time"


class ConsentForm(forms.Form):
    given_by_kind = forms.ChoiceField(
        label=_("同意人"), choices=Consent.GivenBy.choices, initial=Consent.GivenBy.GUARDIAN, widget=forms.RadioSelect
    )
    given_by_name = forms.CharField(label=_("同意人姓名"), max_length=60)
    relationship = forms.CharField(
        label=_("与本人关系"), max_length=20, required=False, help_text=_("由监护人同意时填写，例如 女儿、配偶")
    )
    date = forms.DateField(label=_("同意日期"), initial=timezone.localdate, widget=DateInput)
    covers_tracking = forms.BooleanField(label=_("同意位置跟踪"), initial=True, required=False)
    covers_sharing_workers = forms.BooleanField(
        label=_("同意走失时向网格员和志愿者共享位置"), initial=True, required=False
    )
    covers_sharing_police = forms.BooleanField(label=_("同意走失时向公安共享位置"), initial=True, required=False)
    document = forms.FileField(label=_("同意书扫描件（可选）"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("given_by_kind") == Consent.GivenBy.GUARDIAN and not (data.get("relationship") or "").strip():
            self.add_error("relationship", _("由监护人同意时请填写与本人的关系"))
        date = data.get("date")
        if date and date > timezone.localdate():
            self.add_error("date", _("同意日期不能晚于今天"))
        return data


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = [
            "photo",
            "photo_taken_on",
            "appearance",
            "habits",
            "routines",
            "places",
            "previous_addresses",
            "workplaces",
            "medical_notes",
            "guardian_phones",
        ]
        widgets = {
            "photo_taken_on": DateInput,
            **{
                name: forms.Textarea(attrs={"rows": 3})
                for name in (
                    "appearance",
                    "habits",
                    "routines",
                    "places",
                    "previous_addresses",
                    "workplaces",
                    "medical_notes",
                    "guardian_phones",
                )
            },
        }

    def __init__(self, *args: Any, medical: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not medical:
            del self.fields["medical_notes"]


class DeviceForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=60, initial=_("手机"))
    coord_system = forms.ChoiceField(
        label=_("坐标系"),
        choices=Device.CoordSystem.choices,
        initial=Device.CoordSystem.WGS84,
        help_text=_("OwnTracks 与 Traccar Client 报告 WGS-84；只有国产定位器或地图应用转发的坐标才选 GCJ-02"),
    )


class ZoneForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=60, initial=_("家"))
    kind = forms.ChoiceField(
        label=_("形状"), choices=[("circle", _("圆形")), ("polygon", _("多边形"))], initial="circle"
    )
    center_lat = forms.FloatField(label=_("圆心纬度"), required=False, min_value=-90, max_value=90)
    center_lon = forms.FloatField(label=_("圆心经度"), required=False, min_value=-180, max_value=180)
    radius_m = forms.FloatField(label=_("半径（米）"), required=False, min_value=20, max_value=20000, initial=200)
    polygon = forms.CharField(
        label=_("多边形（GeoJSON 或 “纬度,经度” 每行一点）"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    active_from = forms.TimeField(label=_("生效开始（可选）"), required=False, widget=TimeInput)
    active_until = forms.TimeField(label=_("生效结束（可选）"), required=False, widget=TimeInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("active_from") is None) != (data.get("active_until") is None):
            raise ValidationError(_("生效时段需同时填写开始和结束，或都不填"))
        if data.get("kind") == "circle":
            if data.get("center_lat") is None or data.get("center_lon") is None or not data.get("radius_m"):
                raise ValidationError(_("圆形区域需要圆心和半径：在地图上点击选择圆心"))
            data["shape"] = {
                "kind": "circle",
                "center_lat": data["center_lat"],
                "center_lon": data["center_lon"],
                "radius_m": data["radius_m"],
            }
        else:
            data["shape"] = {"kind": "polygon", "geojson": parse_polygon(data.get("polygon") or "")}
        return data


def parse_polygon(text: str) -> dict[str, Any]:
    """A GeoJSON Polygon (or Feature) or lines of ``lat,lon``; returns a valid GeoJSON Polygon."""
    import json

    from shapely.geometry import Polygon, mapping, shape

    text = text.strip()
    if not text:
        raise ValidationError(_("请在地图上画出多边形，或粘贴 GeoJSON"))
    try:
        if text.startswith("{"):
            data = json.loads(text)
            if data.get("type") == "Feature":
                data = data.get("geometry") or {}
            geom = shape(data)
        else:
            points = []
            for line in text.replace("；", "\n").replace(";", "\n").splitlines():
                if line.strip():
                    lat, lon = (float(part) for part in line.replace("，", ",").split(",")[:2])
                    points.append((lon, lat))
            geom = Polygon(points)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValidationError(_("无法识别的多边形")) from exc
    if geom.geom_type != "Polygon" or not geom.is_valid or geom.area == 0:
        raise ValidationError(_("多边形无效：至少三个点，且边不能相交"))
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValidationError(_("坐标超出范围"))
    return dict(mapping(geom))


class ReportForm(forms.Form):
    description = forms.CharField(
        label=_("情况说明"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("何时何地最后见到、穿着、可能去向"),
    )


class UpdateForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("类型"),
        choices=[(IncidentUpdate.Kind.NOTE, _("进展")), (IncidentUpdate.Kind.SIGHTING, _("目击线索"))],
        initial=IncidentUpdate.Kind.NOTE,
    )
    text = forms.CharField(label=_("内容"), widget=forms.Textarea(attrs={"rows": 2}))
    lat = forms.FloatField(label=_("纬度（可选）"), required=False, min_value=-90, max_value=90)
    lon = forms.FloatField(label=_("经度（可选）"), required=False, min_value=-180, max_value=180)
    seen_at = forms.DateTimeField(label=_("目击时间（可选）"), required=False, widget=DateTimeInput)


class AssignForm(forms.Form):
    searcher: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("搜寻人员"),
        queryset=None,  # type: ignore[arg-type]
        widget=FastSelect,
    )

    def __init__(self, *args: Any, candidates: Any, choices: Any = None, **kwargs: Any) -> None:
        """``candidates`` (a queryset) decides what may be chosen; ``choices`` (each with
        ``user``, ``role`` and ``distance_m``, nearest first), when given, is what the list
        shows: "name · role · distance"."""
        super().__init__(*args, **kwargs)
        field = self.fields["searcher"]
        field.queryset = candidates  # type: ignore[attr-defined]
        if choices is not None:
            field.choices = [("", "---------")] + [(c.user.pk, searcher_label(c)) for c in choices]  # type: ignore[attr-defined]


def searcher_label(choice: Any) -> str:
    """ "王芳 · 网格员 · 350 米": who, in what role, how far their areas are from the last position."""
    parts = [str(choice.user), str(choice.role)]
    if choice.distance_m is not None:
        parts.append(str(_("就在其负责区域内")) if choice.distance_m == 0 else metres_label(choice.distance_m))
    return " · ".join(parts)


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(label=_("结果"), choices=Incident.Outcome.choices, initial=Incident.Outcome.FOUND)
    found_where = forms.CharField(label=_("找到地点"), max_length=200, required=False)
    found_at = forms.DateTimeField(
        label=_("找到时间"), required=False, widget=DateTimeInput, help_text=_("不填则为现在")
    )
    condition = forms.CharField(label=_("找到时状况"), max_length=200, required=False)
