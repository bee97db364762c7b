"""The random draw (双随机), as a pure function: reproducible from its seed, fair to the rule, never a conflict."""

from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision.inspections.draw import Candidate, Inspector, SamplingRule, draw, sample_size

BY_GRADE = SamplingRule(
    by_grade={"A": Decimal("0.05"), "B": Decimal("0.10"), "C": Decimal("0.20"), "D": Decimal("0.40")}
)


def registry(n: int) -> list[Candidate]:
    grades = "AAAAABBBCD"  # most institutions low risk, as in a real registry
    return [Candidate(i, grades[i % len(grades)]) for i in range(1, n + 1)]


def team(n: int, conflicts: dict[int, set[int]] | None = None) -> list[Inspector]:
    conflicts = conflicts or {}
    return [Inspector(100 + k, frozenset(conflicts.get(100 + k, ()))) for k in range(n)]


def test_the_same_seed_gives_the_same_draw_and_another_seed_another():
    first = draw(candidates=registry(200), rule=BY_GRADE, inspectors=team(6), team_size=2, seed="2026-Q4-涪陵")
    again = draw(candidates=registry(200)[::-1], rule=BY_GRADE, inspectors=team(6)[::-1], team_size=2,
                 seed="2026-Q4-涪陵")  # fmt: skip
    other = draw(candidates=registry(200), rule=BY_GRADE, inspectors=team(6), team_size=2, seed="another")
    assert first.as_dict() == again.as_dict()
    assert [a.institution_id for a in first.assignments] != [a.institution_id for a in other.assignments]


def test_shares_per_risk_grade_are_rounded_up():
    result = draw(candidates=registry(200), rule=BY_GRADE, inspectors=team(4), team_size=2, seed="s")
    # 200 institutions: 100 A, 60 B, 20 C, 20 D -> 5 %, 10 %, 20 %, 40 %
    assert result.strata == {
        "A": {"candidates": 100, "drawn": 5},
        "B": {"candidates": 60, "drawn": 6},
        "C": {"candidates": 20, "drawn": 4},
        "D": {"candidates": 20, "drawn": 8},
    }
    assert sample_size(15, Decimal("0.10")) == 2
    assert sample_size(1, Decimal("0.05")) == 1  # a lone high-risk institution is not skipped by rounding
    assert sample_size(20, Decimal("0.05")) == 1  # an exact share is not rounded up further
    assert sample_size(0, Decimal("0.40")) == 0 and sample_size(10, Decimal("0")) == 0


def test_an_overall_share():
    result = draw(candidates=registry(95), rule=SamplingRule(overall=Decimal("0.10")), inspectors=team(4),
                  team_size=2, seed="s")  # fmt: skip
    assert result.strata == {"all": {"candidates": 95, "drawn": 10}}


def test_recently_inspected_institutions_are_left_out():
    recent = set(range(1, 150))
    result = draw(candidates=registry(200), rule=SamplingRule(overall=Decimal("1")), inspectors=team(3),
                  team_size=2, seed="s", exclude=recent)  # fmt: skip
    assert {a.institution_id for a in result.assignments} == set(range(150, 201))


def test_an_inspector_never_goes_where_they_declared_a_conflict():
    inspectors = team(3, conflicts={100: {1, 2, 3}, 101: {3}})
    result = draw(candidates=registry(10), rule=SamplingRule(overall=Decimal("1")), inspectors=inspectors,
                  team_size=2, seed="s")  # fmt: skip
    teams = {a.institution_id: a.inspector_ids for a in result.assignments}
    assert teams[1] == teams[2] == (101, 102)
    assert result.unstaffed == [3]  # only 102 is free of a conflict there: no team of two
    assert 3 not in teams


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(0, 120),
    pool=st.integers(2, 9),
    team_size=st.integers(2, 3),
    seed=st.text(max_size=12),
    conflicts=st.dictionaries(st.integers(100, 108), st.sets(st.integers(1, 120), max_size=30), max_size=5),
)
def test_any_draw_keeps_the_rules(n, pool, team_size, seed, conflicts):
    inspectors = team(pool, conflicts)
    result = draw(candidates=registry(n), rule=BY_GRADE, inspectors=inspectors, team_size=team_size, seed=seed)
    drawn = [a.institution_id for a in result.assignments] + result.unstaffed
    assert len(drawn) == len(set(drawn)) == sum(s["drawn"] for s in result.strata.values())
    blocked = {i.user_id: i.conflicts for i in inspectors}
    load = Counter()
    for assignment in result.assignments:
        assert len(set(assignment.inspector_ids)) == team_size
        assert all(assignment.institution_id not in blocked[u] for u in assignment.inspector_ids)
        load.update(assignment.inspector_ids)
    if not conflicts and result.assignments:
        counts = [load.get(i.user_id, 0) for i in inspectors]
        assert max(counts) - min(counts) <= 1  # visits spread evenly over the pool
    replay = draw(candidates=registry(n), rule=BY_GRADE, inspectors=inspectors, team_size=team_size, seed=seed)
    assert replay.as_dict() == result.as_dict()


def test_a_team_needs_at_least_one_person():
    with pytest.raises(ValueError):
        draw(candidates=registry(3), rule=BY_GRADE, inspectors=team(2), team_size=0, seed="s")
