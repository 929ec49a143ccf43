"""Invented households and residents for the demo: names, ages, ID numbers, phones, care tags.

Pure Python and numpy, no database. Household shapes are chosen so that about a quarter of
residents are 60 or over and households average about 2.25 people, as in Anshan.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field

import numpy as np
from faker.providers.person.zh_CN import Provider as FakerNames
from faker.providers.phone_number.zh_CN import Provider as FakerPhones

from wangge.core import idnumbers

AREA_CODE = "210304"
PEOPLE_PER_HOUSEHOLD = 2.25
# Household sizes (share of households); the mean is about 2.25.
SIZE_SHARES = {1: 0.29, 2: 0.37, 3: 0.21, 4: 0.08, 5: 0.035, 6: 0.015}
ETHNICITIES = {"汉族": 0.84, "满族": 0.13, "回族": 0.015, "朝鲜族": 0.007, "蒙古族": 0.005, "锡伯族": 0.003}

SURNAMES = list(FakerNames.last_names)
SURNAME_WEIGHTS = list(itertools.accumulate(FakerNames.last_names.values()))
# Faker's lists mixed with given names typical of each generation, so that an 80-year-old is
# more often 秀英 or 建国 and a child 梓涵 or 浩然.
GIVEN = {
    ("M", "old"): ["建国", "建华", "国庆", "志刚", "德明", "振华", "国华", "宝山", "玉林", "长海", "福林", "树森",
                   "广才", "永祥", "庆丰", "德福", "洪涛", "春生", "立新", "凤山", "殿臣", "文斌", "国良", "玉成"],
    ("F", "old"): ["秀英", "桂英", "秀兰", "桂兰", "玉兰", "淑珍", "淑芬", "凤兰", "玉珍", "秀珍", "丽华", "桂芝",
                   "凤霞", "素梅", "玉梅", "秀云", "淑华", "桂芳", "春兰", "翠兰", "淑琴", "玉芬", "凤芝", "秀芳"],
    ("M", "mid"): ["海涛", "志强", "建军", "晓东", "海波", "东升", "宏伟", "立军", "永刚", "国强", "大伟", "春雷",
                   "铁军", "晓峰", "红军", "卫东", "振宇", "长青"],
    ("F", "mid"): ["红梅", "丽娜", "晓燕", "海燕", "春燕", "雪梅", "丽丽", "婷婷", "晓丽", "红艳", "艳华", "丽萍",
                   "晓红", "秀梅", "玉洁", "春艳", "雅琴", "冬梅"],
    ("M", "young"): ["浩然", "子轩", "宇航", "梓豪", "俊杰", "博文", "一鸣", "天宇", "思远", "明轩", "子墨", "浩宇",
                     "皓轩", "宇辰", "嘉豪", "铭泽", "睿泽", "奕辰", "沐阳", "子豪"],
    ("F", "young"): ["欣怡", "子涵", "梓涵", "诗涵", "雨桐", "思琪", "可欣", "语嫣", "一诺", "佳怡", "梦瑶", "雨萱",
                     "若曦", "紫涵", "依诺", "梓萱", "欣妍", "语桐", "思彤", "佳琪"],
}  # fmt: skip
FAKER_GIVEN = {"M": list(FakerNames.first_names_male), "F": list(FakerNames.first_names_female)}
PHONE_PREFIXES = [str(p) for p in FakerPhones.phonenumber_prefixes]


@dataclass
class Person:
    name: str
    sex: str
    age: int
    birth_date: dt.date
    id_number: str
    relationship: str
    ethnicity: str
    phone: str


@dataclass
class HouseholdPlan:
    kind: str
    members: list[Person] = field(default_factory=list)


class People:
    """Makes households of people; one instance per demo build keeps ID numbers unique."""

    def __init__(self, *, seed: int, today: dt.date | None = None) -> None:
        self.rng = random.Random(seed)
        self.today = today or dt.date.today()
        self._sequence: dict[tuple[dt.date, str], int] = {}
        self._ethnicities = list(ETHNICITIES)
        self._ethnicity_weights = list(itertools.accumulate(ETHNICITIES.values()))

    # -- sizes ---------------------------------------------------------------------------

    def household_sizes(self, residents: int) -> list[int]:
        """Household sizes adding up to exactly ``residents``."""
        sizes: list[int] = []
        total = 0
        choices, weights = list(SIZE_SHARES), list(SIZE_SHARES.values())
        while total < residents:
            size = min(self.rng.choices(choices, weights)[0], residents - total)
            sizes.append(size)
            total += size
        return sizes

    # -- people --------------------------------------------------------------------------

    def elderly_age(self) -> int:
        while True:
            age = 60 + int(self.rng.expovariate(1 / 10.5))
            if age <= 100:
                return age

    def birth_date(self, age: int) -> dt.date:
        latest = _years_before(self.today, age)
        earliest = _years_before(self.today, age + 1) + dt.timedelta(days=1)
        return earliest + dt.timedelta(days=self.rng.randrange((latest - earliest).days + 1))

    def surname(self) -> str:
        return self.rng.choices(SURNAMES, cum_weights=SURNAME_WEIGHTS)[0]

    def given_name(self, sex: str, age: int) -> str:
        rng = self.rng
        if rng.random() < 0.35:
            era = "old" if age >= 58 else "mid" if age >= 30 else "young"
            return rng.choice(GIVEN[(sex, era)])
        first = rng.choice(FAKER_GIVEN[sex])
        if len(first) == 1 and rng.random() < 0.55:
            first += rng.choice(FAKER_GIVEN[sex])[0]
        return first

    def ethnicity(self) -> str:
        return self.rng.choices(self._ethnicities, cum_weights=self._ethnicity_weights)[0]

    def phone(self, age: int) -> str:
        if age < 16 or (age >= 80 and self.rng.random() < 0.35):
            return ""
        return self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def id_number(self, birth_date: dt.date, sex: str) -> str:
        key = (birth_date, sex)
        sequence = self._sequence.get(key)
        if sequence is None:
            sequence = self.rng.randrange(300)
        self._sequence[key] = sequence + 1
        if sequence >= 500:
            raise ValueError(f"more than 500 demo residents of one sex born on {birth_date}")
        return idnumbers.make(area_code=AREA_CODE, birth_date=birth_date, sequence=sequence, sex=sex)

    def person(
        self, *, sex: str, age: int, relationship: str, surname: str | None = None, ethnicity: str | None = None
    ) -> Person:
        age = max(0, min(100, age))
        born = self.birth_date(age)
        return Person(
            name=(surname or self.surname()) + self.given_name(sex, age),
            sex=sex,
            age=age,
            birth_date=born,
            id_number=self.id_number(born, sex),
            relationship=relationship,
            ethnicity=ethnicity or self.ethnicity(),
            phone=self.phone(age),
        )

    # -- households ----------------------------------------------------------------------

    def household(self, size: int) -> HouseholdPlan:
        rng = self.rng
        r = rng.random()
        if size == 1:
            if r < 0.40:
                return self._plan("elderly_alone", head_age=self.elderly_age(), couple=False, children=0)
            return self._plan("single", head_age=rng.randint(20, 59), couple=False, children=0)
        if size == 2:
            if r < 0.38:
                return self._plan("elderly_couple", head_age=self.elderly_age(), couple=True, children=0)
            if r < 0.73:
                return self._plan("couple", head_age=rng.randint(23, 59), couple=True, children=0)
            return self._plan("single_parent", head_age=rng.randint(30, 55), couple=False, children=1)
        if size == 3:
            if r < 0.75:
                return self._plan("nuclear", head_age=rng.randint(27, 55), couple=True, children=1)
            return self._plan("with_parent", head_age=rng.randint(32, 58), couple=True, children=0, parents=1)
        if size == 4:
            if r < 0.30:
                return self._plan("nuclear", head_age=rng.randint(32, 50), couple=True, children=2)
            if r < 0.85:
                return self._plan("with_parent", head_age=rng.randint(30, 55), couple=True, children=1, parents=1)
            return self._plan(
                "three_generations", head_age=self.elderly_age(), couple=True, children=1, grandchildren=1, in_law=False
            )
        if size == 5:
            if r < 0.5:
                return self._plan("with_parent", head_age=rng.randint(33, 52), couple=True, children=2, parents=1)
            return self._plan(
                "three_generations", head_age=self.elderly_age(), couple=True, children=1, grandchildren=1
            )
        return self._plan("with_parent", head_age=rng.randint(33, 50), couple=True, children=size - 4, parents=2)

    def _plan(
        self,
        kind: str,
        *,
        head_age: int,
        couple: bool,
        children: int,
        parents: int = 0,
        grandchildren: int = 0,
        in_law: bool = True,
    ) -> HouseholdPlan:
        rng = self.rng
        plan = HouseholdPlan(kind=kind)
        head_sex = "M" if rng.random() < (0.75 if couple else 0.45) else "F"
        family = self.surname()
        head = self.person(sex=head_sex, age=head_age, relationship="head", surname=family)
        plan.members.append(head)
        father_surname = family if head_sex == "M" else None
        youngest_parent = head_age
        if couple:
            gap = round(rng.gauss(2, 2.5))
            spouse_age = head_age - gap if head_sex == "M" else head_age + gap
            spouse_sex = "F" if head_sex == "M" else "M"
            spouse = self.person(sex=spouse_sex, age=spouse_age, relationship="spouse")
            plan.members.append(spouse)
            if spouse_sex == "M":
                father_surname = spouse.name[0]
            youngest_parent = min(head_age, spouse.age)
        child_surname = father_surname or family
        for _ in range(children):
            age = youngest_parent - rng.randint(23, 34)
            if age < 0:
                age = rng.randint(0, 3)
            child = self.person(
                sex=rng.choice("MF"), age=age, relationship="child", surname=child_surname, ethnicity=head.ethnicity
            )
            plan.members.append(child)
        if grandchildren and children:
            adult_child = plan.members[-1]
            if in_law:
                in_law_sex = "F" if adult_child.sex == "M" else "M"
                plan.members.append(
                    self.person(sex=in_law_sex, age=adult_child.age + rng.randint(-3, 3), relationship="child_in_law")
                )
            for _ in range(grandchildren):
                age = adult_child.age - rng.randint(24, 33)
                if age < 0:
                    age = rng.randint(0, 4)
                surname = adult_child.name[0] if adult_child.sex == "M" else self.surname()
                plan.members.append(
                    self.person(sex=rng.choice("MF"), age=age, relationship="grandchild", surname=surname)
                )
        if parents:
            elder = max(head_age + rng.randint(24, 34), 60)
            sexes = ["M", "F"] if parents == 2 else ["F" if rng.random() < 0.65 else "M"]
            for sex in sexes:
                plan.members.append(
                    self.person(
                        sex=sex,
                        age=elder + (2 if sex == "M" else 0),
                        relationship="parent",
                        surname=head.name[0] if sex == "M" else None,
                    )
                )
        return plan


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# -- care categories ---------------------------------------------------------------------

DEMENTIA_COUNT = 138  # the 2015 report: 138 elderly people with dementia were given phones


def choose_care(
    *,
    ages: np.ndarray,
    sexes: np.ndarray,
    household: np.ndarray,
    household_kind: np.ndarray,
    seed: int,
) -> dict[str, np.ndarray]:
    """Indices of residents to tag with each care category, at plausible rates.

    ``household`` is each resident's household index and ``household_kind`` each resident's
    household kind (see ``People.household``). Counts are exact targets, not coin flips, so a
    demo always shows the same shape; dementia is exactly 138 whenever there are 138 people
    aged 65 or over.
    """
    rng = np.random.default_rng(seed)
    n = len(ages)
    elderly = np.nonzero(ages >= 60)[0]
    chosen: dict[str, np.ndarray] = {}

    def pick(pool: np.ndarray, count: int, weight: np.ndarray | None = None) -> np.ndarray:
        count = int(min(count, len(pool)))
        if count <= 0:
            return np.empty(0, dtype=int)
        p = None if weight is None else weight / weight.sum()
        return np.sort(rng.choice(pool, size=count, replace=False, p=p))

    over65 = np.nonzero(ages >= 65)[0]
    chosen["dementia"] = pick(over65, DEMENTIA_COUNT, (ages[over65] - 60.0) ** 2)
    alone = np.nonzero((household_kind == "elderly_alone") & (ages >= 60))[0]
    chosen["elderly_alone"] = pick(alone, round(0.05 * len(elderly)), ages[alone] - 55.0)
    couples = np.unique(household[(household_kind == "elderly_couple") & (ages >= 60)])
    nest_households = pick(couples, round(0.04 * len(elderly)))
    chosen["empty_nest"] = np.nonzero(np.isin(household, nest_households) & (ages >= 60))[0]
    everyone = np.arange(n)
    chosen["disability"] = pick(everyone, round(0.06 * n), 1.0 + ages / 25.0)
    households = np.unique(household)
    poor = pick(households, round(0.025 * len(households)))
    chosen["minimum_income"] = np.nonzero(np.isin(household, poor))[0]
    needy = np.union1d(chosen["elderly_alone"], chosen["disability"][ages[chosen["disability"]] >= 60])
    chosen["extreme_poverty"] = pick(needy, round(0.002 * n))
    adults = np.nonzero((ages >= 25) & (ages <= 65))[0]
    chosen["released_prisoner"] = pick(
        adults, max(1 if n >= 2000 else 0, round(0.0005 * n)), np.where(sexes[adults] == "M", 6.0, 1.0)
    )
    men = np.nonzero((sexes == "M") & (ages >= 35))[0]
    chosen["veteran"] = pick(men, round(0.008 * n))
    chosen["serious_illness"] = pick(everyone, round(0.01 * n), 1.0 + ages / 20.0)
    return chosen
