"""Dated policy values are kept in the process (core.policy), and a row saved or deleted counts at once."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import PolicyValue
from core.policy import MissingPolicyValue, policy_int, policy_time

pytestmark = pytest.mark.django_db

KEY = "service_hours_per_day_min"


def test_the_value_in_force_on_a_date_is_the_newest_row_not_after_it():
    PolicyValue.objects.create(rule_id="R-ASS-1", key="test_only_limit", value="40", effective_from=date(2030, 1, 1))
    PolicyValue.objects.create(rule_id="R-ASS-1", key="test_only_limit", value="60", effective_from=date(2031, 1, 1))
    assert policy_int("test_only_limit", date(2030, 6, 1)) == 40
    assert policy_int("test_only_limit", date(2031, 1, 1)) == 60
    with pytest.raises(MissingPolicyValue):
        policy_int("test_only_limit", date(2029, 12, 31))


def test_after_the_first_read_the_values_cost_no_query():
    policy_int(KEY, date(2026, 9, 1))
    with CaptureQueriesContext(connection) as ctx:
        policy_int(KEY, date(2026, 9, 1))
        policy_time("service_end_not_before", date(2026, 9, 1))
    assert len(ctx.captured_queries) == 0


def test_a_row_added_changed_or_deleted_counts_at_once():
    on = date(2040, 3, 1)
    before = policy_int(KEY, on)
    row = PolicyValue.objects.create(rule_id="R-ASS-1", key=KEY, value=str(before + 1), effective_from=date(2040, 1, 1))
    assert policy_int(KEY, on) == before + 1
    row.value = str(before + 2)
    row.save()
    assert policy_int(KEY, on) == before + 2
    row.delete()
    assert policy_int(KEY, on) == before
