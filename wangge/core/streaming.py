"""Reading a large queryset for a streamed download, so the first rows come first.

``QuerySet.iterator`` on PostgreSQL reads through a server-side cursor; outside a transaction
Django declares it ``WITH HOLD``, and PostgreSQL then computes the whole result when the
declaring transaction commits, before the first row is fetched (1.1 s for a district's 520,000
residents, whatever index gives their order). Inside a transaction the cursor is not held and
rows come as the index yields them. SQLite reads as it goes anyway, and there a transaction
(``BEGIN IMMEDIATE``) would keep writers out for the whole download: it gets none.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connections, transaction
from django.db.models import QuerySet


def rows(queryset: QuerySet[Any], *, chunk_size: int = 2000) -> Iterator[Any]:
    """``queryset.iterator(chunk_size=…)``, in a transaction on PostgreSQL (see the module)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield from queryset.iterator(chunk_size=chunk_size)
        return
    with transaction.atomic(using=queryset.db):
        yield from queryset.iterator(chunk_size=chunk_size)
