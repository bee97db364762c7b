"""core.money: the one place that reads, rounds, prints, adds up and shares out money (Decimal yuan, to the fen)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import money

amounts = st.integers(min_value=0, max_value=10**12).map(lambda fen: Decimal(fen) / 100)
weights = st.dictionaries(
    st.integers(min_value=1, max_value=10_000),
    st.one_of(st.integers(min_value=0, max_value=10**6), st.decimals(min_value=0, max_value=10**6, places=3)),
    max_size=30,
)


@pytest.mark.parametrize("value", [1.5, 0.1, float("nan"), True, None, [1]])
def test_money_is_never_read_from_a_float_or_anything_but_str_int_decimal(value):
    for read in (money.to_decimal, money.exact, money.quantize, money.fmt):
        with pytest.raises(TypeError):
            read(value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("120", "120.00"),
        (120, "120.00"),
        ("120.5", "120.50"),
        (Decimal("0.005"), "0.01"),
        ("0.004", "0.00"),
        ("-0.005", "-0.01"),
        ("2.675", "2.68"),
        ("1.125", "1.13"),
        (" 3.1 ", "3.10"),
        ("1E+3", "1000.00"),
    ],
)
def test_rounding_is_half_up_and_printing_has_two_places(value, expected):
    assert money.fmt(value) == expected
    assert money.quantize(value) == Decimal(expected)


@pytest.mark.parametrize("value", ["abc", "", "1,5", "NaN", "Infinity", Decimal("sNaN")])
def test_what_is_not_a_finite_number_is_refused(value):
    with pytest.raises(money.MoneyError):
        money.quantize(value)


def test_an_amount_given_to_us_is_never_silently_rounded():
    assert money.exact("120.5") == Decimal("120.50") and str(money.exact(7)) == "7.00"
    for bad in ("120.555", "0.001", "NaN", "1e-3", Decimal("1E+40")):
        with pytest.raises(money.MoneyError):
            money.exact(bad)
    assert not money.is_exact(Decimal("Infinity"))


def test_optional_and_totals():
    assert money.fmt_optional(None) is None and money.fmt_optional(Decimal("5")) == "5.00"
    assert money.total([]) == Decimal("0.00")
    assert money.total(["0.10", 2, Decimal("0.20")]) == Decimal("2.30")


def test_split_by_largest_remainder_ties_to_the_smaller_key():
    assert money.split("100", {1: 1, 2: 1, 3: 1}) == {1: Decimal("33.34"), 2: Decimal("33.33"), 3: Decimal("33.33")}
    assert money.split("0.01", {"b": 1, "a": 1}) == {"a": Decimal("0.01"), "b": Decimal("0.00")}
    assert money.split("10", {}) == {} and money.split("10", {1: 0}) == {1: Decimal("0.00")}
    for bad in (("-1", {1: 1}), ("1", {1: -1}), ("1.001", {1: 1}), ("1", {1: "NaN"})):
        with pytest.raises(money.MoneyError):
            money.split(*bad)
    with pytest.raises(TypeError):
        money.split("1", {1: 0.5})


@given(amounts, weights)
def test_the_parts_of_a_split_sum_to_the_whole(amount, by):
    parts = money.split(amount, by)
    assert set(parts) == set(by)
    assert all(isinstance(p, Decimal) and p >= 0 and money.is_exact(p) for p in parts.values())
    if any(by.values()):
        assert sum(parts.values(), Decimal(0)) == amount
        # Each part is its exact share rounded down or up by less than one fen.
        whole = sum(Decimal(w) for w in by.values())
        for key, part in parts.items():
            assert abs(part - amount * Decimal(by[key]) / whole) < Decimal("0.01")
    else:
        assert all(p == 0 for p in parts.values())


@given(amounts, weights)
def test_a_split_does_not_depend_on_the_order_of_the_weights(amount, by):
    assert money.split(amount, dict(reversed(list(by.items())))) == money.split(amount, by)


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9))
def test_quantize_is_within_half_a_fen_and_printing_reads_back(value):
    rounded = money.quantize(value)
    assert money.is_exact(rounded) and abs(rounded - value) <= Decimal("0.005")
    assert Decimal(money.fmt(value)) == rounded and len(money.fmt(value).split(".")[1]) == 2


@given(st.floats(allow_nan=True))
def test_no_float_is_ever_money(value):
    with pytest.raises(TypeError):
        money.to_decimal(value)
