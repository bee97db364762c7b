"""Units of the R-ASS-1 arithmetic: minutes covered by overlapping sessions, checked against counting minutes."""

from datetime import time

from hypothesis import given, settings
from hypothesis import strategies as st

from afterschool.schedule.policy import _covered_minutes

slot = st.tuples(st.integers(13 * 60, 21 * 60), st.integers(1, 180)).map(
    lambda t: (
        time(t[0] // 60, t[0] % 60),
        time(min(23 * 60 + 59, t[0] + t[1]) // 60, min(23 * 60 + 59, t[0] + t[1]) % 60),
    )
)


@settings(max_examples=300, derandomize=True)
@given(st.lists(slot, max_size=8))
def test_covered_minutes_is_the_size_of_the_union(slots):
    minutes = set()
    for start, end in slots:
        minutes.update(range(start.hour * 60 + start.minute, end.hour * 60 + end.minute))
    assert _covered_minutes(slots) == len(minutes)


def test_examples():
    assert _covered_minutes([]) == 0
    assert _covered_minutes([(time(16), time(18)), (time(16), time(17, 30))]) == 120
    assert _covered_minutes([(time(16), time(17)), (time(17), time(18))]) == 120
    assert _covered_minutes([(time(16), time(17)), (time(17, 30), time(18))]) == 90
