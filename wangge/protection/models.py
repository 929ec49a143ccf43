"""Missing-person protection: enrolment with consent, phones, their locations, zones and alerts.

A person is tracked only while an enrolment is active and its consent covers tracking; the
ingest refuses everything else. Locations are stored in WGS-84 whatever the phone sends.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, check_password, make_password
from django.db import models
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext_lazy as _

from wangge.areas.models import Area
from wangge.registry.models import Resident, Scoped

_ALPHABET = string.ascii_lowercase + string.digits


def new_identifier() -> str:
    """An unguessable device id (≈ 103 bits), lowercase letters and digits so OsmAnd accepts it."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(20))


# Lowercase letters and digits without look-alikes (no i, l, 1, o, 0): 31 characters a person
# can read aloud and type on a phone without guessing.
READABLE_ALPHABET = "".join(c for c in _ALPHABET if c not in "il1o0")
PASSWORD_GROUPS = 6
PASSWORD_GROUP_SIZE = 4


def new_password() -> str:
    """A phone's password, ``xxxx-xxxx-xxxx-xxxx-xxxx-xxxx``: 24 readable characters (≈ 119
    random bits) in groups of four, so it can be read out and typed in groups (the dashes are
    part of it)."""
    return "-".join(
        "".join(secrets.choice(READABLE_ALPHABET) for _ in range(PASSWORD_GROUP_SIZE)) for _ in range(PASSWORD_GROUPS)
    )


def new_osmand_key() -> str:
    """The OsmAnd / Traccar Client device id, which those apps send as the only credential: 28
    lowercase letters and digits without look-alikes (≈ 139 bits), so it cannot be guessed,
    can be copied by hand, and OsmAnd accepts it."""
    return "".join(secrets.choice(READABLE_ALPHABET) for _ in range(28))


def osmand_digest(key: str) -> str:
    """What is stored of the OsmAnd key: its SHA-256 (a random 145-bit key needs no slow hash),
    so the key is shown once, like the password, and a copy of the database does not reveal it."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class DeviceSecrets:
    """A phone's credentials as registration or a reset creates them, shown once and then only
    their hashes are kept: the OwnTracks password and the OsmAnd / Traccar Client key."""

    password: str
    osmand_key: str


class DevicePasswordHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2 with few iterations, for server-generated device passwords only.

    A slow hash protects guessable human passwords; a device password is 119 random bits, so
    brute force is out of reach at any iteration count, while 1,000,000 iterations (Django's
    default, about a second of CPU here) per phone per server process would make every restart
    stall ingest for minutes. The encoded hash names its iteration count, so Django's standard
    ``check_password`` verifies it.

    SHA-512 with a 12-character salt is exactly Mosquitto's ``$7$`` password hash (PBKDF2-SHA512,
    a 12-byte salt), so the broker's password file is written from these hashes
    (``wangge.protection.broker``) and the phone uses one password for HTTP and MQTT.
    """

    algorithm = "pbkdf2_sha512"
    digest = hashlib.sha512
    iterations = 1000

    def salt(self) -> str:
        return get_random_string(12)  # Mosquitto accepts 12 bytes only; the password is the secret


_LEGACY_DEVICE_HASHER = PBKDF2PasswordHasher()


_DEVICE_HASHER = DevicePasswordHasher()


class Enrolment(Scoped):
    resident = models.ForeignKey(Resident, verbose_name=_("居民"), related_name="enrolments", on_delete=models.PROTECT)
    active = models.BooleanField(_("有效"), default=True, db_index=True)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, related_name="+", on_delete=models.SET_NULL
    )
    enrolled_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    # The person's zone state, moved by the freshest fix of any of their active phones (times
    # are the server's receive time whenever the phone's clock is ahead): when they were first
    # seen outside, how many outside fixes since, and how many consecutive fixes inside (two
    # clear the outside state and resolve a left-zone alert, as two outside raise it). Not
    # indexed, so the update stays a HOT update on PostgreSQL; ingest writes it only when a fix
    # changes it. The person's freshest fix is the newest ``last_seen`` of their active phones
    # (rows rewritten per fix anyway), not a column here.
    outside_since = models.DateTimeField(null=True, blank=True)
    outside_fixes = models.PositiveIntegerField(default=0)
    inside_fixes = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("走失防护登记")
        verbose_name_plural = _("走失防护登记")
        ordering = ["-enrolled_at"]
        constraints = [
            # Two active enrolments of one person would split phones, zones and searches.
            models.UniqueConstraint(
                fields=["resident"], condition=models.Q(active=True), name="protection_one_active_enrolment"
            )
        ]

    def __str__(self) -> str:
        return str(self.resident)

    def active_consent(self) -> Consent | None:
        return self.consents.filter(withdrawn_at__isnull=True, covers_tracking=True).order_by("-date", "-id").first()


class Consent(models.Model):
    class GivenBy(models.TextChoices):
        PERSON = "person", _("本人")
        GUARDIAN = "guardian", _("监护人")

    enrolment = models.ForeignKey(Enrolment, related_name="consents", on_delete=models.CASCADE)
    given_by_kind = models.CharField(_("同意人"), max_length=10, choices=GivenBy.choices)
    given_by_name = models.CharField(_("同意人姓名"), max_length=60)
    relationship = models.CharField(_("与本人关系"), max_length=20, blank=True)
    date = models.DateField(_("同意日期"))
    covers_tracking = models.BooleanField(_("同意位置跟踪"), default=True)
    covers_sharing_workers = models.BooleanField(_("同意向网格员共享"), default=True)
    covers_sharing_police = models.BooleanField(_("同意走失时向公安共享"), default=True)
    document = models.FileField(_("同意书扫描件"), upload_to="consents/%Y/", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, related_name="+", on_delete=models.SET_NULL
    )
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True, db_index=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("撤回登记人"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )

    class Meta:
        verbose_name = _("知情同意")
        verbose_name_plural = _("知情同意")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.given_by_name} {self.date}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None and self.covers_tracking


class Profile(models.Model):
    """The missing-person profile kept ready in advance (the "Herbert protocol")."""

    enrolment = models.OneToOneField(Enrolment, related_name="profile", on_delete=models.CASCADE)
    photo = models.ImageField(_("近期照片"), upload_to="profiles/%Y/", blank=True)
    photo_taken_on = models.DateField(_("拍摄日期"), null=True, blank=True)
    appearance = models.TextField(_("外貌特征"), blank=True, help_text=_("身高、体型、发型、常穿衣物等"))
    habits = models.TextField(_("习惯"), blank=True)
    routines = models.TextField(_("日常作息"), blank=True)
    places = models.TextField(_("常去地点"), blank=True)
    previous_addresses = models.TextField(_("曾经住址"), blank=True)
    workplaces = models.TextField(_("曾经工作单位"), blank=True)
    medical_notes = models.TextField(_("医疗信息（敏感）"), blank=True)
    guardian_phones = models.TextField(_("监护人及电话"), blank=True, help_text=_("每行一位：姓名 电话"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, related_name="+", on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("走失预案档案")
        verbose_name_plural = _("走失预案档案")

    def __str__(self) -> str:
        return str(self.enrolment)


class Device(models.Model):
    class CoordSystem(models.TextChoices):
        WGS84 = "wgs84", _("WGS-84（GPS 原始坐标）")
        GCJ02 = "gcj02", _("GCJ-02（国测局坐标）")

    enrolment = models.ForeignKey(Enrolment, related_name="devices", on_delete=models.CASCADE)
    name = models.CharField(_("名称"), max_length=60, default="手机")
    # OsmAnd id and OwnTracks user at once; the OwnTracks device name is ``owntracks_device``.
    identifier = models.CharField(_("设备标识"), max_length=40, unique=True, default=new_identifier)
    owntracks_device = models.CharField(_("OwnTracks 设备名"), max_length=40, default="phone")
    password_hash = models.CharField(max_length=200, blank=True)
    # SHA-256 of the OsmAnd / Traccar Client key (see ``new_osmand_key``); null for a phone
    # registered before the key existed, whose ``identifier`` still works as its OsmAnd id
    # (``osmand_legacy``) until the phone is reset, and which cannot raise an SOS meanwhile.
    osmand_digest = models.CharField(max_length=64, unique=True, null=True, blank=True)
    osmand_legacy = models.BooleanField(_("旧式设备标识"), default=False)
    coord_system = models.CharField(_("坐标系"), max_length=8, choices=CoordSystem.choices, default=CoordSystem.WGS84)
    active = models.BooleanField(_("启用"), default=True)
    registered_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    # The latest fix and what it said; its time is the phone's, or the server's receive time
    # when the phone's clock was ahead, so a fix stamped in the future cannot hide later ones.
    # Not indexed: the row is rewritten per fix, and with no indexed column changing PostgreSQL
    # updates it in place (HOT) instead of adding entries to every index. The silent check,
    # the only reader by time, scans ≤ 100,000 phones once a minute.
    last_seen = models.DateTimeField(_("最后定位时间"), null=True, blank=True)
    last_received = models.DateTimeField(_("最后接收时间"), null=True, blank=True)
    last_lat = models.FloatField(null=True, blank=True)
    last_lon = models.FloatField(null=True, blank=True)
    accuracy = models.FloatField(_("精度（米）"), null=True, blank=True)
    speed = models.FloatField(_("速度（米/秒）"), null=True, blank=True)
    battery = models.FloatField(_("电量（%）"), null=True, blank=True)

    class Meta:
        verbose_name = _("定位设备")
        verbose_name_plural = _("定位设备")

    def __str__(self) -> str:
        return self.name

    def set_password(self, raw: str) -> None:
        self.password_hash = make_password(raw, hasher=_DEVICE_HASHER)

    def check_password(self, raw: str) -> bool:
        if not self.password_hash:
            return False
        if self.password_hash.startswith(f"{_DEVICE_HASHER.algorithm}${_DEVICE_HASHER.iterations}$"):
            # Directly, so a wrong password is not "hardened" to the cost of 1,000,000 iterations.
            return _DEVICE_HASHER.verify(raw, self.password_hash)
        if self.password_hash.startswith(f"{_LEGACY_DEVICE_HASHER.algorithm}${_DEVICE_HASHER.iterations}$"):
            # Set before broker credentials existed: still good for HTTP (a reset adds MQTT).
            return _LEGACY_DEVICE_HASHER.verify(raw, self.password_hash)
        return check_password(raw, self.password_hash)

    def set_secrets(self) -> DeviceSecrets:
        """New credentials for both apps; the old password and OsmAnd id stop working."""
        credentials = DeviceSecrets(password=new_password(), osmand_key=new_osmand_key())
        self.set_password(credentials.password)
        self.osmand_digest = osmand_digest(credentials.osmand_key)
        self.osmand_legacy = False
        return credentials


class Location(models.Model):
    class Source(models.TextChoices):
        OWNTRACKS_HTTP = "owntracks_http", _("OwnTracks（HTTP）")
        OWNTRACKS_MQTT = "owntracks_mqtt", _("OwnTracks（MQTT）")
        OSMAND = "osmand", _("OsmAnd / Traccar Client")

    # The hot table keeps only the indexes reads need: the dedupe key (which starts with the
    # device, so no separate device index), the trail (which starts with the enrolment) and, on
    # PostgreSQL, a BRIN on received_at for the retention purge (see migration 0003). No
    # database FK constraints: each would cost a trigger and a row lock per inserted fix; ingest
    # writes only for phones it has just read and locked, and Django cascades the deletes.
    device = models.ForeignKey(
        Device, related_name="locations", on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    enrolment = models.ForeignKey(
        Enrolment, related_name="locations", on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    # Carried for sharding by district (see architecture.md); no FK constraint on a hot table.
    district = models.ForeignKey(
        Area, null=True, related_name="+", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False
    )
    recorded_at = models.DateTimeField(_("定位时间"))
    received_at = models.DateTimeField(_("接收时间"), default=timezone.now)
    lat = models.FloatField(_("纬度"))
    lon = models.FloatField(_("经度"))
    accuracy = models.FloatField(_("精度（米）"), null=True, blank=True)
    speed = models.FloatField(_("速度（米/秒）"), null=True, blank=True)
    bearing = models.FloatField(_("方向"), null=True, blank=True)
    altitude = models.FloatField(_("海拔"), null=True, blank=True)
    battery = models.FloatField(_("电量（%）"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)

    class Meta:
        verbose_name = _("位置")
        verbose_name_plural = _("位置")
        ordering = ["recorded_at", "id"]
        constraints = [
            # A redelivered message (MQTT QoS 1, a phone retrying) is the same row.
            models.UniqueConstraint(fields=["device", "recorded_at", "lat", "lon"], name="location_dedupe")
        ]
        indexes = [
            models.Index(fields=["enrolment", "recorded_at"], name="location_trail_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lat:.6f},{self.lon:.6f} @ {self.recorded_at:%Y-%m-%d %H:%M:%S}"


class SafeZone(models.Model):
    class Kind(models.TextChoices):
        POLYGON = "polygon", _("多边形")
        CIRCLE = "circle", _("圆形")

    enrolment = models.ForeignKey(Enrolment, related_name="zones", on_delete=models.CASCADE)
    name = models.CharField(_("名称"), max_length=60)
    kind = models.CharField(_("形状"), max_length=8, choices=Kind.choices, default=Kind.CIRCLE)
    geojson = models.JSONField(_("边界 (GeoJSON, WGS-84)"), null=True, blank=True)
    center_lat = models.FloatField(_("圆心纬度"), null=True, blank=True)
    center_lon = models.FloatField(_("圆心经度"), null=True, blank=True)
    radius_m = models.FloatField(_("半径（米）"), null=True, blank=True)
    # Optional hours (local time); an overnight range such as 20:00–07:00 wraps past midnight.
    active_from = models.TimeField(_("生效开始"), null=True, blank=True)
    active_until = models.TimeField(_("生效结束"), null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("安全区域")
        verbose_name_plural = _("安全区域")

    def __str__(self) -> str:
        return self.name


class Incident(Scoped):
    """A missing-person search; while open, its searchers may see the person's trail."""

    class Status(models.TextChoices):
        OPEN = "open", _("搜寻中")
        CLOSED = "closed", _("已结束")

    class Outcome(models.TextChoices):
        FOUND = "found", _("已找到")
        RETURNED = "returned", _("自行返回")
        FALSE_ALARM = "false_alarm", _("误报")
        OTHER = "other", _("其他")

    enrolment = models.ForeignKey(Enrolment, related_name="incidents", on_delete=models.PROTECT)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    opened_at = models.DateTimeField(_("报告时间"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("报告人"), null=True, related_name="+", on_delete=models.SET_NULL
    )
    description = models.TextField(_("情况说明"), blank=True)
    searchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("搜寻人员"), blank=True, related_name="protection_incidents"
    )
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    outcome = models.CharField(_("结果"), max_length=12, choices=Outcome.choices, blank=True)
    found_where = models.CharField(_("找到地点"), max_length=200, blank=True)
    found_condition = models.CharField(_("找到时状况"), max_length=200, blank=True)
    found_at = models.DateTimeField(_("找到时间"), null=True, blank=True)
    # Escalated from an alert, if it was; the last known fix is copied here when the incident
    # is opened, so it survives the location retention job.
    alert = models.ForeignKey(
        "Alert", verbose_name=_("来源告警"), null=True, blank=True, related_name="incidents", on_delete=models.SET_NULL
    )
    last_lat = models.FloatField(_("最后已知纬度"), null=True, blank=True)
    last_lon = models.FloatField(_("最后已知经度"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("最后已知时间"), null=True, blank=True)
    last_source = models.CharField(_("最后位置来源"), max_length=12, blank=True)

    class Meta:
        verbose_name = _("走失事件")
        verbose_name_plural = _("走失事件")
        ordering = ["-opened_at"]


class Alert(Scoped):
    class Kind(models.TextChoices):
        LEFT_ZONE = "left_zone", _("离开安全区域")
        SILENT = "silent", _("设备长时间无定位")
        LOW_BATTERY = "low_battery", _("电量低")
        SOS = "sos", _("紧急求助")
        PHONE_OFF = "phone_off", _("手机停止上报")

    enrolment = models.ForeignKey(Enrolment, related_name="alerts", on_delete=models.CASCADE)
    device = models.ForeignKey(Device, null=True, blank=True, related_name="alerts", on_delete=models.SET_NULL)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices, db_index=True)
    # Both the server's time (raised or resolved when the server received the fix, or ran the
    # check), so an alert never looks resolved before it was raised; ``fix_at`` is the phone's.
    raised_at = models.DateTimeField(_("发生时间"), default=timezone.now)
    resolved_at = models.DateTimeField(_("解除时间"), null=True, blank=True, db_index=True)
    location = models.ForeignKey(Location, null=True, blank=True, related_name="+", on_delete=models.SET_NULL)
    # The fix itself is kept here too: the location row may be deleted by retention.
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    fix_at = models.DateTimeField(null=True, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        verbose_name = _("告警")
        verbose_name_plural = _("告警")
        ordering = ["-raised_at"]
        constraints = [
            # One open alert of a kind per person: two workers (or a worker and the silent job)
            # cannot both raise it; the loser of the race finds it already open.
            models.UniqueConstraint(
                fields=["enrolment", "kind"],
                condition=models.Q(resolved_at__isnull=True),
                name="protection_one_open_alert_per_kind",
            )
        ]


class Notification(models.Model):
    class Channel(models.TextChoices):
        IN_APP = "in_app", _("站内")
        EMAIL = "email", _("电子邮件")
        SMS = "sms", _("短信")
        WEBHOOK = "webhook", _("Webhook")

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败，待重试")
        GIVEN_UP = "given_up", _("已放弃")

    alert = models.ForeignKey(Alert, null=True, blank=True, related_name="notifications", on_delete=models.CASCADE)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, related_name="notifications", on_delete=models.CASCADE
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="protection_notifications",
        on_delete=models.CASCADE,
    )
    address = models.CharField(_("地址"), max_length=300, blank=True)
    channel = models.CharField(_("渠道"), max_length=8, choices=Channel.choices)
    payload = models.JSONField(_("内容"), default=dict)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("下次尝试"), default=timezone.now)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    last_error = models.CharField(_("最后错误"), max_length=500, blank=True)
    # The outbox (see notify.py): lower goes first; a sender leases a delivery before sending it.
    priority = models.PositiveSmallIntegerField(_("优先级"), default=0)
    claimed_by = models.CharField(_("发送者"), max_length=100, blank=True)
    claimed_until = models.DateTimeField(_("占用至"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_due_idx"),
            models.Index(fields=["channel", "status", "priority", "next_attempt_at"], name="notification_outbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.status}"


class IncidentUpdate(models.Model):
    """A line of an incident's log: a progress note or a sighting (optionally with a place)."""

    class Kind(models.TextChoices):
        NOTE = "note", _("进展")
        SIGHTING = "sighting", _("目击线索")
        ASSIGNMENT = "assignment", _("指派")
        CLOSURE = "closure", _("结束")

    incident = models.ForeignKey(Incident, related_name="updates", on_delete=models.CASCADE)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices, default=Kind.NOTE)
    text = models.TextField(_("内容"))
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    seen_at = models.DateTimeField(_("目击时间"), null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("记录人"), null=True, related_name="+", on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    class Meta:
        verbose_name = _("事件记录")
        verbose_name_plural = _("事件记录")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.text[:40]

    # Closures recorded before the timeline showed the kind began with it: "结束：已找到".
    _OLD_CLOSURE_PREFIX = "结束："

    @property
    def shown_text(self) -> str:
        """The text as the timeline shows it after the kind, never repeating the kind."""
        if self.kind == self.Kind.CLOSURE and self.text.startswith(self._OLD_CLOSURE_PREFIX):
            return self.text[len(self._OLD_CLOSURE_PREFIX) :]
        return self.text


class Responder(models.Model):
    """A grid worker or volunteer notified of an incident because they are near the last location."""

    class Kind(models.TextChoices):
        OWN_GRID_WORKER = "own_worker", _("本网格网格员")
        GRID_WORKER = "grid_worker", _("附近网格员")
        VOLUNTEER = "volunteer", _("志愿者")

    incident = models.ForeignKey(Incident, related_name="responders", on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="protection_responses", on_delete=models.CASCADE)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    grid = models.ForeignKey(
        Area, verbose_name=_("网格"), null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    distance_m = models.FloatField(_("距离（米）"), null=True, blank=True)
    # False when the consent does not cover sharing with grid workers: notified, but without
    # the location, and no access to the trail.
    shares_location = models.BooleanField(_("可查看位置"), default=True)
    notified_at = models.DateTimeField(_("通知时间"), default=timezone.now)

    class Meta:
        verbose_name = _("响应人员")
        verbose_name_plural = _("响应人员")
        ordering = ["distance_m", "id"]
        constraints = [models.UniqueConstraint(fields=["incident", "user"], name="responder_unique")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_kind_display()})"
