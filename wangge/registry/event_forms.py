"""Forms of the household and resident pages: life events and care tags.

They only parse input; the registry's ``actions`` validate the facts (ID numbers, status) and
write, so the pages, the API and the import share one set of rules.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.core.widgets import DateInput
from wangge.registry.models import (
    FLOATING,
    NATIONAL_ID,
    REGISTERED,
    CareCategory,
    DocumentType,
    LifeEvent,
    PopulationType,
    Resident,
)


def _date_field(label: Any = None) -> forms.DateField:
    return forms.DateField(label=label or _("日期"), initial=timezone.localdate, widget=DateInput)


class ResidentRegisterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("登记类型"),
        choices=[(LifeEvent.Kind.MOVE_IN, _("迁入（新登记）")), (LifeEvent.Kind.BIRTH, _("出生"))],
        initial=LifeEvent.Kind.MOVE_IN,
    )
    name = forms.CharField(label=_("姓名"), max_length=60)
    # Not required: a form posted without them (an older page) means the national ID, 户籍.
    document_type = forms.ChoiceField(label=_("证件类型"), initial=NATIONAL_ID, required=False)
    id_number = forms.CharField(label=_("证件号码"), max_length=60)
    sex = forms.ChoiceField(
        label=_("性别"),
        choices=[("", "—"), *Resident.Sex.choices],
        required=False,
        help_text=_("身份证、居住证号码已含性别和出生日期，可不填"),
    )
    birth_date = forms.DateField(label=_("出生日期"), required=False, widget=DateInput)
    population_type = forms.ChoiceField(label=_("人口类型"), initial=REGISTERED, required=False)
    separation = forms.ChoiceField(label=_("人户分离"), choices=Resident.Separation.choices, required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    relationship = forms.ChoiceField(
        label=_("与户主关系"), choices=Resident.Relationship.choices, initial=Resident.Relationship.OTHER
    )
    date = forms.DateField(label=_("迁入日期"), required=False, widget=DateInput, help_text=_("出生登记可不填"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["document_type"].choices = code_choices(DocumentType)  # type: ignore[attr-defined]
        self.fields["population_type"].choices = code_choices(PopulationType)  # type: ignore[attr-defined]


def code_choices(model: type[DocumentType] | type[PopulationType]) -> list[tuple[str, str]]:
    """A code table's rows as choices, in the page's language; read when the form is made,
    so an administrator's new row shows without a restart."""
    return [(row.code, row.label()) for row in model.objects.all()]


class PopulationForm(forms.Form):
    """人口类型, 人户分离 and the 流动 / 境外 details, on the resident's page."""

    population_type = forms.ChoiceField(label=_("人口类型"))
    separation = forms.ChoiceField(label=_("人户分离"), choices=Resident.Separation.choices, required=False)
    permit_number = forms.CharField(label=_("居住证号码"), max_length=40, required=False)
    origin = forms.CharField(label=_("户籍地"), max_length=100, required=False)
    arrival_date = forms.DateField(label=_("来本地日期"), required=False, widget=DateInput)
    reason = forms.CharField(label=_("来本地事由"), max_length=60, required=False)
    expected_stay = forms.CharField(label=_("拟居住期限"), max_length=60, required=False)
    nationality = forms.CharField(label=_("国籍"), max_length=60, required=False)
    visa_type = forms.CharField(label=_("签证（居留许可）种类"), max_length=60, required=False)
    visa_expiry = forms.DateField(label=_("签证（居留许可）有效期至"), required=False, widget=DateInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["population_type"].choices = code_choices(PopulationType)  # type: ignore[attr-defined]

    @classmethod
    def for_resident(cls, resident: Resident) -> PopulationForm:
        initial: dict[str, Any] = {"population_type": resident.population_type_id, "separation": resident.separation}
        for attr in ("floating", "foreign"):
            detail = getattr(resident, attr, None)
            if detail is not None:
                initial.update({f: getattr(detail, f) for f in FIELDS_OF[attr]})
        return cls(initial=initial)


FIELDS_OF = {
    "floating": ("permit_number", "origin", "arrival_date", "reason", "expected_stay"),
    "foreign": ("nationality", "visa_type", "visa_expiry"),
}


class TenantRegisterForm(ResidentRegisterForm, PopulationForm):
    """A new tenant on the lease's page: the person fields of the household's register form and
    the population fields of the resident's page, 流动人口 first, since most tenants met at the
    door have come from elsewhere. No life event, relationship or date: a tenant joins the
    room's household as "other", moving in today."""

    kind = None  # type: ignore[assignment]
    relationship = None  # type: ignore[assignment]
    date = None  # type: ignore[assignment]
    separation = None  # type: ignore[assignment]
    #: someone in the user's scope who holds the number typed (set by the view): offered instead
    known: Resident | None = None
    population_type = forms.ChoiceField(label=_("人口类型"), initial=FLOATING)

    field_order = (
        "name",
        "document_type",
        "id_number",
        "sex",
        "birth_date",
        "phone",
        "population_type",
        *FIELDS_OF["floating"],
        *FIELDS_OF["foreign"],
    )

    def groups(self) -> list[tuple[Any, list[forms.BoundField]]]:
        """The fields under their headings: the person, then each kind's details."""
        details = {*FIELDS_OF["floating"], *FIELDS_OF["foreign"]}
        return [
            ("", [self[name] for name in self.fields if name not in details]),
            (_("流动人口信息"), [self[name] for name in FIELDS_OF["floating"]]),
            (_("境外人员信息"), [self[name] for name in FIELDS_OF["foreign"]]),
        ]

    def person(self) -> dict[str, Any]:
        """``rental_tenant_register``'s arguments: the person, with the 流动 or 境外 details of the
        chosen type only (those typed under another type are not kept)."""
        data = self.cleaned_data
        code = data["population_type"]
        return {
            **{name: data[name] for name in ("name", "id_number", "phone", "sex", "birth_date")},
            "document_type": data["document_type"] or NATIONAL_ID,  # as on the household's form
            "population_type": code,
            **{kind: {f: data[f] for f in fields} if code == kind else None for kind, fields in FIELDS_OF.items()},
        }


class MoveInExistingForm(forms.Form):
    id_number = forms.CharField(
        label=_("公民身份号码"), max_length=24, help_text=_("已在您辖区登记的居民（例如从别的住户搬来）")
    )
    relationship = forms.ChoiceField(
        label=_("与户主关系"), choices=Resident.Relationship.choices, initial=Resident.Relationship.OTHER
    )
    date = _date_field(_("迁入日期"))


class MoveOutForm(forms.Form):
    date = _date_field(_("迁出日期"))
    destination = forms.CharField(label=_("迁往"), max_length=200, required=False)


class DeathForm(forms.Form):
    date = _date_field(_("死亡日期"))


class MarriageForm(forms.Form):
    date = _date_field(_("结婚日期"))
    spouse_id_number = forms.CharField(
        label=_("配偶身份号码"), max_length=24, required=False, help_text=_("配偶也在您辖区登记时填写")
    )
    spouse_name = forms.CharField(label=_("配偶姓名"), max_length=60, required=False)

    def clean(self) -> dict:
        data = super().clean() or {}
        if not data.get("spouse_id_number") and not data.get("spouse_name"):
            raise forms.ValidationError(_("请填写配偶姓名或身份号码"))
        return data


def care_label(category: CareCategory) -> str:
    """A category's name in the page's language (the set is data, so English is a column)."""
    from django.utils.translation import get_language

    if (get_language() or "").startswith("en") and category.name_en:
        return category.name_en
    return category.name


class CareTagChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: CareCategory) -> str:  # type: ignore[override]
        return care_label(obj)


class CareTagForm(forms.Form):
    category = CareTagChoiceField(label=_("人员类别"), queryset=CareCategory.objects.all())
    note = forms.CharField(label=_("说明"), max_length=200, required=False)
