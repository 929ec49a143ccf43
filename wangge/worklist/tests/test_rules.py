"""Each shipped rule finds the person it is for and not the one just outside it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.utils import timezone

from wangge.conftest import World
from wangge.protection.models import Enrolment
from wangge.registry.models import CareTag, LifeEvent, Resident
from wangge.worklist import actions
from wangge.worklist.defaults import RULES, SOURCE_RULES
from wangge.worklist.models import Rule, Task
from wangge.worklist.tests.conftest import TODAY, ages

Make = Callable[..., Resident]


def _tasks(resident: Resident, code: str) -> list[Task]:
    return list(Task.objects.filter(resident=resident, rule__code=code, status=Task.Status.OPEN))


def _event(resident: Resident, kind: str, days_ago: int) -> None:
    LifeEvent.objects.create(
        resident=resident, kind=kind, date=TODAY - dt.timedelta(days=days_ago), household=resident.household
    )


def _tag_since(resident: Resident, code: str, days_ago: int) -> None:
    moment = timezone.make_aware(dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(10)))
    CareTag.objects.filter(resident=resident, category__code=code).update(recorded_at=moment)


def _inside_outside(code: str, person: Make) -> tuple[Resident, Resident]:
    if code == "newborn-visit":
        return person(TODAY - dt.timedelta(days=3)), person(TODAY - dt.timedelta(days=29))
    if code == "child-health":
        six_months = TODAY.replace(month=6)  # 3 June: six months old today
        return person(six_months), person(six_months - dt.timedelta(days=22))
    if code == "school-enrolment":
        return person(ages(6)), person(ages(6, days=1))
    if code == "elderly-card":
        return person(ages(60)), person(ages(60, days=1))
    if code == "longevity-allowance":
        return person(ages(80)), person(ages(80, days=1))  # the day of the 80th birthday; the day before
    if code == "alone-80-weekly":
        return person(ages(80), care=("elderly_alone",)), person(ages(80, days=1), care=("elderly_alone",))
    if code == "alone-ill-weekly":
        ill = ("elderly_alone", "serious_illness")
        return person(ages(70), care=ill), person(ages(70), care=("elderly_alone",))
    if code == "alone-60-fortnightly":
        return person(ages(60), care=("elderly_alone",)), person(ages(60, days=1), care=("elderly_alone",))
    if code == "dementia-protection":
        inside, outside = person(ages(75), care=("dementia",)), person(ages(75), care=("dementia",))
        enrolment = Enrolment(resident=outside)
        enrolment.copy_scope(outside)
        enrolment.save()
        return inside, outside
    if code in ("disability-subsidy", "minimum-income-review", "extreme-poverty-monthly"):
        care = {"disability-subsidy": "disability", "minimum-income-review": "minimum_income"}.get(
            code, "extreme_poverty"
        )
        return person(ages(45), care=(care,)), person(ages(45), care=("veteran",))
    if code == "resettlement-monthly":
        inside, outside = (person(ages(35), care=("released_prisoner",)) for _ in range(2))
        _tag_since(inside, "released_prisoner", 40)
        _tag_since(outside, "released_prisoner", 366)
        return inside, outside
    if code == "move-in-welcome":
        inside, outside = person(ages(30)), person(ages(30))
        _event(inside, LifeEvent.Kind.MOVE_IN, 14)
        _event(outside, LifeEvent.Kind.MOVE_IN, 31)
        return inside, outside
    if code == "bereavement":
        inside, outside = person(ages(88)), person(ages(88))
        Resident.objects.filter(pk__in=[inside.pk, outside.pk]).update(status=Resident.Status.DECEASED)
        _event(inside, LifeEvent.Kind.DEATH, 2)
        _event(outside, LifeEvent.Kind.DEATH, 31)
        return inside, outside
    raise AssertionError(f"no test for rule {code}")


def test_eighteen_rules_ship_each_with_a_policy_source(world: World) -> None:
    rules = list(Rule.objects.all())
    assert len(RULES) == 15 and len(SOURCE_RULES) == 3
    assert len(rules) == 18
    assert all(rule.source and rule.name_en and rule.version == 1 for rule in rules)


@pytest.mark.parametrize("code", [row[0] for row in RULES])
def test_each_rule_finds_its_person_and_not_the_one_just_outside(world: World, person: Make, code: str) -> None:
    inside, outside = _inside_outside(code, person)
    actions.generate(today=TODAY)
    made = _tasks(inside, code)
    assert len(made) == 1, code
    assert made[0].household_id == inside.household_id and made[0].grid_id == inside.grid_id
    assert made[0].due >= made[0].anchor
    assert _tasks(outside, code) == [], code


def test_the_longevity_allowance_is_due_two_weeks_after_the_80th_birthday(world: World, person: Make) -> None:
    resident = person(ages(80, days=-5))
    actions.generate(today=TODAY)
    (task,) = _tasks(resident, "longevity-allowance")
    assert task.anchor == TODAY - dt.timedelta(days=5)
    assert task.due == task.anchor + dt.timedelta(days=14)
    assert task.rule_version == 1


def test_a_rule_can_be_tried_before_it_is_switched_on(world: World, person: Make) -> None:
    rule = Rule.objects.get(code="longevity-allowance")
    Rule.objects.filter(pk=rule.pk).update(active=False)
    person(ages(80))
    person(ages(80), grid="grid_b1_1")
    assert actions.rule_preview(rule=rule, today=TODAY) == {"tasks": 2, "grids": 2}
    actions.generate(today=TODAY)
    assert not Task.objects.filter(rule=rule).exists()


def test_editing_what_a_rule_does_makes_a_new_version(world: World, person: Make) -> None:
    from wangge.accounts.models import Role

    rule = Rule.objects.get(code="longevity-allowance")
    rule.due_days = 21
    actions.rule_save(rule=rule, by=world.user(Role.DISTRICT_ADMIN))
    assert rule.version == 2
    resident = person(ages(80))
    actions.generate(today=TODAY)
    assert _tasks(resident, "longevity-allowance")[0].rule_version == 2
    rule.source = "新文件"
    actions.rule_save(rule=rule, by=world.user(Role.DISTRICT_ADMIN))
    assert rule.version == 2  # the wording changed, not what the rule does
