"""Build (or rebuild) the demo district in the database: areas, buildings, people, accounts.

Rows are written community by community (households, residents and their search keys with
``wangge.core.bulk``, the rest with ``bulk_create``), with their area columns filled in here,
so the full district (520,000 residents) takes minutes, not hours, and memory stays flat. The
whole build is one transaction: an interrupted build leaves the previous one intact.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext

from wangge.accounts.models import Role
from wangge.areas import gridding
from wangge.areas.gridding.divide import entrance_counts
from wangge.areas.models import Area, Building, Membership, Organisation
from wangge.core import bulk
from wangge.core.audit import audit
from wangge.core.models import AuditEntry
from wangge.demo import DEFAULT_RESIDENTS, divisions, geometry, people
from wangge.demo import accounts as demo_accounts
from wangge.demo import cases as demo_cases
from wangge.demo import groups as demo_groups
from wangge.demo import places as demo_places
from wangge.demo import population as demo_population
from wangge.demo import protection as demo_protection
from wangge.demo import rentals as demo_rentals
from wangge.demo import worklist as demo_worklist
from wangge.registry import search
from wangge.registry.models import RESIDENCE, VACANT, CareCategory, CareTag, Guardianship, Household, Resident, Room

GRID_TARGET = 300
GRID_CODE_SCHEME = "区网格编码（演示）"
FULL_DISTRICT = 520_000
MODEL_COMMUNITY_HOUSEHOLDS = 3_000  # Lingxi in the 2015 report


class DemoRefused(Exception):
    """The database holds data the demo did not create; rebuilding would destroy it."""


@dataclass
class Summary:
    streets: int = 0
    communities: int = 0
    villages: int = 0
    grids: int = 0
    buildings: int = 0
    households: int = 0
    rooms: int = 0
    residents: int = 0
    elderly_share: float = 0.0
    care: dict[str, int] = field(default_factory=dict)
    organisations: int = 0
    seconds: float = 0.0
    accounts: list[demo_accounts.DemoAccount] = field(default_factory=list)
    protection: demo_protection.Story = field(default_factory=demo_protection.Story)
    population: demo_population.Counts = field(default_factory=demo_population.Counts)
    cases: demo_cases.Story = field(default_factory=demo_cases.Story)
    worklist: demo_worklist.Story = field(default_factory=demo_worklist.Story)
    rentals: demo_rentals.Counts = field(default_factory=demo_rentals.Counts)
    groups: demo_groups.Counts = field(default_factory=demo_groups.Counts)
    places: demo_places.Counts = field(default_factory=demo_places.Counts)

    @property
    def dementia(self) -> int:
        return self.care.get("dementia", 0)


def build(
    *,
    residents: int = DEFAULT_RESIDENTS,
    seed: int = 1,
    all_accounts: bool = False,
    force: bool = False,
    today: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> Summary:
    """Wipe the areas, registry and demo accounts and build Lishan District afresh."""
    started = time.monotonic()
    say = progress or (lambda message: None)
    if residents < 1:
        raise ValueError("residents must be at least 1")
    with transaction.atomic():
        if not force and demo_accounts.other_users_exist():
            raise DemoRefused("accounts")
        if not force and Area.objects.filter(level=Area.Level.DISTRICT).exclude(code=divisions.DISTRICT_CODE).exists():
            raise DemoRefused("areas")
        wipe()
        builder = _Builder(residents=residents, seed=seed, today=today or dt.date.today(), say=say)
        summary = builder.run(all_accounts=all_accounts)
        audit(
            actor=None,
            action=AuditEntry.Action.IMPORT,
            object_type="areas.area",
            object_id=str(builder.district.pk),
            summary=gettext("演示数据：立山区，%(n)d 名居民，随机种子 %(seed)s")
            % {"n": summary.residents, "seed": seed},
            detail={"residents": summary.residents, "seed": seed, "grids": summary.grids},
        )
    summary.seconds = time.monotonic() - started
    return summary


def wipe() -> None:
    """Delete every area and everything that hangs off one (registry, organisations, and the
    tables of other apps that point at them), in one statement per table.

    Row-by-row deletion through the ORM would load half a million residents to run Python-side
    cascades; here foreign keys are checked at commit (Django creates them deferrable), so the
    tables can be emptied in any order inside the transaction.
    """
    User = get_user_model()
    doomed: list[type[models.Model]] = [Area]
    candidates = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m not in (User, AuditEntry) and m._meta.managed and not m._meta.proxy
    ]
    grown = True
    while grown:
        grown = False
        for model in candidates:
            if model in doomed:
                continue
            for fk in model._meta.concrete_fields:
                if fk.is_relation and fk.related_model in doomed:
                    doomed.append(model)
                    grown = True
                    break
    quote = connection.ops.quote_name
    from wangge.cases import photos as case_photos
    from wangge.cases.models import CasePhoto

    # Every case hangs off an area: its photos' files go with their rows.
    photo_files = [name for pair in CasePhoto.objects.values_list("path", "thumb_path") for name in pair]
    with transaction.atomic(), connection.cursor() as cursor:
        for model in reversed(doomed):
            cursor.execute(f"DELETE FROM {quote(model._meta.db_table)}")
    case_photos.remove(*photo_files)


class _Builder:
    def __init__(self, *, residents: int, seed: int, today: dt.date, say: Callable[[str], None]) -> None:
        self.residents = residents
        self.seed = seed
        self.today = today
        self.say = say
        self.rng = np.random.default_rng(seed)
        self.py_rng = random.Random(seed)
        self.people = people.People(seed=seed, today=today)
        self.summary = Summary()
        # Per resident, in creation order: what the care tags and organisations need.
        self.r_pk: list[int] = []
        self.r_age: list[int] = []
        self.r_sex: list[str] = []
        self.r_household: list[int] = []
        self.r_kind: list[str] = []
        self.r_grid: list[int] = []
        self.grids: list[Area] = []

    # -- areas ---------------------------------------------------------------------------

    def run(self, *, all_accounts: bool) -> Summary:
        tree = divisions.load()
        self.district = self._area(tree, level=Area.Level.DISTRICT, parent=None, boundary=None)
        outline, street_polygons = geometry.street_tiles([s.code for s in tree.children], self.rng)
        self.district.boundary = geometry.geojson(outline)
        self.district.save(update_fields=["boundary"])
        sizes = self.people.household_sizes(self.residents)
        communities = [c for s in tree.children for c in s.children]
        shares = self._household_shares(communities, len(sizes))
        self.py_rng.shuffle(sizes)
        cursor = 0
        self.community_areas: dict[str, Area] = {}
        for street, street_polygon in zip(tree.children, street_polygons, strict=True):
            street_area = self._area(
                street, level=Area.Level.STREET, parent=self.district, boundary=geometry.geojson(street_polygon)
            )
            self.summary.streets += 1
            polygons = geometry.community_tiles(street_polygon, [c.kind for c in street.children], self.rng)
            for community, polygon in zip(street.children, polygons, strict=True):
                area = self._area(
                    community, level=Area.Level.COMMUNITY, parent=street_area, boundary=geometry.geojson(polygon)
                )
                self.community_areas[community.code] = area
                count = shares[community.code]
                self._populate(area, polygon, community, sizes[cursor : cursor + count])
                cursor += count
                self.summary.communities += 1
                self.summary.villages += community.kind == "village"
            self.say(f"{street.name}: {len(street.children)}")
        Household.objects.update(
            head=Subquery(
                Resident.objects.filter(household=OuterRef("pk"), relationship=Resident.Relationship.HEAD).values("pk")[
                    :1
                ]
            )
        )
        self._care_tags()
        self.summary.population = demo_population.assign(seed=self.seed, today=self.today)
        self.summary.rentals = demo_rentals.assign(seed=self.seed, today=self.today)
        self.summary.groups = demo_groups.assign(seed=self.seed, today=self.today)
        self.summary.places = demo_places.assign(seed=self.seed, today=self.today)
        self._accounts(all_accounts=all_accounts)
        ages = np.array(self.r_age)
        self.summary.residents = len(ages)
        self.summary.elderly_share = float((ages >= 60).mean()) if len(ages) else 0.0
        return self.summary

    def _area(self, division: divisions.Division, *, level: str, parent: Area | None, boundary: dict | None) -> Area:
        area = Area(
            level=level,
            kind=Area.Kind.VILLAGE if division.kind == "village" else Area.Kind.URBAN,
            name=division.name,
            short_name=division.short_name,
            code=division.code,
            code_scheme=divisions.CODE_SCHEME,
            code_date=divisions.CODE_DATE,
            parent=parent,
            boundary=boundary,
        )
        area.save()
        return area

    def _household_shares(self, communities: list[divisions.Division], households: int) -> dict[str, int]:
        """Households per community, planned in whole grids of about ``GRID_TARGET`` households.

        The district gets ``round(households / GRID_TARGET)`` grids; the model community 灵西
        about 3,000 households at full size (and a few grids even in a small demo), villages
        fewer than urban communities. A demo too small for a grid in every community populates
        only some of them, spread over the streets (the others keep their boundary, with no
        buildings): a smaller demo has fewer grids, not smaller ones. Each community then gets
        households in proportion to its grids, so every grid's average is near the target.
        """
        total_grids = max(1, round(households / GRID_TARGET))
        model = next((i for i, c in enumerate(communities) if c.short_name == divisions.MODEL_COMMUNITY), 0)
        model_households = max(MODEL_COMMUNITY_HOUSEHOLDS * self.residents / FULL_DISTRICT, min(900, 0.2 * households))
        model_grids = max(1, min(total_grids, round(model_households / GRID_TARGET)))
        grids = np.zeros(len(communities), dtype=int)
        grids[model] = model_grids
        rest = total_grids - model_grids
        others = [i for i in range(len(communities)) if i != model]
        if rest >= len(others):
            weights = np.array(
                [self.rng.lognormal(0, 0.35) * (0.45 if communities[i].kind == "village" else 1.0) for i in others]
            )
            raw = weights / weights.sum() * (rest - len(others))
            extra = np.floor(raw).astype(int)
            short = rest - len(others) - int(extra.sum())
            extra[np.argsort(-(raw - extra))[:short]] += 1
            grids[others] = 1 + extra
        elif rest > 0:
            # One grid each for ``rest`` communities, taken from the streets in turn.
            by_street: dict[str, list[int]] = {}
            for i in others:
                by_street.setdefault(communities[i].parent_code, []).append(i)
            queues = [list(self.rng.permutation(pool)) for _, pool in sorted(by_street.items())]
            chosen: list[int] = []
            while len(chosen) < rest:
                for queue in queues:
                    if queue and len(chosen) < rest:
                        chosen.append(int(queue.pop()))
            grids[chosen] = 1
        # Households in proportion to grids; largest remainders make them add up exactly.
        raw = grids / grids.sum() * households
        counts = np.floor(raw).astype(int)
        short = households - int(counts.sum())
        counts[np.argsort(-(raw - counts))[:short]] += 1
        return {c.code: int(n) for c, n in zip(communities, counts, strict=True)}

    # -- buildings, grids and people -----------------------------------------------------

    def _populate(self, community: Any, polygon: Any, division: divisions.Division, sizes: list[int]) -> None:
        if not sizes:
            return  # a small demo leaves some communities empty (see ``_household_shares``)
        village = division.kind == "village"
        plans = [self.people.household(size) for size in sizes]
        specs = geometry.building_specs(len(plans), village=village, rng=self.rng)
        while len(specs) < 3:  # a few buildings even in the smallest demo
            specs.append(specs[-1])
        points = geometry.place_buildings(polygon, len(specs), village=village, rng=self.rng)
        dwellings = [
            (b, entrance, floor, room)
            for b, (entrances, floors, rooms) in enumerate(specs)
            for entrance in range(1, entrances + 1)
            for floor in range(1, floors + 1)
            for room in range(1, rooms + 1)
        ]
        occupied = sorted(self.py_rng.sample(dwellings, len(plans)))
        pieces, household_grid = self._grids(community, polygon, points, specs, occupied)

        grid_rows = []
        building_grid = np.zeros(len(specs), dtype=int)
        for number, (indices, piece) in enumerate(pieces, start=1):
            building_grid[indices] = number - 1
            grid_rows.append(
                Area(
                    level=Area.Level.GRID,
                    kind=community.kind,
                    name=f"{community.short_name}第{number}网格",
                    short_name=f"第{number}网格",
                    code=f"{community.code}{number:03d}",
                    code_scheme=GRID_CODE_SCHEME,
                    code_date=self.today,
                    parent=community,
                    district_id=community.district_id,
                    street_id=community.street_id,
                    community_id=community.pk,
                    boundary=geometry.geojson(piece),
                    target_households=GRID_TARGET,
                )
            )
        grids = Area.objects.bulk_create(grid_rows)
        grid_pk_of = [grid.pk for grid in grids]
        self.grids.extend(grids)
        self.summary.grids += len(grids)

        lonlat = geometry.to_lonlat_array(points)
        address = f"鞍山市立山区{community.short_name}"
        buildings = Building.objects.bulk_create(
            [
                Building(
                    name=f"{b + 1}号楼",
                    address=f"{address}{b + 1}号楼",
                    grid_id=grids[building_grid[b]].pk,
                    community_id=community.pk,
                    street_id=community.street_id,
                    district_id=community.district_id,
                    lon=round(float(lonlat[b, 0]), 7),
                    lat=round(float(lonlat[b, 1]), 7),
                    entrances=specs[b][0],
                )
                for b in range(len(specs))
            ]
        )
        self.summary.buildings += len(buildings)

        now = timezone.now()
        # Every flat of every building is a room (一标三实); the ones nobody was placed in are vacant.
        taken = set(occupied)
        bulk.insert(
            Room,
            [
                {
                    "building_id": buildings[b].pk,
                    "entrance": str(entrance),
                    "floor": floor,
                    "number": f"{floor}{room:02d}",
                    "use_id": RESIDENCE if (b, entrance, floor, room) in taken else VACANT,
                    "grid_id": grid_pk_of[household_grid[(b, entrance)]],
                    "community_id": community.pk,
                    "street_id": community.street_id,
                    "district_id": community.district_id,
                    "created_at": now,
                }
                for b, entrance, floor, room in dwellings
            ],
        )
        room_pk = {
            (building, entrance, number): pk
            for pk, building, entrance, number in Room.objects.filter(community=community).values_list(
                "pk", "building_id", "entrance", "number"
            )
        }
        self.summary.rooms += len(dwellings)
        bulk.insert(
            Household,
            [
                {
                    "building_id": buildings[b].pk,
                    "entrance": str(entrance),
                    "room": f"{floor}{room:02d}",
                    "dwelling_id": room_pk[(buildings[b].pk, str(entrance), f"{floor}{room:02d}")],
                    "grid_id": grid_pk_of[household_grid[(b, entrance)]],
                    "community_id": community.pk,
                    "street_id": community.street_id,
                    "district_id": community.district_id,
                    "created_at": now,
                }
                for b, entrance, floor, room in occupied
            ],
        )
        household_pk = {
            (building, entrance, room): (pk, grid)
            for pk, building, entrance, room, grid in Household.objects.filter(community=community).values_list(
                "pk", "building_id", "entrance", "room", "grid_id"
            )
        }
        self.summary.households += len(occupied)

        rows: list[dict[str, Any]] = []
        for (b, entrance, floor, room), plan in zip(occupied, plans, strict=True):
            household, grid = household_pk[(buildings[b].pk, str(entrance), f"{floor}{room:02d}")]
            for person in plan.members:
                rows.append(
                    {
                        "household_id": household,
                        "name": person.name,
                        "id_number": person.id_number,
                        "sex": person.sex,
                        "birth_date": person.birth_date,
                        "phone": person.phone,
                        "relationship": person.relationship,
                        "ethnicity": person.ethnicity,
                        "grid_id": grid,
                        "community_id": community.pk,
                        "street_id": community.street_id,
                        "district_id": community.district_id,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                self.r_age.append(person.age)
                self.r_sex.append(person.sex)
                self.r_household.append(household)
                self.r_kind.append(plan.kind)
                self.r_grid.append(grid)
        bulk.insert(Resident, rows)
        resident_pk = dict(Resident.objects.filter(community=community).values_list("id_number", "pk"))
        pks = [resident_pk[row["id_number"]] for row in rows]
        self.r_pk.extend(pks)
        # Fresh residents have no keys to delete.
        search.write_search_keys(
            [search.Subject.of_row(pk, row) for pk, row in zip(pks, rows, strict=True)],
            replace=False,
        )
        self._organisations(grids, pks, [row["grid_id"] for row in rows], self.r_age[-len(rows) :] if rows else [])

    def _grids(
        self,
        community: Area,
        polygon: Any,
        points: np.ndarray,
        specs: list[tuple[int, int, int]],
        occupied: list[tuple[int, int, int, int]],
    ) -> tuple[list[tuple[np.ndarray, Any]], dict[tuple[int, int], int]]:
        """The community's grids from the gridding engine (``wangge.areas.gridding``), as the
        division page would draw them: (building indices, polygon) per grid, the polygons
        dissolved from the buildings' Voronoi cells so they tile the community; and the grid
        of each (building, entrance), since the engine may split a building between entrances.
        A building belongs to the grid holding most of its households."""
        households = np.bincount([d[0] for d in occupied], minlength=len(specs))
        lonlat = geometry.to_lonlat_array(points)
        division = gridding.divide(
            [
                gridding.Building(
                    id=str(b),
                    lon=float(lonlat[b, 0]),
                    lat=float(lonlat[b, 1]),
                    households=int(households[b]),
                    community=str(community.code),
                    entrances=specs[b][0],
                )
                for b in range(len(specs))
            ],
            target=GRID_TARGET,
        )
        number = {gid: n for n, gid in enumerate(sorted(division.grids))}
        building_grid = np.zeros(len(specs), dtype=int)
        household_grid: dict[tuple[int, int], int] = {}
        for b in range(len(specs)):
            parts = division.assignment.get(str(b)) or [(next(iter(number)), 0)]
            building_grid[b] = number[max(parts, key=lambda part: part[1])[0]]
            entrances = specs[b][0]
            counts = (
                entrance_counts([n for _, n in parts], int(households[b]), entrances) if len(parts) > 1 else [entrances]
            )
            entrance = 1
            for (gid, _n), count in zip(parts, counts, strict=True):
                for _ in range(count):
                    household_grid[(b, entrance)] = number[gid]
                    entrance += 1
        cells = geometry.voronoi_tiles(points, polygon)
        pieces = []
        for n in range(len(number)):
            indices = np.nonzero(building_grid == n)[0]
            if len(indices):
                pieces.append((indices, geometry.polygonal(shapely.union_all([cells[i] for i in indices]))))
        if len(pieces) < len(number):  # a grid holding only parts of buildings: renumber
            keep = sorted({int(g) for g in building_grid})
            renumber = {old: new for new, old in enumerate(keep)}
            household_grid = {
                key: renumber.get(g, renumber[int(building_grid[key[0]])]) for key, g in household_grid.items()
            }
        return pieces, household_grid

    def _organisations(self, grids: list[Area], pks: list[int], grid_ids: list[int], ages: list[int]) -> None:
        """A party branch and a volunteer team per grid (把支部建在网格上), with a few members."""
        by_grid: dict[int, list[tuple[int, int]]] = {}
        for pk, grid_id, age in zip(pks, grid_ids, ages, strict=True):
            by_grid.setdefault(grid_id, []).append((pk, age))
        organisations = []
        for grid in grids:
            organisations.append(
                Organisation(name=f"{grid.name}党支部", kind=Organisation.Kind.PARTY_BRANCH, area=grid)
            )
            organisations.append(
                Organisation(name=f"{grid.name}志愿服务队", kind=Organisation.Kind.VOLUNTEERS, area=grid)
            )
        organisations = Organisation.objects.bulk_create(organisations)
        self.summary.organisations += len(organisations)
        self.organisations_by_grid = getattr(self, "organisations_by_grid", {})
        members = []
        for organisation in organisations:
            self.organisations_by_grid.setdefault(organisation.area_id, []).append(organisation)
            party = organisation.kind == Organisation.Kind.PARTY_BRANCH
            low, high = (25, 80) if party else (18, 72)
            pool = [pk for pk, age in by_grid.get(organisation.area_id, []) if low <= age <= high]
            chosen = self.py_rng.sample(
                pool, min(len(pool), self.py_rng.randint(3, 6) if party else self.py_rng.randint(4, 8))
            )
            titles = ["书记", "组织委员", "宣传委员"] if party else ["队长"]
            for i, resident_pk in enumerate(chosen):
                role = titles[i] if i < len(titles) else ("党员" if party else "队员")
                since = self.today - dt.timedelta(days=self.py_rng.randrange(30, 3650))
                members.append(Membership(organisation=organisation, resident_id=resident_pk, role=role, since=since))
        Membership.objects.bulk_create(members, batch_size=2000)

    # -- care categories -----------------------------------------------------------------

    def _care_tags(self) -> None:
        chosen = people.choose_care(
            ages=np.array(self.r_age),
            sexes=np.array(self.r_sex),
            household=np.array(self.r_household),
            household_kind=np.array(self.r_kind),
            seed=self.seed,
        )
        categories = dict(CareCategory.objects.values_list("code", "pk"))
        pks = np.array(self.r_pk)
        tags: list[CareTag] = []
        for code, indices in chosen.items():
            if code not in categories:
                continue
            self.summary.care[code] = len(indices)
            tags.extend(
                CareTag(resident_id=int(pk), category_id=categories[code], note="演示数据") for pk in pks[indices]
            )
        CareTag.objects.bulk_create(tags, batch_size=5000)
        self.dementia_pks = [int(pk) for pk in pks[chosen.get("dementia", [])]]

    # -- accounts ------------------------------------------------------------------------

    def _accounts(self, *, all_accounts: bool) -> None:
        model: Any = next(
            (a for a in self.community_areas.values() if a.short_name == divisions.MODEL_COMMUNITY),
            next(iter(self.community_areas.values())),
        )
        street = Area.objects.get(pk=model.street_id)
        ward = self._ward(model)
        # The grid worker's grid is the ward's, so the searches and the alert reach their page.
        grid = next(
            (g for g in self.grids if ward is not None and g.pk == ward.grid_id and g.community_id == model.pk),
            next(g for g in self.grids if g.community_id == model.pk),
        )
        scopes: dict[str, list[Area]] = {
            "demo-district": [self.district],
            "demo-street": [street],
            "demo-community": [model],
            "demo-grid": [grid],
            "demo-petition": [self.district],
            "demo-department": [self.district],
            "demo-guardian": [],
            "demo-auditor": [],
            "demo-volunteer": [],
        }
        printed: list[demo_accounts.DemoAccount] = []
        users: dict[str, Any] = {}
        for username, role in demo_accounts.SHOWCASE.items():
            password = demo_accounts.new_password()
            person = self.people.person(
                sex=self.py_rng.choice("MF"), age=self.py_rng.randint(28, 55), relationship="head"
            )
            user = demo_accounts.upsert(
                username=username,
                role=role,
                full_name=person.name,
                phone=person.phone,
                areas=scopes[username],
                password=password,
                is_staff=role == Role.DISTRICT_ADMIN,
            )
            users[username] = user
            scope = "、".join(str(a.name if a.level == Area.Level.GRID else a) for a in scopes[username])
            title = ""
            if username == demo_accounts.VOLUNTEER:
                team = next(o for o in self.organisations_by_grid[grid.pk] if o.kind == Organisation.Kind.VOLUNTEERS)
                Membership.objects.filter(user=user).delete()
                Membership.objects.create(organisation=team, user=user, role="志愿者", since=self.today)
                scope, title = team.name, gettext("志愿者")
            elif role == Role.GUARDIAN:
                if ward is not None:
                    Guardianship.objects.filter(guardian=user).delete()
                    Guardianship.objects.create(guardian=user, resident=ward, relationship="子女")
                    scope = f"{ward.name}（失智老人）的监护人"
            elif role == Role.AUDITOR:
                scope = "审计日志"
            elif role == Role.DEPARTMENT:
                scope = f"{scope}（{demo_cases.department_name()}）"
            printed.append(demo_accounts.DemoAccount(username, role, password, scope, title))
        workers = [
            self.people.person(sex=self.py_rng.choice("MF"), age=self.py_rng.randint(25, 50), relationship="head")
            for _ in self.grids
        ]
        users_by_grid, extra = demo_accounts.grid_workers(
            grids=self.grids,
            names=[w.name for w in workers],
            phones=[w.phone for w in workers],
            with_passwords=all_accounts,
        )
        volunteers = [
            Membership(organisation=org, user_id=users_by_grid[grid_id].pk, role="网格员")
            for grid_id, orgs in self.organisations_by_grid.items()
            for org in orgs
            if org.kind == Organisation.Kind.VOLUNTEERS and grid_id in users_by_grid
        ]
        Membership.objects.bulk_create(volunteers, batch_size=2000)
        self.summary.accounts = printed + extra
        self._protection(ward=ward, grid=grid, users=users)
        self.summary.cases = demo_cases.build(
            grids=self.grids,
            residents=list(zip(self.r_pk, self.r_grid, self.r_age, strict=True)),
            users=users,
            workers=users_by_grid,
            model_community=model.pk,
            street=street.pk,
            size=self.residents,
            seed=self.seed,
        )
        self.summary.worklist = demo_worklist.build(
            grids=self.grids,
            workers=users_by_grid,
            volunteer=users[demo_accounts.VOLUNTEER],
            grid=grid,
            seed=self.seed,
            today=self.today,
        )

    def _protection(self, *, ward: Resident | None, grid: Area, users: dict[str, Any]) -> None:
        """Enrol most people with dementia and play an alert and two searches (see
        ``wangge.demo.protection``): the alert's person lives in the grid worker's grid when
        anyone there has dementia, the search under way is for the guardian's ward."""
        ward_pk = ward.pk if ward is not None else None
        neighbours = [
            pk
            for pk in Resident.objects.filter(pk__in=self.dementia_pks, grid=grid)
            .order_by("pk")
            .values_list("pk", flat=True)
            if pk != ward_pk
        ]
        others = [pk for pk in self.dementia_pks if pk != ward_pk and pk not in neighbours[:1]]
        alert_pk = neighbours[0] if neighbours else (others.pop(0) if others else None)
        found_pk = others[len(others) // 2] if others else None
        self.summary.protection = demo_protection.build(
            dementia_pks=self.dementia_pks,
            ward_pk=ward_pk,
            searched_pk=ward_pk,
            found_pk=found_pk,
            guardian=users["demo-guardian"],
            guardian_relationship="子女",
            staff=users["demo-community"],
            grid_worker=users["demo-grid"],
            volunteer=users[demo_accounts.VOLUNTEER],
            alert_pk=alert_pk,
            people=self.people,
            seed=self.seed,
        )

    def _ward(self, model: Area) -> Resident | None:
        candidates = Resident.objects.filter(pk__in=self.dementia_pks)
        return candidates.filter(community=model).order_by("pk").first() or candidates.order_by("pk").first()


__all__ = ["DEFAULT_RESIDENTS", "DemoRefused", "Summary", "build", "wipe"]
