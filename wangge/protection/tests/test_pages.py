"""The protection pages, through HTTP as a guardian, a grid worker and community staff would use them."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import pytest
from django.test import Client

from wangge.accounts.models import AreaAssignment, Role, User
from wangge.conftest import PASSWORD, World
from wangge.core.models import AuditEntry
from wangge.protection.models import Alert, Consent, Enrolment, Incident, Location, SafeZone
from wangge.protection.tests.conftest import HOME, Protected, arrive

pytestmark = pytest.mark.django_db


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_links_the_resident_page_of_a_dementia_patient_to_enrolment(world: World) -> None:
    ward = world.residents["a1_1_ward"]
    page = login(world.user("guardian")).get(f"/residents/{ward.pk}/")
    assert page.status_code == 200
    assert f"/protection/enrol/{ward.pk}/" in page.content.decode()


def test_it_enrols_with_the_guardians_consent_and_a_scanned_document(world: World) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    ward = world.residents["a1_1_ward"]
    client = login(world.user("guardian"))
    assert client.get(f"/protection/enrol/{ward.pk}/").status_code == 200
    missing_relationship = client.post(
        f"/protection/enrol/{ward.pk}/",
        {"given_by_kind": "guardian", "given_by_name": "王小红", "date": "2024-04-01", "covers_tracking": "on"},
    )
    assert missing_relationship.status_code == 400
    assert not Enrolment.objects.exists()
    response = client.post(
        f"/protection/enrol/{ward.pk}/",
        {
            "given_by_kind": "guardian",
            "given_by_name": "王小红",
            "relationship": "女儿",
            "date": "2024-04-01",
            "covers_tracking": "on",
            "covers_sharing_workers": "on",
            "document": SimpleUploadedFile("同意书.pdf", b"%PDF-1.4 consent", content_type="application/pdf"),
        },
    )
    enrolment = Enrolment.objects.get(resident=ward)
    assert response.status_code == 302 and response["Location"] == f"/protection/{enrolment.pk}/"
    consent = Consent.objects.get(enrolment=enrolment)
    assert (consent.given_by_name, consent.relationship, consent.covers_sharing_police) == ("王小红", "女儿", False)
    assert consent.document.name.endswith(".pdf")
    document = client.get(f"/protection/{enrolment.pk}/consent/{consent.pk}/document/")
    assert document.status_code == 200 and b"".join(document.streaming_content) == b"%PDF-1.4 consent"
    page = client.get(f"/protection/{enrolment.pk}/")
    assert "王小红" in page.content.decode()
    # someone else's resident: the enrol page does not exist for this guardian
    other = world.residents["a1_1_head"]
    assert client.get(f"/protection/enrol/{other.pk}/").status_code == 404


def test_it_registers_a_phone_and_shows_the_password_once_with_working_setup_codes(protected: Protected) -> None:
    client = login(protected.world.user("community_staff"))
    response = client.post(
        f"/protection/{protected.enrolment.pk}/devices/", {"name": "奶奶的手机", "coord_system": "wgs84"}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    shown = re.search(r'id="device-password">(.*?)</dd>', html).group(1)  # type: ignore[union-attr]
    password = re.sub(r"<[^>]+>", "", shown)
    assert "<svg" in html
    link = re.search(r'href="(owntracks:///config\?inline=[^"]+)"', html).group(1)  # type: ignore[union-attr]
    config = json.loads(base64.b64decode(link.split("inline=", 1)[1]))
    device = protected.enrolment.devices.get(name="奶奶的手机")
    assert config["_type"] == "configuration" and config["mode"] == 3
    assert config["url"] == "http://testserver/api/v1/locations/owntracks"
    assert (config["username"], config["password"], config["deviceId"]) == (device.identifier, password, "phone")
    assert f"owntracks/{device.identifier}/phone" in html
    assert "http://testserver/api/v1/locations/osmand" in html
    # the phone set up from the code can report
    message = {"_type": "location", "lat": HOME[0], "lon": HOME[1], "tst": int(time.time()) - 5}
    auth = base64.b64encode(f"{config['username']}:{config['password']}".encode()).decode()
    posted = Client().post(
        "/api/v1/locations/owntracks",
        data=json.dumps(message),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
        HTTP_X_LIMIT_U=config["username"],
        HTTP_X_LIMIT_D=config["deviceId"],
    )
    assert posted.status_code == 200
    assert Location.objects.filter(device=device).count() == 1
    # afterwards the setup page never shows the password again
    later = client.get(f"/protection/devices/{device.pk}/").content.decode()
    assert password not in later and 'id="device-password"' not in later


def test_it_saves_circle_and_polygon_zones_from_the_map_form(protected: Protected) -> None:
    client = login(protected.world.user("guardian"))
    url = f"/protection/{protected.enrolment.pk}/zones/"
    assert client.get(url).status_code == 200
    circle = {"name": "日间照料中心", "kind": "circle", "center_lat": "41.125", "center_lon": "122.92"}
    circle |= {"radius_m": "150", "active_from": "08:00", "active_until": "17:00"}
    assert client.post(url, circle).status_code == 302
    polygon = {"name": "小区", "kind": "polygon", "polygon": "41.119,122.909\n41.121,122.909\n41.121,122.912"}
    assert client.post(url, polygon).status_code == 302
    bad = {"name": "坏的", "kind": "polygon", "polygon": "41.1,122.9"}
    assert client.post(url, bad).status_code == 400
    zones = {z.name: z for z in SafeZone.objects.filter(enrolment=protected.enrolment)}
    assert zones["日间照料中心"].radius_m == 150 and str(zones["日间照料中心"].active_from) == "08:00:00"
    assert zones["小区"].geojson["type"] == "Polygon"


def test_it_lets_the_guardian_report_missing_and_opens_the_live_incident_page(protected: Protected) -> None:
    arrive([protected.fix()])
    guardian = protected.world.user("guardian")
    client = login(guardian)
    home = client.get("/protection/")
    assert "报告走失" in home.content.decode()
    url = f"/protection/{protected.enrolment.pk}/report/"
    asked = client.post(url, {"description": "下午散步未归"}).content.decode()
    assert "确认报告 李秀英 走失？" in asked and "立即通知 1 人" in asked  # the grid worker
    assert not Incident.objects.exists()
    response = client.post(url, {"description": "下午散步未归", "confirmed": "1"})
    incident = Incident.objects.get(enrolment=protected.enrolment)
    assert response.status_code == 302 and response["Location"] == f"/protection/incidents/{incident.pk}/"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "下午散步未归" in html and 'id="incident-map"' in html
    assert f"{HOME[0]:.6f}" in html  # the last known location
    assert "灵西第一网格" in html  # the own grid's worker was notified
    assert AuditEntry.objects.filter(actor=guardian, action="view", detail__purpose="incident").exists()


def test_it_renders_the_live_partial_that_polls_itself(protected: Protected) -> None:
    arrive([protected.fix(), protected.fix(seconds=60, metres_north=40)])
    staff = protected.world.user("community_staff")
    client = login(staff)
    client.post(f"/protection/{protected.enrolment.pk}/report/", {"confirmed": "1"})
    incident = Incident.objects.get()
    worker = login(protected.world.user("grid_worker"))
    live = worker.get(f"/protection/incidents/{incident.pk}/live/")
    html = live.content.decode()
    assert live.status_code == 200
    assert 'hx-trigger="every 10s"' in html and 'id="incident-live"' in html
    assert "已走失" in html
    data = json.loads(re.search(r'id="incident-map-data" type="application/json">(.*?)</script>', html).group(1))  # type: ignore[union-attr]
    assert data["last"]["lat"] == pytest.approx(HOME[0] + 40 / 110574.0)
    assert len(data["trail"]) == 0  # the fixes are from NOW, more than six hours before the real clock
    # community staff coordinate but are not entitled to locations: the live part says so
    staff_live = client.get(f"/protection/incidents/{incident.pk}/live/").content.decode()
    assert "位置信息仅对" in staff_live and f"{HOME[0]:.6f}" not in staff_live
    # log a sighting and close as found through the forms
    assert (
        worker.post(
            f"/protection/incidents/{incident.pk}/updates/",
            {"kind": "sighting", "text": "公交站有人看到", "lat": "41.13", "lon": "122.92"},
        ).status_code
        == 302
    )
    closed = client.post(
        f"/protection/incidents/{incident.pk}/close/",
        {"outcome": "found", "found_where": "灵西公园", "condition": "良好"},
    )
    assert closed.status_code == 302
    final = client.get(f"/protection/incidents/{incident.pk}/live/").content.decode()
    assert "hx-trigger" not in final and "灵西公园" in final and "从报告到找到" in final


def test_it_hides_medical_notes_from_a_notified_volunteer_but_shows_them_to_the_guardian(
    protected: Protected, world: World
) -> None:
    from wangge.areas.models import Membership, Organisation
    from wangge.protection import incidents

    profile = protected.enrolment.profile
    profile.medical_notes = "需按时服用多奈哌齐"
    profile.save()
    volunteer = User.objects.create_user(username="vol", password=PASSWORD, role=Role.GUARDIAN)
    team = Organisation.objects.create(name="灵西志愿服务队", kind="volunteers", area=world.areas["grid_a1_1"])
    Membership.objects.create(organisation=team, user=volunteer)
    incident = incidents.incident_report(by=world.user("guardian"), enrolment=protected.enrolment)
    volunteer_page = login(volunteer).get(f"/protection/incidents/{incident.pk}/").content.decode()
    assert "多奈哌齐" not in volunteer_page and "医疗信息" in volunteer_page
    guardian_page = login(world.user("guardian")).get(f"/protection/incidents/{incident.pk}/").content.decode()
    assert "多奈哌齐" in guardian_page


def test_it_lists_open_alerts_for_community_staff_with_resolve_and_escalate(protected: Protected) -> None:
    arrive([protected.fix(alarm="sos")])
    arrive([protected.fix(seconds=5, battery=5.0)])
    client = login(protected.world.user("community_staff"))
    page = client.get("/protection/alerts/")
    assert page.status_code == 200
    alerts = list(Alert.objects.order_by("raised_at"))
    assert len(alerts) == 2 and all(a.get_kind_display() in page.content.decode() for a in alerts)
    sos, low = alerts
    assert client.post(f"/protection/alerts/{low.pk}/resolve/").status_code == 302
    asked = client.post(f"/protection/alerts/{sos.pk}/escalate/").content.decode()
    assert "确认将 李秀英 的告警升级为走失事件？" in asked and "立即通知 2 人" in asked  # worker, guardian
    assert not Incident.objects.exists()
    escalated = client.post(f"/protection/alerts/{sos.pk}/escalate/", {"confirmed": "1"})
    incident = Incident.objects.get()
    assert escalated["Location"] == f"/protection/incidents/{incident.pk}/"
    assert incident.alert_id == sos.pk
    assert Alert.objects.filter(resolved_at__isnull=True).count() == 0
    # a street office elsewhere sees none of it
    other = User.objects.create_user(username="street_b", password=PASSWORD, role=Role.STREET_STAFF)
    AreaAssignment.objects.create(user=other, area=protected.world.areas["street_b"])
    assert login(other).post(f"/protection/alerts/{sos.pk}/escalate/").status_code == 404
    assert login(other).get(f"/protection/incidents/{incident.pk}/").status_code == 404


def test_it_withdraws_consent_from_the_page_and_stops_tracking(protected: Protected, settings: Any) -> None:
    arrive([protected.fix()])
    client = login(protected.world.user("guardian"))
    asked = client.post(f"/protection/{protected.enrolment.pk}/consent/withdraw/").content.decode()
    assert "确认撤回 李秀英 的知情同意？" in asked and protected.enrolment.active_consent() is not None
    assert client.post(f"/protection/{protected.enrolment.pk}/consent/withdraw/", {"confirmed": "1"}).status_code == 302
    assert protected.enrolment.active_consent() is None
    assert arrive([protected.fix(seconds=30)]).refused == 1
    page = client.get(f"/protection/{protected.enrolment.pk}/").content.decode()
    assert "没有有效的知情同意" in page


def test_it_shows_a_notified_worker_the_search_request_in_the_app(protected: Protected) -> None:
    from wangge.protection import incidents

    incident = incidents.incident_report(by=protected.world.user("guardian"), enrolment=protected.enrolment)
    page = login(protected.world.user("grid_worker")).get("/protection/").content.decode()
    assert "走失协查：李秀英" in page and f"/protection/incidents/{incident.pk}/" in page
    # Looking is not reading: the notification stays new until marked read (a POST).
    assert incident.notifications.filter(recipient=protected.world.user("grid_worker"), read_at__isnull=True).exists()


def test_it_shows_notifications_in_the_readers_language(protected: Protected) -> None:
    """Alert and incident notifications are stored formatted (for SMS and e-mail); the page
    shows them in the reader's language, whichever language they were written in."""
    from wangge.protection import incidents as incident_actions
    from wangge.protection.models import Notification

    world = protected.world
    guardian = world.user(Role.GUARDIAN)
    incident_actions.incident_report(by=world.user(Role.COMMUNITY_STAFF), enrolment=protected.enrolment)
    assert Notification.objects.filter(recipient=guardian, payload__title__startswith="走失协查").exists()

    client = login(guardian)
    chinese = client.get("/protection/").content.decode()
    assert "走失协查：李秀英" in chinese and "李秀英（女，1941年生）走失，请协助寻找。" in chinese
    client.cookies["django_language"] = "en"
    english = client.get("/protection/").content.decode()
    assert "Missing person: 李秀英" in english
    assert "走失协查" not in english and "请协助寻找" not in english
    assert "(Female, born 1941) is missing" in english


def test_it_asks_before_deleting_a_safe_zone_and_deletes_only_when_confirmed(protected: Protected) -> None:
    client = login(protected.world.user("guardian"))
    url = f"/protection/zones/{protected.zone.pk}/delete/"
    asked = client.post(url)
    html = asked.content.decode()
    assert asked.status_code == 200 and asked["Cache-Control"] == "no-store"
    assert "确认删除安全区域“家”？" in html and "离开这个区域不再产生告警" in html
    assert f'action="{url}"' in html and f'href="/protection/{protected.enrolment.pk}/zones/"' in html
    assert SafeZone.objects.filter(pk=protected.zone.pk).exists()
    assert client.post(url, {"confirmed": "1"}).status_code == 302
    assert not SafeZone.objects.filter(pk=protected.zone.pk).exists()


def test_it_says_a_second_report_notifies_nobody_while_a_search_is_open(protected: Protected) -> None:
    from wangge.protection import incidents

    incidents.incident_report(by=protected.world.user("guardian"), enrolment=protected.enrolment)
    asked = login(protected.world.user("community_staff")).post(f"/protection/{protected.enrolment.pk}/report/")
    assert "已在搜寻中：不会重复通知" in asked.content.decode()


def test_it_keeps_the_confirmation_out_of_reach_of_those_who_may_not_act(protected: Protected, world: World) -> None:
    outsider = User.objects.create_user(username="street_b", password=PASSWORD, role=Role.STREET_STAFF)
    AreaAssignment.objects.create(user=outsider, area=world.areas["street_b"])
    client = login(outsider)
    assert client.post(f"/protection/zones/{protected.zone.pk}/delete/").status_code == 404
    assert client.post(f"/protection/{protected.enrolment.pk}/consent/withdraw/").status_code == 404
    assert client.post(f"/protection/devices/{protected.device.pk}/reset/").status_code == 404


def test_every_page_shows_the_battery_as_a_whole_percentage(protected: Protected) -> None:
    from wangge.protection.templatetags.protection import battery

    assert [battery(v) for v in (11.5, 12.0, 11, "9.4", None)] == ["12%", "12%", "11%", "9%", "—"]
    arrive([protected.fix(battery=12.0)])  # the low-battery alert stores 12.0
    arrive([protected.fix(seconds=5, battery=5.0)])  # the phone's latest level
    client = login(protected.world.user("community_staff"))
    pages = [
        client.get(f"/protection/{protected.enrolment.pk}/").content.decode(),
        client.get(f"/protection/devices/{protected.device.pk}/").content.decode(),
        client.get("/protection/alerts/").content.decode(),
    ]
    assert all(re.search(r"\d\.\d%", page) is None for page in pages)
    assert "电量 5%" in pages[0] and "<dd>5%</dd>" in pages[1] and "电量 12%" in pages[2]


def test_the_timeline_says_the_closure_once(protected: Protected) -> None:
    from wangge.protection import incidents
    from wangge.protection.models import IncidentUpdate

    staff = protected.world.user("community_staff")
    incident = incidents.incident_report(by=staff, enrolment=protected.enrolment)
    incidents.incident_close(by=staff, incident=incident, outcome="found", found_where="灵西公园")
    html = login(staff).get(f"/protection/incidents/{incident.pk}/live/").content.decode()
    assert "结束：已找到，地点：灵西公园" in html and "结束：结束" not in html
    # closures recorded before the fix carry the kind in their text: it is shown once as well
    assert IncidentUpdate(kind="closure", text="结束：已找到").shown_text == "已找到"
    assert IncidentUpdate(kind="note", text="结束：散步").shown_text == "结束：散步"
