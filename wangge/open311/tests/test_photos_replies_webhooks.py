"""Issue 13, the rest: photos uploaded with a GeoReport request (``media``) and on /report/, public
only as a smaller rendition and only for a resident's own report of a non-sensitive category;
staff's public replies on the tracking page and in GeoReport; webhooks signed with each client
app's own secret (checked on a real local HTTP server)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import io
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import DatabaseError
from django.test import Client
from PIL import Image

from wangge.accounts.models import Role
from wangge.cases import actions as case_actions
from wangge.cases.models import Case, CasePhoto, Category, Step
from wangge.cases.tests.photo_files import phone_jpeg
from wangge.conftest import World, grid_lon
from wangge.core.models import AuditEntry
from wangge.open311 import actions, api
from wangge.open311.models import ClientApp, Report
from wangge.protection import notify
from wangge.protection.models import Notification

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"


@pytest.fixture(autouse=True)
def _own_data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path


def stored_files() -> list[Path]:
    return sorted((Path(settings.DATA_DIR) / "case-photos").rglob("*.jpg"))


def upload(data: bytes, name: str = "IMG_0001.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def _point(world: World, grid: str = "grid_a1_1") -> dict[str, str]:
    return {"lat": "41.12", "long": str(grid_lon(world.areas[grid]))}


def _report_form(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "category": Category.objects.get(code="facilities").pk,
        "text": "小区东门路灯坏了",
        "lat": "41.12",
        "lon": str(grid_lon(world.areas["grid_b1_1"])),
        "address": "东门",
        "phone": "",
        **extra,
    }


def _jpeg_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and not image.getexif()
        return image.size


# Photos ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_client_app_uploads_a_photo_and_its_media_url_serves_a_smaller_rendition(
    world: World, api_key: str, fmt: str
) -> None:
    client = Client()
    response = client.post(
        f"{BASE}/requests.{fmt}",
        {
            "api_key": api_key,
            "service_code": "facilities",
            "media": upload(phone_jpeg(3000, 2000)),
            **_point(world),
        },
    )
    assert response.status_code == 200, response.content
    case = Case.objects.get()
    photo = CasePhoto.objects.get(case=case)
    assert photo.uploaded_by is None and (photo.width, photo.height) == (2048, 1365)
    assert case.text == "（见照片）"  # a photo alone is a report
    (row,) = client.get(f"{BASE}/requests/{case.pk}.json").json()
    assert row["media_url"] == f"http://testserver/report/photos/{photo.pk}.jpg"
    xml = ET.fromstring(client.get(f"{BASE}/requests.xml").content)
    assert xml.findtext("request/media_url") == row["media_url"]
    served = client.get(f"/report/photos/{photo.pk}.jpg")
    assert served["Content-Type"] == "image/jpeg" and served["Cache-Control"] == "public, max-age=3600"
    assert max(_jpeg_size(served.content)) == 640  # smaller than the stored 2048, no EXIF (no GPS)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_bad_upload_gets_the_specs_error_body_and_stores_nothing(world: World, api_key: str, fmt: str) -> None:
    fields = {"api_key": api_key, "service_code": "facilities", "description": "灯", **_point(world)}
    response = Client().post(f"{BASE}/requests.{fmt}", {**fields, "media": upload(b"MZ\x90\x00 not a photo")})
    assert response.status_code == 400
    if fmt == "json":
        (error,) = response.json()
        assert error["code"] == 400 and "不是可识别的图片" in error["description"]
    else:
        assert "不是可识别的图片" in ET.fromstring(response.content).findtext("error/description")
    english = Client(headers={"accept-language": "en"}).post(
        f"{BASE}/requests.json", {**fields, "media": upload(b"not a photo")}
    )
    assert "not an image" in english.json()[0]["description"].lower()
    too_many = {**fields, "media": [upload(phone_jpeg(40, 30), f"{n}.jpg") for n in range(actions.MAX_PHOTOS + 1)]}
    assert Client().post(f"{BASE}/requests.{fmt}", too_many).status_code == 400
    assert not Case.objects.exists() and not Report.objects.exists() and stored_files() == []


def test_an_oversized_upload_is_413(world: World, api_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "MAX_MULTIPART_BODY", 10_000)
    response = Client().post(
        f"{BASE}/requests.json",
        {"api_key": api_key, "service_code": "facilities", "media": upload(phone_jpeg(800, 600, noise=True))},
    )
    assert response.status_code == 413 and response.json()[0]["code"] == 413
    assert not Case.objects.exists() and stored_files() == []


def test_the_report_page_takes_a_photo_and_the_tracking_page_shows_it(world: World) -> None:
    client = Client()
    page = client.get("/report/").content.decode()
    assert 'accept="image/*"' in page and 'enctype="multipart/form-data"' in page
    assert "leaflet/leaflet.js" in page and 'id="report-map"' in page
    response = client.post("/report/", _report_form(world, photo=upload(phone_jpeg(1200, 900))))
    assert response.status_code == 302, response.content.decode()
    photo = CasePhoto.objects.get()
    assert photo.case.channel == "web" and photo.uploaded_by is None
    track = client.get(response["Location"]).content.decode()
    assert f'src="/report/photos/{photo.pk}.jpg"' in track


def test_the_report_page_refuses_a_bad_photo_clearly_and_stores_nothing(world: World) -> None:
    client = Client()
    response = client.post("/report/", _report_form(world, photo=upload(b"GIF89a broken", "x.gif")))
    assert response.status_code == 400
    assert response.context["form"].errors["photo"] == ["上传的文件不是可识别的图片（支持 JPEG、PNG、WebP）"]
    english = Client()
    english.cookies["django_language"] = "en"
    answer = english.post("/report/", _report_form(world, photo=upload(b"broken")))
    assert "not an image" in answer.content.decode().lower()
    assert not Case.objects.exists() and stored_files() == []


def test_photos_of_sensitive_categories_and_staffs_photos_are_never_public(
    world: World, api_key: str, settings: Any
) -> None:
    grid = world.areas["grid_a1_1"]
    sensitive = case_actions.case_report(
        category=Category.objects.get(code="unpaid-benefit"),
        text="欠薪",
        channel="web",
        area=grid,
        photos=[upload(phone_jpeg(400, 300))],
    )
    own = actions.report_submit(
        category=Category.objects.get(code="facilities"),
        text="灯",
        channel="web",
        lat=41.12,
        lon=grid_lon(grid),
        photos=[upload(phone_jpeg(400, 300))],
    )
    staff_photo = case_actions.photos_add(
        case=own.case, by=world.user(Role.GRID_WORKER), photos=[upload(phone_jpeg(400, 300))]
    )[0]
    client = Client()
    hidden = CasePhoto.objects.get(case=sensitive)
    assert client.get(f"/report/photos/{hidden.pk}.jpg").status_code == 404
    assert client.get(f"/report/photos/{staff_photo.pk}.jpg").status_code == 404
    listing = client.get(f"{BASE}/requests.json").content.decode()
    assert f"/report/photos/{hidden.pk}.jpg" not in listing and f"/report/photos/{staff_photo.pk}.jpg" not in listing
    resident_photo = CasePhoto.objects.get(case=own.case, uploaded_by=None)
    assert client.get(f"/report/photos/{resident_photo.pk}.jpg").status_code == 200

    settings.WANGGE_OPEN311_PUBLIC_PHOTOS = False
    assert client.get(f"/report/photos/{resident_photo.pk}.jpg").status_code == 404
    (row,) = client.get(f"{BASE}/requests/{own.case_id}.json").json()
    assert row["media_url"] == ""


# Public replies ----------------------------------------------------------------------------


def _web_report(world: World) -> Report:
    return actions.report_submit(
        category=Category.objects.get(code="facilities"),
        text="小区东门路灯坏了",
        channel="web",
        lat=41.12,
        lon=grid_lon(world.areas["grid_b1_1"]),
        phone="13955556666",
    )


def test_staff_reply_publicly_and_the_resident_and_client_apps_read_it(world: World, client_for: Any) -> None:
    report = _web_report(world)
    case = report.case
    staff = client_for(Role.DISTRICT_ADMIN)
    detail = staff.get(f"/cases/{case.pk}/").content.decode()
    assert "公开答复报事人" in detail
    response = staff.post(f"/cases/{case.pk}/flow/public_reply/", {"text": "已派电工，明天上午修好"})
    assert response.status_code == 302
    step = case.steps.get(kind=Step.Kind.PUBLIC_REPLY)
    assert step.note == "已派电工，明天上午修好" and step.by == world.user(Role.DISTRICT_ADMIN)
    assert AuditEntry.objects.filter(object_id=str(case.pk), detail__step="public_reply").exists()

    track = Client().get(f"/report/{report.code}/").content.decode()
    assert "已派电工，明天上午修好" in track and "公开答复" in track
    (row,) = Client().get(f"{BASE}/requests/{case.pk}.json").json()
    assert row["status_notes"] == "已派电工，明天上午修好"
    updates = Client().get(f"{BASE}/servicerequestupdates.json").json()
    (reply,) = [u for u in updates if u["update_id"] == str(step.pk)]
    assert reply == {
        "update_id": str(step.pk),
        "service_request_id": str(case.pk),
        "status": "open",
        "updated_datetime": reply["updated_datetime"],
        "description": "已派电工，明天上午修好",
        "media_url": "",
    }
    xml = ET.fromstring(Client().get(f"{BASE}/servicerequestupdates.xml").content)
    assert "已派电工，明天上午修好" in [u.findtext("description") for u in xml.findall("request_update")]


def test_a_public_reply_is_refused_empty_on_a_desk_case_and_to_those_who_do_not_work_cases(world: World) -> None:
    report = _web_report(world)
    worker = world.user(Role.DISTRICT_ADMIN)
    with pytest.raises(ValidationError):
        case_actions.public_reply_write(case=report.case, by=worker, text="  ")
    with pytest.raises(ValidationError):
        case_actions.public_reply_write(case=report.case, by=worker, text="长" * 1001)
    desk = case_actions.case_receive(
        by=worker,
        category=Category.objects.get(code="facilities"),
        text="灯",
        channel="phone",
        area=world.areas["grid_b1_1"],
    )
    with pytest.raises(ValidationError):
        case_actions.public_reply_write(case=desk, by=worker, text="好的")
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        case_actions.public_reply_write(case=report.case, by=None, text="好的")
    assert not Step.objects.filter(kind=Step.Kind.PUBLIC_REPLY).exists()


def test_a_public_reply_is_rolled_back_when_the_audit_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    report = _web_report(world)

    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(DatabaseError):
        case_actions.public_reply_write(case=report.case, by=world.user(Role.DISTRICT_ADMIN), text="明天修")
    assert not Step.objects.filter(kind=Step.Kind.PUBLIC_REPLY).exists()


# Webhooks signed with the app's own secret -------------------------------------------------


class Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.seen.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    Recorder.seen = []
    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_keys_create_shows_the_webhook_secret_once_and_the_key_last(world: World, capsys: Any) -> None:
    call_command("open311", "keys", "create", "CivicBot", "--webhook", "https://example.org/h")
    lines = capsys.readouterr().out.strip().splitlines()
    app = ClientApp.objects.get(name="CivicBot")
    assert lines[1] == app.webhook_secret and len(app.webhook_secret) >= 40
    assert lines[-1] != app.webhook_secret and len(lines[-1]) >= 40  # the key, alone on the last line
    other, _key = actions.client_app_create(name="Other")
    assert other.webhook_secret and other.webhook_secret != app.webhook_secret
    call_command("open311", "keys", "secret", "CivicBot")
    rotated = capsys.readouterr().out.strip().splitlines()[-1]
    app.refresh_from_db()
    assert rotated == app.webhook_secret and rotated != lines[1]
    assert AuditEntry.objects.filter(object_type="open311.clientapp", summary__contains="回调签名密钥").exists()


def test_each_apps_webhook_is_signed_with_its_own_secret(world: World, hook: str, settings: Any) -> None:
    settings.WANGGE_WEBHOOK_SECRET = "the-protection-secret"
    app, _key = actions.client_app_create(name="Hooked", webhook_url=hook)
    report = actions.report_submit(
        category=Category.objects.get(code="hazard"),
        text="井盖丢失",
        channel="open311",
        lat=41.12,
        lon=grid_lon(world.areas["grid_a1_1"]),
        client_app=app,
    )
    case_actions.case_accept(case=report.case, by=world.user(Role.DISTRICT_ADMIN))
    assert actions.notify_status_changes() == 1
    assert notify.deliver_one(channels=["webhook"], sender="test")
    assert Notification.objects.get(channel="webhook").status == "sent"
    ((headers, body),) = Recorder.seen
    expected = "sha256=" + hmac.new(app.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Wangge-Signature"] == expected
    assert b"_signer" not in body and report.code.encode() in body

    # A revoked app's queued webhook is not sent (and never unsigned or with another secret).
    case_actions.resolution_record(
        case=report.case, by=world.user(Role.GRID_WORKER), resolution="solved", done="盖好了"
    )
    admin = world.user(Role.DISTRICT_ADMIN)
    case_actions.case_verify(case=Case.objects.get(pk=report.case_id), by=admin)
    case_actions.case_close(case=Case.objects.get(pk=report.case_id), by=admin)
    assert actions.notify_status_changes() == 1
    actions.client_app_revoke(app=app)
    assert notify.deliver_one(channels=["webhook"], sender="test")
    failed = Notification.objects.filter(channel="webhook").order_by("-id").first()
    assert failed is not None and failed.status == "failed" and "signing secret" in failed.last_error
    assert len(Recorder.seen) == 1
