"""Petitions (信访) and grid events (网格事件): one case model, categories and departments as data,
and one timeline of steps per case.

A case keeps two outcomes apart: the *merit* of a petition (有理/部分有理/无理) and the
*resolution* of the need behind it. A petition closed as 无理 whose need is unsolved stays on the
community's list of needs.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.registry.models import Resident, Scoped


class Kind(models.TextChoices):
    PETITION = "petition", _("信访")
    EVENT = "event", _("网格事件")


class Department(models.Model):
    """A department that handles cases (民政, 人社, 住建, a street office, a community …)."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    active = models.BooleanField(_("启用"), default=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        blank=True,
        related_name="case_departments",
        help_text=_("职能部门角色的账号只能看到本部门承办或协办的案件"),
    )

    class Meta:
        verbose_name = _("承办部门")
        verbose_name_plural = _("承办部门")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """What a case is about, with its time limits and who normally handles it."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    department = models.ForeignKey(
        Department, verbose_name=_("责任部门"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    home_visit_required = models.BooleanField(_("须入户走访"), default=True)
    sensitive = models.BooleanField(_("敏感"), default=False)
    # Grid events use these limits. Petitions use the statutory clocks (wangge.cases.clocks);
    # a petition category's solve_days, when set, is a stricter local handling limit.
    respond_hours = models.PositiveIntegerField(_("响应时限（小时）"), null=True, blank=True)
    solve_days = models.PositiveIntegerField(_("办结时限（天）"), null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("案件类别")
        verbose_name_plural = _("案件类别")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Case(Scoped):
    class Channel(models.TextChoices):
        WALK_IN = "walk_in", _("来访")
        PHONE = "phone", _("来电")
        LETTER = "letter", _("来信")
        FIELD = "field", _("网格员上报")
        LEADER_DAY = "leader_day", _("领导接访日")
        OPEN311 = "open311", _("Open311 应用")
        WEB = "web", _("居民网上报事")

    class Status(models.TextChoices):
        RECEIVED = "received", _("已登记")
        ACCEPTED = "accepted", _("已受理")
        DECLINED = "declined", _("不予受理")
        CLOSED = "closed", _("已办结")

    class Merit(models.TextChoices):
        REASONABLE = "reasonable", _("有理")
        PARTLY = "partly", _("部分有理")
        UNREASONABLE = "unreasonable", _("无理")
        NOT_PETITION = "not_petition", _("非信访事项")

    class Resolution(models.TextChoices):
        SOLVED = "solved", _("已解决")
        PARTLY = "partly", _("部分解决")
        NOT_SOLVED = "not_solved", _("未解决")
        DECLINED = "declined", _("居民拒绝")

    class Satisfaction(models.TextChoices):
        SATISFIED = "satisfied", _("满意")
        BASICALLY = "basically", _("基本满意")
        DISSATISFIED = "dissatisfied", _("不满意")

    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    category = models.ForeignKey(Category, verbose_name=_("类别"), on_delete=models.PROTECT, related_name="cases")
    text = models.TextField(_("反映内容"))
    channel = models.CharField(_("渠道"), max_length=12, choices=Channel.choices)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.RECEIVED)
    petitioners = models.ManyToManyField(Resident, verbose_name=_("反映人"), blank=True, related_name="cases")
    contact_name = models.CharField(_("反映人姓名（未登记）"), max_length=60, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    collective_count = models.PositiveIntegerField(_("人数"), default=1)
    # Where the problem is (a broken light, a hazard): from the worker's phone, a map pick or an
    # Open311 report. WGS-84, as every device sends it; maps convert for display.
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    address = models.CharField(_("地点"), max_length=200, blank=True)

    received_at = models.DateTimeField(_("登记时间"), db_index=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    accept_due = models.DateTimeField(_("受理期限"))
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    handle_due = models.DateTimeField(_("办理期限"), null=True, blank=True)
    extension_days = models.PositiveIntegerField(_("延期天数"), default=0)
    visited_at = models.DateTimeField(_("走访时间"), null=True, blank=True)
    visit_exempt_reason = models.CharField(_("免于走访原因"), max_length=200, blank=True)

    lead_department = models.ForeignKey(
        Department, verbose_name=_("承办部门"), null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    co_departments = models.ManyToManyField(Department, verbose_name=_("协办部门"), blank=True, related_name="co_cases")
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    merit = models.CharField(_("定性"), max_length=14, choices=Merit.choices, blank=True)
    resolution = models.CharField(_("问题解决情况"), max_length=12, choices=Resolution.choices, blank=True)
    resolution_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("解决情况登记人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("解决时间"), null=True, blank=True)
    cost_yuan = models.DecimalField(_("花费（元）"), max_digits=12, decimal_places=2, null=True, blank=True)
    verified_at = models.DateTimeField(_("核查时间"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核查人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    satisfaction = models.CharField(_("满意度"), max_length=12, choices=Satisfaction.choices, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "accept_due"], name="case_status_accept_due_idx"),
            models.Index(fields=["status", "handle_due"], name="case_status_handle_due_idx"),
            models.Index(fields=["community", "received_at"], name="case_community_received_idx"),
            # Open311's GET requests filters public categories by date (wangge.open311).
            models.Index(fields=["category", "received_at"], name="case_category_received_idx"),
            # The lists show open cases newest first; at a million cases, most of them closed, a
            # user with few or none of their own would otherwise walk the whole received_at index.
            models.Index(
                fields=["-received_at"],
                condition=models.Q(status__in=["received", "accepted"]),
                name="case_open_received_idx",
            ),
            # A grid worker's "all" list and statistics: a grid holds 1 case in 240 of a
            # district's, so newest-first over received_at alone read ~12,000 rows for a page of
            # 50 (139 ms at a million cases).
            models.Index(fields=["grid", "-received_at"], name="case_grid_received_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.category.name}"

    @property
    def number(self) -> str:
        return f"{self.received_at:%Y}-{self.pk:06d}" if self.pk else ""

    @property
    def is_petition(self) -> bool:
        return self.kind == Kind.PETITION

    @property
    def needs_home_visit(self) -> bool:
        """A petition always, an event when its category says so."""
        return self.is_petition or self.category.home_visit_required

    @property
    def visit_done(self) -> bool:
        return self.visited_at is not None or bool(self.visit_exempt_reason)

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.RECEIVED, self.Status.ACCEPTED)


class Step(models.Model):
    """One entry of a case's timeline: every action on a case writes exactly one."""

    class Kind(models.TextChoices):
        RECEIVE = "receive", _("登记")
        ACCEPT = "accept", _("受理")
        DECLINE = "decline", _("不予受理")
        VISIT = "visit", _("入户走访")
        VISIT_EXEMPT = "visit_exempt", _("免于走访")
        ASSIGN = "assign", _("交办")
        TRANSFER = "transfer", _("转办")
        EXTEND = "extend", _("延期")
        REPLY = "reply", _("书面答复")
        MERIT = "merit", _("定性")
        RESOLUTION = "resolution", _("问题解决情况")
        VERIFY = "verify", _("核查")
        SATISFACTION = "satisfaction", _("满意度")
        CLOSE = "close", _("办结")
        PHOTO = "photo", _("照片")
        REVIEW_REQUEST = "review_request", _("申请复查")
        REVIEW_ANSWER = "review_answer", _("复查意见")
        REREVIEW_REQUEST = "rereview_request", _("申请复核")
        REREVIEW_ANSWER = "rereview_answer", _("复核意见")
        ESCALATE = "escalate", _("督办")
        ESCORT_SCHEDULE = "escort_schedule", _("安排领导领访")
        ESCORT_RECORD = "escort_record", _("领导领访")
        SATISFACTION_LINK = "satisfaction_link", _("发送满意度评价链接")
        PUBLIC_REPLY = "public_reply", _("公开答复")
        REPEAT = "repeat", _("标记重复访")
        CROSS_LEVEL = "cross_level", _("标记越级访")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(_("步骤"), max_length=20, choices=Kind.choices)
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("经办人"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        verbose_name = _("案件步骤")
        verbose_name_plural = _("案件步骤")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.at:%Y-%m-%d}"


# Channels through which residents report themselves (Open311 clients, the /report/ page): no
# staff member registers these cases, and they may be shown publicly (wangge.open311).
PUBLIC_CHANNELS = (Case.Channel.OPEN311, Case.Channel.WEB)
# Repeats, cross-level petitions and the monthly figures (wangge.cases.repeats, .stats) ---------


class _Mark(models.Model):
    """Who marked a case, when and why."""

    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("标记人"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("标记时间"))
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        abstract = True


class RepeatMark(_Mark):
    """A case marked as a repeat (重复访) of an earlier case of the same matter, within the
    statutory window (``wangge.cases.repeats.WINDOW``)."""

    case = models.OneToOneField(Case, primary_key=True, on_delete=models.CASCADE, related_name="repeat_mark")
    earlier = models.ForeignKey(Case, verbose_name=_("前次案件"), on_delete=models.PROTECT, related_name="repeated_by")
    similarity = models.FloatField(_("内容相似度"), null=True, blank=True)

    class Meta:
        verbose_name = _("重复访标记")
        verbose_name_plural = _("重复访标记")

    def __str__(self) -> str:
        return f"{self.case_id} → {self.earlier_id}"


class CrossLevelMark(_Mark):
    """A petition taken to a level above the one that should handle it (越级访), recorded with
    the level the petitioner went to."""

    class Level(models.TextChoices):
        CITY = "city", _("市级")
        PROVINCE = "province", _("省级")
        NATIONAL = "national", _("国家级")

    case = models.OneToOneField(Case, primary_key=True, on_delete=models.CASCADE, related_name="cross_level_mark")
    level = models.CharField(_("越级到"), max_length=10, choices=Level.choices)

    class Meta:
        verbose_name = _("越级访标记")
        verbose_name_plural = _("越级访标记")

    def __str__(self) -> str:
        return f"{self.case_id} {self.level}"


class CaseMonth(models.Model):
    """The figures of the cases received in one local month (``span`` 1) or year (``span`` 12,
    ``month`` its January), per community, kind, category and lead department, kept by the periodic job
    ``cases.monthly_counts`` (``wangge.cases.stats.refresh``): what the statistics page sums
    instead of reading a million cases. Months from the last refresh's own month on are always
    counted live."""

    month = models.DateField(_("月份"))
    span = models.PositiveSmallIntegerField(default=1)
    district = models.ForeignKey("areas.Area", on_delete=models.CASCADE, related_name="+")
    street = models.ForeignKey("areas.Area", on_delete=models.CASCADE, related_name="+")
    community = models.ForeignKey("areas.Area", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    lead_department = models.ForeignKey(Department, null=True, on_delete=models.CASCADE, related_name="+")
    received = models.PositiveIntegerField(default=0)
    petitions = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    declined = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    decided_on_time = models.PositiveIntegerField(default=0)
    handled = models.PositiveIntegerField(default=0)
    handled_on_time = models.PositiveIntegerField(default=0)
    solved = models.PositiveIntegerField(default=0)
    partly_solved = models.PositiveIntegerField(default=0)
    closed_unsolved = models.PositiveIntegerField(default=0)
    solved_open = models.PositiveIntegerField(default=0)
    solve_seconds = models.BigIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    content = models.PositiveIntegerField(default=0)
    dissatisfied = models.PositiveIntegerField(default=0)
    # Merit, and solved by merit (``solved_unreasonable``: 无理 yet solved, the reference story).
    merit_reasonable = models.PositiveIntegerField(default=0)
    merit_partly = models.PositiveIntegerField(default=0)
    merit_unreasonable = models.PositiveIntegerField(default=0)
    merit_not_petition = models.PositiveIntegerField(default=0)
    solved_reasonable = models.PositiveIntegerField(default=0)
    solved_partly = models.PositiveIntegerField(default=0)
    solved_unreasonable = models.PositiveIntegerField(default=0)
    solved_not_petition = models.PositiveIntegerField(default=0)
    repeats = models.PositiveIntegerField(default=0)
    cross_level = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("案件月度统计")
        verbose_name_plural = _("案件月度统计")
        indexes = [models.Index(fields=["span", "month"], name="casemonth_span_month_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}+{self.span} {self.community_id} {self.category_id}"


class CaseMonthRefresh(models.Model):
    """When ``CaseMonth`` was last brought up to date, and the last timeline step it had seen: a
    refresh recounts only the months of cases with newer steps (every action writes one)."""

    refreshed_at = models.DateTimeField(_("统计时间"))
    step_id = models.BigIntegerField(default=0)
    full = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("案件月度统计刷新")
        verbose_name_plural = _("案件月度统计刷新")

    def __str__(self) -> str:
        return f"{self.refreshed_at:%Y-%m-%d %H:%M}"


# Photos, reviews, escalations, escorted visits and satisfaction links (issue 11, items 2–4, 7) --


class CasePhoto(models.Model):
    """A photo of the problem, re-encoded on upload (no EXIF, so no GPS of the worker's phone)
    and kept under the data directory, never under a public URL: it is served only to those
    who may read its case (``flow_views.photo``)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    # Relative to ``settings.DATA_DIR``; the thumbnail sits beside it.
    path = models.CharField(max_length=200, unique=True)
    thumb_path = models.CharField(max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("案件照片")
        verbose_name_plural = _("案件照片")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.path}"


class Review(models.Model):
    """A review (复查) or re-review (复核) of a petition's written reply (Articles 35–36):
    requested within 30 days, answered within 30 days of the request."""

    class Level(models.TextChoices):
        REVIEW = "review", _("复查")
        REREVIEW = "rereview", _("复核")

    class Outcome(models.TextChoices):
        UPHELD = "upheld", _("维持原意见")
        CHANGED = "changed", _("变更原意见")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reviews")
    level = models.CharField(_("级别"), max_length=10, choices=Level.choices)
    requested_at = models.DateTimeField(_("申请时间"))
    reason = models.TextField(_("申请理由"))
    answer_due = models.DateTimeField(_("答复期限"), db_index=True)
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    outcome = models.CharField(_("结论"), max_length=10, choices=Outcome.choices, blank=True)
    answer = models.TextField(_("复查（复核）意见"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("复查复核")
        verbose_name_plural = _("复查复核")
        ordering = ["requested_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "level"], name="case_review_once_per_level")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.level}"


class Escalation(models.Model):
    """督办: a case whose clock ran out, raised to the supervisors once per deadline missed."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="escalations")
    phase = models.CharField(_("环节"), max_length=10)  # accept, handle, review, rereview
    due = models.DateTimeField(_("期限"))
    at = models.DateTimeField(_("督办时间"))
    notified = models.PositiveIntegerField(_("通知人数"), default=0)

    class Meta:
        verbose_name = _("督办")
        verbose_name_plural = _("督办")
        constraints = [models.UniqueConstraint(fields=["case", "phase"], name="case_escalated_once_per_phase")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.phase}"


class EscortedVisit(models.Model):
    """领访/带访: a leader goes with the petitioner (to the department, to the place), scheduled
    for a date and then recorded with who went and what came of it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="escorts")
    leader = models.CharField(_("带访领导"), max_length=100)
    scheduled_for = models.DateField(_("安排日期"))
    scheduled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    went_on = models.DateField(_("领访日期"), null=True, blank=True)
    attendees = models.CharField(_("参加人员"), max_length=300, blank=True)
    outcome = models.TextField(_("领访情况"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("领导领访")
        verbose_name_plural = _("领导领访")
        ordering = ["scheduled_for", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.leader} {self.scheduled_for}"


class SatisfactionLink(models.Model):
    """A one-time link (QR code or SMS) on which the petitioner rates the solution. Only the
    token's SHA-256 is stored: the link itself is shown once and sent once."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="satisfaction_links")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField()
    sent_to = models.CharField(_("短信发送至"), max_length=20, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("满意度评价链接")
        verbose_name_plural = _("满意度评价链接")

    def __str__(self) -> str:
        return f"{self.case_id} {self.created_at:%Y-%m-%d}"
