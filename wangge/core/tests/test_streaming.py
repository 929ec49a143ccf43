"""A streamed download's rows: read in a transaction on PostgreSQL, so its cursor is not held."""

from __future__ import annotations

import pytest
from django.db import connection

from wangge.areas.models import Area
from wangge.core import streaming


@pytest.mark.django_db(transaction=True)
def test_rows_come_in_order_in_a_transaction_on_postgresql_only() -> None:
    for n in range(5):
        Area.objects.create(name=f"网格{n}", level=Area.Level.GRID)
    seen, inside = [], []
    for name in streaming.rows(Area.objects.order_by("id").values_list("name", flat=True), chunk_size=2):
        seen.append(name)
        inside.append(connection.in_atomic_block)
    assert seen == [f"网格{n}" for n in range(5)]
    assert set(inside) == {connection.vendor == "postgresql"}
    assert not connection.in_atomic_block  # closed with the last row


@pytest.mark.django_db(transaction=True)
def test_a_download_abandoned_half_way_ends_its_transaction() -> None:
    for n in range(5):
        Area.objects.create(name=f"网格{n}", level=Area.Level.GRID)
    rows = streaming.rows(Area.objects.order_by("id").values_list("name", flat=True), chunk_size=2)
    assert next(rows) == "网格0"
    rows.close()
    assert not connection.in_atomic_block
