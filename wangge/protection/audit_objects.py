"""Names and links of the protection app's objects in the audit log, for a reader who may see
them (see ``wangge.core.audit_objects``), and the codes stored inside its summaries."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from wangge.core import stored_text
from wangge.core.audit_objects import int_ids, register
from wangge.protection import queries
from wangge.protection.models import Profile


def _enrolments(reader: Any, ids: list[str]) -> dict[str, tuple[str, str]]:
    rows = queries.enrolments_visible_to(reader).filter(pk__in=int_ids(ids)).values_list("pk", "resident__name")
    return {str(pk): (name, reverse("protection:enrolment", args=[pk])) for pk, name in rows}


def _profiles(reader: Any, ids: list[str]) -> dict[str, tuple[str, str]]:
    rows = Profile.objects.filter(pk__in=int_ids(ids), enrolment__in=queries.enrolments_visible_to(reader)).values_list(
        "pk", "enrolment_id", "enrolment__resident__name"
    )
    return {str(pk): (name, reverse("protection:enrolment", args=[enrolment])) for pk, enrolment, name in rows}


def _incidents(reader: Any, ids: list[str]) -> dict[str, tuple[str, str]]:
    rows = (
        queries.incidents_visible_to(reader).filter(pk__in=int_ids(ids)).values_list("pk", "enrolment__resident__name")
    )
    return {
        str(pk): (_("%(name)s 走失事件") % {"name": name}, reverse("protection:incident", args=[pk]))
        for pk, name in rows
    }


def _alerts(reader: Any, ids: list[str]) -> dict[str, tuple[str, str]]:
    rows = queries.alerts_visible_to(reader).filter(pk__in=int_ids(ids)).select_related("enrolment__resident")
    return {
        str(a.pk): (
            f"{a.enrolment.resident.name}：{a.get_kind_display()}",
            reverse("protection:enrolment", args=[a.enrolment_id]),
        )
        for a in rows
    }


def connect() -> None:
    register("protection.enrolment", _enrolments)
    register("protection.profile", _profiles)
    register("protection.incident", _incidents)
    register("protection.alert", _alerts)
    stored_text.register_terms(queries.PURPOSES)
