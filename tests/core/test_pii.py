"""Resident ID numbers: what is accepted, and how little of one is kept."""

import pytest
from stdnum.cn import ric

from core.pii import id_number_hash, mask_tail, normalize_id_number


def with_check(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


@pytest.mark.parametrize(
    "number",
    [
        with_check("50010219800101123"),  # Fuling, born 1980: the district code dates from 1997, the number is real
        with_check("51232319650315201"),  # the old Fuling prefecture code of Sichuan
        "11010519491231002X",
        " 11010519491231002x ",  # spaces and a lower-case x
    ],
)
def test_real_numbers_are_accepted(number):
    assert normalize_id_number(number) == number.strip().upper()


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310021",  # wrong check character
        with_check("50010219801301123"),  # month 13
        with_check("50010221000101123"),  # born in 2100
        with_check("99010219800101123"),  # no province 99
        "5001021980010112",  # too short
        "50010219800101123A",
        "",
        None,
    ],
)
def test_impossible_numbers_are_refused(number):
    assert normalize_id_number(number) is None


def test_only_a_keyed_hash_and_the_tail_are_kept(settings):
    number = with_check("50010219800101123")
    settings.PII_HASH_KEY = "key-one"
    first = id_number_hash(number)
    settings.PII_HASH_KEY = "key-two"
    assert id_number_hash(number) != first  # without the key the hash cannot be recomputed from a guess
    assert number not in first
    assert mask_tail(number[-4:]) == "*" * 14 + number[-4:]
