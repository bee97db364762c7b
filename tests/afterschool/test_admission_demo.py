"""The demo's outside personnel: a third party and two individuals admitted (a coach on a session), one application
in school review, a small register; running the seed twice adds nothing."""

import pytest
from django.core.management import call_command

from afterschool.admission.models import Admission, ProhibitedPerson
from afterschool.schedule.models import Session
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db


def test_demo_admissions_idempotent():
    for _ in range(2):
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Admission.objects.filter(status="admitted").count() == 3
    assert Admission.objects.filter(status="school_review").count() == 1
    assert ProhibitedPerson.objects.count() == 2
    assert Session.objects.filter(staff__outside_person__name="何教练").count() == 1
    public = ApiClient().get("afterschool/admitted-third-parties").json()
    assert [i["name"] for i in public["items"]] == ["涪陵区小画家美术培训学校"]
