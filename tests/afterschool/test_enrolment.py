"""Enrolment through the API: a parent applies for their own child, the class teacher approves, a full programme
puts the child on a waitlist that moves up by itself, withdrawal takes effect from the next school day."""

from datetime import date

import pytest
import time_machine

from afterschool.schedule.models import Application
from core.models import AuditEvent, Notification
from tests.afterschool.conftest import NOW, enrol, make_programme, make_session, make_student
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

S = Application.Status


def apply(api, student, programme):
    return api.post("afterschool/applications", {"student_id": student.pk, "programme_id": programme.pk})


def test_parent_applies_and_class_teacher_approves(parent, teacher_x, child, term_x, api_as):
    p = make_programme(term_x, "阅读社")
    r = apply(api_as(parent), child, p)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "pending" and body["student"]["name"] == "张小明"
    assert Notification.objects.filter(recipient=teacher_x, kind="afterschool.application_submitted").exists()

    r = api_as(teacher_x).post(f"afterschool/applications/{body['id']}/approve")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "approved"
    assert r.json()["active_from"] == "2026-11-25"  # today is a school day
    assert Notification.objects.filter(recipient=parent, kind="afterschool.application_approved").exists()
    event = AuditEvent.objects.get(verb="afterschool.application_approved")
    assert (event.from_state, event.to_state, event.actor_id) == ("pending", "approved", teacher_x.pk)


def test_a_parent_cannot_apply_for_a_child_not_theirs(other_parent, child, term_x, api_as):
    r = apply(api_as(other_parent), child, make_programme(term_x))
    assert_error(r, 404, "not_found")
    assert not Application.objects.exists()


def test_a_child_applied_twice_to_one_programme(parent, child, term_x, api_as):
    p = make_programme(term_x)
    api = api_as(parent)
    assert apply(api, child, p).status_code == 201
    err = assert_error(apply(api, child, p), 409, "application.duplicate")
    assert err["message"] == "该学生已报名此项目"
    assert Application.objects.count() == 1


def test_grade_outside_the_programme_is_refused(parent, child, term_x, api_as):
    p = make_programme(term_x, grade_min=5, grade_max=6)
    assert_error(apply(api_as(parent), child, p), 422, "application.grade_not_admitted")


def test_only_the_class_teacher_or_school_admin_decides(
    parent, child, term_x, teacher_x2, teacher_y, school_admin_y, other_parent, school_admin_x, api_as
):
    app = Application.objects.get(pk=apply(api_as(parent), child, make_programme(term_x)).json()["id"])
    for outsider in (teacher_x2, teacher_y, school_admin_y, other_parent, parent):
        assert_error(api_as(outsider).post(f"afterschool/applications/{app.pk}/approve"), 404, "not_found")
    r = api_as(school_admin_x).post(f"afterschool/applications/{app.pk}/reject", {"reason": "家长未签安全协议"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert Notification.objects.filter(recipient=parent, kind="afterschool.application_rejected").exists()
    assert_error(
        api_as(school_admin_x).post(f"afterschool/applications/{app.pk}/approve"), 409, "application.not_pending"
    )


def test_approval_refuses_a_student_clash(parent, child, term_x, teacher_x, teacher_x2, api_as):
    chess = make_programme(term_x, "围棋")
    make_session(chess, teacher_x, weekday=1)
    enrol(child, chess)
    football = make_programme(term_x, "足球")
    make_session(football, teacher_x2, weekday=1, start=(17, 0), end=(18, 30))
    app_id = apply(api_as(parent), child, football).json()["id"]
    err = assert_error(
        api_as(teacher_x).post(f"afterschool/applications/{app_id}/approve"), 409, "application.student_clash"
    )
    assert "围棋" in err["message"]


def test_full_programme_waitlists_with_priority_and_moves_up_on_withdrawal(
    parent, other_parent, child, school_x, class_x, teacher_x, term_x, api_as
):
    p = make_programme(term_x, "机器人", capacity=1)
    first = make_student(school_x, class_x, "先到", guardian=other_parent)
    plain = make_student(school_x, class_x, "普通", guardian=other_parent)
    child.left_behind = True
    child.save()
    teacher = api_as(teacher_x)
    ids = {}
    for s, guardian in ((first, other_parent), (plain, other_parent), (child, parent)):
        ids[s.pk] = apply(api_as(guardian), s, p).json()["id"]
        teacher.post(f"afterschool/applications/{ids[s.pk]}/approve")
    assert Application.objects.get(pk=ids[first.pk]).status == S.APPROVED
    assert Application.objects.get(pk=ids[plain.pk]).status == S.WAITLISTED
    assert Application.objects.get(pk=ids[child.pk]).status == S.WAITLISTED
    assert Notification.objects.filter(recipient=parent, kind="afterschool.application_waitlisted").exists()

    # Withdrawn on Wednesday: the leaver is on the roster today, gone from Thursday; the left-behind child, though
    # later on the waitlist, moves up first, from Thursday.
    r = api_as(other_parent).post(f"afterschool/applications/{ids[first.pk]}/withdraw")
    assert r.status_code == 200, r.content
    assert r.json()["active_until_excl"] == "2026-11-26"
    moved = Application.objects.get(pk=ids[child.pk])
    assert (moved.status, moved.active_from) == (S.APPROVED, date(2026, 11, 26))
    assert Application.objects.get(pk=ids[plain.pk]).status == S.WAITLISTED
    assert Notification.objects.filter(recipient=parent, kind="afterschool.waitlist_moved_up").exists()


def test_withdrawal_on_friday_takes_effect_on_monday(parent, child, term_x, api_as):
    p = make_programme(term_x)
    app = enrol(child, p)
    with time_machine.travel(NOW.replace(day=27), tick=True):  # Friday 27 November
        r = api_as(parent).post(f"afterschool/applications/{app.pk}/withdraw")
    assert r.json()["active_until_excl"] == "2026-11-30"
    event = AuditEvent.objects.get(verb="afterschool.application_withdrawn")
    assert (event.from_state, event.to_state) == ("approved", "withdrawn")


def test_withdrawal_of_someone_elses_application_is_404(parent, other_parent, child, term_x, api_as, school_admin_y):
    app = enrol(child, make_programme(term_x))
    for outsider in (other_parent, school_admin_y):
        assert_error(api_as(outsider).post(f"afterschool/applications/{app.pk}/withdraw"), 404, "not_found")
    assert Application.objects.get(pk=app.pk).status == S.APPROVED


def test_application_lists_are_scoped(parent, other_parent, child, other_child, term_x, teacher_x, teacher_x2, api_as):
    p = make_programme(term_x)
    apply(api_as(parent), child, p)
    apply(api_as(other_parent), other_child, p)

    def names(user):
        return sorted(a["student"]["name"] for a in api_as(user).get("afterschool/applications").json()["items"])

    assert names(parent) == ["张小明"]
    assert names(teacher_x) == ["张小明", "李小红"]  # their class
    assert names(teacher_x2) == []  # not their class


def test_parents_see_their_childs_programmes_and_timetable(parent, other_parent, child, term_x, teacher_x, api_as):
    p = make_programme(term_x, "阅读社")
    make_session(p, teacher_x, weekday=2)
    make_programme(term_x, "初中物理", grade_min=1, grade_max=2)
    enrol(child, p)
    api = api_as(parent)
    assert [c["name"] for c in api.get("afterschool/children").json()] == ["张小明"]
    assert [x["name"] for x in api.get(f"afterschool/children/{child.pk}/programmes").json()] == ["阅读社"]
    timetable = api.get(f"afterschool/children/{child.pk}/timetable").json()
    assert [(s["programme_name"], s["weekday_label"], s["starts_at"]) for s in timetable] == [
        ("阅读社", "周三", "16:00")
    ]
    assert_error(api_as(other_parent).get(f"afterschool/children/{child.pk}/timetable"), 404, "not_found")
    assert_error(api_as(other_parent).get(f"afterschool/children/{child.pk}/attendance"), 404, "not_found")
    assert api_as(other_parent).get("afterschool/children").json() == []


def test_each_decision_on_an_application_is_one_audit_event_from_to(
    teacher_x, child, other_child, term_x, school_x, class_x
):
    from afterschool.schedule import enrolment
    from core.errors import DomainError

    p = make_programme(term_x, capacity=1)
    full = make_programme(term_x, capacity=1)
    enrol(make_student(school_x, class_x), full)
    rejected = Application.objects.create(student=child, programme=p)
    waitlisted = Application.objects.create(student=other_child, programme=full)
    enrolment.application_reject(actor=teacher_x, application_id=rejected.pk, reason="时间冲突")
    enrolment.application_approve(actor=teacher_x, application_id=waitlisted.pk)
    moves = AuditEvent.objects.filter(verb__startswith="afterschool.application_").exclude(to_state="pending")
    assert sorted((e.object_id, e.from_state, e.to_state, e.actor_id) for e in moves) == sorted([
        (str(rejected.pk), "pending", "rejected", teacher_x.pk),
        (str(waitlisted.pk), "pending", "waitlisted", teacher_x.pk),
    ])
    for decided in (rejected, waitlisted):  # decided once: a second decision is refused, and not audited
        with pytest.raises(DomainError) as refused:
            enrolment.application_reject(actor=teacher_x, application_id=decided.pk, reason="再次")
        assert refused.value.code == "application.not_pending"
    assert moves.count() == 2
