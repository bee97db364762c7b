"""Jobs whose worker died: an owner and a heartbeat; a run that stopped beating is taken over (by a redelivered task
or the periodic sweep) and finishes once, or after JOB_MAX_ATTEMPTS the job fails with a reason its creator reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from core import jobs
from core.models import Job

pytestmark = pytest.mark.django_db


def later(seconds: float):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False)


def stale_seconds() -> int:
    return django_settings.JOB_STALE_SECONDS + 1


@pytest.fixture
def job(bureau_staff):
    return jobs.job_create(actor=bureau_staff, kind="test.kind", task="core.notify_users", total=10)


def test_a_live_run_keeps_its_job_and_a_stale_one_is_taken_over(job):
    assert jobs.job_claim(job.pk, "worker-a")
    assert not jobs.job_claim(job.pk, "worker-b")  # a duplicate delivery while A beats: nothing
    with later(stale_seconds()):
        assert jobs.job_claim(job.pk, "worker-b")  # A fell silent: B takes it over
        row = Job.objects.get(pk=job.pk)
        assert (row.status, row.owner, row.attempts) == ("running", "worker-b", 2)
        # A comes back and tries to finish: refused, so its all-or-nothing work rolls back; B finishes.
        assert not jobs.job_finish(job.pk, result={}, succeeded=10, processed=10, owner="worker-a")
        assert not jobs.job_fail(job.pk, errors=[], owner="worker-a")
        assert jobs.job_finish(job.pk, result={}, succeeded=10, processed=10, owner="worker-b")
    assert Job.objects.get(pk=job.pk).status == "done"


def test_the_heartbeat_writes_the_sign_of_life_and_the_progress_to_the_row(job):
    assert jobs.job_claim(job.pk, "worker-a")
    jobs.job_progress(job.pk, processed=7)
    with later(30):
        beat = jobs._Heartbeat(job.pk, "worker-a", every=1)
        assert beat.beat()
        row = Job.objects.get(pk=job.pk)
        assert row.heartbeat_at == timezone.now() and row.processed == 7
        assert not jobs._Heartbeat(job.pk, "worker-b", every=1).beat()  # not B's: B's beat stops


def test_after_the_last_attempt_the_job_fails_with_a_reason_its_creator_reads(job, bureau_staff, api_as, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    assert jobs.job_claim(job.pk, "worker-a")
    with later(stale_seconds()):
        assert jobs.job_claim(job.pk, "worker-b")
    with later(2 * stale_seconds()):
        assert not jobs.job_claim(job.pk, "worker-c")  # B died too: out of attempts
        body = api_as(bureau_staff, lang="en").get(f"jobs/{job.pk}").json()
    assert (body["status"], body["percent"], body["result"]["reason"]) == ("failed", 100, "job.abandoned")
    assert body["errors"][0]["message"].startswith("The job was interrupted 2 times")
    zh = api_as(bureau_staff).get(f"jobs/{job.pk}").json()
    assert "中断了 2 次" in zh["errors"][0]["message"]


def test_the_sweep_sends_a_stale_job_again_once_and_fails_one_out_of_attempts(job, bureau_staff, monkeypatch):
    sent = []
    monkeypatch.setattr("core.dispatch.enqueue", lambda name, args=(), kwargs=None: sent.append((name, list(args))))
    other = jobs.job_create(actor=bureau_staff, kind="test.kind", task="core.notify_users")
    assert jobs.job_claim(job.pk, "worker-a") and jobs.job_claim(other.pk, "worker-a")
    Job.objects.filter(pk=other.pk).update(attempts=django_settings.JOB_MAX_ATTEMPTS)
    assert jobs.job_sweep() == {"requeued": 0, "failed": 0, "resent": 0}  # both beating
    with later(stale_seconds()):
        assert jobs.job_sweep() == {"requeued": 1, "failed": 1, "resent": 0}
        assert jobs.job_sweep() == {"requeued": 0, "failed": 0, "resent": 0}  # sent once, not every minute
    assert sent == [("core.notify_users", [job.pk])]
    row = Job.objects.get(pk=job.pk)
    assert (row.status, row.owner, row.attempts) == ("pending", "", 1)
    assert Job.objects.get(pk=other.pk).status == "failed"
    assert jobs.job_claim(job.pk, "worker-b") and Job.objects.get(pk=job.pk).attempts == 2


def test_the_sweep_sends_again_a_pending_job_whose_message_was_lost(job, monkeypatch, settings):
    sent = []
    monkeypatch.setattr("core.dispatch.enqueue", lambda name, args=(), kwargs=None: sent.append(list(args)))
    assert jobs.job_sweep()["resent"] == 0
    with later(settings.JOB_REQUEUE_SECONDS + 1):
        assert jobs.job_sweep()["resent"] == 1
        assert jobs.job_sweep()["resent"] == 0
    assert sent == [[job.pk]]


def test_the_sweep_is_scheduled_every_minute():
    entry = django_settings.CELERY_BEAT_SCHEDULE["job-sweep"]
    assert entry["task"] == "core.job_sweep" and entry["schedule"] == timedelta(minutes=1)
    from config.celery import app

    app.loader.import_default_modules()
    assert "core.job_sweep" in app.tasks
