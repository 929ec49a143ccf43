import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from wangge.core import idnumbers
from wangge.core.models import AuditEntry
from wangge.registry import actions
from wangge.registry.models import CareCategory, LifeEvent, Resident
from wangge.registry.queries import residents_visible_to
from wangge.registry.search import index_residents


def new_id(year: int = 1950, seq: int = 77, sex: str = "F") -> str:
    return idnumbers.make(area_code="210304", birth_date=dt.date(year, 4, 5), sequence=seq, sex=sex)


@pytest.mark.django_db
def test_it_registers_a_resident_with_sex_and_birth_date_from_the_id(world):
    worker = world.user("grid_worker")
    household = world.households["grid_a1_1"]
    resident = actions.resident_register(by=worker, household=household, name="陈桂兰", id_number=new_id())
    assert resident.sex == "F"
    assert resident.birth_date == dt.date(1950, 4, 5)
    assert resident.grid_id == household.grid_id
    assert resident in residents_visible_to(worker)
    assert LifeEvent.objects.filter(resident=resident, kind=LifeEvent.Kind.MOVE_IN).exists()
    assert AuditEntry.objects.filter(actor=worker, action="create", object_id=str(resident.pk)).exists()
    assert resident.search_keys.filter(key="chenguilan").exists()


@pytest.mark.django_db
def test_it_refuses_a_bad_id_number_and_stores_nothing(world):
    before = Resident.objects.count()
    with pytest.raises(ValidationError) as error:
        actions.resident_register(
            by=None, household=world.households["grid_a1_1"], name="陈桂兰", id_number="210304195004050772"
        )
    assert "id_number" in error.value.message_dict
    assert Resident.objects.count() == before


@pytest.mark.django_db
def test_it_refuses_a_second_registration_of_the_same_person(world):
    existing = world.residents["a1_1_head"]
    with pytest.raises(ValidationError):
        actions.resident_register(
            by=None, household=world.households["grid_a1_2"], name="王建国", id_number=existing.id_number
        )


@pytest.mark.django_db
def test_moving_out_keeps_the_history_and_clears_the_head(world):
    head = world.residents["a1_1_head"]
    actions.resident_move_out(by=None, resident=head, date=dt.date(2026, 11, 1), destination="铁西区")
    head.refresh_from_db()
    household = world.households["grid_a1_1"]
    household.refresh_from_db()
    assert head.status == Resident.Status.MOVED_OUT
    assert household.head is None
    event = LifeEvent.objects.get(resident=head, kind=LifeEvent.Kind.MOVE_OUT)
    assert event.detail["destination"] == "铁西区"
    with pytest.raises(ValidationError):
        actions.resident_move_out(by=None, resident=head, date=dt.date(2026, 11, 2))


@pytest.mark.django_db
def test_moving_in_to_another_grid_moves_the_person_out_of_the_old_workers_scope(world):
    worker = world.user("grid_worker")
    person = world.residents["a1_1_head"]
    actions.resident_move_in(by=None, resident=person, household=world.households["grid_b1_1"], date=dt.date.today())
    assert person not in residents_visible_to(worker)
    assert person.search_keys.get(key="wangjianguo").grid_id == world.areas["grid_b1_1"].pk


@pytest.mark.django_db
def test_death_is_recorded_once(world):
    person = world.residents["a1_1_ward"]
    actions.resident_die(by=None, resident=person, date=dt.date(2026, 10, 3))
    person.refresh_from_db()
    assert person.status == Resident.Status.DECEASED
    with pytest.raises(ValidationError):
        actions.resident_marry(by=None, resident=person, date=dt.date(2026, 10, 4), spouse_name="某某")


@pytest.mark.django_db
def test_marriage_is_recorded_on_both_spouses(world):
    a, b = world.residents["a1_2_head"], world.residents["b1_1_head"]
    actions.resident_marry(by=None, resident=a, spouse=b, date=dt.date(2026, 5, 20))
    assert LifeEvent.objects.filter(kind="marriage", resident__in=[a, b]).count() == 2


@pytest.mark.django_db
def test_care_tags_record_who_and_when_and_are_audited(world):
    worker = world.user("grid_worker")
    person = world.residents["a1_1_head"]
    category = CareCategory.objects.get(code="elderly_alone")
    tag = actions.care_tag_add(by=worker, resident=person, category=category)
    assert tag.recorded_by == worker and tag.recorded_at is not None
    actions.care_tag_remove(by=worker, resident=person, category=category)
    assert not person.care_tags.filter(category=category).exists()
    assert AuditEntry.objects.filter(actor=worker, action__in=["create", "delete"]).count() == 2


@pytest.mark.django_db
def test_updating_a_phone_reindexes_the_last_four_digits(world):
    person = world.residents["a1_1_head"]
    actions.resident_update(by=None, resident=person, phone="13912349876")
    assert person.search_keys.filter(key__endswith="9876").exists()
    with pytest.raises(ValidationError):
        actions.resident_update(by=None, resident=person, id_number="x")


@pytest.mark.django_db
def test_index_is_idempotent(world):
    person = world.residents["a1_1_head"]
    n = person.search_keys.count()
    index_residents([person])
    assert person.search_keys.count() == n
