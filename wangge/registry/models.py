"""The resident registry: households, residents, life events and care categories.

Households and residents carry their grid, community, street and district so that every scoped
read is one indexed filter, and a city-wide deployment can shard by district.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.areas.models import Area, Building


class Scoped(models.Model):
    """Area columns copied from the building; kept in step by the registry's actions."""

    grid = models.ForeignKey(
        Area, verbose_name=_("网格"), null=True, blank=True, related_name="+", on_delete=models.PROTECT
    )
    community = models.ForeignKey(Area, verbose_name=_("社区"), related_name="+", on_delete=models.PROTECT)
    street = models.ForeignKey(Area, verbose_name=_("街道"), related_name="+", on_delete=models.PROTECT)
    district = models.ForeignKey(Area, verbose_name=_("区"), related_name="+", on_delete=models.PROTECT)

    class Meta:
        abstract = True

    def copy_scope(self, source: Building | Scoped) -> None:
        self.grid_id = source.grid_id
        self.community_id = source.community_id
        self.street_id = source.street_id
        self.district_id = source.district_id


class ResidentImport(models.Model):
    """One import of a residents file: what it created, so it can be resumed or undone as a whole.

    Residents, households and care tags written by an import carry it (``import_run``); the
    buildings it made are listed here (they live in ``areas``, below the registry).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("导入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("未完成")
        UNDOING = "undoing", _("撤销中")
        UNDONE = "undone", _("已撤销")

    file_name = models.CharField(_("文件名"), max_length=255)
    digest = models.CharField(_("文件摘要"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("导入人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    chunks_done = models.PositiveIntegerField(_("已写入批次"), default=0)
    counts = models.JSONField(_("统计"), default=dict, blank=True)
    buildings = models.JSONField(_("新建楼栋"), default=list, blank=True)
    error = models.TextField(_("错误"), blank=True)
    report_token = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("居民导入")
        verbose_name_plural = _("居民导入")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})" if self.created_at else self.file_name


class Household(Scoped):
    building = models.ForeignKey(Building, verbose_name=_("楼栋"), related_name="households", on_delete=models.PROTECT)
    entrance = models.CharField(_("单元"), max_length=10, blank=True)
    room = models.CharField(_("房号"), max_length=20)
    dwelling = models.ForeignKey(
        "Room", verbose_name=_("房屋"), null=True, blank=True, related_name="households", on_delete=models.PROTECT
    )
    head = models.ForeignKey(
        "Resident", verbose_name=_("户主"), null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    note = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    import_run = models.ForeignKey(
        ResidentImport, verbose_name=_("导入批次"), null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("住户")
        verbose_name_plural = _("住户")
        ordering = ["building_id", "entrance", "room"]
        constraints = [
            models.UniqueConstraint(fields=["building", "entrance", "room"], name="household_unique_address")
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        entrance = f"{self.entrance}单元" if self.entrance else ""
        return f"{self.building.name}{entrance}{self.room}"


class CodeTable(models.Model):
    """A code table shipped with defaults by a data migration and editable in the admin.

    ``code`` is what rows point at (a readable key, stable across deployments); ``standard_code``
    is the value of the national standard where one could be confirmed from a public source.
    """

    code = models.SlugField(_("代码"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=40, unique=True)
    name_en = models.CharField(_("英文名称"), max_length=60, blank=True)
    standard_code = models.CharField(_("标准代码"), max_length=10, blank=True)
    aliases = models.CharField(_("别名"), max_length=200, blank=True, help_text=_("导入时也能识别的名称，用逗号分隔"))
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        abstract = True
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def label(self) -> str:
        """The name in the active language (the English is a column, the table being data)."""
        from django.utils.translation import get_language

        return self.name_en if (get_language() or "").startswith("en") and self.name_en else self.name


class PopulationType(CodeTable):
    """实有人口的类型: 户籍, 流动, 境外, 未落户, and whatever a district adds."""

    class Meta(CodeTable.Meta):
        verbose_name = _("人口类型")
        verbose_name_plural = _("人口类型")


class DocumentType(CodeTable):
    """身份证件的类型; ``format`` names the rule in ``wangge.core.documents`` its numbers follow."""

    class Format(models.TextChoices):
        NATIONAL_ID = "national_id", _("公民身份号码")
        RESIDENCE_PERMIT = "residence_permit", _("港澳台居民居住证号码")
        FOREIGN_PERMANENT = "foreign_permanent", _("外国人永久居留身份证号码")
        HK_MACAO_PASS = "hk_macao_pass", _("港澳居民来往内地通行证号码")
        TAIWAN_PASS = "taiwan_pass", _("台湾居民来往大陆通行证号码")
        PASSPORT = "passport", _("护照号码")
        FREE = "free", _("不校验")

    format = models.CharField(_("号码规则"), max_length=20, choices=Format.choices, default=Format.FREE)

    class Meta(CodeTable.Meta):
        verbose_name = _("证件类型")
        verbose_name_plural = _("证件类型")


NATIONAL_ID = "resident_id_card"  # DocumentType.code of 居民身份证
REGISTERED = "registered"  # PopulationType.code of 户籍人口
FLOATING = "floating"  # PopulationType.code of 流动人口


class Resident(Scoped):
    class Sex(models.TextChoices):
        MALE = "M", _("男")
        FEMALE = "F", _("女")

    class Status(models.TextChoices):
        LIVING = "living", _("在住")
        MOVED_OUT = "moved_out", _("已迁出")
        DECEASED = "deceased", _("已故")

    class Relationship(models.TextChoices):
        HEAD = "head", _("户主")
        SPOUSE = "spouse", _("配偶")
        CHILD = "child", _("子女")
        PARENT = "parent", _("父母")
        GRANDCHILD = "grandchild", _("孙子女")
        GRANDPARENT = "grandparent", _("祖父母")
        SIBLING = "sibling", _("兄弟姐妹")
        CHILD_IN_LAW = "child_in_law", _("儿媳/女婿")
        OTHER = "other", _("其他")

    class Separation(models.TextChoices):
        """人户分离: where the person lives against where their 户口 is registered."""

        NONE = "", _("无")
        AWAY = "away", _("户在人不在（户籍在本地，居住在外地）")
        HERE = "here", _("人在户不在（居住在本地，户籍在外地）")

    household = models.ForeignKey(
        Household, verbose_name=_("住户"), null=True, blank=True, related_name="members", on_delete=models.PROTECT
    )
    name = models.CharField(_("姓名"), max_length=60)
    # The number of the document below; for the national ID the 公民身份号码. Unique across
    # types, as the import, the API and the pages find a person by number alone.
    id_number = models.CharField(_("证件号码"), max_length=40, unique=True)
    document_type = models.ForeignKey(
        DocumentType,
        verbose_name=_("证件类型"),
        to_field="code",
        default=NATIONAL_ID,
        related_name="+",
        on_delete=models.PROTECT,
    )
    population_type = models.ForeignKey(
        PopulationType,
        verbose_name=_("人口类型"),
        to_field="code",
        default=REGISTERED,
        related_name="+",
        on_delete=models.PROTECT,
    )
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"), db_index=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    relationship = models.CharField(
        _("与户主关系"), max_length=20, choices=Relationship.choices, default=Relationship.OTHER
    )
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.LIVING, db_index=True)
    ethnicity = models.CharField(_("民族"), max_length=20, blank=True)
    separation = models.CharField(
        _("人户分离"), max_length=12, choices=Separation.choices, default=Separation.NONE, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    import_run = models.ForeignKey(
        ResidentImport, verbose_name=_("导入批次"), null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        ordering = ["name", "id"]
        indexes = [
            # The export's order (street, community, grid, household): without it the district's
            # 520,000 rows were sorted before the first byte (1.2-1.5 s); with it rows stream in
            # index order.
            models.Index(fields=["street", "community", "grid", "household", "id"], name="resident_export_order_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class FloatingDetail(models.Model):
    """What a 流动人口 registration records beyond the person."""

    resident = models.OneToOneField(Resident, related_name="floating", on_delete=models.CASCADE)
    permit_number = models.CharField(_("居住证号码"), max_length=40, blank=True)
    origin = models.CharField(_("户籍地"), max_length=100, blank=True)
    arrival_date = models.DateField(_("来本地日期"), null=True, blank=True)
    reason = models.CharField(_("来本地事由"), max_length=60, blank=True)
    expected_stay = models.CharField(_("拟居住期限"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("流动人口信息")
        verbose_name_plural = _("流动人口信息")

    def __str__(self) -> str:
        return str(self.resident)


class ForeignDetail(models.Model):
    """What a 境外人员 registration records beyond the person and their document."""

    resident = models.OneToOneField(Resident, related_name="foreign", on_delete=models.CASCADE)
    nationality = models.CharField(_("国籍"), max_length=60, blank=True)
    visa_type = models.CharField(_("签证（居留许可）种类"), max_length=60, blank=True)
    visa_expiry = models.DateField(_("签证（居留许可）有效期至"), null=True, blank=True)

    class Meta:
        verbose_name = _("境外人员信息")
        verbose_name_plural = _("境外人员信息")

    def __str__(self) -> str:
        return str(self.resident)


class CareCategory(models.Model):
    """A sensitive tag such as 独居老人 or 低保; the set is data, so a district can add its own."""

    code = models.SlugField(_("代码"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=40, unique=True)
    name_en = models.CharField(_("英文名称"), max_length=60, blank=True)
    aliases = models.CharField(_("别名"), max_length=200, blank=True, help_text=_("导入时也能识别的名称，用逗号分隔"))

    class Meta:
        verbose_name = _("人员类别")
        verbose_name_plural = _("人员类别")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class CareTag(models.Model):
    resident = models.ForeignKey(Resident, related_name="care_tags", on_delete=models.CASCADE)
    category = models.ForeignKey(CareCategory, verbose_name=_("类别"), related_name="tags", on_delete=models.PROTECT)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    import_run = models.ForeignKey(
        ResidentImport, verbose_name=_("导入批次"), null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("人员类别标记")
        verbose_name_plural = _("人员类别标记")
        constraints = [models.UniqueConstraint(fields=["resident", "category"], name="care_tag_unique")]

    def __str__(self) -> str:
        return f"{self.resident}: {self.category}"


class LifeEvent(models.Model):
    class Kind(models.TextChoices):
        BIRTH = "birth", _("出生")
        MOVE_IN = "move_in", _("迁入")
        MOVE_OUT = "move_out", _("迁出")
        MARRIAGE = "marriage", _("结婚")
        DEATH = "death", _("死亡")

    resident = models.ForeignKey(Resident, related_name="events", on_delete=models.PROTECT)
    kind = models.CharField(_("事件"), max_length=12, choices=Kind.choices)
    date = models.DateField(_("日期"))
    household = models.ForeignKey(Household, null=True, blank=True, related_name="+", on_delete=models.SET_NULL)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("生活事件")
        verbose_name_plural = _("生活事件")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class Guardianship(models.Model):
    """A guardian account sees exactly the residents it is guardian of, nothing else."""

    guardian = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="guardianships", on_delete=models.CASCADE)
    resident = models.ForeignKey(Resident, related_name="guardianships", on_delete=models.CASCADE)
    relationship = models.CharField(_("关系"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("监护关系")
        verbose_name_plural = _("监护关系")
        constraints = [models.UniqueConstraint(fields=["guardian", "resident"], name="guardianship_unique")]

    def __str__(self) -> str:
        return f"{self.guardian} → {self.resident}"


class SearchKey(models.Model):
    """One searchable form of a resident's name (simplified, pinyin, initials) or number.

    Searching is a range scan on ``key`` (``key >= q AND key < q + U+FFFF``), which uses the
    B-tree index on SQLite and PostgreSQL alike; the area columns let the scope filter apply
    without a join.
    """

    # A derived index of the resident, written and deleted with it by the registry's own code
    # (the ORM's cascade removes a resident's keys), so no foreign-key constraint: its check
    # ran for each of the ~5 keys of every resident written, at every import's commit
    # (docs/benchmarks.md, "Issue 15's import: the server's share").
    resident = models.ForeignKey(Resident, related_name="search_keys", on_delete=models.CASCADE, db_constraint=False)
    key = models.CharField(max_length=80)
    # The same column names as on Resident, so one scope filter serves both; no FK constraint
    # or index of their own: the key index does the work and these only narrow its range.
    grid = models.ForeignKey(
        Area, null=True, related_name="+", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False
    )
    community = models.ForeignKey(
        Area, related_name="+", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False
    )
    street = models.ForeignKey(Area, related_name="+", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False)
    district = models.ForeignKey(
        Area, related_name="+", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False
    )

    class Meta:
        indexes = [
            models.Index(fields=["key"], name="search_key_idx"),
            # A grid worker's, community's or street's search reads only its own slice of the
            # key index; with the key index alone it would scan the district's matches
            # (bench/search.py: a street officer typing one surname had p95 66 ms on PostgreSQL).
            models.Index(fields=["grid", "key"], name="search_key_grid_idx"),
            models.Index(fields=["community", "key"], name="search_key_community_idx"),
            models.Index(fields=["street", "key"], name="search_key_street_idx"),
            # And a district's, once the database holds a city: with the key index alone a
            # district administrator of one of Anshan's seven districts read ~7 entries (and
            # heap rows) for every one in scope (bench/search.py --districts 7 at 3.5 M residents).
            models.Index(fields=["district", "key"], name="search_key_district_idx"),
        ]

    def __str__(self) -> str:
        return self.key


class AreaCount(models.Model):
    """Households, living residents and grids per area, refreshed by a periodic job
    (``registry.rollups``): what the district's and streets' pages show instead of counting
    half a million rows on every visit. At most ``rollups.EVERY`` seconds (plus one refresh)
    old; pages count live where no row exists yet."""

    area = models.OneToOneField(Area, primary_key=True, related_name="+", on_delete=models.CASCADE)
    households = models.PositiveIntegerField(_("住户数"), default=0)
    residents = models.PositiveIntegerField(_("在册居民数"), default=0)
    grids = models.PositiveIntegerField(_("网格数"), default=0)
    #: living residents by population type code, and by type code per child area (``"<pk>"``)
    by_type = models.JSONField(_("按人口类型"), default=dict, blank=True)
    children_by_type = models.JSONField(_("下级区域按人口类型"), default=dict, blank=True)
    refreshed_at = models.DateTimeField(_("统计时间"))

    class Meta:
        verbose_name = _("区域统计")
        verbose_name_plural = _("区域统计")

    def __str__(self) -> str:
        return f"{self.area_id}: {self.households}/{self.residents}"


# 一标三实: standard address → building → entrance (单元) → room (房屋); rentals (出租房屋).


class RoomUse(CodeTable):
    """房屋用途: 自住, 出租, 经营, 空置, and whatever a district adds."""

    class Meta(CodeTable.Meta):
        verbose_name = _("房屋用途")
        verbose_name_plural = _("房屋用途")


class HazardLevel(CodeTable):
    """出租房屋的隐患等级; how often a rental of this level is inspected is data too."""

    inspect_every_days = models.PositiveSmallIntegerField(_("检查周期（天）"), default=90)

    class Meta(CodeTable.Meta):
        verbose_name = _("隐患等级")
        verbose_name_plural = _("隐患等级")


RESIDENCE = "residence"  # RoomUse.code of 自住
RENTED = "rented"  # RoomUse.code of 出租
VACANT = "vacant"  # RoomUse.code of 空置
NO_HAZARD = "none"  # HazardLevel.code of 无隐患


def floor_of(number: str) -> int | None:
    """The floor a room number names by the usual convention (301 → 3, 1203 → 12, B102 → -1)."""
    text = number.strip().upper()
    basement = text.startswith(("B", "-", "负", "地下"))
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 3 or len(digits) > 5:
        return None
    floor = int(digits[:-2])
    if floor == 0:
        return None
    return -floor if basement else floor


class Room(Scoped):
    """A room (房屋) of a building: the unit a household lives in, a shop, an empty flat."""

    building = models.ForeignKey(Building, verbose_name=_("楼栋"), related_name="rooms", on_delete=models.PROTECT)
    entrance = models.CharField(_("单元"), max_length=10, blank=True)
    floor = models.SmallIntegerField(_("楼层"), null=True, blank=True)
    number = models.CharField(_("房号"), max_length=20)
    area = models.DecimalField(_("建筑面积（平方米）"), max_digits=8, decimal_places=2, null=True, blank=True)
    use = models.ForeignKey(
        RoomUse,
        verbose_name=_("房屋用途"),
        to_field="code",
        default=RESIDENCE,
        related_name="+",
        on_delete=models.PROTECT,
    )
    owner = models.ForeignKey(
        Resident, verbose_name=_("产权人"), null=True, blank=True, related_name="rooms_owned", on_delete=models.SET_NULL
    )
    owner_name = models.CharField(_("产权人姓名"), max_length=60, blank=True, help_text=_("产权人不在本区登记时填写"))
    created_at = models.DateTimeField(auto_now_add=True)
    import_run = models.ForeignKey(
        ResidentImport, verbose_name=_("导入批次"), null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("房屋")
        verbose_name_plural = _("房屋")
        ordering = ["building_id", "entrance", "floor", "number"]
        constraints = [models.UniqueConstraint(fields=["building", "entrance", "number"], name="room_unique_address")]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        entrance = f"{self.entrance}单元" if self.entrance else ""
        return f"{self.building.name}{entrance}{self.number}"


class Rental(Scoped):
    """出租房屋: one lease of a room, with its landlord, tenants and inspections."""

    room = models.ForeignKey(Room, verbose_name=_("房屋"), related_name="rentals", on_delete=models.PROTECT)
    landlord = models.ForeignKey(
        Resident, verbose_name=_("出租人"), null=True, blank=True, related_name="rentals_let", on_delete=models.SET_NULL
    )
    landlord_name = models.CharField(
        _("出租人姓名"), max_length=60, blank=True, help_text=_("出租人不在本区登记时填写")
    )
    landlord_phone = models.CharField(_("出租人电话"), max_length=20, blank=True)
    tenants = models.ManyToManyField(Resident, verbose_name=_("承租人"), related_name="tenancies", blank=True)
    registration_number = models.CharField(_("租赁登记备案号"), max_length=40, blank=True)
    rent = models.DecimalField(_("月租金（元）"), max_digits=10, decimal_places=2, null=True, blank=True)
    start = models.DateField(_("起租日期"))
    end = models.DateField(_("到期日期"), db_index=True)
    hazard_level = models.ForeignKey(
        HazardLevel,
        verbose_name=_("隐患等级"),
        to_field="code",
        default=NO_HAZARD,
        related_name="+",
        on_delete=models.PROTECT,
    )
    last_inspected = models.DateField(_("最近检查日期"), null=True, blank=True)
    #: when the next inspection is due: the last one (or the start) plus the hazard level's period
    inspection_due = models.DateField(_("下次检查日期"), db_index=True)
    ended = models.DateField(_("退租日期"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("出租房屋")
        verbose_name_plural = _("出租房屋")
        ordering = ["end", "id"]

    def __str__(self) -> str:
        return f"{self.room} {self.start}–{self.end}"


class RentalInspection(models.Model):
    """One visit to a rental (出租房屋检查): what was found and the hazard level it left."""

    rental = models.ForeignKey(Rental, verbose_name=_("出租房屋"), related_name="inspections", on_delete=models.CASCADE)
    date = models.DateField(_("检查日期"))
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("检查人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    findings = models.TextField(_("检查情况"), blank=True)
    hazard_level = models.ForeignKey(
        HazardLevel, verbose_name=_("隐患等级"), to_field="code", related_name="+", on_delete=models.PROTECT
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("出租房屋检查")
        verbose_name_plural = _("出租房屋检查")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.rental.room} {self.date}"
