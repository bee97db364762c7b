"""Two bureau staff add the same account to an institution at once: one membership, one audit event, both answered
(one "added", one "already there")."""

import pytest
from django.db import connection

from accounts import services as accounts_services
from accounts.models import Membership, Role
from core.models import AuditEvent
from tests.concurrency import race
from tests.conftest import TOWN_A, make_user, region
from tests.institutions.helpers import make_institution

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane"),
]


def test_one_account_added_twice_at_once_is_one_membership(db):
    inst = make_institution("涪陵启明艺术培训学校", town=TOWN_A)
    staff = [make_user(f"科员{i}", Role.BUREAU_STAFF, region=region(TOWN_A)) for i in range(2)]
    person = make_user("王老师", phone="13900001111")

    def add(actor):
        return lambda: accounts_services.institution_member_add(
            actor=actor, institution_id=inst.pk, town_id=inst.town_id, phone="13900001111", reason="开通"
        )

    results = race([add(staff[0]), add(staff[1])])
    assert Membership.objects.filter(user=person, role=Role.INSTITUTION_STAFF, is_active=True).count() == 1
    assert AuditEvent.objects.filter(verb="institution.account.add").count() == 1
    assert sorted(created for _m, created in results) == [False, True], results
