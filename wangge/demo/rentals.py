"""出租房屋 in the demo: most floating households rent the flat they live in from a local owner,
with leases at every stage (new, running, ending within the month, past their end) and
inspections, some overdue, so the rentals page has something to show.

Applied after ``population.assign`` (it reads who is floating), deterministically from the seed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from wangge.core import bulk
from wangge.registry.models import RENTED, HazardLevel, Household, Rental, RentalInspection, Resident, Room

RENTED_SHARE = 0.8  # of floating households; the rest bought or live with relatives
IN_CHUNK = 900
FINDINGS = {
    "none": ["正常", "消防器材齐全，通道畅通", "租住人员信息已核实"],
    "general": ["楼道堆放杂物，已督促清理", "电动车在室内充电，已劝离", "私拉电线，已告知出租人整改"],
    "major": ["燃气软管老化且无报警器，已责令停用", "群租隔断，安全出口被堵"],
}


@dataclass
class Counts:
    rentals: int = 0
    inspections: int = 0
    overdue: int = 0
    expiring: int = 0


def assign(*, seed: int, today: dt.date) -> Counts:
    rng = random.Random(seed * 104729 + 7)
    counts = Counts()
    periods = dict(HazardLevel.objects.values_list("code", "inspect_every_days"))
    floating = list(
        Household.objects.filter(members__population_type__code="floating", dwelling__isnull=False)
        .distinct()
        .order_by("pk")
        .values_list("pk", "dwelling_id", "community_id")
    )
    rng.shuffle(floating)
    rented = floating[: int(len(floating) * RENTED_SHARE)]
    if not rented:
        return counts
    # Landlords: heads of registered households of the same community (owners letting a second flat).
    owners: dict[int, list[tuple[int, str, str]]] = {}
    for pk, community, name, phone in (
        Resident.objects.filter(relationship=Resident.Relationship.HEAD, population_type__code="registered")
        .order_by("pk")
        .values_list("pk", "community_id", "name", "phone")
    ):
        owners.setdefault(community, []).append((pk, name, phone))
    scope = {
        pk: (grid, community, street, district)
        for pk, grid, community, street, district in Room.objects.filter(
            pk__in=[room for _h, room, _c in rented]
        ).values_list("pk", "grid_id", "community_id", "street_id", "district_id")
    }
    now = timezone.now()
    rows, inspections, tenancy = [], [], []
    for household, room, community in rented:
        landlord = rng.choice(owners[community]) if owners.get(community) else None
        start = today - dt.timedelta(days=rng.randrange(0, 720))
        end = start + dt.timedelta(days=rng.choice([365, 365, 730]) - 1)
        if rng.random() < 0.06:  # a lease ending within the month
            end = today + dt.timedelta(days=rng.randrange(0, 30))
            start = min(start, end - dt.timedelta(days=180))
        level = rng.choices(["none", "general", "major"], weights=[82, 15, 3])[0]
        last = None
        if rng.random() < 0.65 and (today - start).days > 7:
            last = start + dt.timedelta(days=rng.randrange(0, (today - start).days))
            inspections.append((room, last, level))
        due = (last or start) + dt.timedelta(days=periods.get(level, 90))
        counts.overdue += due < today and end >= today
        counts.expiring += today <= end <= today + dt.timedelta(days=30)
        grid, community_id, street, district = scope[room]
        rows.append(
            {
                "room_id": room,
                "landlord_id": landlord[0] if landlord else None,
                "landlord_name": landlord[1] if landlord else "",
                "landlord_phone": landlord[2] if landlord else "",
                "registration_number": f"LS{start:%Y}{rng.randrange(10**5):05d}" if rng.random() < 0.7 else "",
                "rent": Decimal(rng.randrange(6, 25) * 100),
                "start": start,
                "end": end,
                "hazard_level_id": level,
                "last_inspected": last,
                "inspection_due": due,
                "grid_id": grid,
                "community_id": community_id,
                "street_id": street,
                "district_id": district,
                "created_at": now,
            }
        )
        tenancy.append((room, household))
    bulk.insert(Rental, rows)
    rental_of: dict[int, int] = {}
    rooms = [room for room, _household in tenancy]
    for start_at in range(0, len(rooms), IN_CHUNK):
        rental_of.update(
            Rental.objects.filter(room_id__in=rooms[start_at : start_at + IN_CHUNK]).values_list("room_id", "pk")
        )
    for start_at in range(0, len(rooms), IN_CHUNK):
        Room.objects.filter(pk__in=rooms[start_at : start_at + IN_CHUNK]).update(use_id=RENTED)
    households = [household for _room, household in tenancy]
    members: list[dict[str, int]] = []
    for start_at in range(0, len(households), IN_CHUNK):
        chunk = dict(tenancy[start_at : start_at + IN_CHUNK])
        by_household = {household: room for room, household in chunk.items()}
        for pk, household in Resident.objects.filter(household_id__in=list(by_household)).values_list(
            "pk", "household_id"
        ):
            members.append({"rental_id": rental_of[by_household[household]], "resident_id": pk})
    bulk.insert(Rental.tenants.through, members)
    bulk.insert(
        RentalInspection,
        [
            {
                "rental_id": rental_of[room],
                "date": date,
                "findings": rng.choice(FINDINGS[level]),
                "hazard_level_id": level,
                "recorded_at": now,
            }
            for room, date, level in inspections
        ],
    )
    counts.rentals = len(rows)
    counts.inspections = len(inspections)
    return counts
