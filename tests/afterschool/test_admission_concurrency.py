"""Races: the same application sent twice at once (a double tap), two bureau staff deciding one application at once,
a revocation while an admin schedules the person."""

import threading
from datetime import date, time

import pytest
from django.db import connection

from afterschool.admission import services
from afterschool.admission.models import Admission, OutsidePerson
from afterschool.schedule import services as schedule
from afterschool.schedule.models import Session
from core.errors import DomainError
from tests.concurrency import race
from tests.conftest import make_user

from .admission_support import add_documents, admitted, service_data
from .conftest import make_programme

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane"),
]


def _data(school):
    data = service_data(school)
    return data


def test_a_double_tap_creates_one_application(term_x):
    coach = make_user("陈教练")
    results = race(lambda: services.admission_create(actor=coach, **_data(term_x.school)))
    assert sum(isinstance(r, Admission) for r in results) == 1, results
    assert all(isinstance(r, Admission) or getattr(r, "code", "") == "admission.duplicate_open" for r in results)
    assert Admission.objects.count() == 1 and OutsidePerson.objects.count() == 1


def test_two_bureau_decisions_at_once_admit_once(term_x, school_admin_x, bureau_staff, bureau_admin):
    coach = make_user("陈教练")
    a = services.admission_create(actor=coach, **_data(term_x.school))
    add_documents(coach, a)
    services.admission_submit(actor=coach, admission=a)
    services.admission_school_review(actor=school_admin_x, admission=a, approve=True)
    actors = iter([bureau_staff, bureau_admin, bureau_staff, bureau_admin])
    lock = threading.Lock()

    def decide():
        with lock:
            actor = next(actors)
        return services.admission_bureau_review(actor=actor, admission=Admission.objects.get(pk=a.pk), approve=True)

    results = race(decide)
    assert sum(isinstance(r, Admission) for r in results) == 1, results
    assert all(isinstance(r, Admission) or isinstance(r, DomainError) for r in results)


def test_revocation_and_scheduling_at_once_leave_no_revoked_person_on_a_session(term_x, school_admin_x, bureau_staff):
    coach = make_user("陈教练")
    a = admitted(coach, school_admin_x, bureau_staff, term_x.school)
    programmes = iter([make_programme(term_x, f"项目{i}") for i in range(4)])
    lock = threading.Lock()
    turn = iter(range(4))

    def act():
        with lock:
            i = next(turn)
            p = next(programmes)
        if i == 0:
            return services.admission_revoke(
                actor=bureau_staff, admission=Admission.objects.get(pk=a.pk), reason="poor_service"
            )
        return schedule.session_create(
            actor=school_admin_x,
            programme=p,
            weekdays=[i % 5],
            starts_at=time(16),
            ends_at=time(17),
            outside_person_id=a.person_id,
            first_date=date(2026, 11, 30),
        )

    results = race(act)
    # Each either happened or was refused with a domain error: no deadlock, no half-done work.
    assert all(isinstance(r, (Admission, list, DomainError)) for r in results), results
    assert Admission.objects.get(pk=a.pk).status == "revoked"
    assert not Session.objects.filter(staff__outside_person=a.person, last_date__gte=date(2026, 11, 25)).exists()
