"""Bulk writes from named rows: columns built from the names, values converted as the ORM would."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from wangge.core import bulk
from wangge.core.models import AuditEntry


@pytest.mark.django_db
def test_it_inserts_named_rows_and_gives_every_other_column_its_default() -> None:
    before = timezone.now()
    written = bulk.insert(
        AuditEntry,
        [
            {"action": AuditEntry.Action.IMPORT, "summary": "一", "detail": {"rows": 1}},
            {"summary": "二", "action": AuditEntry.Action.IMPORT, "detail": {"rows": 2}},
        ],
    )
    assert written == 2
    first, second = AuditEntry.objects.order_by("pk")
    assert (first.summary, first.detail, second.summary, second.detail) == ("一", {"rows": 1}, "二", {"rows": 2})
    assert first.at >= before - dt.timedelta(seconds=1)  # auto_now_add: the time of the write
    assert (first.actor_id, first.ip, first.object_id) == (None, None, "")


@pytest.mark.django_db
def test_it_stores_a_given_time_exactly_as_the_orm_does() -> None:
    at = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
    bulk.insert(AuditEntry, [{"action": AuditEntry.Action.IMPORT, "at": at, "summary": "bulk"}])
    AuditEntry.objects.create(action=AuditEntry.Action.IMPORT, summary="orm")
    AuditEntry.objects.filter(summary="orm").update(at=at)
    assert set(AuditEntry.objects.filter(at=at).values_list("summary", flat=True)) == {"bulk", "orm"}


@pytest.mark.django_db
def test_it_updates_each_row_found_by_its_key_and_leaves_the_rest() -> None:
    a, b, _c = (Group.objects.create(name=name) for name in ("a", "b", "c"))
    assert bulk.update(Group, [{"id": a.pk, "name": "甲"}, {"name": "乙", "id": b.pk}]) == 2
    assert list(Group.objects.order_by("pk").values_list("name", flat=True)) == ["甲", "乙", "c"]


@pytest.mark.django_db
def test_it_skips_or_updates_rows_that_clash_on_a_unique_field() -> None:
    Group.objects.create(name="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert(Group, [{"name": "a"}])
    bulk.insert(Group, [{"name": "a"}, {"name": "b"}], ignore_conflicts=True)
    assert sorted(Group.objects.values_list("name", flat=True)) == ["a", "b"]


@pytest.mark.django_db
def test_it_upserts_rows_by_a_unique_field() -> None:
    User = get_user_model()
    User.objects.create(username="u1", first_name="旧", last_name="留")
    rows = [{"username": "u1", "first_name": "新"}, {"username": "u2", "first_name": "二"}]
    assert bulk.upsert(User, rows, unique=["username"], update=["first_name"]) == 2
    assert sorted(User.objects.values_list("username", "first_name", "last_name")) == [
        ("u1", "新", "留"),
        ("u2", "二", ""),
    ]


@pytest.mark.django_db
def test_it_inserts_ready_tuples_and_gives_the_other_columns_their_defaults() -> None:
    assert bulk.insert_values(AuditEntry, ("summary", "object_id"), [("一", "7"), ("二", "8")]) == 2
    first, second = AuditEntry.objects.order_by("pk")
    assert (first.summary, first.object_id, second.summary, second.object_id) == ("一", "7", "二", "8")
    assert first.detail == {} and first.at is not None


def test_it_refuses_tuples_of_fields_that_need_converting() -> None:
    with pytest.raises(AssertionError):
        bulk.insert_values(AuditEntry, ("summary", "at"), [("一", timezone.now())])


AWKWARD = ["tab\there", "line\nbreak", "back\\slash", "\\N", "", "引号'\"", "carriage\rreturn"]


@pytest.mark.django_db
def test_awkward_text_and_json_arrive_exactly_as_given() -> None:
    # On PostgreSQL the rows travel in COPY's text format, where tabs, newlines, backslashes
    # and \N mean something: each value must still arrive as it was, and NULL only from None.
    rows = [
        {"action": AuditEntry.Action.IMPORT, "summary": t, "object_id": t, "detail": {"text": t, "n": [1, None]}}
        for t in AWKWARD
    ]
    bulk.insert(AuditEntry, rows)
    bulk.insert_values(AuditEntry, ("summary", "object_id"), [(text, text) for text in AWKWARD])
    stored = list(AuditEntry.objects.order_by("pk").values_list("summary", "object_id", "detail", "ip"))
    assert [(s, o) for s, o, _d, _ip in stored] == [(t, t) for t in AWKWARD] * 2
    assert [d for _s, _o, d, _ip in stored[: len(AWKWARD)]] == [{"text": t, "n": [1, None]} for t in AWKWARD]
    assert {ip for *_rest, ip in stored} == {None}


@pytest.mark.django_db
def test_on_postgresql_inserts_stream_through_copy_not_one_insert_a_row() -> None:
    # One parsed INSERT a row made the server parse and plan millions of statements at an import.
    from django.db import connection

    statements: list[str] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements.append(sql)
        return execute(sql, params, many, context)

    rows = [{"action": AuditEntry.Action.IMPORT, "summary": f"第{i}行"} for i in range(50)]
    with connection.execute_wrapper(record):
        bulk.insert(AuditEntry, rows)
        bulk.insert_values(AuditEntry, ("summary",), [(f"键{i}",) for i in range(50)])
    assert AuditEntry.objects.count() == 100
    inserts = [sql for sql in statements if sql.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == (0 if connection.vendor == "postgresql" else 2)
