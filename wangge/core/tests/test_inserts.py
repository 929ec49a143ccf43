"""One new row from an instance, with the INSERT built once per model: the same row as save()."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.utils import timezone
from django.utils.translation import gettext_lazy

from wangge.core import inserts
from wangge.core.models import AuditEntry

COMPARED = ["actor_id", "actor_label", "action", "object_type", "object_id", "summary", "detail", "ip", "user_agent"]


def _row(entry: AuditEntry) -> dict[str, Any]:
    return AuditEntry.objects.filter(pk=entry.pk).values(*COMPARED).get()


@pytest.mark.django_db
def test_it_writes_the_row_save_writes_and_gives_the_instance_its_key() -> None:
    user = get_user_model().objects.create_user(username="w1")
    fields: dict[str, Any] = {
        "actor": user,
        "actor_label": "w1",
        "action": AuditEntry.Action.UPDATE,
        "object_type": "cases.case",
        "object_id": "17",
        "summary": gettext_lazy("修改"),  # a lazy text is prepared as the ORM prepares it
        "detail": {"step": "receive", "n": 1, "名": "值"},
        "ip": "192.0.2.7",
        "user_agent": "bench",
    }
    before = timezone.now()
    by_save = AuditEntry.objects.create(**fields)
    new = AuditEntry(**fields)
    inserts.save_new(new)
    assert new.pk is not None and new.pk != by_save.pk
    assert not new._state.adding and new._state.db == "default"
    assert _row(new) == _row(by_save)
    stored = AuditEntry.objects.get(pk=new.pk)
    assert stored.at == new.at and stored.at >= before - dt.timedelta(seconds=1)  # auto_now_add set


@pytest.mark.django_db
def test_each_model_gets_its_own_statement_and_defaults_are_written() -> None:
    group = Group(name="甲")
    inserts.save_new(group)
    entry = AuditEntry(action=AuditEntry.Action.CREATE)
    inserts.save_new(entry)
    again = AuditEntry(action=AuditEntry.Action.CREATE, summary="二")
    inserts.save_new(again)
    assert Group.objects.get(pk=group.pk).name == "甲"
    assert AuditEntry.objects.filter(pk__in=[entry.pk, again.pk]).count() == 2
    assert (AuditEntry.objects.get(pk=entry.pk).detail, AuditEntry.objects.get(pk=entry.pk).ip) == ({}, None)


@pytest.mark.django_db
def test_an_expression_or_an_instance_with_a_key_is_saved_by_save() -> None:
    group = Group(name=Value("乙"))
    inserts.save_new(group)
    assert Group.objects.filter(name="乙").exists()
    kept = Group.objects.create(name="丙")
    kept.name = "丁"
    inserts.save_new(kept)  # an update, as save() makes it
    assert Group.objects.get(pk=kept.pk).name == "丁"


@pytest.mark.django_db
def test_a_broken_constraint_fails_like_save() -> None:
    Group.objects.create(name="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        inserts.save_new(Group(name="a"))
