"""No page fails for any role, even when real-world boundary files are invalid."""

from __future__ import annotations

from typing import Any

import pytest
import shapely
from django.test import Client, override_settings
from shapely.geometry import shape

from wangge.accounts.models import User
from wangge.areas.models import Area
from wangge.core.models import Task
from wangge.core.tasks import run_queued
from wangge.demo import accounts as demo_accounts
from wangge.demo.build import build
from wangge.demo.crawl import area_kinds, crawl, kind_of, links_in

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _invalid_boundaries(bounds: tuple[float, float, float, float]) -> list[dict[str, Any]]:
    """A bow-tie, a self-touching ring, duplicate points and a sliver over a community's extent."""
    w, s, e, n = bounds
    mx, my = (w + e) / 2, (s + n) / 2
    bow_tie = [[w, s], [e, n], [e, s], [w, n], [w, s]]
    self_touching = [[w, s], [e, s], [e, n], [mx, s], [w, n], [w, s]]
    duplicates = [[w, s], [e, s], [e, s], [e, s], [e, n], [w, n], [w, n], [w, s]]
    sliver = [[w, s], [e, s], [e, my], [e + (e - w), my], [e, my], [e, n], [w, n], [w, s]]
    return [{"type": "Polygon", "coordinates": [ring]} for ring in (bow_tie, self_touching, duplicates, sliver)]


def test_it_names_page_kinds_and_finds_links() -> None:
    assert kind_of("/residents/123/?page=2&q=x") == "/residents/<n>/?page&q"
    html = '<a href="/areas/1/">a</a><div data-geojson="/map/geojson/"></div><form method="post" action="/x/">'
    assert links_in(html) == ["/areas/1/", "/map/geojson/"]


@pytest.mark.django_db
def test_every_page_answers_every_role_without_a_server_error_on_invalid_boundaries() -> None:
    with override_settings(PASSWORD_HASHERS=FAST_HASHER):
        build(residents=1500, seed=5)
    communities = list(Area.objects.filter(level=Area.Level.COMMUNITY).exclude(boundary=None).order_by("pk")[:8])
    broken = []
    for shape_index, community in enumerate(communities[::2]):
        bad = _invalid_boundaries(shape(community.boundary).bounds)[shape_index]
        if shape_index != 2:  # duplicate points alone are valid; the others are not
            assert not shapely.is_valid(shape(bad))
        Area.objects.filter(pk=community.pk).update(boundary=bad)
        broken.append(community.pk)
    # the model community (where the community, grid and guardian accounts live) gets a bow-tie too
    model = User.objects.get(username="demo-community").assignments.get().area
    Area.objects.filter(pk=model.pk).update(boundary=_invalid_boundaries(shape(model.boundary).bounds)[0])
    failures = []
    kinds: set[str] = set()
    classify = area_kinds(dict(Area.objects.values_list("pk", "level")))
    for username in demo_accounts.SHOWCASE:
        client = Client()
        client.force_login(User.objects.get(username=username))
        extra = [f"/areas/{pk}/" for pk in broken] + [f"/areas/{pk}/division/" for pk in [*broken, model.pk]]
        result = crawl(client, user=username, per_kind=2, max_visits=400, extra=extra, classify=classify)
        failures.extend((username, v.url, v.error) for v in result.failures)
        kinds.update(v.kind for v in result.visits if v.status == 200)
    # the street's and the district's previews were queued by the crawl: the worker computes them
    # on the same invalid boundaries, and their result pages answer too
    assert run_queued(worker="crawl") >= 2
    assert not Task.objects.exclude(status=Task.Status.DONE).exists()
    for task in Task.objects.filter(kind="division.preview").select_related("created_by"):
        client = Client()
        client.force_login(task.created_by)
        assert client.get(task.result["url"]).status_code == 200, task.result
    assert failures == []
    # the crawl reached the pages that matter at scale, not just the seeds
    for kind in (
        "/",
        "/areas/<district>/",
        "/areas/<street>/",
        "/areas/<community>/",
        "/areas/<grid>/",
        "/tasks/<n>/",
        "/areas/<community>/division/",
        "/map/geojson/",
        "/residents/<n>/",
        "/buildings/<n>/",
        "/search/?q",
    ):
        assert kind in kinds, kind
