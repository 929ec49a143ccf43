"""One new row from one model instance, as ``instance.save()`` would write it, for the hot write
paths (an Open311 POST writes four rows: the case, its step and the report come through here;
the audit entry stays with ``AuditEntry.objects.create``, which the rollback tests replace).

Django compiles the INSERT afresh for every ``save()``: for the case's ~35 columns that, and
the save machinery around it, cost more CPU than the statement itself (bench/open311.py). Here
the statement is built once per model and database; each call only prepares the values, exactly
as the ORM does (``pre_save`` first, so ``auto_now_add`` and the like are set on the instance,
then ``get_db_prep_save``; a value of the exact Python type a plain column takes goes to the
driver as it is, which is what the ORM's preparation would make of it). The instance gets its
primary key and counts as saved afterwards.

No ``pre_save``/``post_save`` signals are sent (no Wangge model listens to them; a model that
gains receivers must not be written here) and nothing is validated: callers validate first.
An instance that already has a primary key, or a value that is an expression, is saved by
``save()`` instead.

Core is the bottom layer: nothing here imports an app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections, models, router
from django.db.models.fields import AutoFieldMixin

# The exact Python types each plain field sends to the driver unchanged (an int given to a
# boolean column, or a bool to an integer one, is prepared by the field as the ORM would).
_AS_IS: tuple[tuple[type[models.Field], tuple[type, ...]], ...] = (
    (models.BooleanField, (bool,)),
    (models.IntegerField, (int,)),  # and the automatic primary keys
    (models.FloatField, (float,)),
    (models.CharField, (str,)),
    (models.TextField, (str,)),
    (models.ForeignKey, (int,)),
)


class _Insert:
    def __init__(self, model: type[models.Model], alias: str) -> None:
        connection = connections[alias]
        meta = model._meta
        self.pk = meta.pk
        assert self.pk is not None
        quote = connection.ops.quote_name
        self.fields: list[tuple[models.Field, tuple[type, ...], Callable[..., Any]]] = []
        for field in meta.concrete_fields:
            if isinstance(field, AutoFieldMixin) or getattr(field, "generated", False):
                continue
            as_is = next((types for kind, types in _AS_IS if isinstance(field, kind)), ())
            self.fields.append((field, as_is, field.get_db_prep_save))
        columns = ", ".join(quote(str(field.column)) for field, _t, _p in self.fields)
        placeholders = ", ".join(["%s"] * len(self.fields))
        self.sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"
        self.returning = connection.features.can_return_columns_from_insert
        if self.returning:
            self.sql += f" RETURNING {quote(str(self.pk.column))}"


_inserts: dict[tuple[type[models.Model], str], _Insert] = {}


def save_new(instance: models.Model) -> None:
    """Insert ``instance`` (new, without a primary key) as its ``save()`` would."""
    model = type(instance)
    alias = router.db_for_write(model, instance=instance)
    if instance.pk is not None or model._meta.parents:
        instance.save(using=alias)
        return
    insert = _inserts.get((model, alias))
    if insert is None:
        insert = _inserts[(model, alias)] = _Insert(model, alias)
    connection = connections[alias]
    values: list[Any] = []
    for field, as_is, prepare in insert.fields:
        value = field.pre_save(instance, True)
        if value is None or type(value) in as_is:
            values.append(value)
        elif hasattr(value, "resolve_expression"):
            instance.save(using=alias)
            return
        else:
            values.append(prepare(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(insert.sql, values)
        if insert.returning:
            row = cursor.fetchone()
            assert row is not None
            pk = row[0]
        else:
            pk = connection.ops.last_insert_id(cursor, model._meta.db_table, str(insert.pk.column))
    setattr(instance, insert.pk.attname, pk)
    instance._state.adding = False
    instance._state.db = alias
