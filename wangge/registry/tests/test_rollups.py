"""Per-area counts from the worker's rollups: equal to counting, used only where exact, dated."""

from __future__ import annotations

from typing import Any

from wangge.accounts.models import Role
from wangge.conftest import World
from wangge.core.periodic import registered_jobs
from wangge.registry import rollups, summary
from wangge.registry.models import AreaCount, Household, Resident


def _live(level: str, pk: int) -> tuple[int, int]:
    households = Household.objects.filter(**{level: pk}).count()
    residents = Resident.objects.filter(status=Resident.Status.LIVING, **{level: pk}).count()
    return households, residents


def test_it_counts_every_area_as_counting_would(world: World) -> None:
    written = rollups.refresh(analyze=True)
    assert written == len(world.areas)
    for key in ("district", "street_a", "community_a1", "grid_a1_1", "grid_b1_1", "other_grid"):
        area = world.areas[key]
        row = AreaCount.objects.get(area=area)
        assert (row.households, row.residents) == _live(area.level, area.pk), key
    assert AreaCount.objects.get(area=world.areas["community_a1"]).grids == 2


def test_the_district_page_reads_the_rollups_and_says_when_they_were_counted(world: World, client_for: Any) -> None:
    district = world.areas["district"]
    client = client_for(Role.DISTRICT_ADMIN)
    before = client.get(f"/areas/{district.pk}/")
    assert before.context["totals"].counted_at is None  # no rollup yet: counted live
    rollups.refresh()
    # a household added after the refresh shows up at the next one: counts may be 5 minutes old
    building = world.buildings["grid_a1_1"]
    household = Household(building=building, entrance="9", room="901")
    household.copy_scope(building)
    household.save()
    page = client.get(f"/areas/{district.pk}/")
    totals = page.context["totals"]
    assert totals.counted_at is not None
    assert totals.households == Household.objects.filter(district=district).count() - 1
    assert "统计于" in page.content.decode()
    assert all(child.counted_at is not None for child in page.context["children"])
    rollups.refresh()
    assert client.get(f"/areas/{district.pk}/").context["totals"].households == (
        Household.objects.filter(district=district).count()
    )


def test_where_the_user_sees_only_part_of_an_area_it_adds_up_their_own_areas(world: World) -> None:
    rollups.refresh()
    worker = world.users[Role.GRID_WORKER]
    community = world.areas["community_a1"]
    grid = world.areas["grid_a1_1"]
    part = rollups.counts(worker, [community])
    assert part is not None
    assert (part[community.pk].households, part[community.pk].residents) == _live("grid", grid.pk)
    assert part[community.pk].grids == 1
    assert part[community.pk].children_by_type == {str(grid.pk): AreaCount.objects.get(area=grid).by_type}
    assert rollups.counts(world.users[Role.GUARDIAN], [grid]) is None
    assert rollups.counts(worker, [grid]) is not None
    assert rollups.counts(worker, [world.areas["grid_b1_1"]]) is None  # nothing of it is theirs
    # the tree of a grid worker still holds only their grid's households
    tree = summary.tree(worker)
    assert tree[0]["households"] == Household.objects.filter(grid=grid).count()


def test_a_street_officer_on_the_district_page_sees_their_street_from_the_rollups(
    world: World, client_for: Any
) -> None:
    district, street = world.areas["district"], world.areas["street_a"]
    client = client_for(Role.STREET_STAFF)
    live = client.get(f"/areas/{district.pk}/").context
    rollups.refresh()
    page = client.get(f"/areas/{district.pk}/")
    totals = page.context["totals"]
    assert totals.counted_at is not None
    assert (totals.households, totals.residents) == _live("street", street.pk)
    assert (totals.households, totals.residents, totals.grids) == (
        live["totals"].households,
        live["totals"].residents,
        live["totals"].grids,
    )
    assert [(h.area, h.counts) for h in page.context["headcounts"].children] == [
        (h.area, h.counts) for h in live["headcounts"].children
    ]
    assert page.context["headcounts"].total.counts == live["headcounts"].total.counts


def test_the_worker_refreshes_the_rollups_every_five_minutes() -> None:
    from wangge.ops import schedule

    schedule.register()
    job = registered_jobs()["registry.area_counts"]
    assert job.every == rollups.EVERY == 300
