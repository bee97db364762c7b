"""The allocation's split, for any pool and any hours (zero hours, one person, many): the parts always sum exactly to
the pool, to the fen, and the same inputs give the same parts whatever their order."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from afterschool.fees.allocation import Person, compute

FEN = Decimal("0.01")
money = st.integers(min_value=0, max_value=10**9).map(lambda fen: Decimal(fen) / 100)


@st.composite
def shares(draw):
    """Four percentages with two decimals summing to exactly 100."""
    cuts = sorted(draw(st.lists(st.integers(0, 10_000), min_size=3, max_size=3)))
    parts = [cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], 10_000 - cuts[2]]
    return {k: Decimal(v) / 100 for k, v in zip(("teacher", "outside", "operations", "reserve"), parts, strict=True)}


@st.composite
def staff(draw):
    n = draw(st.integers(1, 30))
    people, lessons = [], []
    for i in range(n):
        outside = draw(st.booleans())
        rate = draw(st.integers(0, 20_000).map(lambda f: Decimal(f) / 100)) if outside else None
        people.append((i + 1, outside, rate))
        for kind in draw(st.lists(st.sampled_from(["reading", "sports", "arts"]), max_size=3, unique=True)):
            lessons.append((i + 1, kind, draw(st.integers(0, 400))))
    return people, lessons


def _run(pool_in, shares_, people, lessons, weights):
    persons = [Person(sid, f"p{sid}", outside, rate=rate) for sid, outside, rate in people]
    money_in = {"fees": pool_in, "refunds": Decimal("0.00"), "subsidy": Decimal("0.00"), "other": Decimal("0.00")}
    return compute(money_in, shares_, weights, persons, lessons)


@settings(max_examples=300, deadline=None)
@given(pool=money, shares_=shares(), staff_=staff(), reading=st.sampled_from(["1", "1.5", "0.5", "2"]))
def test_every_fen_is_accounted_for(pool, shares_, staff_, reading):
    people, lessons = staff_
    r = _run(pool, shares_, people, lessons, {"reading": reading})
    paid = sum((p.amount for p in r.people), Decimal("0.00"))
    assert paid + r.operations + r.reserve + r.outside_surplus + r.teacher_unallocated - r.shortfall == pool
    assert r.teacher_share + r.outside_share + r.operations + r.reserve == pool
    assert all(p.amount == p.amount.quantize(FEN) and p.amount >= 0 for p in r.people)
    teachers = [p for p in r.people if not p.outside]
    if any(p.weighted for p in teachers):
        assert sum((p.amount for p in teachers), Decimal("0.00")) == r.teacher_share
        assert r.teacher_unallocated == 0
    else:
        assert r.teacher_unallocated == r.teacher_share  # zero hours: nothing shared out, the part is kept whole
    for p in r.people:
        if p.outside:
            assert p.amount == p.rate * p.lessons  # never less than the lessons at the admitted rate
    assert r.shortfall == max(Decimal(0), r.outside_owed - r.outside_share)
    # Deterministic: the same totals in another order give the same parts.
    again = _run(pool, shares_, list(reversed(people)), list(reversed(lessons)), {"reading": reading})
    assert {p.staff_id: p.amount for p in again.people} == {p.staff_id: p.amount for p in r.people}


@settings(max_examples=100, deadline=None)
@given(pool=money, lessons=st.integers(0, 500))
def test_a_single_teacher_gets_the_whole_teacher_part(pool, lessons):
    shares_ = {"teacher": Decimal(100), "outside": Decimal(0), "operations": Decimal(0), "reserve": Decimal(0)}
    r = _run(pool, shares_, [(7, False, None)], [(7, "sports", lessons)], {})
    if lessons:
        assert [p.amount for p in r.people] == [pool]
    else:
        assert r.people == [] and r.teacher_unallocated == pool


def test_equal_remainders_go_to_the_smaller_staff_id():
    # 100.00 for three teachers with one lesson each: 33.33 each and one fen left, remainders equal: staff id 3 < 5 < 9.
    shares_ = {"teacher": Decimal(100), "outside": Decimal(0), "operations": Decimal(0), "reserve": Decimal(0)}
    people = [(9, False, None), (3, False, None), (5, False, None)]
    r = _run(Decimal("100.00"), shares_, people, [(9, "arts", 1), (3, "arts", 1), (5, "arts", 1)], {})
    assert {p.staff_id: p.amount for p in r.people} == {3: Decimal("33.34"), 5: Decimal("33.33"), 9: Decimal("33.33")}


def test_a_share_that_cannot_cover_the_outside_lessons_says_so():
    shares_ = {"teacher": Decimal(90), "outside": Decimal(10), "operations": Decimal(0), "reserve": Decimal(0)}
    r = _run(
        Decimal("1000.00"),
        shares_,
        [(1, True, Decimal("60.00")), (2, False, None)],
        [(1, "arts", 3), (2, "arts", 1)],
        {},
    )
    assert r.outside_owed == Decimal("180.00")
    assert r.outside_share == Decimal("100.00")
    assert r.shortfall == Decimal("80.00")
    assert [p.amount for p in r.people if p.outside] == [Decimal("180.00")]  # owed in full, never paid less silently
