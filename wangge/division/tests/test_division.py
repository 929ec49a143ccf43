import datetime as dt

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from wangge.accounts.models import AreaAssignment
from wangge.areas import actions as areas_actions
from wangge.areas.models import Area, Building, Organisation
from wangge.core import idnumbers
from wangge.core.models import AuditEntry
from wangge.division import actions
from wangge.division.proposal import propose
from wangge.registry.models import Household, Resident, SearchKey


def populate(community: Area, grid: Area, *, buildings: int, per_building: int, seed: int = 1) -> None:
    """A block of buildings west of 122.9, each with households and one resident per household."""
    rng = np.random.default_rng(seed)
    residents = []
    for b in range(buildings):
        building = Building.objects.create(
            name=f"{b + 100}号楼",
            community=community,
            grid=grid,
            lon=122.90 + 0.0006 * (b % 6) + rng.uniform(0, 0.0001),
            lat=41.12 + 0.0005 * (b // 6) + rng.uniform(0, 0.0001),
            entrances=3,
        )
        for i in range(per_building):
            household = Household(building=building, entrance=str(1 + i * 3 // per_building), room=f"{i + 101}")
            household.copy_scope(building)
            household.save()
            number = idnumbers.make(
                area_code="210304", birth_date=dt.date(1960, 1, 1) + dt.timedelta(days=b * 97 + i), sequence=i, sex="F"
            )
            resident = Resident(
                household=household, name="张三", id_number=number, sex="F", birth_date=dt.date(1960, 1, 1)
            )
            resident.copy_scope(household)
            residents.append(resident)
    Resident.objects.bulk_create(residents)
    from wangge.registry.search import index_residents

    index_residents(Resident.objects.filter(community=community))


@pytest.fixture
def crowded(world):
    """Community A1's first grid suddenly holds 24 buildings of 45 households: 1,080 households."""
    populate(world.areas["community_a1"], world.areas["grid_a1_1"], buildings=24, per_building=45)
    return world


@pytest.mark.django_db
def test_a_rebalance_splits_an_overfull_grid_and_keeps_both_grids_identities(crowded):
    community = crowded.areas["community_a1"]
    proposal = propose(communities=[community], mode="rebalance", target=300)
    assert proposal.figures["contiguous"] == 1.0
    assert proposal.figures["within_tolerance"] >= 0.75
    assert set(proposal.kept_grids) <= {crowded.areas["grid_a1_1"].pk, crowded.areas["grid_a1_2"].pk}
    assert crowded.areas["grid_a1_1"].pk in proposal.kept_grids
    assert proposal.new_grids


@pytest.mark.django_db
def test_applying_moves_households_residents_and_search_keys_together(crowded):
    community = crowded.areas["community_a1"]
    admin = crowded.user("district_admin")
    proposal = propose(communities=[community], mode="rebalance", target=300)
    result = actions.grids_apply(by=admin, proposal=proposal)
    grids = Area.objects.filter(level="grid", community=community)
    assert grids.count() == len(proposal.division.grids)
    for grid in grids:
        households = Household.objects.filter(grid=grid).count()
        assert 270 <= households <= 330 or households == 0 or grid.name == "灵西第二网格"
        assert not Resident.objects.filter(grid=grid).exclude(household__grid=grid).exists()
        assert not SearchKey.objects.filter(grid=grid).exclude(resident__grid=grid).exists()
        assert grid.boundary["type"] in ("Polygon", "MultiPolygon")
    assert result["created"]
    # the worker of the kept grid still has it
    assert AreaAssignment.objects.filter(user=crowded.user("grid_worker"), area=crowded.areas["grid_a1_1"]).exists()
    entry = AuditEntry.objects.get(object_type="areas.division")
    assert entry.actor == admin and entry.detail["figures"]["contiguous"] == 1.0


@pytest.mark.django_db
def test_a_fresh_division_keeps_the_names_of_the_grids_it_overlaps(crowded):
    community = crowded.areas["community_a1"]
    proposal = propose(communities=[community], mode="divide", target=300)
    assert crowded.areas["grid_a1_1"].pk in proposal.kept_grids


@pytest.mark.django_db
def test_a_grid_left_empty_is_removed_and_its_branch_goes_to_the_community(world):
    community = world.areas["community_b1"]
    grid = world.areas["grid_b1_1"]
    spare = Area.objects.create(level="grid", name="曙光第二网格", parent=community)
    branch = Organisation.objects.create(name="曙光第二网格党支部", kind="party_branch", area=spare)
    proposal = propose(communities=[community], mode="divide", target=300)
    result = actions.grids_apply(by=None, proposal=proposal)
    assert not Area.objects.filter(pk=spare.pk).exists()
    branch.refresh_from_db()
    assert branch.area == community
    assert str(spare) in result["removed"]
    assert Area.objects.filter(pk=grid.pk).exists()


@pytest.mark.django_db
def test_the_district_target_is_bounded_and_audited(world):
    district = world.areas["district"]
    areas_actions.district_target_set(by=world.user("district_admin"), district=district, target=250)
    district.refresh_from_db()
    assert district.target_households == 250
    with pytest.raises(ValidationError):
        areas_actions.district_target_set(by=None, district=district, target=5)
    assert AuditEntry.objects.filter(object_id=str(district.pk), action="update").count() == 1


@pytest.mark.django_db
def test_the_preview_page_shows_the_figures_and_the_proposed_grids(crowded, client_for):
    community = crowded.areas["community_a1"]
    response = client_for("community_staff").get(f"/areas/{community.pk}/division/")
    assert response.status_code == 200
    assert b"proposed-grids" in response.content
    assert response.context["figures"]["contiguous"] == 1.0
    assert not response.context["can_apply"]


@pytest.mark.django_db
def test_only_district_and_street_staff_may_apply_and_only_in_their_scope(crowded, client_for):
    community = crowded.areas["community_a1"]
    assert client_for("community_staff").post(f"/areas/{community.pk}/division/apply/").status_code == 404
    assert client_for("grid_worker").get(f"/areas/{community.pk}/division/").status_code == 404
    other = crowded.areas["community_b1"]
    assert client_for("street_staff").post(f"/areas/{other.pk}/division/apply/").status_code == 404
    url = f"/areas/{community.pk}/division/apply/"
    asked = client_for("street_staff").post(url, {"mode": "rebalance"})
    html = asked.content.decode()
    assert asked.status_code == 200 and "户调整到其他网格" in html and "新建" in html
    assert Area.objects.filter(level="grid", community=community).count() == 2  # nothing moved yet
    response = client_for("street_staff").post(url, {"mode": "rebalance", "confirmed": "1"})
    assert response.status_code == 302
    assert Area.objects.filter(level="grid", community=community).count() > 2


@pytest.mark.django_db
def test_new_grids_get_workers_on_the_staffing_page(crowded, client_for):
    from wangge.accounts.models import User

    community = crowded.areas["community_a1"]
    client = client_for("district_admin")
    client.post(f"/areas/{community.pk}/division/apply/", {"mode": "rebalance", "confirmed": "1"})
    spare = User.objects.create_user(username="new-worker", password="x" * 12, role="grid_worker")
    response = client.get(f"/areas/{community.pk}/staffing/")
    new_grid = response.context["unstaffed"].first()
    assert new_grid is not None
    client.post(f"/areas/{community.pk}/staffing/", {"grid": new_grid.pk, "worker": spare.pk})
    assert AreaAssignment.objects.filter(user=spare, area=new_grid).exists()


@pytest.mark.django_db
def test_applied_grids_tile_their_community_without_gaps_or_overlaps(crowded):
    from shapely.geometry import shape

    community = crowded.areas["community_a1"]
    community.boundary = {
        "type": "Polygon",
        "coordinates": [[[122.899, 41.119], [122.97, 41.119], [122.97, 41.13], [122.899, 41.13], [122.899, 41.119]]],
    }
    community.save()
    actions.grids_apply(by=None, proposal=propose(communities=[community], mode="rebalance", target=300))
    outline = shape(community.boundary)
    grids = [shape(g.boundary) for g in Area.objects.filter(level="grid", community=community)]
    total = sum(g.area for g in grids)
    assert total == pytest.approx(outline.area, rel=1e-6)
    for i, a in enumerate(grids):
        for b in grids[i + 1 :]:
            assert a.intersection(b).area < 1e-12
    for building in Building.objects.filter(community=community).select_related("grid"):
        assert (
            shape(building.grid.boundary)
            .buffer(1e-9)
            .contains(shape({"type": "Point", "coordinates": [building.lon, building.lat]}))
        )


@pytest.mark.django_db
def test_open_work_follows_the_person_into_the_new_grid(world):
    from wangge.protection import actions as protection
    from wangge.protection import incidents
    from wangge.protection.models import Incident

    ward = world.residents["a1_1_ward"]
    enrolment = protection.enrolment_create(by=None, resident=ward)
    incident = incidents.incident_report(by=None, enrolment=enrolment, description="走失")
    community = world.areas["community_a1"]
    # A1 is far below the target, so it becomes one grid; grid A1-2 holds more households, so
    # that grid keeps its identity and the ward's grid A1-1 is dissolved into it.
    for room in ("201", "301", "401"):
        household = Household(building=world.buildings["grid_a1_2"], entrance="1", room=room)
        household.copy_scope(world.buildings["grid_a1_2"])
        household.save()
    actions.grids_apply(by=None, proposal=propose(communities=[community], mode="divide", target=300))
    ward.refresh_from_db()
    enrolment.refresh_from_db()
    incident = Incident.objects.get(pk=incident.pk)
    assert ward.grid_id == world.areas["grid_a1_2"].pk
    assert enrolment.grid_id == incident.grid_id == ward.grid_id
    assert not Area.objects.filter(pk=world.areas["grid_a1_1"].pk).exists()


@pytest.mark.django_db
def test_the_preview_repairs_a_bow_tie_community_boundary_instead_of_failing(crowded, client_for):
    community = crowded.areas["community_a1"]
    # a bow-tie over the buildings (they sit around 122.90-122.904, 41.12-41.122)
    ring = [[122.89, 41.11], [122.92, 41.14], [122.92, 41.11], [122.89, 41.14], [122.89, 41.11]]
    Area.objects.filter(pk=community.pk).update(boundary={"type": "Polygon", "coordinates": [ring]})
    response = client_for("district_admin").get(f"/areas/{community.pk}/division/")
    assert response.status_code == 200
    features = response.context["proposed_geojson"]["features"]
    assert features and all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in features)


@pytest.mark.django_db
def test_the_preview_says_which_boundary_could_not_be_repaired(crowded, client_for):
    community = crowded.areas["community_a1"]
    flat = [[122.89, 41.11], [122.90, 41.12], [122.91, 41.13], [122.89, 41.11]]
    Area.objects.filter(pk=community.pk).update(boundary={"type": "Polygon", "coordinates": [flat]})
    response = client_for("district_admin").get(f"/areas/{community.pk}/division/")
    assert response.status_code == 200
    assert response.context["proposed_geojson"]["features"]
    warnings = [str(m) for m in response.context["messages"]]
    assert any("无法修复" in m and community.name in m for m in warnings)


@pytest.mark.django_db
def test_a_districts_preview_is_computed_by_the_worker_with_progress_on_the_task_page(crowded, client_for):
    from wangge.core.models import Task
    from wangge.core.tasks import run_queued

    district = crowded.areas["district"]
    client = client_for("district_admin")
    queued = client.get(f"/areas/{district.pk}/division/")
    assert queued.status_code == 302 and "/tasks/" in queued["Location"]
    # asking again while it waits joins the same task instead of queueing another
    assert client.get(f"/areas/{district.pk}/division/")["Location"] == queued["Location"]
    task = Task.objects.get(kind="division.preview")
    assert b"<progress" in client.get(queued["Location"]).content
    assert run_queued(worker="test") == 1
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.progress == 100
    done_page = client.get(queued["Location"]).content.decode()
    assert task.result["url"].replace("&", "&amp;") in done_page and "FeatureCollection" not in done_page
    page = client.get(task.result["url"])
    assert page.status_code == 200
    assert page.context["proposed_geojson"]["features"]
    assert page.context["figures"]["households"] == task.result["preview"]["figures"]["households"]
    # another user cannot read this task's result: the district is not theirs, and a task id of
    # someone else's is ignored (their own preview is queued instead)
    assert client_for("street_staff").get(task.result["url"]).status_code == 404
    street = crowded.areas["street_a"]
    theirs = client_for("street_staff").get(f"/areas/{street.pk}/division/?task={task.pk}")
    assert theirs.status_code == 302 and theirs["Location"] != queued["Location"]
