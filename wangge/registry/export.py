"""Export of the residents a user may see, as CSV (UTF-8 with BOM, so Excel opens it).

ID numbers and phones are masked and care categories left out: an export leaves the system,
so it carries no more than a list page shows. The export is audited (with the row count)
before the first byte is sent; if the entry cannot be written, nothing is exported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.areas.serializers import choice_label
from wangge.core import idnumbers, streaming
from wangge.core.audit import Action, audit
from wangge.registry.models import DocumentType, PopulationType, Resident
from wangge.registry.queries import residents_visible_to
from wangge.registry.serializers import age_on

BOM = "\ufeff"
CHUNK = 2000


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is a formula to Excel; a name or address never needs one.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def header() -> list[str]:
    return [
        _("姓名"),
        _("证件号码"),
        _("性别"),
        _("年龄"),
        _("联系电话"),
        _("与户主关系"),
        _("状态"),
        _("街道"),
        _("社区"),
        _("网格"),
        _("楼栋"),
        _("单元"),
        _("房号"),
        _("证件类型"),
        _("人口类型"),
        _("人户分离"),
    ]


# Plain values, not model instances: an export of a whole district is hundreds of thousands
# of rows, and building six model objects per row costs more than writing the CSV.
COLUMNS = (
    "name",
    "id_number",
    "sex",
    "birth_date",
    "phone",
    "relationship",
    "status",
    # area ids, named from a dict read once: an inner join on the street or community put the
    # area table outside the loop and the 520,000 rows were sorted again before the first byte
    "street_id",
    "community_id",
    "grid_id",
    "household__building__name",
    "household__entrance",
    "household__room",
    "document_type_id",
    "population_type_id",
    "separation",
)


def _row(values: tuple[Any, ...], today: Any, labels: dict[str, str]) -> list[str]:
    (
        name, id_number, sex, birth_date, phone, relationship, status,
        street, community, grid, building, entrance, room,
        document_type, population_type, separation,
    ) = values  # fmt: skip
    return [
        _cell(name),
        idnumbers.mask(id_number),
        choice_label(Resident.Sex, sex),
        str(age_on(birth_date, today)),
        idnumbers.mask_phone(phone),
        choice_label(Resident.Relationship, relationship),
        choice_label(Resident.Status, status),
        _cell(labels.get(f"a:{street}", "")),
        _cell(labels.get(f"a:{community}", "")),
        _cell(labels.get(f"a:{grid}", "") if grid else ""),
        _cell(building or ""),
        _cell(entrance or ""),
        _cell(room or ""),
        _cell(labels.get("d:" + document_type, document_type)),
        _cell(labels.get("p:" + population_type, population_type)),
        choice_label(Resident.Separation, separation) if separation else "",
    ]


def _labels() -> dict[str, str]:
    """Code-table names by ``d:``/``p:`` + code and area names by ``a:`` + id, read once per export."""
    labels = {"d:" + row.code: row.label() for row in DocumentType.objects.all()}
    labels.update({"p:" + row.code: row.label() for row in PopulationType.objects.all()})
    labels.update(
        {f"a:{pk}": short or name for pk, short, name in Area.objects.values_list("id", "short_name", "name")}
    )
    return labels


def residents_for_export(*, by: Any, grid: int | None = None, community: int | None = None) -> QuerySet[Resident]:
    residents = residents_visible_to(by)
    if grid is not None:
        residents = residents.filter(grid_id=grid)
    if community is not None:
        residents = residents.filter(community_id=community)
    return residents.order_by("street_id", "community_id", "grid_id", "household_id", "id")


def residents_export(*, by: Any, grid: int | None = None, community: int | None = None) -> tuple[int, Iterator[str]]:
    """Audit the export, then return (row count, CSV text chunks). Raises ``PermissionDenied``."""
    if not policy.can_export(by):
        raise PermissionDenied(_("您没有导出居民信息的权限。"))
    residents = residents_for_export(by=by, grid=grid, community=community)
    with transaction.atomic():
        count = residents.count()
        audit(
            actor=by,
            action=Action.EXPORT,
            object_type="registry.resident",
            summary=_("导出居民名单 %(count)d 人") % {"count": count},
            detail={"count": count, "format": "csv", "grid": grid, "community": community},
        )
    return count, _chunks(residents)


def _chunks(residents: QuerySet[Resident]) -> Iterator[str]:
    today = timezone.localdate()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(header())
    labels = _labels()
    for index, values in enumerate(streaming.rows(residents.values_list(*COLUMNS), chunk_size=CHUNK), start=1):
        writer.writerow(_row(values, today, labels))
        if index % CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def filename() -> str:
    return f"residents-{timezone.localdate():%Y%m%d}.csv"


def csv_response(chunks: Iterator[str], count: int) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in chunks), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename()}"'
    response["X-Row-Count"] = str(count)
    return response


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return -1


@login_required
@require_GET
def export_view(request: HttpRequest) -> StreamingHttpResponse:
    """The page link: the same CSV as the API, for a browser session."""
    count, chunks = residents_export(
        by=request.user,
        grid=_int_or_none(request.GET.get("grid")),
        community=_int_or_none(request.GET.get("community")),
    )
    return csv_response(chunks, count)
