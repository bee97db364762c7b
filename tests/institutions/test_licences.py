"""A licence past its date is marked expired by the daily task; staff and bureau are told 30 days before, once."""

from datetime import date, timedelta

import pytest
import time_machine

from accounts.models import Role
from core.models import AuditEvent, Notification
from institutions.licences import licence_watch
from institutions.models import Institution
from tests.conftest import TOWN_A, make_user, region
from tests.institutions.helpers import make_institution

pytestmark = pytest.mark.django_db


@time_machine.travel(date(2026, 6, 1))
def test_expired_licences_are_marked_and_audited(institution_staff):
    old = make_institution("过期机构", licence_issued_on=date(2023, 5, 1), licence_expires_on=date(2026, 5, 31))
    fresh = make_institution("有效机构", licence_issued_on=date(2024, 1, 1), licence_expires_on=date(2027, 1, 1))
    result = licence_watch()
    assert result["expired"] == [old.pk]
    assert Institution.objects.get(pk=old.pk).status == "expired"
    assert Institution.objects.get(pk=fresh.pk).status == "licensed"
    event = AuditEvent.objects.get(verb="institution.status", object_id=str(old.pk))
    assert (event.from_state, event.to_state, event.actor) == ("licensed", "expired", None)
    assert licence_watch()["expired"] == []  # a second run does nothing more


def test_reminder_30_days_before_once(db):
    bureau = make_user("区科员", Role.BUREAU_STAFF, region=region("500102"))
    inst = make_institution("将到期", licence_issued_on=date(2023, 7, 1), licence_expires_on=date(2026, 7, 1))
    staff = make_user("机构负责人", Role.INSTITUTION_STAFF, institution=inst)
    with time_machine.travel(date(2026, 5, 31)):  # 31 days before: nothing yet
        licence_watch()
    assert not Notification.objects.filter(kind="institution.licence_expiring").exists()
    with time_machine.travel(date(2026, 6, 1)):
        licence_watch()
        licence_watch()
    reminded = set(
        Notification.objects.filter(kind="institution.licence_expiring").values_list("recipient_id", flat=True)
    )
    assert reminded == {bureau.pk, staff.pk}
    assert Notification.objects.filter(kind="institution.licence_expiring").count() == 2
    # renewed: a new expiry date gets its own reminder in time
    Institution.objects.filter(pk=inst.pk).update(licence_expires_on=date(2029, 7, 1))
    with time_machine.travel(date(2029, 6, 5)):
        licence_watch()
    assert Notification.objects.filter(kind="institution.licence_expiring", recipient=staff).count() == 2


def test_a_town_bureau_member_of_another_town_is_not_reminded(db):
    other = make_user("李渡科员", Role.BUREAU_STAFF, region=region("500102011"))
    make_institution(
        "将到期", town=TOWN_A, licence_issued_on=date(2023, 7, 1), licence_expires_on=date.today() + timedelta(days=10)
    )
    licence_watch()
    assert not Notification.objects.filter(recipient=other).exists()
