"""A visit's photo: re-encoded without EXIF, shown as a thumbnail on the household's visit page
and the visit's own page, served only in scope (404 outside, audited when opened); a visit that
opened a case links to it and the case page links back."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from wangge.accounts.models import Role, User
from wangge.cases.models import Category, Kind
from wangge.conftest import World
from wangge.core.models import AuditEntry
from wangge.worklist import actions
from wangge.worklist.models import Visit

pytestmark = pytest.mark.django_db


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (640, 480), "green")
    exif = Image.Exif()
    exif[0x8825] = {2: (41.0, 7.0, 12.0), 4: (122.0, 54.0, 3.0)}  # a GPS position
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


@pytest.fixture
def visit(world: World) -> Visit:
    recorded, _created = actions.visit_record(
        by=world.user(Role.GRID_WORKER),
        household=world.households["grid_a1_1"],
        client_id=uuid.uuid4(),
        notes="楼道堆放杂物",
        photo=io.BytesIO(jpeg_with_gps()),
        case_category=Category.objects.filter(kind=Kind.EVENT, active=True).first(),
    )
    yield recorded
    for field in (recorded.photo, recorded.photo_thumb):
        if field:
            field.storage.delete(field.name)


def test_the_photo_is_stored_without_its_gps_and_with_a_thumbnail(visit: Visit) -> None:
    with visit.photo.open("rb") as handle:
        stored = Image.open(io.BytesIO(handle.read()))
    assert not stored.getexif().get_ifd(0x8825)
    with visit.photo_thumb.open("rb") as handle:
        thumb = Image.open(io.BytesIO(handle.read()))
    assert max(thumb.size) <= 320 < max(stored.size)


def test_the_household_page_shows_the_thumbnail_and_the_visit_page_the_photo(visit: Visit, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    page = client.get(reverse("worklist:visit", args=[visit.household_id])).content.decode()
    assert reverse("worklist:visit_photo_thumb", args=[visit.pk]) in page
    assert reverse("worklist:visit_detail", args=[visit.pk]) in page
    detail = client.get(reverse("worklist:visit_detail", args=[visit.pk]))
    assert "楼道堆放杂物" in detail.content.decode()
    assert reverse("worklist:visit_photo", args=[visit.pk]) in detail.content.decode()
    thumb = client.get(reverse("worklist:visit_photo_thumb", args=[visit.pk]))
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    assert client.get(reverse("worklist:visit_photo", args=[visit.pk])).status_code == 200
    assert AuditEntry.objects.filter(object_type="worklist.visit", object_id=str(visit.pk), action="view").count() == 2


def test_out_of_scope_the_visit_and_its_photo_are_404(
    visit: Visit, neighbour_worker: User, client_for: Any, client: Any
) -> None:
    client.force_login(neighbour_worker)
    for name in ("worklist:visit_detail", "worklist:visit_photo", "worklist:visit_photo_thumb"):
        assert client.get(reverse(name, args=[visit.pk])).status_code == 404
    assert not AuditEntry.objects.filter(object_type="worklist.visit", action="view").exists()


def test_a_visit_without_a_photo_has_no_photo_to_serve(world: World, client_for: Any) -> None:
    plain, _created = actions.visit_record(
        by=world.user(Role.GRID_WORKER), household=world.households["grid_a1_1"], client_id=uuid.uuid4()
    )
    client = client_for(Role.GRID_WORKER)
    assert client.get(reverse("worklist:visit_photo_thumb", args=[plain.pk])).status_code == 404


def test_the_visit_links_to_the_case_it_opened_and_the_case_back_to_the_visit(visit: Visit, client_for: Any) -> None:
    assert visit.case is not None
    assert visit.case.photos.count() == 1, "the case gets the visit's photo"
    client = client_for(Role.GRID_WORKER)
    detail = client.get(reverse("worklist:visit_detail", args=[visit.pk])).content.decode()
    assert reverse("cases:detail", args=[visit.case_id]) in detail
    case_page = client.get(reverse("cases:detail", args=[visit.case_id])).content.decode()
    assert reverse("worklist:visit_detail", args=[visit.pk]) in case_page
    assert timezone.localtime(visit.visited_at).strftime("%Y-%m-%d") in case_page
