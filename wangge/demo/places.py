"""实有单位 and 重点场所 in the demo: shops, restaurants, hostels and the rest of the 九小场所 in
the ground floors of the district's buildings, most of them a registered unit's, with
inspections behind them, rectifications done, running and overdue (at least one), so the places
page has something to show.

Applied after the residents are written, deterministically from the demo's seed; written in
bulk like the rentals, not through the audited actions (a demo build is not anyone's work).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.utils import timezone

from wangge.areas.models import Area, Building
from wangge.places import creditcode
from wangge.places.codes import ensure_defaults
from wangge.places.models import Inspection, Place, PlaceType, Rectification, Unit
from wangge.registry.models import HazardLevel, Resident

PER_THOUSAND_RESIDENTS = 12  # units; about 6,000 at Lishan's full scale
MINIMUM = 16  # so that a small demo still shows every page
BRANDS = [
    "鸿运",
    "兴隆",
    "福满",
    "金鼎",
    "百信",
    "永和",
    "顺发",
    "德润",
    "佳美",
    "安康",
    "大众",
    "好邻居",
    "老刘家",
    "红旗",
]
PLACES = {
    # place type: (weight, names)
    "small_shop": (30, ["便利店", "超市", "五金店", "烟酒店", "水果店"]),
    "small_restaurant": (25, ["饺子馆", "烧烤店", "面馆", "快餐店"]),
    "small_hostel": (6, ["旅馆", "宾馆"]),
    "small_internet_cafe": (3, ["网吧"]),
    "small_beauty_bath": (10, ["美发店", "洗浴中心", "美容院"]),
    "small_entertainment": (3, ["KTV"]),
    "small_school": (5, ["幼儿园", "托管班"]),
    "small_clinic": (6, ["诊所", "药店"]),
    "small_workshop": (5, ["加工厂", "汽修店"]),
}
# unit kind: (weight, prefix of the credit code, name pattern)
KINDS = {
    "individual": (55, "92", "{city}{brand}{name}"),
    "enterprise": (30, "91", "{city}{brand}商贸有限公司"),
    "social_org": (8, "52", "{city}{brand}社会工作服务中心"),
    "state_owned": (3, "91", "{city}{brand}供热有限公司"),
    "public_body": (4, "12", "{city}{brand}街道社区卫生服务站"),
}
FINDINGS = {
    "none": ["正常", "消防器材齐全，通道畅通", "证照齐全，未发现隐患"],
    "general": ["灭火器过期", "疏散通道堆放杂物", "电动车在室内充电", "私拉乱接电线"],
    "major": ["燃气软管老化且无报警器", "安全出口被锁闭", "住宿与经营场所未分隔（三合一）"],
}
RECTIFY = {
    "general": ["更换灭火器", "清理疏散通道", "禁止室内充电，设置充电区", "规范敷设电线"],
    "major": ["更换燃气软管并加装报警器", "拆除锁具，保持安全出口畅通", "住宿区与经营区实施防火分隔"],
}
PARTY = [("none", 70), ("joint_branch", 15), ("branch", 8), ("instructor", 5), ("general_branch", 2)]


@dataclass
class Counts:
    units: int = 0
    places: int = 0
    inspections: int = 0
    rectifications: int = 0
    overdue: int = 0


def _pick(rng: random.Random, table: dict[str, tuple]) -> str:
    return rng.choices(list(table), weights=[row[0] for row in table.values()])[0]


def assign(*, seed: int, today: dt.date) -> Counts:
    rng = random.Random(seed * 7919 + 11)
    ensure_defaults()
    counts = Counts()
    residents = Resident.objects.filter(status=Resident.Status.LIVING).count()
    buildings = list(
        Building.objects.order_by("pk").values_list("pk", "name", "grid_id", "community_id", "street_id", "district_id")
    )
    if not buildings:
        return counts
    district = Area.objects.filter(level=Area.Level.DISTRICT).order_by("pk").values_list("code", "name").first()
    division = (district[0] if district and district[0] and district[0].isdigit() else "210304")[:6].ljust(6, "0")
    city = "鞍山市" if division.startswith("2103") else ""
    adults = list(
        Resident.objects.filter(status=Resident.Status.LIVING, birth_date__lt=today - dt.timedelta(days=365 * 25))
        .order_by("pk")
        .values_list("name", "phone")[:5000]
    )
    periods = dict(PlaceType.objects.values_list("code", "inspect_every_days"))
    levels = dict(HazardLevel.objects.values_list("code", "inspect_every_days"))
    wanted = max(MINIMUM, round(residents * PER_THOUSAND_RESIDENTS / 1000))
    now = timezone.now()
    codes: set[str] = set()
    units: list[Unit] = []
    planned: list[tuple[int, str, str]] = []  # (index of the unit or -1, place type, name)
    for index in range(wanted):
        pk, building_name, grid, community, street, district_id = rng.choice(buildings)
        kind = _pick(rng, KINDS)
        brand = rng.choice(BRANDS)
        place_type = _pick(rng, PLACES)
        place_name = rng.choice(PLACES[place_type][1])
        name = KINDS[kind][2].format(city=city, brand=brand, name=place_name)
        code = ""
        if rng.random() < 0.9:
            while not code or code in codes:
                body = "".join(rng.choice(creditcode.CHARSET) for _ in range(9))
                code = creditcode.make(KINDS[kind][1] + division + body)
            codes.add(code)
        rep = rng.choice(adults) if adults else ("张伟", "")
        party = rng.choices([p for p, _w in PARTY], weights=[w for _p, w in PARTY])[0]
        staff = rng.randrange(1, 8) if kind == "individual" else rng.randrange(5, 120)
        units.append(
            Unit(
                name=name,
                kind_id=kind,
                credit_code=code,
                legal_rep=rep[0],
                legal_rep_phone=rep[1],
                staff_count=staff,
                party_org=party,
                party_org_name=f"{brand}{Unit.PartyOrg(party).label}" if party not in ("none", "instructor") else "",
                party_members=rng.randrange(3, 30) if party != "none" else None,
                building_id=pk,
                address=f"{building_name}底商{rng.randrange(1, 20)}号",
                grid_id=grid,
                community_id=community,
                street_id=street,
                district_id=district_id,
                created_at=now,
            )
        )
        if kind in ("individual", "enterprise") and rng.random() < 0.8:
            planned.append((index, place_type, f"{brand}{place_name}"))
    Unit.objects.bulk_create(units, batch_size=500)
    # A few places nobody registered as a unit (a stall, a home workshop).
    for _n in range(max(2, wanted // 10)):
        place_type = _pick(rng, PLACES)
        planned.append((-1, place_type, f"{rng.choice(BRANDS)}{rng.choice(PLACES[place_type][1])}"))
    places: list[Place] = []
    history: list[list[tuple[dt.date, str]]] = []
    # A place is known by its building and name (the places import matches on them, so the
    # district's export imports back unchanged): never two of one name in a building.
    taken: set[tuple[int, str]] = set()
    unique = []
    for entry in planned:  # the units' own places first, then the stalls (placed below)
        if entry[0] >= 0:
            key = (units[entry[0]].building_id, entry[2])
            if key in taken:
                continue
            taken.add(key)
        unique.append(entry)
    planned = unique
    for index, place_type, name in planned:
        owner = units[index] if index >= 0 else None
        if owner is None:
            pk, building_name, grid, community, street, district_id = rng.choice(buildings)
            for _retry in range(20):
                if (pk, name) not in taken:
                    break
                pk, building_name, grid, community, street, district_id = rng.choice(buildings)
            else:
                continue
            taken.add((pk, name))
            where = {"building_id": pk, "address": f"{building_name}旁", "grid_id": grid, "community_id": community}
            where |= {"street_id": street, "district_id": district_id}
            operator = rng.choice(adults) if adults else ("王芳", "")
        else:
            where = {
                "building_id": owner.building_id,
                "address": owner.address,
                "grid_id": owner.grid_id,
                "community_id": owner.community_id,
                "street_id": owner.street_id,
                "district_id": owner.district_id,
            }
            operator = (owner.legal_rep, owner.legal_rep_phone)
        visits: list[tuple[dt.date, str]] = []
        if rng.random() < 0.85:
            day = today - dt.timedelta(days=rng.randrange(0, 200))
            for _visit in range(rng.randrange(1, 4)):
                level = rng.choices(["none", "general", "major"], weights=[70, 24, 6])[0]
                visits.append((day, level))
                day -= dt.timedelta(days=rng.randrange(30, 120))
        visits.sort()
        last = visits[-1] if visits else None
        due = (
            last[0] + dt.timedelta(days=min(periods.get(place_type, 90), levels.get(last[1], 90)))
            if last
            else today - dt.timedelta(days=rng.randrange(0, 30))
        )
        places.append(
            Place(
                name=name,
                place_type_id=place_type,
                unit=owner,
                operator=operator[0],
                operator_phone=operator[1],
                hazard_level_id=last[1] if last else "none",
                last_inspected=last[0] if last else None,
                inspection_due=due,
                created_at=now,
                **where,
            )
        )
        history.append(visits)
    Place.objects.bulk_create(places, batch_size=500)
    inspections: list[Inspection] = []
    for place, visits in zip(places, history, strict=True):
        for day, level in visits:
            inspections.append(
                Inspection(
                    place=place,
                    date=day,
                    findings=rng.choice(FINDINGS[level]),
                    hazard_level_id=level,
                    recorded_at=now,
                )
            )
    Inspection.objects.bulk_create(inspections, batch_size=500)
    rectifications: list[Rectification] = []
    for inspection in inspections:
        if inspection.hazard_level_id == "none":
            continue
        deadline = inspection.date + dt.timedelta(days=rng.choice([7, 15, 30]))
        done = None
        if deadline < today and rng.random() < 0.8:  # most are put right by their deadline
            done = min(
                today, inspection.date + dt.timedelta(days=rng.randrange(1, (deadline - inspection.date).days + 1))
            )
        place = inspection.place
        rectification = Rectification(
            place=place,
            inspection=inspection,
            required=rng.choice(RECTIFY[inspection.hazard_level_id]),
            deadline=deadline,
            done=done,
            done_note="已复查，整改到位" if done else "",
            grid_id=place.grid_id,
            community_id=place.community_id,
            street_id=place.street_id,
            district_id=place.district_id,
        )
        rectifications.append(rectification)
    overdue = [r for r in rectifications if r.done is None and r.deadline < today]
    earlier = [r for r in rectifications if r.inspection.date < today]
    if not overdue and earlier:  # the page always has one to chase
        late = min(earlier, key=lambda r: r.inspection.date)
        late.done, late.done_note = None, ""
        late.deadline = max(late.inspection.date, today - dt.timedelta(days=3))
    counts.overdue = sum(r.done is None and r.deadline < today for r in rectifications)
    Rectification.objects.bulk_create(rectifications, batch_size=500)
    counts.units = len(units)
    counts.places = len(places)
    counts.inspections = len(inspections)
    counts.rectifications = len(rectifications)
    return counts
