"""The phone intake: category, text, photo and the phone's position, one or several residents
picked from the registry; photos re-encoded without EXIF, served only within the case's scope,
and bad uploads refused without a trace."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from wangge.accounts.models import Role
from wangge.cases import actions
from wangge.cases.models import Case, CasePhoto, Category
from wangge.cases.tests.photo_files import phone_jpeg, png_bomb
from wangge.conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path  # each test sees only the photos it wrote


def upload(data: bytes, name: str = "IMG_0001.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files() -> list[Path]:
    return sorted((Path(settings.DATA_DIR) / "case-photos").rglob("*.jpg"))


def reported_with_photo(
    world: World,
    facilities: Category,
    data: bytes,
    *,
    by: Role = Role.GRID_WORKER,
    grid: str = "grid_a1_1",
    text: str = "路灯坏了",
) -> tuple[Case, CasePhoto]:
    """A report from the field with this one photo (by default a grid worker's broken light)."""
    user, area, photos = world.user(by), world.areas[grid], [upload(data)]
    case = actions.case_receive(by=user, category=facilities, text=text, channel="field", area=area, photos=photos)
    return case, CasePhoto.objects.get(case=case)


def test_it_takes_a_collective_petition_with_photo_and_position_from_the_phone_page(
    world: World, client_for: Any, pension: Category
) -> None:
    worker = client_for(Role.GRID_WORKER)
    first, second = world.residents["a1_1_head"], world.residents["a1_1_ward"]
    # Tap one: the search; tap two: the resident. Then the second petitioner the same way.
    found = worker.get(reverse("cases:field"), {"q": "王建国"}).content.decode()
    assert f"?resident={first.pk}" in found
    page = worker.get(reverse("cases:field"), {"resident": first.pk, "q": "李秀英"}).content.decode()
    assert f"resident={first.pk}&amp;resident={second.pk}" in page
    assert 'accept="image/*" capture="environment"' in page
    response = worker.post(
        f"{reverse('cases:field')}?resident={first.pk}&resident={second.pk}",
        {
            "category": pension.pk,
            "text": "两位老人反映养老金停发",
            "lon": "122.9512",
            "lat": "41.1234",
            "address": "灵西小区3号楼",
            "collective_count": "1",
            "photos": [upload(phone_jpeg()), upload(phone_jpeg(800, 600), "IMG_0002.jpg")],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Case.objects.get()
    assert set(case.petitioners.all()) == {first, second}
    assert case.collective_count == 2  # never fewer than the residents picked
    assert (case.lon, case.lat, case.address) == (122.9512, 41.1234, "灵西小区3号楼")
    assert case.channel == "field" and case.grid == world.areas["grid_a1_1"]
    assert case.photos.count() == 2
    assert list(case.steps.values_list("kind", flat=True)) == ["receive", "photo"]
    detail = worker.get(reverse("cases:detail", args=[case.pk])).content.decode()
    photo = case.photos.first()
    assert photo is not None
    assert reverse("cases:photo_thumb", args=[case.pk, photo.pk]) in detail


def test_it_strips_exif_and_gps_and_makes_a_thumbnail(world: World, client_for: Any, facilities: Category) -> None:
    original = phone_jpeg(3000, 2000)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the phone's position is in there
    case, photo = reported_with_photo(world, facilities, original)
    worker = client_for(Role.GRID_WORKER)
    full = worker.get(reverse("cases:photo", args=[case.pk, photo.pk]))
    assert full.status_code == 200 and full["Content-Type"] == "image/jpeg"
    data = b"".join(full.streaming_content)  # type: ignore[attr-defined]
    image = Image.open(io.BytesIO(data))
    assert not image.getexif()
    assert b"Exif" not in data[:200] and b"PhoneMaker" not in data
    assert max(image.size) == 2048 and (photo.width, photo.height) == image.size
    thumb = worker.get(reverse("cases:photo_thumb", args=[case.pk, photo.pk]))
    assert max(Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size) == 320  # type: ignore[attr-defined]
    # Stored under the data directory, not under a public media URL.
    assert (Path(settings.DATA_DIR) / photo.path).is_file()
    assert not photo.path.startswith("media")


def test_it_stores_a_photo_taken_upright_the_right_way_up(world: World, facilities: Category) -> None:
    # The sensor wrote 3000 × 2000 and EXIF Orientation 6: the picture is 2000 wide, 3000 high.
    _case, photo = reported_with_photo(world, facilities, phone_jpeg(3000, 2000, orientation=6))
    image = Image.open(Path(settings.DATA_DIR) / photo.path)
    assert image.size == (photo.width, photo.height) == (1365, 2048)
    assert not image.getexif()  # the orientation went with the rest of the EXIF
    red, _green, blue = image.convert("RGB").getpixel((680, 200))  # type: ignore[misc]
    assert red > 200 and blue < 60  # the sensor's left half is the top
    red, _green, blue = image.convert("RGB").getpixel((680, 1850))  # type: ignore[misc]
    assert blue > 200 and red < 60
    thumb = Image.open(Path(settings.DATA_DIR) / photo.thumb_path)
    assert thumb.height == 320 and thumb.width < thumb.height


def test_it_serves_a_photo_to_the_neighbouring_grids_worker_as_404(
    world: World, client_for: Any, facilities: Category
) -> None:
    case, photo = reported_with_photo(
        world, facilities, phone_jpeg(400, 300), by=Role.COMMUNITY_STAFF, grid="grid_a1_2", text="第二网格路面塌陷"
    )
    assert client_for(Role.COMMUNITY_STAFF).get(reverse("cases:photo", args=[case.pk, photo.pk])).status_code == 200
    neighbour = client_for(Role.GRID_WORKER)  # works grid A1-1, next door
    for name in ("cases:photo", "cases:photo_thumb"):
        assert neighbour.get(reverse(name, args=[case.pk, photo.pk])).status_code == 404
    other = actions.case_receive(
        by=world.user(Role.GRID_WORKER),
        category=facilities,
        text="本网格",
        channel="field",
        area=world.areas["grid_a1_1"],
    )
    # A visible case's number with another case's photo is 404 too.
    assert neighbour.get(reverse("cases:photo", args=[other.pk, photo.pk])).status_code == 404
    assert (
        neighbour.post(reverse("cases:photos_add", args=[case.pk]), {"photos": upload(phone_jpeg())}).status_code == 404
    )
    assert client_for(Role.AUDITOR).get(reverse("cases:photo", args=[case.pk, photo.pk])).status_code == 404


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"%PDF-1.4 not a photo at all" * 100, "photo.jpg", "不是可识别的图片"),
        (b"\xff\xd8\xff\xe0" + b"\0" * (50 * 1024 * 1024), "big.jpg", "不能超过 10 MB"),
        (png_bomb(8000, 6000), "bomb.png", "像素过多"),
        (png_bomb(30000, 30000), "bomb2.png", "像素过多"),
        (phone_jpeg()[:5000], "truncated.jpg", "不是可识别的图片"),
    ],
    ids=["not-an-image", "50-MB", "48-megapixels", "900-megapixels", "truncated"],
)
def test_it_refuses_a_bad_upload_clearly_and_changes_nothing(
    world: World, client_for: Any, facilities: Category, data: bytes, name: str, message: str
) -> None:
    worker = client_for(Role.GRID_WORKER)
    response = worker.post(
        reverse("cases:field"),
        {
            "category": facilities.pk,
            "text": "楼道灯坏了",
            "area": world.areas["grid_a1_1"].pk,
            "photos": [upload(phone_jpeg(300, 200)), upload(data, name)],
        },
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Case.objects.exists() and not CasePhoto.objects.exists()
    assert stored_files() == []


def test_it_removes_written_files_when_the_audit_fails(
    world: World, facilities: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import DatabaseError

    from wangge.core.models import AuditEntry

    case = actions.case_receive(
        by=world.user(Role.GRID_WORKER),
        category=facilities,
        text="井盖缺失",
        channel="field",
        area=world.areas["grid_a1_1"],
    )
    real = AuditEntry.objects.create

    def refuse(**kwargs: Any) -> Any:
        if kwargs.get("detail", {}).get("step") == "photo":
            raise DatabaseError("audit log unavailable")
        return real(**kwargs)

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        actions.photos_add(case=case, by=world.user(Role.GRID_WORKER), photos=[upload(phone_jpeg(300, 200))])
    assert not CasePhoto.objects.exists()
    assert stored_files() == []
    assert list(case.steps.values_list("kind", flat=True)) == ["receive"]


def test_it_refuses_half_a_position(world: World, facilities: Category) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        actions.case_receive(
            by=world.user(Role.GRID_WORKER),
            category=facilities,
            text="x",
            channel="field",
            area=world.areas["grid_a1_1"],
            lon=122.9,
        )
    assert not Case.objects.exists()


def test_it_takes_the_place_through_the_api(world: World, client_for: Any, facilities: Category) -> None:
    response = client_for(Role.GRID_WORKER).post(
        "/api/v1/cases/",
        {
            "category": facilities.code,
            "text": "井盖缺失",
            "channel": "field",
            "area": world.areas["grid_a1_1"].pk,
            "lon": 122.91,
            "lat": 41.12,
            "address": "灵西路口",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["lon"], response.json()["lat"], response.json()["address"]) == (122.91, 41.12, "灵西路口")


def test_it_shows_the_phone_page_in_english(world: World, client_for: Any) -> None:
    client = client_for(Role.GRID_WORKER)
    client.cookies["django_language"] = "en"
    body = client.get(reverse("cases:field"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Photos (up to 6, at most 10 MB each)" in body
    assert "Report" in body and 'name="viewport"' in body


def test_it_records_a_home_visit_with_its_position_and_a_photo(
    world: World, client_for: Any, pension: Category
) -> None:
    case = actions.case_receive(
        by=world.user(Role.PETITION_OFFICE),
        category=pension,
        text="求助",
        channel="walk_in",
        petitioners=[world.residents["a1_1_head"]],
    )
    worker = client_for(Role.GRID_WORKER)
    page = worker.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert 'enctype="multipart/form-data" data-locate' in page
    bad = worker.post(
        reverse("cases:step", args=[case.pk, "visit"]),
        {"met": "本人", "found": "低保户", "lon": "122.9", "lat": "", "photos": upload(phone_jpeg(300, 200))},
    )
    assert bad.status_code == 400 and "经度和纬度须同时填写" in bad.content.decode()
    assert not CasePhoto.objects.exists()
    response = worker.post(
        reverse("cases:step", args=[case.pk, "visit"]),
        {
            "met": "本人",
            "found": "低保户，交不起欠费",
            "lon": "122.9",
            "lat": "41.12",
            "photos": upload(phone_jpeg(300, 200)),
        },
    )
    assert response.status_code == 302
    visit = case.steps.get(kind="visit")
    assert (visit.data["lon"], visit.data["lat"]) == (122.9, 41.12)
    assert case.photos.count() == 1
