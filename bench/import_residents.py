"""Benchmark: importing residents with Wangge's importer and with django-import-export.

    python bench/import_residents.py --rows 520000

Builds a fresh SQLite database (migrations, Lishan District's real streets and communities from
``../shared/data/lishan-divisions.csv``), writes a CSV of ``--rows`` residents with valid ID
numbers, imports it with ``wangge.registry.importing``, then imports it a second time (every
row unchanged). Then, on another fresh database, the same file goes through a django-import-export
``ModelResource`` for the same model with its recommended fast settings (``use_bulk``,
``skip_unchanged``, ``batch_size``). If django-import-export would take too long for ``--rows``,
``--compare-rows`` sets how many rows it gets (the first rows of the same file); its rate is then
extrapolated to ``--rows`` and labelled as such.

Everything runs in a temporary data directory (``WANGGE_DATA_DIR``), never in ``./var``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DIVISIONS = REPO.parent / "shared" / "data" / "lishan-divisions.csv"

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文单"  # noqa: E501
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英玉兰萍桂芝建华国庆志强海燕红梅淑珍凤兰玉珍文华建国德胜"
RELATIONS = ["户主", "配偶", "子", "女", "父亲", "母亲", "孙子", "孙女"]
CATEGORIES = ["独居老人", "空巢老人", "失智老人", "残疾人", "低保", "特困人员", "优抚对象", "重病患者"]
HEADER = ["姓名", "公民身份号码", "联系电话", "社区", "楼栋", "单元", "房号", "与户主关系", "人员类别"]


def setup_django(data_dir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "wangge.settings"
    os.environ["WANGGE_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def fresh_database() -> None:
    """Drop the SQLite file, migrate, and create the district's areas."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    connection.close()
    name = Path(settings.DATABASES["default"]["NAME"])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{name}{suffix}").unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    create_areas()


def create_areas() -> list[str]:
    from wangge.areas.models import Area

    by_code: dict[str, Area] = {}
    names: list[str] = []
    with open(DIVISIONS, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            village = row["name"].endswith("村民委员会")
            area = Area(
                level=row["level"],
                kind=Area.Kind.VILLAGE if village else Area.Kind.URBAN,
                code=row["code"],
                code_scheme="NBS",
                code_date=dt.date(2023, 6, 30),
                name=row["name"],
                short_name=row["name"].replace("居民委员会", "").replace("村民委员会", "村"),
                parent=by_code.get(row["parent_code"]),
            )
            area.save()
            by_code[row["code"]] = area
            if area.level == Area.Level.COMMUNITY:
                names.append(area.short_name)
    return names


def generate_csv(path: Path, *, rows: int, communities: list[str], seed: int = 7) -> None:
    """A district-sized table: households of 1–4 people in 6-storey buildings."""
    from wangge.core import idnumbers

    rng = random.Random(seed)
    base = dt.date(1930, 1, 1)
    span = (dt.date(2022, 12, 31) - base).days
    per_community = max(1, rows // len(communities))
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        written = 0
        household = 0
        while written < rows:
            community = communities[min(written // per_community, len(communities) - 1)]
            building = f"{household // 48 + 1}号楼"
            entrance = str(household // 12 % 4 + 1)
            room = f"{household % 12 // 2 + 1}0{household % 2 + 1}"
            household += 1
            for member in range(min(rng.choice((1, 2, 2, 3, 3, 4)), rows - written)):
                day = written % span
                sequence = written // span
                sex = rng.choice("MF")
                number = idnumbers.make(
                    area_code="210304", birth_date=base + dt.timedelta(days=day), sequence=sequence, sex=sex
                )
                name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
                phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if rng.random() < 0.8 else ""
                care = "、".join(rng.sample(CATEGORIES, 1)) if rng.random() < 0.06 else ""
                relation = RELATIONS[0] if member == 0 else rng.choice(RELATIONS[1:])
                writer.writerow([name, number, phone, community, building, entrance, room, relation, care])
                written += 1


def run_wangge(path: Path) -> tuple[float, float, Any]:
    from wangge.registry.importing import import_residents

    data = path.read_bytes()
    started, cpu = time.perf_counter(), time.process_time()
    result = import_residents(data=data, file_name=path.name, by=None)
    return time.perf_counter() - started, time.process_time() - cpu, result


def import_export_resource() -> Any:
    """A ModelResource doing the same job: the same columns, IDs parsed, buildings and
    households found or created. Lookups are cached in dicts so the library's own pipeline is
    what gets measured. It writes no search keys and no care tags (it has no place for them),
    so it does less work than Wangge's importer."""
    from import_export import fields, resources

    from wangge.areas.models import Area, Building
    from wangge.core import idnumbers
    from wangge.registry.importing.columns import relationship
    from wangge.registry.models import Household, Resident

    communities = {area.short_name: area for area in Area.objects.filter(level="community")}
    buildings: dict[tuple[int, str], Building] = {}
    households: dict[tuple[int, str, str], Household] = {}

    class ResidentResource(resources.ModelResource):
        name = fields.Field(attribute="name", column_name="姓名")
        id_number = fields.Field(attribute="id_number", column_name="公民身份号码")
        phone = fields.Field(attribute="phone", column_name="联系电话")
        relationship = fields.Field(attribute="relationship", column_name="与户主关系")
        sex = fields.Field(attribute="sex", column_name="sex")
        birth_date = fields.Field(attribute="birth_date", column_name="birth_date")
        household_id = fields.Field(attribute="household_id", column_name="household_id")
        grid_id = fields.Field(attribute="grid_id", column_name="grid_id")
        community_id = fields.Field(attribute="community_id", column_name="community_id")
        street_id = fields.Field(attribute="street_id", column_name="street_id")
        district_id = fields.Field(attribute="district_id", column_name="district_id")

        class Meta:
            model = Resident
            import_id_fields = ("id_number",)
            fields = (
                "name",
                "id_number",
                "phone",
                "relationship",
                "sex",
                "birth_date",
                "household_id",
                "grid_id",
                "community_id",
                "street_id",
                "district_id",
            )
            use_bulk = True
            skip_unchanged = True
            skip_html_diff = True
            batch_size = 5000
            use_transactions = True

        def before_import_row(self, row: Any, **kwargs: Any) -> None:
            parsed = idnumbers.parse(row["公民身份号码"])
            row["公民身份号码"] = parsed.number
            row["sex"] = parsed.sex
            row["birth_date"] = parsed.birth_date.isoformat()
            row["与户主关系"] = relationship(row["与户主关系"]) or Resident.Relationship.OTHER
            community = communities[row["社区"]]
            key = (community.pk, row["楼栋"])
            building = buildings.get(key)
            if building is None:
                building = buildings[key] = Building.objects.create(
                    community=community, name=row["楼栋"], needs_location=True
                )
            address = (building.pk, row["单元"], row["房号"])
            household = households.get(address)
            if household is None:
                household = Household(building=building, entrance=row["单元"], room=row["房号"])
                household.copy_scope(building)
                household.save()
                households[address] = household
            row["household_id"] = household.pk
            row["grid_id"] = household.grid_id
            row["community_id"] = household.community_id
            row["street_id"] = household.street_id
            row["district_id"] = household.district_id

    return ResidentResource()


def run_import_export(path: Path, rows: int) -> tuple[float, float, Any]:
    import tablib

    with open(path, encoding="utf-8") as handle:
        text = "".join(line for _, line in zip(range(rows + 1), handle, strict=False))
    started, cpu = time.perf_counter(), time.process_time()
    dataset = tablib.Dataset().load(io.StringIO(text), format="csv")
    resource = import_export_resource()
    result = resource.import_data(dataset, dry_run=False, raise_errors=True)
    return time.perf_counter() - started, time.process_time() - cpu, result


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next((line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line), "")
    except (OSError, subprocess.CalledProcessError):
        model = platform.processor()
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=520_000)
    parser.add_argument(
        "--compare-rows",
        type=int,
        default=None,
        help="rows given to django-import-export (default: the same as --rows; smaller to extrapolate)",
    )
    parser.add_argument("--skip-import-export", action="store_true")
    args = parser.parse_args()
    compare_rows = min(args.compare_rows or args.rows, args.rows)
    print(f"python {' '.join(sys.argv)}")

    with tempfile.TemporaryDirectory(prefix="wangge-bench-import-") as tmp:
        setup_django(Path(tmp))
        from django.db import connection

        fresh_database()
        from wangge.areas.models import Area

        communities = list(Area.objects.filter(level="community").values_list("short_name", flat=True))
        path = Path(tmp) / "residents.csv"
        started = time.perf_counter()
        generate_csv(path, rows=args.rows, communities=communities)
        size = path.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows ({size:.1f} MB) in {time.perf_counter() - started:.1f} s")

        wall, cpu, result = run_wangge(path)
        print(f"wangge, first import: {wall:.1f} s ({cpu:.1f} s CPU)  {result.summary}, {result.search_keys:,} keys")
        assert result.created == args.rows, result.summary
        table = [("Wangge importer, first import", args.rows, wall, cpu)]
        wall, cpu, result = run_wangge(path)
        print(f"wangge, same file again: {wall:.1f} s ({cpu:.1f} s CPU)  {result.summary}")
        assert result.unchanged == args.rows, result.summary
        table.append(("Wangge importer, same file again", args.rows, wall, cpu))
        if not args.skip_import_export:
            fresh_database()
            wall, cpu, ie_result = run_import_export(path, compare_rows)
            totals = ie_result.totals
            print(f"django-import-export: {wall:.1f} s ({cpu:.1f} s CPU)  new={totals.get('new')}")
            assert totals.get("new") == compare_rows, totals
            table.append(("django-import-export 4, first import", compare_rows, wall, cpu))
        connection.close()

    print()
    print(f"machine: {machine()}; SQLite (WAL); load average at the end: {os.getloadavg()[0]:.1f}")
    print("| importer | rows | seconds (wall) | rows/s (wall) | CPU seconds | rows/s (CPU) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, rows, wall, cpu in table:
        print(f"| {label} | {rows:,} | {wall:.1f} | {rows / wall:,.0f} | {cpu:.1f} | {rows / cpu:,.0f} |")
    if len(table) == 3:
        ratio_wall = (table[0][1] / table[0][2]) / (table[2][1] / table[2][2])
        ratio_cpu = (table[0][1] / table[0][3]) / (table[2][1] / table[2][3])
        print(f"ratio (first import, rows/s): Wangge is {ratio_wall:.1f}x (wall) / {ratio_cpu:.1f}x (CPU) as fast")
        if compare_rows != args.rows:
            other_rate = table[2][1] / table[2][2]
            print(
                f"django-import-export at {args.rows:,} rows, extrapolated linearly from its measured rate: "
                f"{args.rows / other_rate:,.0f} s wall (EXTRAPOLATED, not measured)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
