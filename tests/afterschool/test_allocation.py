"""The choice-window allocation: a property test of the pure function (never over capacity, never a child placed
twice, the same seed gives the same result, priority first), then the whole flow through the API."""

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afterschool.schedule.allocation import Applicant, allocate
from afterschool.schedule.models import Application, ChoiceWindow
from afterschool.schedule.tasks import allocate_due_windows
from core.models import AuditEvent, Notification
from tests.afterschool.conftest import NOW, enrol, make_programme, make_student
from tests.conftest import assert_error
from tests.factories import ChoiceWindowFactory

PROGRAMMES = list(range(1, 6))


@st.composite
def scenarios(draw):
    n = draw(st.integers(0, 60))
    applicants = []
    for sid in draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n, unique=True)):
        choices = draw(st.lists(st.sampled_from(PROGRAMMES), min_size=1, max_size=3, unique=True))
        excluded = draw(st.frozensets(st.sampled_from(PROGRAMMES), max_size=2))
        applicants.append(Applicant(sid, draw(st.booleans()), tuple(choices), excluded))
    places = {p: draw(st.integers(-2, 15)) for p in PROGRAMMES}
    return applicants, places, draw(st.integers(0, 2**62))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(scenarios())
def test_allocation_never_overfills_never_places_twice_and_is_reproducible(scenario):
    applicants, places, seed = scenario
    result = allocate(applicants, places, seed)

    taken: dict[int, int] = {}
    for sid, (pid, rank) in result.placed.items():
        taken[pid] = taken.get(pid, 0) + 1
        a = next(a for a in applicants if a.student_id == sid)
        assert a.choices[rank - 1] == pid and pid not in a.excluded  # only a programme the child chose and can take
    for pid, n in taken.items():
        assert n <= max(0, places[pid])
    assert len(result.placed) == len(set(result.placed))  # a dict: one place per child at most
    waiting = [sid for sids in result.waitlist.values() for sid in sids]
    assert not set(waiting) & set(result.placed)  # nobody both placed and waiting

    again = allocate(list(reversed(applicants)), dict(places), seed)  # input order does not matter either
    assert (again.placed, again.waitlist, again.lottery) == (result.placed, result.waitlist, result.lottery)

    # Nobody without priority takes a first choice a priority child wanted and did not get.
    for a in applicants:
        if a.priority and a.student_id not in result.placed and a.choices[0] not in a.excluded:
            pid = a.choices[0]
            assert all(
                next(b for b in applicants if b.student_id == sid).priority
                for sid, (p, rank) in result.placed.items()
                if p == pid and rank == 1
            )


def test_a_different_seed_changes_the_draw():
    applicants = [Applicant(i, False, (1,)) for i in range(1, 41)]
    a = allocate(applicants, {1: 10}, 1)
    b = allocate(applicants, {1: 10}, 2)
    assert set(a.placed) != set(b.placed)
    assert len(a.placed) == len(b.placed) == 10


def test_next_choice_when_the_first_is_full():
    applicants = [Applicant(1, True, (1, 2)), Applicant(2, False, (1, 2)), Applicant(3, False, (1,))]
    result = allocate(applicants, {1: 1, 2: 1}, 7)
    assert result.placed[1] == (1, 1)  # priority first
    assert result.placed[2] == (2, 2)
    assert result.waitlist == {1: [3]}


# --- Through the API ------------------------------------------------------------------------------------------------


@pytest.fixture
def window_setup(db, school_x, term_x, class_x, parent, other_parent):
    robots = make_programme(term_x, "机器人", kind="science_tech", capacity=1)
    dance = make_programme(term_x, "舞蹈", kind="arts", capacity=1)
    window = ChoiceWindowFactory(term=term_x, name="热门项目志愿")
    window.programmes.set([robots, dance])
    kids = [make_student(school_x, class_x, f"孩子{i}", guardian=parent if i == 0 else other_parent) for i in range(3)]
    return window, robots, dance, kids


@pytest.mark.django_db
def test_choice_window_flow_with_recorded_lottery_and_notifications(
    window_setup, parent, other_parent, school_admin_x, api_as, django_capture_on_commit_callbacks
):
    window, robots, dance, kids = window_setup
    for kid in kids:
        guardian = parent if kid is kids[0] else other_parent
        r = api_as(guardian).post(
            f"afterschool/choice-windows/{window.pk}/choices",
            {"student_id": kid.pk, "programme_ids": [robots.pk, dance.pk]},
        )
        assert r.status_code == 200, r.content
        assert [c["rank"] for c in r.json()] == [1, 2]
    # Sending again replaces the ranking rather than doubling it.
    api_as(parent).post(
        f"afterschool/choice-windows/{window.pk}/choices",
        {"student_id": kids[0].pk, "programme_ids": [robots.pk, dance.pk]},
    )
    assert Application.objects.filter(window=window).count() == 6

    with django_capture_on_commit_callbacks(execute=True):
        r = api_as(school_admin_x).post(f"afterschool/choice-windows/{window.pk}/allocate", {"seed": 20261125})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "allocated" and body["seed"] == "20261125"
    assert body["result"]["placed"] == 2 and body["result"]["waitlisted"] == 1

    placed = Application.objects.filter(window=window, status="approved")
    assert sorted(a.programme_id for a in placed) == sorted([robots.pk, dance.pk])
    assert len({a.student_id for a in placed}) == 2
    assert Application.objects.filter(window=window, lottery_number__isnull=True).count() == 0
    assert AuditEvent.objects.filter(verb="afterschool.application_allocated").count() == 6
    assert Notification.objects.filter(kind="afterschool.allocation_result", recipient=parent).count() == 1
    assert Notification.objects.filter(kind="afterschool.allocation_result", recipient=other_parent).count() == 2

    assert_error(
        api_as(school_admin_x).post(f"afterschool/choice-windows/{window.pk}/allocate", {}),
        409,
        "window.already_allocated",
    )
    # The same seed on the same choices gives the same placement (the recorded seed reproduces the draw).
    from afterschool.schedule.allocation import lottery_numbers

    numbers = lottery_numbers([k.pk for k in kids], 20261125)
    assert {a.student_id: a.lottery_number for a in Application.objects.filter(window=window)} == numbers

    # A place frees: the waitlisted child moves up by itself and leaves the other waitlist.
    leaver = placed.first()
    waiting = Application.objects.get(window=window, status="waitlisted", programme=leaver.programme)
    guardian = parent if leaver.student_id == kids[0].pk else other_parent
    api_as(guardian).post(f"afterschool/applications/{leaver.pk}/withdraw")
    waiting.refresh_from_db()
    assert waiting.status == "approved"
    assert not Application.objects.filter(window=window, student=waiting.student, status="waitlisted").exists()


@pytest.mark.django_db
def test_choices_bad_input_and_scope(window_setup, parent, other_parent, api_as, term_x):
    window, robots, dance, kids = window_setup
    url = f"afterschool/choice-windows/{window.pk}/choices"
    other = make_programme(term_x, "不在窗口")
    assert_error(api_as(parent).post(url, {"student_id": kids[1].pk, "programme_ids": [robots.pk]}), 404)
    assert_error(
        api_as(parent).post(url, {"student_id": kids[0].pk, "programme_ids": [robots.pk, robots.pk]}),
        422,
        "window.choices_invalid",
    )
    assert_error(
        api_as(parent).post(url, {"student_id": kids[0].pk, "programme_ids": [other.pk]}),
        422,
        "window.programme_unknown",
    )
    # Direct applications to a programme in an open window are sent to the window.
    r = api_as(parent).post("afterschool/applications", {"student_id": kids[0].pk, "programme_id": robots.pk})
    assert_error(r, 409, "application.use_choice_window")
    window.closes_at = NOW - timedelta(minutes=1)
    window.save()
    assert_error(
        api_as(parent).post(url, {"student_id": kids[0].pk, "programme_ids": [robots.pk]}), 409, "window.closed"
    )


@pytest.mark.django_db
def test_the_beat_task_allocates_windows_that_have_closed(window_setup, parent, api_as):
    window, robots, dance, kids = window_setup
    api_as(parent).post(
        f"afterschool/choice-windows/{window.pk}/choices", {"student_id": kids[0].pk, "programme_ids": [dance.pk]}
    )
    assert allocate_due_windows() == 0  # still open
    ChoiceWindow.objects.filter(pk=window.pk).update(closes_at=NOW - timedelta(minutes=1))
    assert allocate_due_windows() == 1
    window.refresh_from_db()
    assert window.status == "allocated" and window.seed is not None
    assert Application.objects.get(student=kids[0], window=window).status == "approved"


@pytest.mark.django_db
def test_allocation_skips_a_choice_that_clashes_with_an_enrolment(window_setup, parent, api_as, teacher_x, term_x):
    from tests.afterschool.conftest import make_session

    window, robots, dance, kids = window_setup
    chess = make_programme(term_x, "围棋")
    make_session(chess, teacher_x, weekday=0)
    make_session(robots, teacher_x, weekday=0, start=(17, 0), end=(18, 30), first_date=term_x.starts_on)
    enrol(kids[0], chess)
    api_as(parent).post(
        f"afterschool/choice-windows/{window.pk}/choices",
        {"student_id": kids[0].pk, "programme_ids": [robots.pk, dance.pk]},
    )
    ChoiceWindow.objects.filter(pk=window.pk).update(closes_at=NOW - timedelta(minutes=1))
    allocate_due_windows()
    assert Application.objects.get(student=kids[0], window=window, status="approved").programme == dance
