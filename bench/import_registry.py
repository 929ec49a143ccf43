"""Benchmark: a district's registry imported through the real import paths, then searched.

    python bench/import_registry.py --generate-only --data /var/tmp/x   # build the files (once, nice)
    python bench/import_registry.py --db sqlite --data /var/tmp/x       # import, re-import, search
    python bench/import_registry.py --db postgres --data /var/tmp/x     # 127.0.0.1:5432, user postgres

Issue 15's check: 520,000 residents with population types, the ~230,000 rooms their households
live in, and 20,000 units, imported in under 3 minutes, with resident search still p95 < 50 ms.

The files (kept in ``--data`` and reused when present, so they are built outside the timed run):

* ``residents.csv``: households of 1–5 people (2.25 on average, so ~231,000 addresses) at
  addresses of Lishan's real 116 communities, 4 entrances × 6 floors × 2 flats a building; a
  realistic 实有人口 mix per household: ~15 % floating (居住证 number for most, origin, arrival
  date, reason, expected stay), a few hundred foreign nationals (passport or the 2023 permanent-
  residence card, nationality, visa, expiry; sex and birth date given, as passports do not carry
  them), ~0.5 % 未落户, ~3 % 人户分离; 80 % with a mobile, 6 % with a care category.
* ``units.xlsx``: 20,000 units in the export's own columns (the template), 90 % with a valid unified
  social credit code, at the same buildings.

The database is built fresh (a SQLite file in the data directory, or the PostgreSQL database
``--pg-name``), migrated, with the district's areas, grids of ~300 households and the buildings
(the standard addresses exist before the people are imported, as 一标三实 has it, so a grid
worker's search has its grid). Then, timed phase by phase (wall and this process's CPU; on
PostgreSQL also the server backend's CPU): the residents import (households and rooms made as it
goes), the units import, both files again (every row unchanged), and resident search as four
roles (``bench/search.py``'s queries, audit entry included).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import search as search_bench  # noqa: E402  bench/search.py: divisions, users, the timed queries

HOUSEHOLDS_PER_BUILDING = 48
HOUSEHOLDS_PER_GRID = 300
SIZES = (1, 2, 3, 4, 5)
SIZE_WEIGHTS = (0.31, 0.33, 0.20, 0.12, 0.04)  # 2.25 people a household
FLOATING_SHARE = 0.15
FOREIGN_SHARE = 0.0008
UNREGISTERED_SHARE = 0.005
SEPARATED_SHARE = 0.03
RELATIONS = ["配偶", "子", "女", "父亲", "母亲", "孙子", "孙女"]
CATEGORIES = ["独居老人", "空巢老人", "失智老人", "残疾人", "低保", "特困人员", "优抚对象", "重病患者"]
ORIGINS = [
    "河南省周口市",
    "山东省临沂市",
    "辽宁省铁岭市",
    "吉林省四平市",
    "黑龙江省绥化市",
    "河北省保定市",
    "内蒙古赤峰市",
]
REASONS = ["务工", "经商", "投靠亲友", "就学", "随迁"]
STAYS = ["半年以下", "半年至一年", "一年至三年", "三年以上"]
FOREIGNERS = [
    ("KOR", "410", "韩国", "D-8"),
    ("RUS", "643", "俄罗斯", "Z"),
    ("JPN", "392", "日本", "Z"),
    ("USA", "840", "美国", "Q1"),
]
HEADER = [
    "姓名",
    "证件类型",
    "公民身份号码",
    "性别",
    "出生日期",
    "联系电话",
    "社区",
    "楼栋",
    "单元",
    "房号",
    "与户主关系",
    "人员类别",
    "人口类型",
    "人户分离",
    "居住证号码",
    "户籍地",
    "来本地日期",
    "来本地事由",
    "拟居住期限",
    "国籍",
    "签证种类",
    "签证有效期至",
]
UNIT_WORDS = [
    "便利店",
    "饺子馆",
    "理发店",
    "五金店",
    "药店",
    "商贸有限公司",
    "物业服务有限公司",
    "培训学校",
    "诊所",
    "洗衣店",
]
UNIT_KIND_NAMES = {
    "enterprise": "非公有制企业",
    "individual": "个体工商户",
    "social_org": "社会组织",
    "state_owned": "国有企业",
    "public_body": "机关事业单位",
}
UNIT_KINDS = ["individual"] * 6 + ["enterprise"] * 3 + ["social_org", "state_owned", "public_body"]
PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def divisions() -> list[dict[str, str]]:
    with search_bench.DIVISIONS.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def community_names() -> list[str]:
    return [row["name"] for row in divisions() if row["level"] == "community"]


def address(household: int) -> tuple[int, str, str, str]:
    """Building index, building name, entrance and flat of the n-th household of a community."""
    building = household // HOUSEHOLDS_PER_BUILDING
    within = household % HOUSEHOLDS_PER_BUILDING
    entrance = str(within // 12 + 1)
    flat = f"{within % 12 // 2 + 1}0{within % 2 + 1}"
    return building, f"{building + 1}号楼", entrance, flat


def generate_residents(path: Path, *, rows: int, seed: int) -> int:
    """Write the residents file; return the number of households (= rooms)."""
    from wangge.core import idnumbers

    sys.path.insert(0, str(HERE.parent))
    from wangge.demo.population import permanent_card

    rng = random.Random(seed)
    names = search_bench.Names(rng)
    communities = community_names()
    per_community = rows // len(communities) + 1
    base = dt.date(1930, 1, 1)
    span = (dt.date(2022, 12, 31) - base).days
    today = dt.date(2026, 12, 1)
    written = households = 0
    per_household_in_community: dict[str, int] = {}
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        while written < rows:
            community = communities[min(written // per_community, len(communities) - 1)]
            n = per_household_in_community.get(community, 0)
            per_household_in_community[community] = n + 1
            _b, building, entrance, flat = address(n)
            households += 1
            size = min(rng.choices(SIZES, SIZE_WEIGHTS)[0], rows - written)
            roll = rng.random()
            kind = (
                "foreign"
                if roll < FOREIGN_SHARE
                else "floating"
                if roll < FOREIGN_SHARE + FLOATING_SHARE
                else "unregistered"
                if roll < FOREIGN_SHARE + FLOATING_SHARE + UNREGISTERED_SHARE
                else "registered"
            )
            if kind == "foreign":
                size = 1
            arrival = today - dt.timedelta(days=rng.randrange(30, 3000))
            origin, reason, stay = rng.choice(ORIGINS), rng.choice(REASONS), rng.choice(STAYS)
            for member in range(size):
                day = written % span
                sequence = written // span
                sex = rng.choice("MF")
                birth = base + dt.timedelta(days=day)
                number = idnumbers.make(area_code="210304", birth_date=birth, sequence=sequence, sex=sex)
                name = names.make(sex)
                phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if rng.random() < 0.8 else ""
                care = rng.choice(CATEGORIES) if rng.random() < 0.06 else ""
                relation = "户主" if member == 0 else rng.choice(RELATIONS)
                row = {
                    "姓名": name,
                    "公民身份号码": number,
                    "联系电话": phone,
                    "社区": community,
                    "楼栋": building,
                    "单元": entrance,
                    "房号": flat,
                    "与户主关系": relation,
                    "人员类别": care,
                }
                if kind == "floating":
                    row["人口类型"] = "流动人口"
                    if rng.random() < 0.7:
                        row["居住证号码"] = f"2103{rng.randrange(10**10):010d}"
                    row.update(
                        {"户籍地": origin, "来本地日期": arrival.isoformat(), "来本地事由": reason, "拟居住期限": stay}
                    )
                elif kind == "foreign":
                    _code, numeric, country, visa = rng.choice(FOREIGNERS)
                    row["人口类型"] = "境外人员"
                    if rng.random() < 0.5:
                        row["证件类型"] = "护照"
                        row["公民身份号码"] = f"{'EPGK'[written % 4]}{rng.randrange(10**7, 10**8)}"
                    else:
                        row["证件类型"] = "外国人永久居留身份证"
                        row["公民身份号码"] = permanent_card(rng, numeric, birth)
                    row.update(
                        {
                            "性别": "男" if sex == "M" else "女",
                            "出生日期": birth.isoformat(),
                            "国籍": country,
                            "签证种类": visa,
                            "签证有效期至": (today + dt.timedelta(days=rng.randrange(-30, 720))).isoformat(),
                        }
                    )
                elif kind == "unregistered":
                    row["人口类型"] = "未落户人员"
                elif rng.random() < SEPARATED_SHARE:
                    row["人户分离"] = rng.choice(["户在人不在", "人在户不在"])
                writer.writerow([row.get(column, "") for column in HEADER])
                written += 1
    return households


def generate_units(path: Path, *, units: int, seed: int, households: int) -> None:
    from openpyxl import Workbook

    from wangge.places import creditcode, exchange

    rng = random.Random(seed + 99)
    names = search_bench.Names(rng)
    communities = community_names()
    buildings_per_community = households // len(communities) // HOUSEHOLDS_PER_BUILDING + 1
    book = Workbook(write_only=True)
    sheet = book.create_sheet("实有单位")
    sheet.append(exchange.header())  # the export's own columns
    used: set[str] = set()
    for index in range(units):
        community = communities[index % len(communities)]
        building = f"{rng.randrange(buildings_per_community) + 1}号楼"
        kind = rng.choice(UNIT_KINDS)
        code = ""
        if rng.random() < 0.9:
            while not code or code in used:
                prefix = {"individual": "92", "social_org": "52", "public_body": "12"}.get(kind, "91")
                body = "".join(rng.choice(creditcode.CHARSET[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
                code = creditcode.make(f"{prefix}210304{body}")
            used.add(code)
        rep = names.make(rng.choice("MF"))
        party = rng.choices(["none", "branch", "joint_branch", "instructor"], [0.7, 0.15, 0.1, 0.05])[0]
        sheet.append(
            [
                f"鞍山市立山区{rep[:1]}{rng.choice('鑫兴旺达福顺恒源')}{rng.choice(UNIT_WORDS)}{index}",
                code,
                kind,
                UNIT_KIND_NAMES[kind],
                rep,
                f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if rng.random() < 0.85 else "",
                rng.randrange(1, 200),
                party,
                "",
                f"{rep[:1]}家党支部" if party == "branch" else "",
                rng.randrange(3, 20) if party == "branch" else "",
                "",
                community,
                "",
                building,
                "",
            ]
        )
    book.save(path)


def fresh_database(db: str, data: Path, pg_name: str) -> None:
    os.environ["WANGGE_DATA_DIR"] = str(data / f"db-{db}")
    (data / f"db-{db}").mkdir(exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "wangge.settings"
    if db == "postgres":
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {pg_name}")
        os.environ["DATABASE_URL"] = f"{PG_SERVER}/{pg_name}"
    else:
        os.environ.pop("DATABASE_URL", None)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{data / f'db-{db}' / 'wangge.sqlite3'}{suffix}").unlink(missing_ok=True)
    sys.path.insert(0, str(HERE.parent))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def lay_out(households: int) -> dict[str, int]:
    """Areas, grids of ~300 households and every building the files name, with its grid."""
    from wangge.areas.models import Area, Building

    by_code: dict[str, Area] = {}
    rows = divisions()
    for level in ("district", "street", "community"):
        for row in rows:
            if row["level"] == level:
                area = Area(level=level, name=row["name"], code=row["code"], parent=by_code.get(row["parent_code"]))
                area.save()
                by_code[row["code"]] = area
    communities = [a for a in by_code.values() if a.level == "community"]
    per_community = households // len(communities) + 1
    buildings: list[Building] = []
    grids = 0
    per_grid = HOUSEHOLDS_PER_GRID // HOUSEHOLDS_PER_BUILDING + 1
    for community in communities:
        count = per_community // HOUSEHOLDS_PER_BUILDING + 1
        grid = None
        for b in range(count):
            if b % per_grid == 0:
                grid = Area(level="grid", name=f"{community.name}第{b // per_grid + 1}网格", parent=community)
                grid.save()
                grids += 1
            buildings.append(
                Building(
                    name=f"{b + 1}号楼",
                    grid=grid,
                    community_id=community.pk,
                    street_id=community.street_id,
                    district_id=community.district_id,
                    entrances=4,
                )
            )
    Building.objects.bulk_create(buildings, batch_size=2000)
    return {"communities": len(communities), "grids": grids, "buildings": len(buildings)}


class Clock:
    """Wall, this process's CPU and (on PostgreSQL) the server backend's CPU, per phase."""

    def __init__(self) -> None:
        from django.db import connection

        self.backend: int | None = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend = int(cursor.fetchone()[0])
        self.rows: list[tuple[str, float, float, float | None, str]] = []

    def server_cpu(self) -> float | None:
        if self.backend is None:
            return None
        try:
            fields = Path(f"/proc/{self.backend}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run(self, label: str, work: Any) -> Any:
        s0 = self.server_cpu()
        w0, c0 = time.perf_counter(), time.process_time()
        result = work()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        s1 = self.server_cpu()
        server = s1 - s0 if s0 is not None and s1 is not None else None
        summary = getattr(result, "summary", "")
        self.rows.append((label, wall, cpu, server, summary))
        extra = f", server {server:.1f} s CPU" if server is not None else ""
        print(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU{extra}  {summary}", flush=True)
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--data", type=Path, required=True, help="directory for the files and the SQLite database")
    parser.add_argument("--residents", type=int, default=520_000)
    parser.add_argument("--units", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=60, help="searches per query kind and role")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--pg-name", default="wangge_bench_import_registry")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--no-again", action="store_true", help="skip importing both files a second time")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    parser.add_argument("--no-search", action="store_true", help="skip the search phase")
    args = parser.parse_args()
    print(f"python {' '.join(sys.argv)}", flush=True)
    args.data.mkdir(parents=True, exist_ok=True)
    residents = args.data / f"residents-{args.residents}.csv"
    units = args.data / f"units-{args.units}.xlsx"
    households_file = args.data / f"residents-{args.residents}.households"

    fresh_database(args.db, args.data, args.pg_name) if not args.generate_only else _setup_for_generation(args.data)
    if not residents.exists() or not households_file.exists():
        started = time.perf_counter()
        households = generate_residents(residents, rows=args.residents, seed=args.seed)
        households_file.write_text(str(households))
        print(f"generated {residents.name} ({households:,} households) in {time.perf_counter() - started:.0f} s")
    households = int(households_file.read_text())
    if not units.exists():
        generate_units(units, units=args.units, seed=args.seed, households=households)
        print(f"generated {units.name}")
    if args.generate_only:
        return 0

    from django.db import connection

    import wangge
    from wangge.places.importing import import_units
    from wangge.places.models import Unit
    from wangge.registry.importing import import_residents
    from wangge.registry.models import FloatingDetail, ForeignDetail, Household, Resident, Room, SearchKey

    print(f"code: {Path(wangge.__file__).parent.parent}", flush=True)
    layout = lay_out(households)
    print(f"laid out {layout}", flush=True)
    resident_data, unit_data = residents.read_bytes(), units.read_bytes()
    clock = Clock()
    first = clock.run(
        "residents, first import",
        lambda: import_residents(data=resident_data, file_name=residents.name, by=None),
    )
    assert first.created == args.residents and not first.failure, first.summary
    unit_result = clock.run("units, first import", lambda: import_units(data=unit_data, file_name=units.name, by=None))
    assert unit_result.created == args.units, unit_result.summary
    import_seconds = sum(row[1] for row in clock.rows)
    counts = {
        "residents": Resident.objects.count(),
        "floating": Resident.objects.filter(population_type_id="floating").count(),
        "foreign": Resident.objects.filter(population_type_id="foreign").count(),
        "unregistered": Resident.objects.filter(population_type_id="unregistered").count(),
        "floating details": FloatingDetail.objects.count(),
        "foreign details": ForeignDetail.objects.count(),
        "households": Household.objects.count(),
        "rooms": Room.objects.count(),
        "units": Unit.objects.count(),
        "search keys": SearchKey.objects.count(),
    }
    print(counts, flush=True)
    if not args.no_again:
        again = clock.run(
            "residents, same file again",
            lambda: import_residents(data=resident_data, file_name=residents.name, by=None),
        )
        assert again.unchanged == args.residents, again.summary
        unit_again = clock.run(
            "units, same file again", lambda: import_units(data=unit_data, file_name=units.name, by=None)
        )
        assert unit_again.unchanged == args.units, unit_again.summary
    results: list[dict[str, Any]] = []
    if not args.no_search:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        made = search_bench.users()
        results = clock.run(
            "search (4 roles × 9 kinds)", lambda: search_bench.run_queries(made, args.queries, args.seed)
        )

    print()
    print(f"machine: {search_bench.machine()}; {connection.vendor}")
    print("| phase | wall s | CPU s (this process) | CPU s (server backend) | result |")
    print("| --- | ---: | ---: | ---: | --- |")
    for label, wall, cpu, server, summary in clock.rows:
        shown = f"{server:.1f}" if server is not None else "—"
        print(f"| {label} | {wall:.1f} | {cpu:.1f} | {shown} | {summary if isinstance(summary, str) else ''} |")
    print(f"import of residents + rooms + units: {import_seconds:.1f} s wall (target < 180 s)")
    if results:
        worst = max(results, key=lambda r: r["p95"])
        everything = [r["p95"] for r in results]
        print(
            f"search p95 over all {len(results)} role × kind cells: worst {worst['p95']:.1f} ms "
            f"({worst['role']}, {worst['kind']}), median cell {sorted(everything)[len(everything) // 2]:.1f} ms "
            "(target < 50 ms)"
        )
    if args.db == "postgres" and not args.keep:
        from django.db import connections

        connections.close_all()
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {args.pg_name} WITH (FORCE)")
    return 0


def _setup_for_generation(data: Path) -> None:
    """Django set up without a database of interest (the generators use only pure helpers)."""
    os.environ["WANGGE_DATA_DIR"] = str(data / "db-generate")
    os.environ["DJANGO_SETTINGS_MODULE"] = "wangge.settings"
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(HERE.parent))
    import django

    django.setup()


if __name__ == "__main__":
    sys.exit(main())
