"""core.transitions: the one way a row changes state (guard, allowed states, conditional write, audit, on_commit)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone, translation

from core.errors import DomainError
from core.models import AuditEvent, Job
from core.transitions import transition, transition_many
from tests.concurrency import race
from tests.factories import UserFactory

S = Job.Status


@pytest.fixture
def user(db):
    return UserFactory(name="甲")


@pytest.fixture
def job(user):
    return Job.objects.create(kind="import", created_by=user)


def start(target, pk=None, **kw):
    kw.setdefault("actor", None)
    return transition(target, pk, verb="job.start", allowed_from=S.PENDING, to=S.RUNNING, **kw)


def test_moves_the_row_and_audits_from_and_to(job, user):
    row = start(job, actor=user, data={"why": "test"}, fields={"owner": "w1", "attempts": F("attempts") + 1})
    assert row is job and row.status == S.RUNNING and row.owner == "w1" and row.attempts == 1
    job.refresh_from_db()
    assert (job.status, job.owner, job.attempts) == (S.RUNNING, "w1", 1)
    event = AuditEvent.objects.get(verb="job.start")
    assert (event.actor, event.object_type, event.object_id) == (user, "core.job", str(job.pk))
    assert (event.from_state, event.to_state, event.data) == (S.PENDING, S.RUNNING, {"why": "test"})


def test_by_pk_of_a_model_or_a_queryset(job):
    assert start(Job, job.pk).status == S.RUNNING
    row = transition(
        Job.objects.filter(kind="import"), job.pk, actor=None, verb="job.done", allowed_from=(S.RUNNING,), to=S.DONE,
        fields={"finished_at": timezone.now()},
    )  # fmt: skip
    assert row.status == S.DONE and row.finished_at is not None
    with pytest.raises(Job.DoesNotExist):
        start(Job.objects.filter(kind="export"), job.pk)


def test_the_wrong_state_is_refused_with_a_stable_409_naming_it(job):
    Job.objects.filter(pk=job.pk).update(status=S.DONE)
    job.refresh_from_db()
    with pytest.raises(DomainError) as caught:
        start(job)
    assert (caught.value.code, caught.value.status) == ("job.invalid_transition", 409)
    assert caught.value.message("zh") == "当前状态（已完成）不能执行此操作"
    with translation.override("en"):
        assert caught.value.message("en") == "Not possible in the current state (done)"
    assert not AuditEvent.objects.exists()


def test_a_caller_keeps_its_own_error(job):
    job.status = S.FAILED
    with pytest.raises(DomainError) as caught:
        start(job, error=lambda row: DomainError("job.not_pending", "不在排队中", status=409))
    assert caught.value.code == "job.not_pending"


def test_the_guard_refuses(job):
    with pytest.raises(DomainError) as caught:
        start(job, guard=lambda row: False)
    assert caught.value.code == "permission_denied"

    def guard(row):
        raise DomainError("job.not_yours", "不是你的", status=403)

    with pytest.raises(DomainError) as caught:
        start(job, guard=guard)
    assert caught.value.code == "job.not_yours"
    job.refresh_from_db()
    assert job.status == S.PENDING and not AuditEvent.objects.exists()


def test_a_row_changed_since_it_was_read_loses(job):
    """What SQLite's conditional UPDATE catches: the state read is no longer the state stored."""
    Job.objects.filter(pk=job.pk).update(status=S.FAILED)
    with pytest.raises(DomainError) as caught:
        start(job, fields={"owner": "w1"})
    assert caught.value.code == "job.invalid_transition"
    assert (job.status, job.owner) == (S.FAILED, "")  # the instance shows the stored state, not the attempted one
    with pytest.raises(DomainError) as caught:
        Job.objects.filter(pk=job.pk).update(status=S.PENDING)
        job.status = S.PENDING
        Job.objects.filter(pk=job.pk).update(status=S.DONE)
        start(job, stale=lambda row: DomainError("job.changed_meanwhile", "已被他人处理", status=409))
    assert caught.value.code == "job.changed_meanwhile"
    assert not AuditEvent.objects.exists()


def test_side_effects_run_only_after_the_commit(job, django_capture_on_commit_callbacks):
    ran = []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        start(job, on_commit=[lambda: ran.append("push")])
        assert ran == []  # still inside the transaction
    assert ran == ["push"] and len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(DomainError):
        start(job, on_commit=[lambda: ran.append("again")])
    assert ran == ["push"] and callbacks == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane")
def test_two_at_once_give_one_winner():
    job = Job.objects.create(kind="import", created_by=UserFactory(name="乙"))
    results = race(lambda: start(Job, job.pk), n=4)
    winners = [r for r in results if isinstance(r, Job)]
    losers = [r for r in results if isinstance(r, DomainError)]
    assert len(winners) == 1 and len(losers) == 3, results
    assert {e.code for e in losers} == {"job.invalid_transition"}
    assert AuditEvent.objects.filter(verb="job.start").count() == 1


def test_where_adds_conditions_to_the_write(job):
    """A version (or any field) read with the row: a row changed in another field since loses too."""
    with pytest.raises(DomainError) as caught:
        start(job, where={"attempts": 3})
    assert caught.value.code == "job.invalid_transition" and job.status == S.PENDING
    assert start(job, where={"attempts": 0}).status == S.RUNNING


def test_many_rows_move_together_each_audited_and_the_others_left_alone(user):
    jobs = [Job.objects.create(kind="import", created_by=user) for _ in range(3)]
    Job.objects.filter(pk=jobs[2].pk).update(status=S.DONE)
    moved = transition_many(
        Job.objects.filter(kind="import"), actor=user, verb="job.cancel", allowed_from=S.PENDING, to=S.FAILED,
        fields={"owner": ""}, data={"why": "test"},
    )  # fmt: skip
    assert moved == [jobs[0].pk, jobs[1].pk]
    assert list(Job.objects.order_by("pk").values_list("status", flat=True)) == [S.FAILED, S.FAILED, S.DONE]
    events = AuditEvent.objects.filter(verb="job.cancel").order_by("id")
    assert [(e.object_type, e.object_id, e.from_state, e.to_state, e.actor, e.data) for e in events] == [
        ("core.job", str(j.pk), S.PENDING, S.FAILED, user, {"why": "test"}) for j in jobs[:2]
    ]
    assert transition_many(Job.objects.all(), actor=user, verb="job.cancel", allowed_from=S.PENDING, to=S.FAILED) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane")
def test_many_rows_moved_twice_at_once_move_once():
    user = UserFactory(name="丙")
    for _ in range(5):
        Job.objects.create(kind="import", created_by=user)

    def cancel():
        return transition_many(Job.objects.all(), actor=None, verb="job.cancel", allowed_from=S.PENDING, to=S.FAILED)

    results = race(cancel, n=2)
    assert sorted(len(r) for r in results) == [0, 5], results
    assert AuditEvent.objects.filter(verb="job.cancel").count() == 5
