"""The units register as XLSX for reporting upward, and its empty template.

Columns carry the field names of the 实有单位 register as grid platforms print them, and code
values (a kind's standard code where one is set, else its own code) beside their names; a
second sheet lists the code tables. Phones are masked as in the residents export; the export
is audited with its row count before the workbook is built, and nothing is exported when the
entry cannot be written.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.core import idnumbers
from wangge.core.audit import Action, audit
from wangge.core.spreadsheet import register_workbook
from wangge.places.models import Unit, UnitKind
from wangge.places.queries import units_visible_to


def header() -> list[str]:
    return [
        _("单位名称"),
        _("统一社会信用代码"),
        _("单位类别代码"),
        _("单位类别"),
        _("法定代表人（负责人）"),
        _("联系电话"),
        _("从业人员数"),
        _("党组织情况代码"),
        _("党组织"),
        _("党组织名称"),
        _("党员人数"),
        _("街道"),
        _("社区"),
        _("网格"),
        _("楼栋"),
        _("地址"),
    ]


def _workbook(rows: list[list[Any]]) -> bytes:
    codes: list[list[Any]] = [
        [_("单位类别"), kind.standard_code or kind.code, kind.name] for kind in UnitKind.objects.order_by("order", "id")
    ]
    codes += [[_("党组织"), value, str(label)] for value, label in Unit.PartyOrg.choices]
    return register_workbook(
        title=_("实有单位"),
        header=header(),
        rows=rows,
        codes_title=_("代码表"),
        codes_header=[_("字段"), _("代码"), _("名称")],
        codes=codes,
        text_columns=[1, 5],  # the credit code and the phone
    )


def units_template() -> bytes:
    """The empty register with its code tables, for a district to fill in."""
    return _workbook([])


def units_export(*, by: Any) -> tuple[int, bytes]:
    """Audit the export, then return (row count, XLSX bytes). Raises ``PermissionDenied``."""
    if not policy.can_export(by):
        raise PermissionDenied(_("您没有导出单位信息的权限。"))
    units = (
        units_visible_to(by)
        .select_related("kind", "building", "room__building", "grid", "community", "street")
        .order_by("street_id", "community_id", "grid_id", "name", "id")
    )
    with transaction.atomic():
        count = units.count()
        audit(
            actor=by,
            action=Action.EXPORT,
            object_type="places.unit",
            summary=_("导出实有单位 %(count)d 个") % {"count": count},
            detail={"count": count, "format": "xlsx"},
        )
    rows = [
        [
            u.name,
            u.credit_code,
            u.kind.standard_code or u.kind.code,
            u.kind.name,
            u.legal_rep,
            idnumbers.mask_phone(u.legal_rep_phone) if u.legal_rep_phone else "",
            u.staff_count,
            u.party_org,
            u.get_party_org_display(),
            u.party_org_name,
            u.party_members,
            u.street.name,
            u.community.name,
            u.grid.name if u.grid else "",
            u.building.name,
            u.full_address,
        ]
        for u in units.iterator(chunk_size=2000)
    ]
    return count, _workbook(rows)


def filename(kind: str) -> str:
    return f"units-{kind}-{timezone.localdate():%Y%m%d}.xlsx"
