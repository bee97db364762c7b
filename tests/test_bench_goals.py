"""The benchmark's goals taken from other rows of the same run (bench/run.py: `goal_from`)."""

import pytest

from bench.run import Endpoint, combined_goal


def test_a_fixed_goal_stays_as_written():
    assert combined_goal(Endpoint("page", "/p", goal=0.3), {"page": 0.2}) == 0.3


def test_a_page_showing_two_api_calls_must_match_a_client_making_both():
    # A client making both calls spends 1/0.04 + 1/0.02 = 75 bare requests' time: the page must do at least that.
    page = Endpoint("page", "/p", goal_from=("sessions", "check"))
    assert combined_goal(page, {"sessions": 0.04, "check": 0.02}) == pytest.approx(1 / 75)


def test_one_api_row_gives_its_own_ratio():
    assert combined_goal(Endpoint("page", "/p", goal_from=("api",)), {"api": 0.05}) == pytest.approx(0.05)


def test_without_the_rows_it_names_there_is_no_goal_rather_than_a_wrong_one():
    page = Endpoint("page", "/p", goal_from=("api", "missing"))
    assert combined_goal(page, {"api": 0.05}) is None
    assert combined_goal(page, {"api": 0.05, "missing": None}) is None
