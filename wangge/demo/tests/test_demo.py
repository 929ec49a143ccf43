"""The demo district: real divisions, tiling geometry, plausible people, one account per role,
an idempotent rebuild, and ``wangge serve``."""

from __future__ import annotations

import csv
import datetime as dt
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Min
from django.test import override_settings
from django.utils import timezone
from shapely.geometry import Point, shape

from wangge.accounts.models import AreaAssignment, Role, User
from wangge.areas.models import Area, Building, Membership, Organisation
from wangge.core import documents, idnumbers
from wangge.core.management.commands.serve import parse_bind, url_for
from wangge.core.models import AuditEntry
from wangge.demo import accounts as demo_accounts
from wangge.demo import cases as demo_cases
from wangge.demo import protection as demo_protection
from wangge.demo.build import build, wipe
from wangge.demo.divisions import DATA
from wangge.protection import queries, zones
from wangge.protection.incidents import labels
from wangge.protection.models import Alert, Enrolment, Incident, IncidentUpdate, Location, Notification
from wangge.registry.models import (
    CareTag,
    FloatingDetail,
    Guardianship,
    Household,
    Rental,
    RentalInspection,
    Resident,
    Room,
    SearchKey,
)
from wangge.registry.search import keys_for

RESIDENTS = 2000
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _remove_demo() -> None:
    wipe()
    # The demo's searches are audited under the demo accounts (guardian, volunteer, staff).
    AuditEntry.objects.filter(actor__username__in=list(demo_accounts.SHOWCASE)).delete()
    # The demo's cases are audited under the grid workers too.
    AuditEntry.objects.filter(actor__username__startswith=demo_accounts.GRID_WORKER_PREFIX).delete()
    User.objects.filter(username__in=list(demo_accounts.SHOWCASE)).delete()
    User.objects.filter(username__startswith=demo_accounts.GRID_WORKER_PREFIX).delete()


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Any]:
    """One small demo district for the module's read-only tests, removed afterwards."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER):
        last_audit = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        summary = build(residents=RESIDENTS, seed=3)
        yield summary
        _remove_demo()
        AuditEntry.objects.filter(pk__gt=last_audit).delete()


def _csv_rows() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.django_db
def test_it_builds_the_real_streets_and_communities_with_their_official_codes(demo: Any) -> None:
    rows = _csv_rows()
    streets = {r["code"]: r["name"] for r in rows if r["level"] == "street"}
    communities = {r["code"]: r["name"] for r in rows if r["level"] == "community"}
    assert len(streets) == 9 and len(communities) == 116

    assert dict(Area.objects.filter(level="street").values_list("code", "name")) == streets
    assert dict(Area.objects.filter(level="community").values_list("code", "name")) == communities
    district = Area.objects.get(level="district")
    assert (district.code, district.name) == ("210304", "立山区")
    for area in Area.objects.exclude(level="grid"):
        assert area.code_scheme == "NBS 统计用区划代码"
        assert area.code_date == dt.date(2023, 6, 30)
    villages = Area.objects.filter(level="community", kind=Area.Kind.VILLAGE)
    assert villages.count() == 19
    assert all(v.name.endswith("村民委员会") for v in villages)
    short = dict(Area.objects.filter(level="community").values_list("code", "short_name"))
    assert short["210304001001"] == "光明社区"
    assert short["210304009205"] == "灵山村"
    assert short["210304008200"] == "太平村"
    lingxi = Area.objects.get(short_name="灵西社区")
    assert lingxi.parent.name == "灵山街道"


@pytest.mark.django_db
def test_it_tiles_the_district_with_streets_communities_and_grids(demo: Any) -> None:
    district = shape(Area.objects.get(level="district").boundary)
    lon0, lat0, lon1, lat1 = district.bounds
    assert lon0 >= 122.987 - 1e-6 and lon1 <= 123.230 + 1e-6
    assert lat0 >= 41.030 - 1e-6 and lat1 <= 41.206 + 1e-6

    def check_tiling(parent: Any, children: list[Any]) -> None:
        total = sum(child.area for child in children)
        union = shapely.union_all(children)
        assert union.area == pytest.approx(parent.area, rel=1e-5)
        assert total == pytest.approx(union.area, rel=1e-5)  # no overlaps
        for child in children:
            assert child.area > 0
            assert parent.buffer(1e-6).contains(child)

    streets = {a.pk: shape(a.boundary) for a in Area.objects.filter(level="street")}
    check_tiling(district, list(streets.values()))
    communities = {a.pk: (a.parent_id, shape(a.boundary)) for a in Area.objects.filter(level="community")}
    for street_pk, street in streets.items():
        check_tiling(street, [geom for parent, geom in communities.values() if parent == street_pk])
    grids = list(Area.objects.filter(level="grid"))
    populated = set(Household.objects.values_list("community_id", flat=True))
    for community_pk, (_, community) in communities.items():
        pieces = [shape(g.boundary) for g in grids if g.parent_id == community_pk]
        if community_pk in populated:
            check_tiling(community, pieces)
        else:  # a small demo leaves some communities empty: no grid there
            assert pieces == []
    assert all(g.district_id and g.street_id and g.community_id == g.parent_id for g in grids)


@pytest.mark.django_db
def test_it_puts_every_building_inside_its_grid_and_its_community(demo: Any) -> None:
    polygons = {a.pk: shape(a.boundary) for a in Area.objects.filter(level__in=["grid", "community"])}
    buildings = list(Building.objects.all())
    populated = Household.objects.values("community").distinct().count()
    assert len(buildings) >= 3 * populated  # every populated community has a few
    for building in buildings:
        point = Point(building.lon, building.lat)
        assert polygons[building.grid_id].contains(point), building.name
        assert polygons[building.community_id].contains(point), building.name
        assert building.name.endswith("号楼") and 1 <= building.entrances <= 6
    # A building is in the grid of most of its households; the engine may give the households
    # of some entrances to a neighbouring grid, never those of part of an entrance.
    grid_of = dict(Building.objects.values_list("pk", "grid_id"))
    by_building: dict[int, Counter] = {}
    entrance_grids: dict[tuple[int, str], set[int]] = {}
    for h in Household.objects.all():
        by_building.setdefault(h.building_id, Counter())[h.grid_id] += 1
        entrance_grids.setdefault((h.building_id, h.entrance), set()).add(h.grid_id)
    for building_id, grids in by_building.items():
        assert grids.most_common(1)[0][0] == grid_of[building_id] or len(set(grids.values())) < len(grids)
    assert all(len(grids) == 1 for grids in entrance_grids.values())
    assert sum(len(grids) > 1 for grids in by_building.values()) <= len(by_building) // 4


@pytest.mark.django_db
def test_its_grids_come_from_the_gridding_engine_averaging_the_300_household_target(demo: Any) -> None:
    """A small demo has fewer grids, not smaller ones: the district's grids average within the
    engine's band around the target (±10%), and fewer communities are populated."""
    households = Household.objects.count()
    grids = Area.objects.filter(level="grid").count()
    assert grids == round(households / 300)
    assert 270 <= households / grids <= 330
    populated = Household.objects.values("community").distinct().count()
    assert populated == grids - Area.objects.get(short_name="灵西社区").children.count() + 1
    assert all(g.target_households == 300 for g in Area.objects.filter(level="grid"))


@pytest.mark.django_db
def test_it_cuts_communities_into_grids_of_about_300_households(demo: Any) -> None:
    lingxi = Area.objects.get(short_name="灵西社区")
    sizes = list(
        Household.objects.filter(community=lingxi).values("grid").annotate(n=Count("id")).values_list("n", flat=True)
    )
    assert len(sizes) >= 1
    assert all(150 <= n <= 450 for n in sizes), sizes
    assert Household.objects.values("grid").annotate(n=Count("id")).filter(n__gt=450).count() == 0
    households = Household.objects.count()
    assert Resident.objects.count() / households == pytest.approx(2.25, abs=0.1)
    assert Household.objects.filter(head=None).count() == 0
    assert all(h.room[-2:].isdigit() and h.room[:-2].isdigit() for h in Household.objects.all()[:200])


@pytest.mark.django_db
def test_it_gives_every_resident_a_valid_unique_lishan_id_number(demo: Any) -> None:
    everyone = list(Resident.objects.all())
    assert len(everyone) == RESIDENTS
    assert len({r.id_number for r in everyone}) == RESIDENTS
    residents = [r for r in everyone if r.document_type_id == "resident_id_card"]
    assert len(residents) == RESIDENTS - demo.population.foreign  # foreign nationals hold other documents
    for resident in residents:
        parsed = idnumbers.parse(resident.id_number)
        assert parsed.area_code == "210304"
        assert parsed.birth_date == resident.birth_date
        assert parsed.sex == resident.sex
        assert 2 <= len(resident.name) <= 4
        assert resident.phone == "" or (len(resident.phone) == 11 and resident.phone.startswith("1"))


@pytest.mark.django_db
def test_it_gives_the_district_a_floating_share_foreign_nationals_and_people_living_apart(demo: Any) -> None:
    counts = dict(Resident.objects.values_list("population_type").annotate(n=Count("id")))
    assert 0.10 * RESIDENTS < counts["floating"] < 0.22 * RESIDENTS
    assert FloatingDetail.objects.count() == counts["floating"]
    assert FloatingDetail.objects.exclude(permit_number="").exists()
    foreign = list(Resident.objects.filter(population_type="foreign").select_related("foreign"))
    assert len(foreign) == demo.population.foreign >= 10
    for person in foreign:
        fmt = "passport" if person.document_type_id == "passport" else "foreign_permanent"
        assert documents.parse(fmt, person.id_number).number == person.id_number
        assert person.foreign.nationality
        assert person.search_keys.filter(key="#" + person.id_number).exists()
    assert {p.document_type_id for p in foreign} == {"passport", "foreign_permanent_id"}
    assert all(p.id_number.startswith("9") for p in foreign if p.document_type_id == "foreign_permanent_id")
    separated = dict(Resident.objects.exclude(separation="").values_list("separation").annotate(n=Count("id")))
    assert separated["away"] > 0 and separated["here"] > 0


def test_it_puts_every_household_in_a_room_of_its_building_and_leaves_the_other_flats_vacant(demo: Any) -> None:
    assert not Household.objects.filter(dwelling__isnull=True).exists()
    mismatched = Household.objects.exclude(dwelling__building=F("building")) | Household.objects.exclude(
        dwelling__number=F("room")
    )
    assert not mismatched.exists()
    assert Room.objects.count() == demo.rooms > demo.households
    assert not Room.objects.filter(use_id="vacant", households__isnull=False).exists()
    assert not Room.objects.filter(households__isnull=True).exclude(use_id="vacant").exists()
    assert not Room.objects.filter(households__isnull=False).exclude(households__grid_id=F("grid_id")).exists()


def test_most_floating_households_rent_with_leases_and_inspections_at_every_stage(demo: Any) -> None:
    today = timezone.localdate()
    rentals = Rental.objects.all()
    assert rentals.count() == demo.rentals.rentals > 0
    assert not rentals.exclude(room__use_id="rented").exists()
    assert not rentals.filter(tenants__isnull=True).exists()
    assert not rentals.exclude(tenants__population_type_id="floating").exists()
    assert rentals.filter(inspection_due__lt=today, end__gte=today).count() == demo.rentals.overdue > 0
    assert rentals.filter(end__gte=today, end__lte=today + dt.timedelta(days=30)).exists()
    assert RentalInspection.objects.count() == demo.rentals.inspections > 0
    assert not rentals.exclude(grid_id=F("room__grid_id")).exists()


@pytest.mark.django_db
def test_it_puts_people_on_every_special_register_with_follow_ups_some_due(demo: Any) -> None:
    from wangge.groups.models import FollowUp, Listing

    today = timezone.localdate()
    listings = Listing.objects.all()
    assert listings.count() == demo.groups.listed >= 24
    assert set(listings.values_list("register_id", flat=True)) >= {"released", "correction", "mental", "drugs"}
    assert listings.filter(next_follow_up__lte=today).count() == demo.groups.due > 0
    assert listings.filter(next_follow_up__gt=today).exists()
    assert FollowUp.objects.count() == demo.groups.follow_ups >= listings.count()
    assert not listings.exclude(grid_id=F("resident__grid_id")).exists()
    assert not listings.filter(register_id="mental", risk_level__isnull=True).exists()


def test_it_carries_units_and_key_places_with_inspections_and_an_overdue_rectification(demo: Any) -> None:
    from wangge.places import creditcode
    from wangge.places.models import Inspection, Place, Rectification, Unit

    today = timezone.localdate()
    units = Unit.objects.all()
    assert units.count() == demo.places.units >= 16
    codes = [c for c in units.values_list("credit_code", flat=True) if c]
    assert codes and all(creditcode.is_valid(c) for c in codes)
    assert len(set(codes)) == len(codes)
    assert not units.exclude(grid_id=F("building__grid_id")).exists()
    places = Place.objects.all()
    assert places.count() == demo.places.places > 0
    assert places.filter(unit__isnull=True).exists() and places.filter(unit__isnull=False).exists()
    # Known by building and name, as the places import matches them: the export imports back.
    assert places.values("building_id", "name").distinct().count() == places.count()
    assert places.filter(inspection_due__lt=today).exists()
    assert Inspection.objects.count() == demo.places.inspections > 0
    rectifications = Rectification.objects.all()
    assert rectifications.count() == demo.places.rectifications > 0
    overdue = rectifications.filter(done__isnull=True, deadline__lt=today)
    assert overdue.count() == demo.places.overdue > 0
    assert not rectifications.exclude(grid_id=F("place__grid_id")).exists()


def test_it_makes_a_quarter_of_residents_60_or_over_and_children_live_with_parents(demo: Any) -> None:
    today = dt.date.today()
    ages = [
        today.year - b.year - ((today.month, today.day) < (b.month, b.day))
        for b in Resident.objects.values_list("birth_date", flat=True)
    ]
    share = sum(age >= 60 for age in ages) / len(ages)
    assert 0.20 <= share <= 0.30
    assert min(ages) >= 0 and max(ages) <= 100
    children = Resident.objects.filter(birth_date__gt=today - dt.timedelta(days=365 * 14))
    assert children.exists()
    for child in children:
        assert child.relationship in ("child", "grandchild")
        adults = child.household.members.exclude(pk=child.pk).filter(birth_date__lt=child.birth_date)
        assert adults.exists()
    ethnicities = set(Resident.objects.values_list("ethnicity", flat=True))
    assert {"汉族", "满族"} <= ethnicities


@pytest.mark.django_db
def test_it_tags_exactly_138_residents_with_dementia_all_65_or_over(demo: Any) -> None:
    dementia = CareTag.objects.filter(category__code="dementia").select_related("resident")
    assert dementia.count() == 138
    today = dt.date.today()
    assert all(tag.resident.birth_date <= today.replace(year=today.year - 65) for tag in dementia)
    counts = dict(CareTag.objects.values("category__code").annotate(n=Count("id")).values_list("category__code", "n"))
    assert 0.03 * RESIDENTS <= counts["disability"] <= 0.09 * RESIDENTS
    assert counts["elderly_alone"] > 0 and counts["minimum_income"] > 0 and counts["veteran"] > 0
    assert counts.get("released_prisoner", 0) <= 0.002 * RESIDENTS


@pytest.mark.django_db
def test_it_attaches_a_party_branch_and_a_volunteer_team_to_every_grid(demo: Any) -> None:
    grids = Area.objects.filter(level="grid")
    for grid in grids:
        kinds = sorted(Organisation.objects.filter(area=grid).values_list("kind", flat=True))
        assert kinds == ["party_branch", "volunteers"]
    assert Membership.objects.exclude(resident=None).count() >= grids.count() * 2
    assert Membership.objects.filter(user__username__startswith="gw-", role="网格员").count() == grids.count()


@pytest.mark.django_db
def test_it_indexes_every_resident_for_search(demo: Any) -> None:
    resident = Resident.objects.order_by("pk")[RESIDENTS // 2]
    stored = set(SearchKey.objects.filter(resident=resident).values_list("key", flat=True))
    assert stored == set(keys_for(resident.name, resident.id_number, resident.phone))
    assert SearchKey.objects.values("resident").distinct().count() == RESIDENTS
    key = SearchKey.objects.filter(resident=resident).first()
    assert (key.grid_id, key.community_id) == (resident.grid_id, resident.community_id)


@pytest.mark.django_db
def test_it_creates_one_account_per_role_with_its_scope(demo: Any, client: Any) -> None:
    printed = {account.role: account for account in demo.accounts}
    assert set(printed) == set(Role.values)
    for account in demo.accounts:
        assert len(account.password) >= 12
        assert account.password not in {a.password for a in demo.accounts if a is not account}
        user = User.objects.get(username=account.username)
        assert user.role == account.role
        with override_settings(PASSWORD_HASHERS=FAST_HASHER):
            assert client.login(username=account.username, password=account.password)
        client.logout()

    def areas(username: str) -> list[tuple[str, str]]:
        return list(Area.objects.filter(assignments__user__username=username).values_list("level", "short_name"))

    assert areas("demo-district") == [("district", "立山区")]
    assert User.objects.get(username="demo-district").is_staff
    assert areas("demo-street") == [("street", "灵山街道")]
    assert areas("demo-community") == [("community", "灵西社区")]
    (grid,) = Area.objects.filter(assignments__user__username="demo-grid")
    assert grid.level == "grid" and grid.parent.short_name == "灵西社区"
    assert areas("demo-petition") == [("district", "立山区")]
    assert areas("demo-department") == [("district", "立山区")]
    assert areas("demo-guardian") == [] and areas("demo-auditor") == [] and areas("demo-volunteer") == []
    volunteer = User.objects.get(username="demo-volunteer")
    assert volunteer.role == Role.GUARDIAN and not volunteer.guardianships.exists()
    (team,) = Membership.objects.filter(user=volunteer)
    assert team.organisation.kind == "volunteers" and team.organisation.area == grid
    assert "志愿者" in {a.title for a in demo.accounts if a.username == "demo-volunteer"}
    (ward,) = Guardianship.objects.filter(guardian__username="demo-guardian")
    assert ward.resident.care_tags.filter(category__code="dementia").exists()
    assert not any(User.objects.get(username=u).is_staff for u in demo_accounts.SHOWCASE if u != "demo-district")

    workers = User.objects.filter(username__startswith="gw-")
    assert workers.count() == Area.objects.filter(level="grid").count()
    assert not any(w.has_usable_password() for w in workers)
    assert AreaAssignment.objects.filter(user__in=workers, area__level="grid").count() == workers.count()


@pytest.mark.django_db
def test_it_rebuilds_idempotently_and_prints_the_accounts(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHER

    def counts() -> dict[str, int]:
        return {
            "areas": Area.objects.count(),
            "buildings": Building.objects.count(),
            "households": Household.objects.count(),
            "residents": Resident.objects.count(),
            "tags": CareTag.objects.count(),
            "keys": SearchKey.objects.count(),
            "organisations": Organisation.objects.count(),
            "memberships": Membership.objects.count(),
            "users": User.objects.count(),
            "assignments": AreaAssignment.objects.count(),
            "guardianships": Guardianship.objects.count(),
        }

    _remove_demo()
    out = StringIO()
    call_command("demo", residents=800, seed=5, stdout=out)
    first = counts()
    first_ids = set(Resident.objects.values_list("id_number", flat=True))
    call_command("demo", residents=800, seed=5, stdout=StringIO())
    assert counts() == first
    assert set(Resident.objects.values_list("id_number", flat=True)) == first_ids
    assert first["residents"] == 800 and first["areas"] > 126
    text = out.getvalue()
    assert "街道 9 个" in text and "社区 116 个" in text and "居民 800 人" in text
    for username in demo_accounts.SHOWCASE:
        assert username in text


@pytest.mark.django_db
def test_it_refuses_to_wipe_a_database_with_real_accounts() -> None:
    User.objects.create_user(username="zhangwei", password=None)
    before = Area.objects.count(), Resident.objects.count()
    with pytest.raises(CommandError, match="--force"):
        call_command("demo", residents=100, stdout=StringIO())
    assert (Area.objects.count(), Resident.objects.count()) == before
    assert User.objects.filter(username="zhangwei").exists()


def test_it_parses_bind_addresses() -> None:
    assert parse_bind("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert parse_bind("0.0.0.0:80") == ("0.0.0.0", 80)
    assert parse_bind(":9000") == ("0.0.0.0", 9000)
    assert parse_bind("8080") == ("127.0.0.1", 8080)
    assert parse_bind("[::1]:8000") == ("::1", 8000)
    assert parse_bind("localhost:8001") == ("localhost", 8001)
    for bad in ("127.0.0.1:", "127.0.0.1:99999", "host:port", "[::1]8000", "[nope]:80"):
        with pytest.raises(CommandError):
            parse_bind(bad)
    assert url_for("0.0.0.0", 8000) == "http://127.0.0.1:8000/"
    assert url_for("::1", 8000) == "http://[::1]:8000/"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_it_migrates_and_serves_the_login_page(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "WANGGE_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    env.pop("DATABASE_URL")
    process = subprocess.Popen(
        [sys.executable, "-m", "wangge", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as response:
                    status = response.status
                    body = response.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, process.stdout.read() if process.poll() is not None else "no answer"
        assert "csrfmiddlewaretoken" in body
        assert (tmp_path / "wangge.sqlite3").exists()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in output


@pytest.mark.django_db
def test_it_enrols_most_people_with_dementia_with_consent_phone_zone_and_weeks_of_tracks(demo: Any) -> None:
    dementia = set(CareTag.objects.filter(category__code="dementia").values_list("resident_id", flat=True))
    enrolments = list(Enrolment.objects.filter(active=True).select_related("resident__household__building"))
    assert 0.75 * len(dementia) <= len(enrolments) < len(dementia)
    assert {e.resident_id for e in enrolments} <= dementia
    now = timezone.now()
    for enrolment in enrolments:
        assert enrolment.active_consent() is not None
        (device,) = enrolment.devices.all()
        (zone,) = enrolment.zones.all()
        building = enrolment.resident.household.building
        assert (zone.center_lat, zone.center_lon) == (building.lat, building.lon) and zone.radius_m >= 300
        times = list(Location.objects.filter(enrolment=enrolment).values_list("recorded_at", flat=True))
        assert 100 <= len(times) <= 400
        assert now - min(times) >= dt.timedelta(days=14) and max(times) <= now
        assert device.last_seen == max(times)
        assert enrolment.grid_id == enrolment.resident.grid_id
    assert Location.objects.count() <= demo_protection.TRACK_CAP


def test_its_tracks_are_thinned_to_the_share_each_person_gets() -> None:
    rng = np.random.default_rng(1)
    end = timezone.now()
    fixes = demo_protection._track(rng, lat=41.1, lon=123.0, end=end, days=21, per_person=40)
    assert len(fixes) == 40 and fixes == sorted(fixes) and fixes[-1][0] < end
    assert all(zones.haversine(lat, lon, 41.1, 123.0) < demo_protection.ZONE_RADIUS_M for _, lat, lon in fixes)


@pytest.mark.django_db
def test_it_plays_an_open_alert_a_search_under_way_and_a_closed_search(demo: Any) -> None:
    grid_worker = User.objects.get(username="demo-grid")
    guardian = User.objects.get(username="demo-guardian")
    volunteer = User.objects.get(username="demo-volunteer")

    (alert,) = Alert.objects.filter(resolved_at=None)
    assert alert.kind == Alert.Kind.LEFT_ZONE and alert.lat is not None
    assert alert.enrolment.grid_id == grid_worker.areas.get().pk  # the grid worker's page shows it
    assert alert in queries.alerts_visible_to(grid_worker)
    assert Notification.objects.filter(alert=alert, recipient=grid_worker, channel="in_app").exists()

    (searching,) = Incident.objects.filter(status=Incident.Status.OPEN)
    ward = Guardianship.objects.get(guardian=guardian).resident
    assert searching.enrolment.resident == ward and searching.opened_by == guardian
    assert set(searching.searchers.all()) == {grid_worker, volunteer}
    assert searching.responders.filter(user=volunteer).exists()
    sighting = searching.updates.get(kind=IncidentUpdate.Kind.SIGHTING)
    assert sighting.lat is not None and searching.last_source == "sighting"
    assert Notification.objects.filter(incident=searching, recipient=grid_worker).exists()

    (closed,) = Incident.objects.filter(status=Incident.Status.CLOSED)
    assert closed.outcome == Incident.Outcome.FOUND and closed.enrolment.resident != ward
    assert labels.time_to_found(closed) == dt.timedelta(hours=2, minutes=17)
    assert closed.opened_at < closed.found_at < closed.closed_at < searching.opened_at
    # Invented phone numbers are sent nothing.
    assert not Notification.objects.exclude(channel="in_app").exists()
    assert demo.protection.enrolled == Enrolment.objects.count()


# -- petitions and grid events (wangge.demo.cases) ----------------------------------------------


@pytest.mark.django_db
def test_it_plays_a_year_of_cases_through_the_cases_actions_in_every_state(demo: Any) -> None:
    from wangge.cases.models import Case, Kind, Step

    story = demo.cases
    cases = Case.objects.all()
    assert cases.count() == story.cases >= 100
    assert 0.1 < cases.filter(kind=Kind.PETITION).count() / story.cases < 0.5
    now = timezone.now()
    received = cases.aggregate(first=Min("received_at"), last=Max("received_at"))
    assert now - dt.timedelta(days=366) < received["first"] < now - dt.timedelta(days=200)
    assert received["last"] <= now
    # Every stage of the process has cases to show.
    assert cases.filter(status=Case.Status.RECEIVED).exists()
    assert cases.filter(status=Case.Status.DECLINED).exists()
    accepted = cases.filter(status=Case.Status.ACCEPTED)
    assert accepted.filter(visited_at=None, visit_exempt_reason="").exists()
    assert accepted.exclude(visited_at=None).filter(replied_at=None, resolution="").exists()
    assert accepted.exclude(lead_department=None).filter(steps__kind=Step.Kind.ASSIGN).exists()
    assert accepted.exclude(replied_at=None).filter(resolution="").exists()
    assert accepted.filter(resolution=Case.Resolution.SOLVED, verified_at=None).exists()
    assert accepted.exclude(verified_at=None).exists()
    closed = cases.filter(status=Case.Status.CLOSED)
    assert closed.count() > story.cases / 3
    assert closed.exclude(resolution=Case.Resolution.SOLVED).exists()  # closed, need not solved
    assert cases.filter(kind=Kind.PETITION, collective_count__gt=1).exists()
    # The steps are the actions' own, stamped when they happened, in order, each audited.
    for case in closed.order_by("pk")[:20]:
        steps = list(case.steps.all())
        assert steps[0].kind == Step.Kind.RECEIVE and steps[-1].kind == Step.Kind.CLOSE
        assert steps[0].at == case.received_at and steps[-1].at == case.closed_at
        assert [s.at for s in steps] == sorted(s.at for s in steps)
        assert all(s.at <= now for s in steps)
    assert AuditEntry.objects.filter(object_type="cases.case").count() >= Step.objects.count()


@pytest.mark.django_db
def test_some_demo_cases_are_overdue_and_some_due_soon(demo: Any) -> None:
    from wangge.cases import queries
    from wangge.cases.models import Kind

    admin = User.objects.get(username="demo-district")
    overdue = queries.overdue(admin)
    soon = queries.due_soon(admin)
    assert overdue.filter(kind=Kind.PETITION).exists() and overdue.filter(kind=Kind.EVENT).exists()
    assert soon.filter(kind=Kind.PETITION).exists() and soon.filter(kind=Kind.EVENT).exists()
    assert overdue.count() < demo.cases.cases / 4  # left behind, not the rule


@pytest.mark.django_db
def test_the_pension_arrears_petition_is_closed_as_unreasonable_and_solved(demo: Any) -> None:
    from wangge.cases import queries
    from wangge.cases.models import Case, Step

    case = Case.objects.get(pk=demo.cases.reference)
    petitioner = case.petitioners.get()
    assert petitioner.sex == "M" and petitioner.care_tags.filter(category__code="minimum_income").exists()
    assert case.channel == Case.Channel.WALK_IN
    assert case.merit == Case.Merit.UNREASONABLE
    assert case.resolution == Case.Resolution.SOLVED and case.cost_yuan == demo_cases.STORY_ARREARS
    assert case.lead_department.code == "civil-affairs"
    assert case.satisfaction == Case.Satisfaction.SATISFIED
    assert case.status == Case.Status.CLOSED and case.verified_by != case.resolution_by
    assert list(case.steps.values_list("kind", flat=True)) == [
        Step.Kind.RECEIVE,
        Step.Kind.ACCEPT,
        Step.Kind.VISIT,
        Step.Kind.MERIT,
        Step.Kind.ASSIGN,
        Step.Kind.REPLY,
        Step.Kind.RESOLUTION,
        Step.Kind.VERIFY,
        Step.Kind.SATISFACTION,
        Step.Kind.CLOSE,
    ]
    assert "低保" in case.steps.get(kind=Step.Kind.VISIT).note
    stats = queries.case_stats(area=None, date_from=None, date_to=None)
    assert stats["solved_by_merit"]["unreasonable"] >= 1


@pytest.mark.django_db
def test_the_model_community_has_grid_events_but_no_petitions(demo: Any) -> None:
    from wangge.cases import queries
    from wangge.cases.models import Case, Kind

    lingxi = Area.objects.get(level=Area.Level.COMMUNITY, short_name="灵西社区")
    assert Case.objects.filter(community=lingxi, kind=Kind.EVENT).exists()
    assert not Case.objects.filter(community=lingxi, kind=Kind.PETITION).exists()
    stats = queries.case_stats(area=None, date_from=None, date_to=None)
    assert lingxi.code in stats["zero_petition_communities"]


@pytest.mark.django_db
def test_the_demo_department_handler_sees_only_civil_affairs_cases(demo: Any, client: Any) -> None:
    from wangge.cases import queries
    from wangge.cases.models import Case, Department

    handler = User.objects.get(username="demo-department")
    assert handler.role == Role.DEPARTMENT
    civil = Department.objects.get(code="civil-affairs")
    assert list(handler.case_departments.all()) == [civil]
    seen = queries.cases_visible_to(handler)
    assert seen.exists() and seen.count() < Case.objects.count()
    for case in seen:
        assert case.lead_department_id == civil.pk or case.co_departments.filter(pk=civil.pk).exists()
    assert seen.filter(pk=demo.cases.reference).exists()
    other = Case.objects.exclude(pk__in=seen.values("pk")).first()
    client.force_login(handler)
    assert client.get(f"/cases/{other.pk}/").status_code == 404
    assert client.get(f"/cases/{demo.cases.reference}/").status_code == 200
    line = next(a for a in demo.accounts if a.username == "demo-department")
    assert civil.name in line.scope


@pytest.mark.django_db
def test_every_grid_worker_has_a_morning_of_tasks_with_a_history_of_visits(demo: Any, client: Any) -> None:
    from django.utils import timezone

    from wangge.worklist import queries
    from wangge.worklist.models import Task, Visit

    story = demo.worklist
    assert story.visits > 0 and story.open > 0
    assert Task.objects.filter(status=Task.Status.DONE, visit__isnull=False).exists()
    assert Task.objects.filter(status=Task.Status.MISSED).exists()  # a weekly check not made
    worker = User.objects.get(username="demo-grid")
    stops = queries.worklist(worker, today=timezone.localdate(), days=queries.UPCOMING_DAYS)
    assert stops and all(stop.tasks for stop in stops)
    client.force_login(worker)
    page = client.get("/worklist/")
    assert page.status_code == 200 and stops[0].household.address in page.content.decode()
    from wangge.worklist import summary

    staff = User.objects.get(username="demo-community")
    figures = summary.summary(staff, parent=summary.home(staff)[0], today=timezone.localdate()).rows
    coverage = [row.coverage for row in figures if row.coverage is not None]
    assert coverage and all(0 < c.visited < c.households for c in coverage if c.households > 20)
    assert Visit.objects.filter(recorded_by__isnull=True).count() == 0


@pytest.mark.django_db
def test_the_demo_volunteer_sees_only_the_households_they_look_after(demo: Any, client: Any) -> None:
    from wangge.worklist import queries
    from wangge.worklist.models import HelperLink

    volunteer = User.objects.get(username="demo-volunteer")
    linked = set(HelperLink.objects.filter(helper=volunteer).values_list("household_id", flat=True))
    assert 0 < len(linked) == demo.worklist.volunteer_households
    assert set(queries.households_to_visit(volunteer).values_list("pk", flat=True)) == linked
    assert {t.household_id for t in queries.tasks_visible_to(volunteer)} <= linked
