"""Production lane: the absence notice leaves the request as ids through the Redis broker, and a real Celery worker
process writes the parent's inbox row (eager tasks would hide a payload that does not serialize)."""

import time
import uuid

import pytest

from core.models import Notification
from tests.afterschool.conftest import TODAY, enrol, make_programme, make_session

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_absence_reaches_the_parent_through_a_worker(api_as, term_x, teacher_x, child, parent, real_worker):
    p = make_programme(term_x, "阅读社")
    session = make_session(p, teacher_x, weekday=TODAY.weekday())
    enrol(child, p)
    record = {
        "client_uuid": str(uuid.uuid4()),
        "session_id": session.pk,
        "student_id": child.pk,
        "date": str(TODAY),
        "mark": "absent",
    }
    response = api_as(teacher_x).post("afterschool/attendance/batch", {"records": [record]})
    assert response.status_code == 200, response.content
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not Notification.objects.filter(recipient=parent).exists():
        time.sleep(0.2)
    note = Notification.objects.get(recipient=parent)
    assert note.kind == "afterschool.absent" and "张小明" in note.body
