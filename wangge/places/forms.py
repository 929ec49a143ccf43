"""The forms that register and correct a unit or a key place on a phone. They parse input only:
the checks that matter (the credit code, a duplicate, a phone number) are the actions', whose
errors the view puts back on the fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.places.models import PlaceType, Unit, UnitKind
from wangge.registry.models import Room

NO_CHOICE = ("", gettext_lazy("（不选）"))


def room_label(room: Room) -> str:
    if room.entrance:
        return _("%(entrance)s单元 %(number)s") % {"entrance": room.entrance, "number": room.number}
    return room.number


def _codes(model: Any) -> list[tuple[str, str]]:
    return [(row.code, row.label()) for row in model.objects.all()]


class _Located(forms.Form):
    """A room of the chosen building (optional) and the address as written."""

    def __init__(self, *args: Any, rooms: QuerySet[Room], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rooms = {str(room.pk): room for room in rooms}
        self.fields["room"].choices = [NO_CHOICE, *((pk, room_label(r)) for pk, r in self.rooms.items())]  # type: ignore[attr-defined]

    def clean_room(self) -> Room | None:
        return self.rooms.get(self.cleaned_data.get("room") or "")


class UnitForm(_Located):
    name = forms.CharField(label=gettext_lazy("单位名称"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("单位类别"), choices=())
    credit_code = forms.CharField(
        label=gettext_lazy("统一社会信用代码"),
        max_length=30,
        required=False,
        help_text=gettext_lazy("18 位，个体工商户没有时可不填"),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"}),
    )
    pilot_code = forms.BooleanField(
        label=gettext_lazy("早期试点代码（校验码不符仍登记）"),
        required=False,
        help_text=gettext_lazy("仅用于 2015 年前后个别试点地区发放、校验码与国家标准不符的代码"),
    )
    room = forms.ChoiceField(label=gettext_lazy("房屋"), required=False, choices=())
    address = forms.CharField(
        label=gettext_lazy("地址"), max_length=200, required=False, help_text=gettext_lazy("不填则用楼栋或房屋地址")
    )
    legal_rep = forms.CharField(label=gettext_lazy("法定代表人（负责人）"), max_length=60)
    legal_rep_phone = forms.CharField(
        label=gettext_lazy("联系电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    staff_count = forms.IntegerField(
        label=gettext_lazy("从业人员数"), required=False, min_value=0, max_value=10_000_000
    )
    party_org = forms.ChoiceField(label=gettext_lazy("党组织"), choices=Unit.PartyOrg.choices)
    party_org_name = forms.CharField(label=gettext_lazy("党组织名称"), max_length=100, required=False)
    party_members = forms.IntegerField(label=gettext_lazy("党员人数"), required=False, min_value=0, max_value=1_000_000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _codes(UnitKind)  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(unit: Unit) -> dict[str, Any]:
        values = {f: getattr(unit, f) for f in UnitForm.base_fields if f not in ("kind", "room", "pilot_code")}
        values.update(kind=unit.kind_id, room=unit.room_id or "", pilot_code=not unit.credit_code_checked)
        return values


class PlaceForm(_Located):
    name = forms.CharField(label=gettext_lazy("场所名称"), max_length=100)
    place_type = forms.ChoiceField(label=gettext_lazy("场所类型"), choices=())
    unit = forms.ChoiceField(
        label=gettext_lazy("所属单位"),
        required=False,
        choices=(),
        help_text=gettext_lazy("同一楼栋已登记的单位；没有可不选"),
    )
    room = forms.ChoiceField(label=gettext_lazy("房屋"), required=False, choices=())
    address = forms.CharField(
        label=gettext_lazy("地址"), max_length=200, required=False, help_text=gettext_lazy("如“1号楼底商3号”")
    )
    operator = forms.CharField(
        label=gettext_lazy("经营者"), max_length=60, required=False, help_text=gettext_lazy("不填则用所属单位的负责人")
    )
    operator_phone = forms.CharField(
        label=gettext_lazy("经营者电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["place_type"].choices = _codes(PlaceType)  # type: ignore[attr-defined]
        self.units = {str(unit.pk): unit for unit in units}
        self.fields["unit"].choices = [NO_CHOICE, *((pk, u.name) for pk, u in self.units.items())]  # type: ignore[attr-defined]

    def clean_unit(self) -> Unit | None:
        return self.units.get(self.cleaned_data.get("unit") or "")

    @staticmethod
    def initial_for(place: Any) -> dict[str, Any]:
        values = {f: getattr(place, f) for f in ("name", "address", "operator", "operator_phone")}
        values.update(place_type=place.place_type_id, unit=place.unit_id or "", room=place.room_id or "")
        return values
