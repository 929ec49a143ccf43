"""Forms of the case pages: the two intakes and one form per next step of a case."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.cases.models import Case, Category, CrossLevelMark, Department
from wangge.core.widgets import FastSelect


class IntakeForm(forms.Form):
    """The reception desk: a walk-in, a call, a letter or a leader's reception day."""

    channel = forms.ChoiceField(
        label=_("渠道"),
        choices=[(c.value, c.label) for c in Case.Channel if c != Case.Channel.FIELD],
    )
    category = forms.ModelChoiceField(label=_("类别"), queryset=Category.objects.none())
    text = forms.CharField(label=_("反映内容"), widget=forms.Textarea(attrs={"rows": 5}), max_length=5000)
    contact_name = forms.CharField(label=_("反映人姓名（未登记时填写）"), required=False, max_length=60)
    contact_phone = forms.CharField(label=_("联系电话"), required=False, max_length=20)
    collective_count = forms.IntegerField(label=_("人数"), min_value=1, max_value=10000, initial=1)
    area = forms.ModelChoiceField(
        label=_("所在网格或社区（未选反映人时）"), queryset=Area.objects.none(), required=False, widget=FastSelect
    )
    # Shown to those who may mark it (``policy.can_decide_cases``): the petitioner says at the
    # desk that they already took the matter higher up (越级访).
    cross_level = forms.BooleanField(label=_("越级访（已到上级反映）"), required=False)
    cross_level_to = forms.ChoiceField(
        label=_("越级到"), choices=[("", "—"), *CrossLevelMark.Level.choices], required=False
    )
    # Article 36 bars a re-reviewed matter only on the same facts and grounds.
    new_facts = forms.CharField(
        label=_("新的事实和理由（同一事项已复核、再次反映时填写）"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
    )

    def __init__(self, *args: Any, areas: Any, can_mark: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(active=True)  # type: ignore[attr-defined]
        self.fields["area"].queryset = areas  # type: ignore[attr-defined]
        if not can_mark:
            del self.fields["cross_level"], self.fields["cross_level_to"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("cross_level") and not data.get("cross_level_to"):
            self.add_error("cross_level_to", _("请选择越级到哪一级"))
        return data


def _departments() -> Any:
    return Department.objects.filter(active=True)


class AcceptForm(forms.Form):
    decision = forms.ChoiceField(label=_("决定"), choices=[("accept", _("受理")), ("decline", _("不予受理"))])
    note = forms.CharField(label=_("说明（不予受理时必填）"), required=False, max_length=2000)


class VisitForm(forms.Form):
    met = forms.CharField(label=_("见到的人"), max_length=200)
    found = forms.CharField(label=_("了解到的情况"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class ExemptForm(forms.Form):
    reason = forms.CharField(label=_("免于走访的原因"), max_length=200)


class AssignForm(forms.Form):
    department = forms.ModelChoiceField(label=_("承办部门"), queryset=Department.objects.none())
    co_departments = forms.ModelMultipleChoiceField(
        label=_("协办部门"), queryset=Department.objects.none(), required=False
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = _departments()  # type: ignore[attr-defined]
        self.fields["co_departments"].queryset = _departments()  # type: ignore[attr-defined]


class TransferForm(forms.Form):
    department = forms.ModelChoiceField(label=_("转给部门"), queryset=Department.objects.none())
    reason = forms.CharField(label=_("转办理由"), max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = _departments()  # type: ignore[attr-defined]


class ExtendForm(forms.Form):
    days = forms.IntegerField(label=_("延长天数"), min_value=1, max_value=30)
    reason = forms.CharField(label=_("延期理由"), max_length=2000)


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("书面答复"), widget=forms.Textarea(attrs={"rows": 4}), max_length=10000)


class MeritForm(forms.Form):
    merit = forms.ChoiceField(label=_("定性"), choices=Case.Merit.choices)
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)


class ResolutionForm(forms.Form):
    resolution = forms.ChoiceField(label=_("问题解决情况"), choices=Case.Resolution.choices)
    done = forms.CharField(label=_("做了什么"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    done_by = forms.CharField(label=_("由谁解决"), required=False, max_length=200)
    cost_yuan = forms.DecimalField(label=_("花费（元）"), required=False, min_value=0, max_digits=12, decimal_places=2)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)


class SatisfactionForm(forms.Form):
    satisfaction = forms.ChoiceField(label=_("满意度（走访询问）"), choices=Case.Satisfaction.choices)
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)
    want_review = forms.BooleanField(label=_("不满意，申请复查"), required=False)


# step name → (form, button label)
STEP_FORMS: dict[str, tuple[type[forms.Form], Any]] = {
    "accept": (AcceptForm, _("受理决定")),
    "visit": (VisitForm, _("登记入户走访")),
    "exempt": (ExemptForm, _("免于走访")),
    "assign": (AssignForm, _("交办")),
    "transfer": (TransferForm, _("转办")),
    "extend": (ExtendForm, _("延期")),
    "reply": (ReplyForm, _("书面答复")),
    "merit": (MeritForm, _("定性")),
    "resolution": (ResolutionForm, _("登记问题解决情况")),
    "verify": (NoteForm, _("核查")),
    "satisfaction": (SatisfactionForm, _("登记满意度")),
    "close": (NoteForm, _("办结")),
}


def next_steps(user: Any, case: Case) -> list[str]:
    """The steps the user may take on the case now (the actions still check everything)."""
    decide = policy.can_decide_cases(user)
    work = policy.can_work_cases(user)
    steps: list[str] = []
    if case.status == Case.Status.RECEIVED and decide:
        steps.append("accept")
    if case.is_open and work and case.needs_home_visit:
        steps.append("visit")
        if decide and case.visited_at is None and not case.visit_exempt_reason:
            steps.append("exempt")
    if case.status == Case.Status.ACCEPTED:
        if decide:
            steps.append("assign")
        if work and case.lead_department_id:
            steps.append("transfer")
        if decide and not case.extension_days:
            steps.append("extend")
        visit_ok = not case.needs_home_visit or case.visit_done
        if work and visit_ok and case.replied_at is None:
            steps.append("reply")
        if decide and visit_ok and case.is_petition:
            steps.append("merit")
    if case.status in (Case.Status.ACCEPTED, Case.Status.CLOSED) and work:
        steps.append("resolution")
    lead = case.lead_department
    # The handler may not verify their own work (the action refuses it too).
    handles = case.resolution_by_id == user.pk or (lead is not None and lead.members.filter(pk=user.pk).exists())
    if case.resolution and case.verified_at is None and decide and not handles:
        steps.append("verify")
    if case.resolution and work and case.status != Case.Status.DECLINED:
        steps.append("satisfaction")
    if case.status == Case.Status.ACCEPTED and decide and case.verified_at is not None:
        steps.append("close")
    return steps


# Field intake with photo and location; reviews, escorted visits, satisfaction links (issue 11) -


class PhoneIntakeForm(forms.Form):
    """The grid worker's phone page: the residents come from the search above the form, the
    position from the phone (filled in by the page's script, editable as an address), photos
    from the camera (read from ``request.FILES`` by the view: several files in one input)."""

    category = forms.ModelChoiceField(label=_("类别"), queryset=Category.objects.none())
    text = forms.CharField(label=_("情况描述"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    address = forms.CharField(label=_("地点"), required=False, max_length=200)
    lon = forms.FloatField(widget=forms.HiddenInput, required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(widget=forms.HiddenInput, required=False, min_value=-90, max_value=90)
    collective_count = forms.IntegerField(label=_("人数"), min_value=1, max_value=10000, initial=1, required=False)
    area = forms.ModelChoiceField(
        label=_("网格（匿名事件时）"), queryset=Area.objects.none(), required=False, widget=FastSelect
    )

    def __init__(self, *args: Any, areas: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(active=True)  # type: ignore[attr-defined]
        self.fields["area"].queryset = areas  # type: ignore[attr-defined]


class ReviewRequestForm(forms.Form):
    reason = forms.CharField(label=_("申请理由"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    requested_on = forms.DateField(
        label=_("申请日期（来信日期，不填为今天）"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class ReviewAnswerForm(forms.Form):
    outcome = forms.ChoiceField(label=_("结论"), choices=[("upheld", _("维持原意见")), ("changed", _("变更原意见"))])
    answer = forms.CharField(label=_("复查（复核）意见"), widget=forms.Textarea(attrs={"rows": 4}), max_length=10000)


class EscortScheduleForm(forms.Form):
    leader = forms.CharField(label=_("带访领导"), max_length=100)
    date = forms.DateField(label=_("安排日期"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)


class EscortRecordForm(forms.Form):
    escort = forms.IntegerField(widget=forms.HiddenInput)
    went_on = forms.DateField(label=_("领访日期"), widget=forms.DateInput(attrs={"type": "date"}))
    attendees = forms.CharField(label=_("参加人员"), max_length=300)
    outcome = forms.CharField(label=_("领访情况"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class SatisfactionLinkForm(forms.Form):
    send_sms = forms.BooleanField(label=_("同时发短信给反映人"), required=False)


class RateForm(forms.Form):
    """The petitioner's own page (``/s/<token>/``)."""

    satisfaction = forms.ChoiceField(
        label=_("您对处理结果是否满意？"), choices=Case.Satisfaction.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("意见（可不填）"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    want_review = forms.BooleanField(label=_("不满意，申请复查"), required=False)


class PlaceForm(forms.Form):
    """The phone's position sent with a home visit (hidden inputs the page's script fills)."""

    lon = forms.FloatField(required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90)


class PublicReplyForm(forms.Form):
    """A reply the reporter reads on their tracking page (and Open311 clients see)."""

    text = forms.CharField(
        label=_("答复内容（公开，勿写姓名、电话等个人信息）"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
