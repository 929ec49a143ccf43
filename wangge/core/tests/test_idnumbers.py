import datetime as dt

import pytest

from wangge.core import idnumbers

# Published example numbers with correct check characters (GB 11643 worked examples).
VALID = ["11010519491231002X", "440524188001010014", "210304195001020067"]


@pytest.mark.parametrize("number", VALID)
def test_it_accepts_numbers_with_a_correct_check_character(number):
    assert idnumbers.parse(number).number == number


def test_it_accepts_a_lowercase_x_and_stores_it_upper_case():
    parsed = idnumbers.parse("11010519491231002x")
    assert parsed.number == "11010519491231002X"
    assert parsed.birth_date == dt.date(1949, 12, 31)
    assert parsed.sex == "F"


def test_it_derives_sex_from_the_order_code():
    assert idnumbers.parse("440524188001010014").sex == "M"


def test_it_upgrades_a_fifteen_digit_legacy_number():
    parsed = idnumbers.parse("110105491231002")
    assert parsed.number == "11010519491231002X"
    assert parsed.upgraded_from == "110105491231002"


def test_it_rejects_a_wrong_check_character_and_says_which_is_expected():
    with pytest.raises(idnumbers.InvalidIDNumber, match="X"):
        idnumbers.parse("110105194912310021")


@pytest.mark.parametrize("number", ["11010519491331002X", "110105194902300023"])
def test_it_rejects_impossible_birth_dates(number):
    with pytest.raises(idnumbers.InvalidIDNumber):
        idnumbers.parse(number)


def test_it_rejects_a_birth_date_in_the_future():
    first17 = "21030420990101001"
    with pytest.raises(idnumbers.InvalidIDNumber):
        idnumbers.parse(first17 + idnumbers.check_char(first17), today=dt.date(2026, 11, 25))


@pytest.mark.parametrize("number", ["", "12345", "21030419500102006", "2103041950010200671"])
def test_it_rejects_wrong_lengths(number):
    with pytest.raises(idnumbers.InvalidIDNumber):
        idnumbers.parse(number)


def test_an_unknown_area_code_is_a_warning_not_an_error():
    number = idnumbers.make(area_code="990101", birth_date=dt.date(1931, 5, 6), sequence=7, sex="F")
    parsed = idnumbers.parse(number)
    assert parsed.number == number
    assert parsed.warnings


def test_it_accepts_the_very_old():
    number = idnumbers.make(area_code="210304", birth_date=dt.date(1921, 2, 28), sequence=1, sex="M")
    assert idnumbers.parse(number).birth_date.year == 1921


def test_full_width_digits_and_spaces_are_normalised():
    assert idnumbers.parse(" １１０１０５１９４９１２３１００２Ｘ ").number == "11010519491231002X"


def test_made_numbers_round_trip():
    for seq in range(0, 500, 37):
        for sex in "MF":
            number = idnumbers.make(area_code="210304", birth_date=dt.date(1960, 7, 1), sequence=seq, sex=sex)
            assert idnumbers.parse(number).sex == sex


def test_masking_keeps_only_area_and_last_four():
    assert idnumbers.mask("11010519491231002X") == "110105********002X"
    assert idnumbers.mask_phone("13812345678") == "138****5678"


def test_the_check_character_needs_exactly_seventeen_digits() -> None:
    assert idnumbers.check_char("11010519491231002") == "X"
    with pytest.raises(ValueError):
        idnumbers.check_char("1101051949123100")
