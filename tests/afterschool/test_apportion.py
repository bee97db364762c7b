"""Money shared out to the fen: the parts always sum to the whole, deterministically (largest remainder)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afterschool.fees.apportion import ApportionError, split_by_shares, split_by_weights

amounts = st.integers(min_value=0, max_value=10**9).map(lambda fen: Decimal(fen) / 100)
weights = st.dictionaries(st.integers(1, 10_000), st.integers(0, 500), min_size=1, max_size=40)


def test_three_teachers_share_100_yuan_by_lessons():
    parts = split_by_weights("100.00", {"王老师": 1, "李老师": 1, "张老师": 1})
    # 33.333… each: one fen left over, remainders equal: it goes to the first key in order (张 < 李 < 王 as text)
    assert sum(parts.values()) == Decimal("100.00")
    assert sorted(parts.values()) == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert parts == split_by_weights("100.00", {"张老师": 1, "李老师": 1, "王老师": 1})  # order does not matter


def test_largest_remainder_goes_first():
    # 10.00 by 1:2:3 -> 1.6666, 3.3333, 5.0000 fen*100: floors 1.66, 3.33, 5.00 leave 0.01 -> to the 0.66 remainder
    assert split_by_weights("10.00", {1: 1, 2: 2, 3: 3}) == {1: Decimal("1.67"), 2: Decimal("3.33"), 3: Decimal("5.00")}


def test_shares_must_make_100_percent():
    split = split_by_shares("12345.67", {"teachers": 60, "outside": 25, "operations": 10, "reserve": 5})
    assert split == {
        "teachers": Decimal("7407.40"),
        "outside": Decimal("3086.42"),
        "operations": Decimal("1234.57"),
        "reserve": Decimal("617.28"),
    }
    with pytest.raises(ApportionError):
        split_by_shares("100.00", {"teachers": 60, "reserve": 30})
    with pytest.raises(ApportionError):
        split_by_shares("100.00", {"teachers": 110, "reserve": -10})


def test_bad_amounts_and_weights_are_refused():
    with pytest.raises(ApportionError):
        split_by_weights("10.001", {1: 1})  # not to the fen: never rounded silently
    with pytest.raises(ApportionError):
        split_by_weights("-1.00", {1: 1})
    with pytest.raises(ApportionError):
        split_by_weights("1.00", {1: -1})


def test_no_lessons_no_shares():
    assert split_by_weights("500.00", {7: 0, 8: 0}) == {7: Decimal("0.00"), 8: Decimal("0.00")}
    assert split_by_weights("500.00", {}) == {}


@settings(max_examples=300, deadline=None)
@given(amount=amounts, weights=weights)
def test_any_split_sums_exactly_and_is_fair_to_the_fen(amount, weights):
    parts = split_by_weights(amount, weights)
    total_weight = sum(weights.values())
    assert set(parts) == set(weights)
    assert all(p >= 0 and p == p.quantize(Decimal("0.01")) for p in parts.values())
    if total_weight == 0:
        assert all(p == 0 for p in parts.values())
        return
    assert sum(parts.values()) == amount
    for key, part in parts.items():
        exact = amount * Decimal(weights[key]) / Decimal(total_weight)
        assert abs(part - exact) < Decimal("0.01")  # never more than a fen from the exact share
        if weights[key] == 0:
            assert part == 0
    assert split_by_weights(amount, dict(reversed(list(weights.items())))) == parts  # deterministic


@given(amount=amounts)
def test_a_single_person_gets_everything(amount):
    assert split_by_weights(amount, {42: 3}) == {42: amount}
