"""Resident search on a full district or a city: p50/p95/p99 per query kind and role, SQLite or PostgreSQL.

    python bench/search.py --residents 520000 --db sqlite
    python bench/search.py --residents 520000 --db postgres   # 127.0.0.1:5432, user postgres
    python bench/search.py --residents 3500000 --districts 7 --db postgres --pg-name wangge_city_search --keep DIR

It builds its own database (a temporary WANGGE_DATA_DIR; on PostgreSQL a database
``wangge_bench_search`` that is dropped afterwards), migrates, lays out Lishan's 9 streets and
116 communities from wangge/demo/data/lishan-divisions.csv with grids of ~300 households, inserts
the residents with realistic Chinese names (a few in traditional characters, some with
polyphonic surnames) and their search keys, then times ``search_residents`` — the function the
page and the API call, audit entry included — as a grid worker, a community secretary, a street
officer and a district administrator. Half the queries target someone in the user's own area,
half someone anywhere in the database (often out of scope: the slow case for a scoped index).

``--districts N`` (1 to 7) lays out a city: Anshan's county-level divisions 立山区 (Lishan, the
real one, always first), 铁东区, 铁西区, 千山区, 海城市, 台安县 and 岫岩满族自治县. Only Lishan's
streets and communities are real; the other six are **synthetic** copies of Lishan's 9 streets and
116 communities, with their own district's code in place of 210304 and its short name before
each street's and community's name (in reality Haicheng, Tai'an and Xiuyan are made of towns and
villages). Residents are spread evenly over all of them (3,500,000 over 7: ~500,000 a district)
and ID numbers carry their district's code. The timed users still work in Lishan; the other half
of the queries then targets someone anywhere in the city, out of scope for every timed role.
With one district (the default) the build is the same rows as before the option existed.

On PostgreSQL households, residents and keys are written with ``COPY``, and the three tables'
secondary indexes and constraints are dropped for the load and made again after it; build once
with ``--keep`` (at ``nice``) and time with ``--keep`` again, which reuses the database.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DIVISIONS = ROOT / "wangge" / "demo" / "data" / "lishan-divisions.csv"
PG_NAME = os.environ.get("WANGGE_BENCH_PG_NAME", "wangge_bench_search")
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PERSONS_PER_HOUSEHOLD = 2.6
HOUSEHOLDS_PER_GRID = 300
HOUSEHOLDS_PER_BUILDING = 48
POLYPHONIC_SURNAMES = "单曾解区仇朴查盖翟乐"
COMPOUND_SURNAMES = ["尉迟", "欧阳", "司马", "诸葛", "长孙"]


def setup_django(db: str, data_dir: Path, *, reuse: bool = False) -> bool:
    """Point Django at the benchmark's database; True when a kept one is reused as it is."""
    os.environ["WANGGE_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    reused = False
    if db == "postgres":
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_NAME]).fetchone()
            reused = bool(reuse and exists)
            if not reused:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME}")
                conn.execute(f"CREATE DATABASE {PG_NAME}")
        os.environ["DATABASE_URL"] = f"{PG_SERVER}/{PG_NAME}"
    else:
        os.environ.pop("DATABASE_URL", None)
        reused = reuse and (data_dir / "wangge.sqlite3").exists()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return reused


def drop_postgres() -> None:
    from django.db import connections

    connections.close_all()
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")


class Names:
    """Chinese names with Faker zh_CN's weighted surnames and given-name characters."""

    def __init__(self, rng: random.Random) -> None:
        import opencc
        from faker.providers.person.zh_CN import Provider

        self.rng = rng
        self.surnames = list(Provider.last_names.keys())
        # Cumulative once, not per draw (``choices(weights=…)`` sums them every call; same draws).
        self.cum_weights = list(itertools.accumulate(Provider.last_names.values()))
        self.male = list(Provider.first_names_male)
        self.female = list(Provider.first_names_female)
        self.s2t = opencc.OpenCC("s2t")

    def make(self, sex: str) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.02:
            surname = rng.choice(POLYPHONIC_SURNAMES)
        elif roll < 0.025:
            surname = rng.choice(COMPOUND_SURNAMES)
        else:
            surname = rng.choices(self.surnames, cum_weights=self.cum_weights)[0]
        pool = self.male if sex == "M" else self.female
        given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.6 else "")
        name = surname + given
        if rng.random() < 0.03:  # registered in traditional characters (Hong Kong, Taiwan, old records)
            name = str(self.s2t.convert(name))
        return name


KEY_COLUMNS = "resident_id, key, grid_id, community_id, street_id, district_id"


def insert_keys(rows: list[tuple[Any, ...]]) -> None:
    """Search keys as plain rows: COPY on PostgreSQL, executemany on SQLite (the ORM is the slow part)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY registry_searchkey ({KEY_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO registry_searchkey ({KEY_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)", rows)


# Anshan's county-level divisions (NBS codes), Lishan first: the one real in the CSV. The others
# are synthetic: copies of Lishan's 9 streets and 116 communities under their own district's
# code, their names prefixed with the district's short name (Haicheng, Tai'an and Xiuyan are a
# county-level city and counties with towns and villages, not streets, in reality).
ANSHAN = [
    ("210304", "立山区", ""),
    ("210302", "铁东区", "铁东"),
    ("210303", "铁西区", "铁西"),
    ("210311", "千山区", "千山"),
    ("210381", "海城市", "海城"),
    ("210321", "台安县", "台安"),
    ("210323", "岫岩满族自治县", "岫岩"),
]
LISHAN = ANSHAN[0][0]


def divisions(districts: int) -> list[dict[str, str]]:
    """The area rows of ``districts`` of Anshan's divisions: Lishan's real ones, then copies."""
    with DIVISIONS.open(encoding="utf-8") as handle:
        lishan = list(csv.DictReader(handle))
    if not 1 <= districts <= len(ANSHAN):
        raise SystemExit(f"--districts must be 1 to {len(ANSHAN)} (Anshan's county-level divisions)")
    rows: list[dict[str, str]] = []
    for code, name, short in ANSHAN[:districts]:
        for row in lishan:
            copy = dict(row)
            if row["level"] == "district":
                copy["name"] = name
            else:
                copy["name"] = short + row["name"]
            copy["code"] = code + row["code"][len(LISHAN) :]
            if row["parent_code"].startswith(LISHAN):
                copy["parent_code"] = code + row["parent_code"][len(LISHAN) :]
            rows.append(copy)
    return rows


@contextmanager
def loading(tables: list[str]) -> Iterator[None]:
    """PostgreSQL: the tables' secondary indexes, unique and foreign-key constraints dropped for the
    load and made again after it (each index one sort, each foreign key one join, instead of a
    B-tree insert and a trigger per row); the schema ends as the migrations left it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype FROM pg_constraint"
            " WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('u', 'f') ORDER BY contype DESC",
            [tables],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i"
            " WHERE indrelid = ANY(%s::regclass[]) AND NOT indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
            "  WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)",
            [tables],
        )
        indexes = cursor.fetchall()
        for table, name, _definition, _kind in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for name, definition in indexes:
            t0 = time.perf_counter()
            cursor.execute(definition)
            print(f"  index {name}: {time.perf_counter() - t0:.0f} s", flush=True)
        for table, name, definition, _kind in reversed(constraints):  # unique first, then foreign keys
            t0 = time.perf_counter()
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            print(f"  constraint {name}: {time.perf_counter() - t0:.0f} s", flush=True)
        cursor.execute("RESET maintenance_work_mem")


def build(residents: int, seed: int, districts: int = 1) -> dict[str, Any]:
    """Areas, buildings, households, residents and their search keys.

    The same seed gives the same rows whatever the database and however they are written (the
    random draws are made in one order), so a one-district build is the one recorded before
    ``--districts`` existed. Households and residents go through ``core.bulk`` (``COPY`` on
    PostgreSQL) with their ids given, search keys through ``insert_keys``.
    """
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from wangge.areas.models import Area, Building
    from wangge.core import bulk, idnumbers
    from wangge.registry.models import Household, Resident, SearchKey
    from wangge.registry.search import resident_keys

    rng = random.Random(seed)
    names = Names(rng)
    rows = divisions(districts)
    by_code: dict[str, Area] = {}
    for level in ("district", "street", "community"):
        for row in rows:
            if row["level"] != level:
                continue
            area = Area(level=level, name=row["name"], code=row["code"], parent=by_code.get(row["parent_code"]))
            area.save()
            by_code[row["code"]] = area
    district_codes = {a.pk: a.code for a in by_code.values() if a.level == "district"}
    communities = [a for a in by_code.values() if a.level == "community"]
    households_total = int(residents / PERSONS_PER_HOUSEHOLD) + 1
    per_community = households_total // len(communities) + 1

    grids: list[Area] = []
    buildings: list[Building] = []
    for community in communities:
        n_grids = max(1, round(per_community / HOUSEHOLDS_PER_GRID))
        for g in range(n_grids):
            grid = Area(level="grid", name=f"{community.name}第{g + 1}网格", parent=community)
            grid.save()
            grids.append(grid)
            for b in range(HOUSEHOLDS_PER_GRID // HOUSEHOLDS_PER_BUILDING + 1):
                buildings.append(
                    Building(
                        name=f"{g + 1}-{b + 1}号楼",
                        grid=grid,
                        community_id=community.pk,
                        street_id=community.street_id,
                        district_id=community.district_id,
                    )
                )
    Building.objects.bulk_create(buildings, batch_size=2000)
    buildings = list(Building.objects.order_by("id"))
    by_grid: dict[int, list[Building]] = {}
    for building in buildings:
        by_grid.setdefault(building.grid_id, []).append(building)

    started = time.perf_counter()
    postgres = connection.vendor == "postgresql"
    tables = [Household._meta.db_table, Resident._meta.db_table, SearchKey._meta.db_table]
    # Households: fill each community's grids evenly, ~300 per grid, as plain tuples (a model
    # instance each cost ~1 KB at a city's 1.35 M households).
    entrances = [str(n) for n in range(1, 5)]
    rooms = [f"{n // 2 + 1}0{n % 2 + 1}" for n in range(12)]
    planned: list[tuple[int, str, str, int, int, int, int]] = []
    for grid in grids:
        grid_buildings = by_grid[grid.pk]
        for i in range(HOUSEHOLDS_PER_GRID):
            b = grid_buildings[i // HOUSEHOLDS_PER_BUILDING]
            planned.append(
                (b.pk, entrances[i // 12 % 4], rooms[i % 12], b.grid_id, b.community_id, b.street_id, b.district_id)
            )
    rng.shuffle(planned)
    del planned[households_total:]
    household_fields = ("id", "building_id", "entrance", "room", "grid_id", "community_id", "street_id", "district_id")
    first_household = (Household.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    # Residents fill the households in address order (``Household.Meta.ordering``, as the ORM
    # read them back before), so a grid's residents are neighbours in the table.
    household_rows = [(first_household + n, *h[3:]) for n, h in sorted(enumerate(planned), key=lambda nh: nh[1][:3])]

    # The key indexes are built once after the load (a sort) rather than row by row; on
    # PostgreSQL every secondary index and constraint of the three tables (``loading``).
    if postgres:
        deferred = loading(tables)
    else:
        deferred = nullcontext()
        with connection.schema_editor() as editor:
            for index in SearchKey._meta.indexes:
                editor.remove_index(SearchKey, index)
    with deferred:
        with transaction.atomic():
            for start in range(0, len(planned), 50_000):
                chunk = planned[start : start + 50_000]
                bulk.insert(
                    Household,
                    [
                        dict(zip(household_fields, (first_household + start + n, *h), strict=True))
                        for n, h in enumerate(chunk)
                    ],
                )
        del planned
        print(f"  {len(household_rows)} households loaded, {time.perf_counter() - started:.0f} s", flush=True)

        used: set[str] = set()
        today = dt.date(2026, 1, 1)
        batch: list[dict[str, Any]] = []
        count = 0
        next_id = (Resident.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1

        def flush() -> None:
            with transaction.atomic():
                bulk.insert(Resident, batch)
                insert_keys(
                    [
                        (r["id"], key, r["grid_id"], r["community_id"], r["street_id"], r["district_id"])
                        for r in batch
                        for key in sorted(resident_keys(r["name"], r["id_number"], r["phone"]))
                    ]
                )
            batch.clear()

        while count < residents:
            hid, grid_id, community_id, street_id, district_id = household_rows[count % len(household_rows)]
            sex = rng.choice("MF")
            age = min(int(rng.triangular(0, 100, 45)), 99) if rng.random() > 0.25 else rng.randint(60, 95)
            birth = today - dt.timedelta(days=age * 365 + rng.randint(0, 364))
            number = idnumbers.make(
                area_code=district_codes[district_id], birth_date=birth, sequence=rng.randint(0, 499), sex=sex
            )
            if number in used:
                continue
            used.add(number)
            phone = "1" + rng.choice("3578") + "".join(rng.choices("0123456789", k=9)) if rng.random() < 0.85 else ""
            batch.append(
                {
                    "id": next_id,
                    "household_id": hid,
                    "name": names.make(sex),
                    "id_number": number,
                    "sex": sex,
                    "birth_date": birth,
                    "phone": phone,
                    "status": "living" if rng.random() < 0.93 else rng.choice(["moved_out", "deceased"]),
                    "grid_id": grid_id,
                    "community_id": community_id,
                    "street_id": street_id,
                    "district_id": district_id,
                }
            )
            next_id += 1
            count += 1
            if len(batch) >= 10000:
                flush()
                if count % 100000 == 0:
                    print(f"  {count} residents loaded, {time.perf_counter() - started:.0f} s", flush=True)
        if batch:
            flush()
        del used
        print(
            f"  {count} residents loaded, {time.perf_counter() - started:.0f} s"
            + ("; indexes and constraints:" if postgres else ""),
            flush=True,
        )
    if not postgres:
        with connection.schema_editor() as editor:
            for index in SearchKey._meta.indexes:
                editor.add_index(SearchKey, index)
    with connection.cursor() as cursor:
        # The ids were given: move the sequences past them.
        for statement in connection.ops.sequence_reset_sql(no_style(), [Household, Resident]):
            cursor.execute(statement)
    load_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        # Steady state, as autovacuum leaves a table: statistics, visibility map and hint bits
        # set, so the timed reads do not pay for the bulk load's first-touch writes.
        cursor.execute("VACUUM ANALYZE" if postgres else "ANALYZE")
    return {
        "districts": districts,
        "grids": len(grids),
        "communities": len(communities),
        "households": len(household_rows),
        "keys": SearchKey.objects.count(),
        "load_seconds": load_seconds,
    }


def users() -> dict[str, Any]:
    from wangge.accounts.models import AreaAssignment, Role, User
    from wangge.areas.models import Area

    # The middle grid of Lishan (the whole build when it is one district; any grid in a
    # database whose areas carry no codes).
    grids = Area.objects.filter(level="grid")
    lishan = grids.filter(district__code=LISHAN) if grids.filter(district__code=LISHAN).exists() else grids
    grid = lishan.order_by("id")[lishan.count() // 2]
    made = {}
    for role, area in (
        (Role.GRID_WORKER, grid),
        (Role.COMMUNITY_STAFF, grid.community),
        (Role.STREET_STAFF, grid.street),
        (Role.DISTRICT_ADMIN, grid.district),
    ):
        user = User.objects.filter(username=f"bench-{role}").first()
        if user is None:  # a kept database has them already
            user = User.objects.create_user(username=f"bench-{role}", password=None, role=role)
            AreaAssignment.objects.create(user=user, area=area)
        made[str(role)] = user
    return made


def queries_for(kind: str, name: str, id_number: str, phone: str, rng: random.Random) -> str | None:
    import opencc

    from wangge.core import chinese

    simplified = chinese.normalise_name(name)
    readings = chinese.pinyin_readings(simplified)
    reading = rng.choice(readings) if readings else None
    if kind == "name":
        return simplified
    if kind == "name_traditional":
        return str(_S2T(opencc).convert(simplified))
    if kind == "surname":
        return simplified[:1]
    if kind == "pinyin" and reading:
        return reading.full
    if kind == "pinyin_prefix" and reading:
        return reading.full[: max(2, len(reading.full) // 2)]
    if kind == "initials" and reading:
        return reading.initials
    if kind == "id_number":
        return id_number
    if kind == "id_prefix":
        return id_number[:10]
    if kind == "phone_last4" and phone:
        return phone[-4:]
    return None


_converter: Any = None


def _S2T(opencc: Any) -> Any:
    global _converter
    if _converter is None:
        _converter = opencc.OpenCC("s2t")
    return _converter


KINDS = [
    "name",
    "name_traditional",
    "surname",
    "pinyin",
    "pinyin_prefix",
    "initials",
    "id_number",
    "id_prefix",
    "phone_last4",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Checkpoints:
    """How many times the database checkpointed: the tail's usual suspect for audited reads.

    SQLite: the WAL header's checkpoint sequence number (bytes 12–15), bumped each time a
    checkpoint lets the log restart. The connection that commits past ``wal_autocheckpoint``
    pages runs the checkpoint inside its own commit. PostgreSQL: the checkpointer's counters,
    for completeness (its checkpoints run in the background, not in a search's commit).
    """

    def __init__(self) -> None:
        from django.db import connection

        self.vendor = connection.vendor
        self.wal = Path(str(connection.settings_dict["NAME"]) + "-wal") if self.vendor == "sqlite" else None

    def read(self) -> int:
        if self.wal is not None:
            try:
                with self.wal.open("rb") as handle:
                    header = handle.read(16)
            except OSError:
                return 0
            return int.from_bytes(header[12:16], "big") if len(header) == 16 else 0
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")
            return int(cursor.fetchone()[0])


def run_queries(made: dict[str, Any], per_kind: int, seed: int) -> list[dict[str, Any]]:
    from wangge.core.scope import assigned_areas
    from wangge.registry import search
    from wangge.registry.models import Resident
    from wangge.registry.search import search_residents

    # search_residents = find_residents (the scoped read) + the audit entry, in one transaction;
    # time the read on its own too, through the module attribute search_residents calls.
    read_times: list[float] = []
    find = search.find_residents

    def timed_find(**kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return find(**kwargs)
        finally:
            read_times.append((time.perf_counter() - t0) * 1000)

    search.find_residents = timed_find  # type: ignore[assignment]
    checkpoints = Checkpoints()
    rng = random.Random(seed + 1)
    district_sample = _sample(rng, Resident.objects.all(), per_kind * 2)
    results = []
    for role, user in made.items():
        (level, ids), *_ = assigned_areas(user).items()
        local = _sample(rng, Resident.objects.filter(**{f"{level}_id__in": ids}), per_kind * 2)
        for kind in KINDS:
            timings: list[float] = []
            cpu: list[float] = []
            texts: list[str] = []
            in_checkpoint: list[bool] = []
            read_times.clear()
            found = 0
            totals: list[int] = []
            for i in range(per_kind):
                source = local if i % 2 == 0 else district_sample
                name, id_number, phone = source[rng.randrange(len(source))]
                q = queries_for(kind, name, id_number, phone, rng)
                if q is None:
                    continue
                before = checkpoints.read()
                c0 = time.thread_time()
                t0 = time.perf_counter()
                result = search_residents(user=user, q=q, limit=20)
                timings.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.thread_time() - c0) * 1000)
                in_checkpoint.append(checkpoints.read() != before)
                texts.append(q)
                found += bool(result.residents)
                totals.append(result.total)
            worst = max(range(len(timings)), key=timings.__getitem__)
            during = [t for t, c in zip(timings, in_checkpoint, strict=True) if c]
            results.append(
                {
                    "role": role,
                    "kind": kind,
                    "n": len(timings),
                    "hit_rate": found / max(1, len(timings)),
                    "p50": percentile(timings, 50),
                    "p95": percentile(timings, 95),
                    "p99": percentile(timings, 99),
                    "mean": statistics.fmean(timings),
                    "read_p50": percentile(read_times, 50),
                    "read_p95": percentile(read_times, 95),
                    "read_p99": percentile(read_times, 99),
                    "cpu_p50": percentile(cpu, 50),
                    "cpu_p95": percentile(cpu, 95),
                    "cpu_p99": percentile(cpu, 99),
                    "worst": timings[worst],
                    "worst_q": texts[worst],
                    "worst_in_checkpoint": in_checkpoint[worst],
                    "checkpoints": len(during),
                    "checkpoint_ms": statistics.fmean(during) if during else 0.0,
                    "total_p50": percentile([float(t) for t in totals], 50),
                    "user": user,
                }
            )
            row = results[-1]
            print(
                f"  {role:16} {kind:17} n={row['n']:5} found={row['hit_rate']:5.0%} "
                f"p50={row['p50']:6.2f} p95={row['p95']:6.2f} p99={row['p99']:6.2f} ms"
                f" | read only p50={row['read_p50']:6.2f} p95={row['read_p95']:6.2f} p99={row['read_p99']:6.2f}"
                f" | cpu p50={row['cpu_p50']:6.2f} p95={row['cpu_p95']:6.2f} p99={row['cpu_p99']:6.2f}"
                f" | worst {row['worst']:7.2f} ms q={row['worst_q']!r}"
                f"{' (in a checkpoint)' if row['worst_in_checkpoint'] else ''}"
                f" | checkpoints {row['checkpoints']} (mean {row['checkpoint_ms']:.1f} ms)"
                f" | median total {row['total_p50']:.0f}",
                flush=True,
            )
    search.find_residents = find  # type: ignore[assignment]
    return results


def _sample(rng: random.Random, queryset: Any, n: int) -> list[tuple[str, str, str]]:
    """n random residents without ORDER BY RANDOM() over the whole table."""
    if queryset.count() <= 100_000:  # a grid or a community: read it whole
        everyone = list(queryset.values_list("name", "id_number", "phone"))
        return [rng.choice(everyone) for _ in range(n)]
    bounds = list(queryset.order_by("id").values_list("id", flat=True)[:1]) + list(
        queryset.order_by("-id").values_list("id", flat=True)[:1]
    )
    low, high = bounds[0], bounds[-1]
    picks = set()
    rows: list[tuple[str, str, str]] = []
    while len(rows) < n:
        ids = [rng.randint(low, high) for _ in range(n * 2)]
        for row in queryset.filter(id__in=[i for i in ids if i not in picks]).values_list(
            "id", "name", "id_number", "phone"
        ):
            picks.add(row[0])
            rows.append(row[1:])
    return rows[:n]


def explain(user: Any, q: str) -> list[str]:
    """The plans of the statements one search runs (key scan, count), for a slow query."""
    from django.db import transaction

    from wangge.accounts import policy
    from wangge.registry.search import parse_query, read_key_ranges_in_index_order

    parsed = parse_query(q, masked=not policy.sees_full_detail(user))
    lines = []
    with transaction.atomic():
        read_key_ranges_in_index_order()  # as the search itself does
        lines.extend(_plans(user, parsed))
    return lines


def _plans(user: Any, parsed: Any) -> list[str]:
    from django.db import connection

    from wangge.registry.queries import search_keys_visible_to
    from wangge.registry.search import COUNT_SCAN, POOL, TOP

    lines = []
    for prefix in parsed.prefixes:
        scan = search_keys_visible_to(user).filter(key__gte=prefix, key__lt=prefix + TOP).order_by("key")
        for label, qs in (
            ("scan", scan.values_list("resident_id", "key", "grid_id")[:POOL]),
            ("count", scan.values("resident_id")[:COUNT_SCAN]),
        ):
            sql, params = qs.query.sql_with_params()
            verb = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
            with connection.cursor() as cursor:
                cursor.execute(verb + sql, params)
                lines.append(f"{label} {prefix!r}:")
                lines.extend("    " + " ".join(str(c) for c in row) for row in cursor.fetchall())
    return lines


def tail(results: list[dict[str, Any]]) -> None:
    """Re-run the three slowest cells' worst queries, timed by phase, with their plans."""
    from wangge.registry import search

    for row in sorted(results, key=lambda r: r["p99"], reverse=True)[:3]:
        user, q = row["user"], row["worst_q"]
        again = []
        for _ in range(3):
            t0 = time.perf_counter()
            search.search_residents(user=user, q=q, limit=20)
            again.append((time.perf_counter() - t0) * 1000)
        print(
            f"  slowest cell {row['role']} / {row['kind']}: worst {row['worst']:.1f} ms for {q!r}; "
            f"again: {', '.join(f'{t:.1f}' for t in again)} ms"
        )
        for line in explain(user, q):
            print(f"    {line}")


def busy(cores: int) -> float | None:
    """The 1-minute load average when it is above the core count (figures would be noise)."""
    load = os.getloadavg()[0]
    return load if load > cores else None


def machine() -> str:
    try:
        model = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        line = next((ln for ln in model.splitlines() if ln.startswith("Model name")), "Model name: ?")
        cpu = line.split(":", 1)[1].strip()
    except OSError:
        cpu = platform.processor() or "?"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    global PG_NAME
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--residents", type=int, default=520_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--queries", type=int, default=1000, help="queries per kind per role")
    parser.add_argument(
        "--districts",
        type=int,
        default=1,
        help="Anshan's county-level divisions to lay out, Lishan first (7: the whole city; residents spread evenly)",
    )
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--pg-name", default=PG_NAME, help="PostgreSQL database to create and drop")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="keep the database (SQLite in DIR; PostgreSQL's by --pg-name) and reuse it on the next run with --keep",
    )
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="build the database (with --keep) and stop: build at nice, time later with --keep",
    )
    parser.add_argument(
        "--allow-busy",
        action="store_true",
        help="run on a busy machine (figures marked noisy)",
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    load = busy(cores)
    if args.build_only and not args.keep:
        sys.exit("--build-only needs --keep: the database is built to be timed later")
    if load is not None and not args.allow_busy and not args.build_only:
        sys.exit(
            f"refusing to run: the 1-minute load average is {load:.1f} on {cores} cores, so the figures would "
            "measure the neighbours; wait for a quiet machine or pass --allow-busy (figures marked NOISY)"
        )
    noisy = load is not None
    PG_NAME = args.pg_name

    with tempfile.TemporaryDirectory(prefix="wangge-bench-search-") as tmp:
        data_dir = Path(args.keep) if args.keep else Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        reused = setup_django(args.db, data_dir, reuse=bool(args.keep))
        try:
            from django.core.management import call_command
            from django.db import connection

            from wangge.registry.models import Resident, SearchKey

            call_command("migrate", verbosity=0)
            started = time.perf_counter()
            if reused:
                residents = Resident.objects.count()
                from wangge.areas.models import Area

                info = {
                    "districts": Area.objects.filter(level="district").count(),
                    "households": "?",
                    "grids": "?",
                    "communities": "?",
                    "keys": SearchKey.objects.count(),
                }
                info["load_seconds"] = 0
                print(f"reusing the kept database ({residents} residents; --residents ignored)")
            else:
                residents = args.residents
                info = build(args.residents, args.seed, args.districts)
            build_seconds = time.perf_counter() - started
            if args.build_only:
                print(
                    f"built {residents} residents in {info['districts']} district(s), {info['households']} households, "
                    f"{info['grids']} grids, {info['keys']} search keys in {build_seconds:.0f} s "
                    f"(households, residents, keys, indexes {info['load_seconds']:.0f} s)"
                )
                return
            version = connection.pg_version if args.db == "postgres" else None
            db_label = f"PostgreSQL {version}" if version else f"SQLite {connection.Database.sqlite_version}"
            print(f"# resident search benchmark — {db_label}")
            print(f"machine: {machine()}")
            print(
                f"data: {residents} residents in {info['districts']} district(s), {info['households']} households, "
                f"{info['grids']} grids, "
                f"{info['communities']} communities, {info['keys']} search keys; built in {build_seconds:.0f} s "
                f"(residents + keys {info['load_seconds']:.0f} s)"
            )
            made = users()
            print(f"load average before timing: {os.getloadavg()}" + ("  NOISY (--allow-busy)" if noisy else ""))
            print(f"timings (search_residents incl. audit entry; {args.queries} queries per kind per role):")
            results = run_queries(made, args.queries, args.seed)
            tail(results)
            worst = max(results, key=lambda r: r["p95"])
            print(f"worst p95: {worst['p95']:.2f} ms ({worst['role']}, {worst['kind']})")
            worst = max(results, key=lambda r: r["p99"])
            print(f"worst p99: {worst['p99']:.2f} ms ({worst['role']}, {worst['kind']})")
            worst = max(results, key=lambda r: r["worst"])
            print(
                f"worst single query: {worst['worst']:.2f} ms, {worst['worst_q']!r} ({worst['role']}, {worst['kind']})"
            )
            failing = [r for r in results if r["p95"] >= 50 or r["p99"] >= 100]
            print(f"cells over p95 50 ms or p99 100 ms: {len(failing)} of {len(results)}")
            worst = max(results, key=lambda r: r["read_p95"])
            print(f"worst read-only p95: {worst['read_p95']:.2f} ms ({worst['role']}, {worst['kind']})")
            now_busy = busy(cores)
            print(f"load average at the end: {os.getloadavg()}")
            if noisy or now_busy is not None:
                print("NOISY: the load average exceeded the core count during this run")
        finally:
            if args.db == "postgres" and not args.keep:
                drop_postgres()


if __name__ == "__main__":
    main()
