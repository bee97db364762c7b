"""A scheduling invariant under any order of requests: whatever sessions an admin asks for, the schedule that is
stored never has a teacher or a room in two places at once (hypothesis drives the service)."""

from datetime import time

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afterschool.schedule import services
from afterschool.schedule.models import Session
from core.errors import DomainError
from tests.afterschool.conftest import make_programme
from tests.factories import RoomFactory

pytestmark = pytest.mark.django_db

request = st.tuples(
    st.integers(0, 4),  # weekday
    st.integers(15 * 4, 18 * 4),  # start, in quarters of an hour
    st.integers(1, 8),  # length, in quarters
    st.integers(0, 2),  # teacher
    st.one_of(st.none(), st.integers(0, 1)),  # room
)


class Rollback(Exception):
    pass


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(requests=st.lists(request, min_size=1, max_size=12))
def test_no_stored_schedule_double_books_a_teacher_or_a_room(
    requests, term_x, school_admin_x, teacher_x, teacher_x2, room_x
):

    teachers = [teacher_x, teacher_x2, school_admin_x]
    try:
        with transaction.atomic():
            rooms = [room_x, RoomFactory(school=term_x.school)]
            programme = make_programme(term_x, "社团")
            for weekday, start, length, teacher, room in requests:
                end = min(start + length, 23 * 4)
                try:
                    services.session_create(
                        actor=school_admin_x,
                        programme=programme,
                        weekdays=[weekday],
                        starts_at=time(start // 4, start % 4 * 15),
                        ends_at=time(end // 4, end % 4 * 15),
                        teacher_id=teachers[teacher].pk,
                        room_id=None if room is None else rooms[room].pk,
                    )
                except DomainError as exc:
                    assert exc.code in {"session.staff_clash", "session.room_clash"}, exc.code
            stored = list(Session.objects.all())
            for i, a in enumerate(stored):
                for b in stored[i + 1 :]:
                    if services.sessions_overlap(a, b):
                        assert a.staff_id != b.staff_id
                        assert a.room_id is None or a.room_id != b.room_id
            raise Rollback
    except Rollback:
        pass
