"""实有人口 in the demo: a floating share with its details, a few foreign nationals holding
passports and the 2023 permanent-residence card, some 人户分离 and a few 未落户.

Applied after the residents are written, as whole households (a floating family moves in
together), deterministically from the demo's seed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.db.models import Count

from wangge.core import bulk, idnumbers
from wangge.registry import search
from wangge.registry.models import FloatingDetail, ForeignDetail, Resident

FLOATING_SHARE = 0.15  # of households; Lishan's own statistics put its floating population near this
AWAY_SHARE = 0.03  # registered here, living elsewhere
HERE_SHARE = 0.02  # living here, registered in another district of the city
UNREGISTERED_SHARE = 0.003
FOREIGNERS = 12
IN_CHUNK = 900

ORIGINS = [
    "辽宁省本溪市", "辽宁省丹东市", "辽宁省营口市", "辽宁省铁岭市", "吉林省四平市", "吉林省通化市",
    "黑龙江省哈尔滨市", "黑龙江省齐齐哈尔市", "内蒙古自治区赤峰市", "河北省承德市", "山东省临沂市",
    "河南省周口市", "四川省南充市", "安徽省阜阳市",
]  # fmt: skip
REASONS = ["务工", "务工", "务工", "经商", "投靠亲友", "就学", "婚嫁"]
STAYS = ["半年以下", "半年至一年", "一年至三年", "三年以上"]
# (name, nationality, ISO 3166 numeric code, sex, visa type)
FOREIGN_PEOPLE = [
    ("金敏俊", "韩国", "410", "M", "工作签证（Z）"),
    ("朴智恩", "韩国", "410", "F", "家属团聚（Q1）"),
    ("佐藤健", "日本", "392", "M", "工作签证（Z）"),
    ("伊万·彼得罗夫", "俄罗斯", "643", "M", "工作签证（Z）"),
    ("安娜·伊万诺娃", "俄罗斯", "643", "F", "学习签证（X1）"),
    ("约翰·史密斯", "美国", "840", "M", "工作签证（Z）"),
    ("玛丽亚·加西亚", "西班牙", "724", "F", "家属团聚（Q1）"),
    ("阮文雄", "越南", "704", "M", "工作签证（Z）"),
]


@dataclass
class Counts:
    floating: int = 0
    foreign: int = 0
    away: int = 0
    here: int = 0
    unregistered: int = 0
    by_document: dict[str, int] = field(default_factory=dict)


def _update(pks: list[int], **values: object) -> None:
    for start in range(0, len(pks), IN_CHUNK):
        Resident.objects.filter(pk__in=pks[start : start + IN_CHUNK]).update(**values)


def permanent_card(rng: random.Random, country: str, birth: dt.date) -> str:
    """A demo 2023 card: 9, a two-digit place code, the numeric nationality, the birth date, a
    sequence, and the MOD 11-2 check. The public rules confirm the 9, the length, the numeric
    nationality and the check; this ordering of the middle is the demo's own."""
    first17 = f"921{country}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + idnumbers.check_char(first17)


def assign(*, seed: int, today: dt.date) -> Counts:
    rng = random.Random(seed * 7919 + 15)
    counts = Counts()
    households = list(
        Resident.objects.values("household_id")
        .annotate(n=Count("id"))
        .order_by("household_id")
        .values_list("household_id", "n")
    )
    members: dict[int, list[tuple[int, dt.date]]] = {}
    for pk, household, birth in Resident.objects.order_by("pk").values_list("pk", "household_id", "birth_date"):
        members.setdefault(household, []).append((pk, birth))

    # Foreign nationals: a handful of one-person households, half with a passport.
    singles = [h for h, n in households if n == 1]
    rng.shuffle(singles)
    foreign_rows, renamed = [], []
    for index, household in enumerate(singles[:FOREIGNERS]):
        pk, birth = members[household][0]
        name, nationality, country, sex, visa = FOREIGN_PEOPLE[index % len(FOREIGN_PEOPLE)]
        if index % 2:
            number, document = permanent_card(rng, country, birth), "foreign_permanent_id"
        else:
            number, document = f"{'EPGK'[index % 4]}{rng.randrange(10**7, 10**8)}", "passport"
        Resident.objects.filter(pk=pk).update(
            name=name, sex=sex, id_number=number, document_type_id=document, population_type_id="foreign"
        )
        counts.by_document[document] = counts.by_document.get(document, 0) + 1
        expiry = today + dt.timedelta(days=rng.randrange(-30, 720))  # a few already expired
        foreign_rows.append({"resident_id": pk, "nationality": nationality, "visa_type": visa, "visa_expiry": expiry})
        renamed.append(pk)
    bulk.insert(ForeignDetail, foreign_rows)
    counts.foreign = len(foreign_rows)
    search.index_residents(Resident.objects.filter(pk__in=renamed))
    taken = set(singles[:FOREIGNERS])

    # Floating households, with a residence permit for most adults.
    others = [h for h, _n in households if h not in taken]
    rng.shuffle(others)
    floating_households = others[: int(len(others) * FLOATING_SHARE)]
    floating_pks: list[int] = []
    detail_rows = []
    for household in floating_households:
        origin = rng.choice(ORIGINS)
        arrival = today - dt.timedelta(days=rng.randrange(20, 3650))
        reason, stay = rng.choice(REASONS), rng.choice(STAYS)
        for pk, birth in members[household]:
            adult = (today - birth).days >= 16 * 365
            permit = f"210304{arrival:%Y}{rng.randrange(10**6):06d}" if adult and rng.random() < 0.7 else ""
            floating_pks.append(pk)
            detail_rows.append(
                {
                    "resident_id": pk,
                    "permit_number": permit,
                    "origin": origin,
                    "arrival_date": arrival,
                    "reason": reason,
                    "expected_stay": stay,
                }
            )
    _update(floating_pks, population_type_id="floating")
    bulk.insert(FloatingDetail, detail_rows)
    counts.floating = len(floating_pks)

    # 人户分离 and 未落户 among the registered: single people, not whole households.
    registered = [pk for h in others[len(floating_households) :] for pk, _birth in members[h]]
    rng.shuffle(registered)
    n_away, n_here = int(len(registered) * AWAY_SHARE), int(len(registered) * HERE_SHARE)
    n_unregistered = int(len(registered) * UNREGISTERED_SHARE)
    away = registered[:n_away]
    here = registered[n_away : n_away + n_here]
    unregistered = registered[n_away + n_here : n_away + n_here + n_unregistered]
    _update(away, separation=Resident.Separation.AWAY)
    _update(here, separation=Resident.Separation.HERE)
    _update(unregistered, population_type_id="unregistered")
    counts.away, counts.here, counts.unregistered = len(away), len(here), len(unregistered)
    return counts
