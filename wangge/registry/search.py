"""Search keys for residents: the forms in which a grid worker may type a name or number.

Each resident gets a handful of ``SearchKey`` rows (simplified name, every pinyin reading,
initials, ID number, last four phone digits); a query is a prefix range scan on the key index.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from wangge.core import chinese
from wangge.registry.models import Resident, SearchKey

ID_PREFIX = "#"
PHONE_PREFIX = "@"


def keys_for(name: str, id_number: str, phone: str) -> list[str]:
    keys: list[str] = []
    simplified = chinese.to_simplified(name.strip())
    keys.append(simplified)
    for reading in chinese.pinyin_readings(simplified):
        keys.append(reading.full)
        keys.append(reading.initials)
    if id_number:
        keys.append(ID_PREFIX + id_number.upper())
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) >= 4:
        keys.append(PHONE_PREFIX + digits[-4:])
    return list(dict.fromkeys(key for key in keys if key))


def index_residents(residents: Iterable[Resident], *, batch_size: int = 5000) -> int:
    """(Re)build the search keys of these residents; returns the number of keys written."""
    written = 0
    iterator = iter(residents)
    while batch := list(itertools.islice(iterator, batch_size)):
        SearchKey.objects.filter(resident_id__in=[r.pk for r in batch]).delete()
        rows = [
            SearchKey(
                resident_id=r.pk,
                key=key[:80],
                grid_id=r.grid_id,
                community_id=r.community_id,
                street_id=r.street_id,
                district_id=r.district_id,
            )
            for r in batch
            for key in keys_for(r.name, r.id_number, r.phone)
        ]
        SearchKey.objects.bulk_create(rows, batch_size=batch_size)
        written += len(rows)
    return written
