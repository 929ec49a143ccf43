"""The units import's run records: the runs a user made, what each created, and undoing one as a
whole (atomic with its audit entry, like every write).

A run is its uploader's, as a residents import is: anyone else reads it as not there (404).
Undoing removes the units the run registered and the buildings it made that nothing else uses
now; a unit a key place has since been registered under stays (the place would lose its unit),
and so does a building with anything in it. Changes the run made to units that were already
registered are not undone (the residents import's undo keeps them too).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.areas.models import Building
from wangge.core.audit import Action, audit
from wangge.places.models import Unit, UnitImport

RECENT = 10
IN_CHUNK = 900  # ids per ``IN (...)``: under SQLite's historical limit of 999 parameters


def runs_of(user: Any) -> QuerySet[UnitImport]:
    """The user's own units imports, newest first."""
    if not policy.can_import(user):
        return UnitImport.objects.none()
    return UnitImport.objects.filter(created_by=user.pk).order_by("-id")


def get_run(user: Any, pk: Any) -> UnitImport:
    try:
        return runs_of(user).get(pk=pk)
    except (UnitImport.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _kept_units(run: UnitImport) -> QuerySet[Unit]:
    """Units of the run a key place now belongs to: undoing leaves them."""
    return Unit.objects.filter(import_run=run, places__isnull=False).distinct()


def created_counts(run: UnitImport) -> dict[str, int]:
    """What undoing ``run`` would remove (and keep), shown before the confirmation."""
    units = Unit.objects.filter(import_run=run).count()
    kept = _kept_units(run).count()
    return {
        "units": units - kept,
        "units_kept": kept,
        "buildings": Building.objects.filter(pk__in=run.buildings).count(),
    }


def unit_import_undo(*, by: Any, run: UnitImport) -> dict[str, int]:
    """Remove what ``run`` created, in one transaction with its audit entry; returns the counts.

    Raises ``ValidationError`` when the run was undone already.
    """
    with transaction.atomic():
        locked = UnitImport.objects.select_for_update().get(pk=run.pk)
        if locked.status != UnitImport.Status.DONE:
            raise ValidationError(_("这次导入已撤销。"))
        kept = set(_kept_units(run).values_list("pk", flat=True))
        ids = list(Unit.objects.filter(import_run=run).exclude(pk__in=kept).values_list("pk", flat=True))
        for start in range(0, len(ids), IN_CHUNK):
            Unit.objects.filter(pk__in=ids[start : start + IN_CHUNK]).delete()
        buildings = buildings_kept = 0
        for building in Building.objects.filter(pk__in=run.buildings):
            try:
                with transaction.atomic():  # a building something now stands in (PROTECT) stays
                    building.delete()
                buildings += 1
            except ProtectedError:
                buildings_kept += 1
        summary = {
            "units": len(ids),
            "units_kept": len(kept),
            "buildings": buildings,
            "buildings_kept": buildings_kept,
        }
        locked.status = UnitImport.Status.UNDONE
        locked.undone_at = timezone.now()
        locked.counts = {**locked.counts, "undo": summary}
        locked.save(update_fields=["status", "undone_at", "counts"])
        audit(
            actor=by,
            action=Action.DELETE,
            obj=locked,
            summary=_("撤销单位导入 %(file)s：删除单位 %(units)d 个，保留 %(kept)d 个")
            % {"file": run.file_name, "units": len(ids), "kept": len(kept)},
            detail={"import": run.pk, **summary},
        )
    run.refresh_from_db()
    return summary
