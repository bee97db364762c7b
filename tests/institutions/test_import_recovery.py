"""An import whose worker dies part-way is taken over and imported once: the dead run's transaction is rolled back,
the next run (a redelivery or the job sweep's) starts from the first row, and the job is marked done in the same
transaction as the rows, only by the run that owns it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core import jobs
from core.models import AuditEvent, Job
from institutions import imports
from institutions.models import Institution
from tests.conftest import PRODUCTION_LANE, ROOT, _test_database_url
from tests.institutions.test_import_export import posters, row, upload, xlsx  # noqa: F401 - posters: a fixture

pytestmark = pytest.mark.django_db


def start_job(actor, rows: int):
    """A queued import job whose message is not sent (as if the broker lost it, or a worker took it and died)."""
    content = xlsx([row(n) for n in range(1, rows + 1)])
    return imports._start_job(actor, SimpleUploadedFile("big.xlsx", content), rows, "big.xlsx")


def test_a_run_that_died_is_swept_and_the_next_imports_every_row_once(bureau_staff, api_as, posters):  # noqa: F811
    job = start_job(bureau_staff, 6)
    assert jobs.job_claim(job.pk, "dead-worker")  # a worker took it, then was killed: it never beats again
    with time_machine.travel(timezone.now() + timedelta(seconds=jobs.settings.JOB_STALE_SECONDS + 1), tick=False):
        assert jobs.job_sweep()["requeued"] == 1  # eager here: the task runs again at once
    body = api_as(bureau_staff).get(f"jobs/{job.pk}").json()
    assert (body["status"], body["succeeded"], body["result"]["created"]) == ("done", 6, 6)
    assert Institution.objects.count() == 6
    assert Job.objects.get(pk=job.pk).attempts == 2
    assert AuditEvent.objects.filter(verb="institution.import").count() == 1


def test_a_run_that_was_taken_over_rolls_its_rows_back(bureau_staff, posters):  # noqa: F811
    job = start_job(bureau_staff, 4)
    assert jobs.job_claim(job.pk, "slow-worker")
    Job.objects.filter(pk=job.pk).update(owner="other-worker")  # while it was silent, another run took over
    imports._run_claimed_import(job.pk, "slow-worker")
    assert Institution.objects.count() == 0 and posters == []
    row_ = Job.objects.get(pk=job.pk)
    assert (row_.status, row_.owner) == ("running", "other-worker")  # left to its owner
    assert not AuditEvent.objects.filter(verb="institution.import").exists()


# --- Production lane: a real worker killed mid-job --------------------------------------------------------------------


def start_worker(queue: str, log_path: Path, **env_extra) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_QUEUE": queue,
        "DB_CONN_MAX_AGE": "0",
        **{k: str(v) for k, v in env_extra.items()},
    }
    log = open(log_path, "a")  # noqa: SIM115 - the child holds it
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool", "solo",
         "--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
         "-n", f"{queue}-{uuid.uuid4().hex[:6]}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=20)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_is_taken_over_and_the_rows_are_imported_once(
    bureau_staff, api_as, settings, tmp_path
):
    """A 2,000-row import; the worker is SIGKILLed while it writes (inside the import's transaction); a new worker
    starts, the sweep finds the heartbeat stale and sends the job again, and the new run imports every row once."""
    if not PRODUCTION_LANE:
        pytest.skip("needs the production lane (REDIS_URL and DATABASE_URL set): a real broker and worker")
    from config.celery import app

    rows = 2000
    queue = f"test-kill-{uuid.uuid4().hex[:8]}"
    media = Path(os.environ.get("MEDIA_ROOT") or ROOT / "media")
    settings.MEDIA_ROOT = media  # where the worker looks
    settings.IMPORT_SYNC_MAX_ROWS = 1
    settings.JOB_STALE_SECONDS = 4
    beat = {"JOB_HEARTBEAT_SECONDS": 1, "JOB_STALE_SECONDS": 4, "IMPORT_PROGRESS_EVERY": 50, "MEDIA_ROOT": media}
    log = tmp_path / "workers.log"
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    first = start_worker(queue, log, **beat)
    second = None
    try:
        api = api_as(bureau_staff)
        response = upload(api, xlsx([row(n) for n in range(1, rows + 1)]))
        assert response.status_code == 202, response.content
        job_id = response.json()["job_id"]

        # Killed once it writes: past the check of every row (50 %), inside the transaction.
        deadline = time.monotonic() + 240
        body = {}
        while time.monotonic() < deadline:
            body = api.get(f"jobs/{job_id}").json()
            if body["status"] != "pending" and body["result"].get("phase") == "writing" and body["percent"] >= 55:
                break
            assert body["status"] in ("pending", "running"), (body, log.read_text()[-3000:])
            time.sleep(0.1)
        else:
            pytest.fail(f"the import never reached the writing phase: {body}\n{log.read_text()[-3000:]}")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=20)
        killed_at = body["percent"]
        print(f"worker killed at {killed_at} % ({body['result'].get('written')} of {rows} rows written)")

        assert Institution.objects.count() == 0  # the dead run's transaction is gone with its connection
        assert api.get(f"jobs/{job_id}").json()["status"] == "running"  # what it said for good before

        second = start_worker(queue, log, **beat)
        time.sleep(settings.JOB_STALE_SECONDS + 1)  # the dead owner's heartbeat goes stale
        assert jobs.job_sweep()["requeued"] == 1  # what beat runs every minute
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            body = api.get(f"jobs/{job_id}").json()
            if body["status"] in ("done", "failed"):
                break
            time.sleep(0.3)
        assert (body["status"], body["percent"], body["errors"]) == ("done", 100, []), (body, log.read_text()[-3000:])
        assert (body["succeeded"], body["result"]["created"]) == (rows, rows)
        assert Institution.objects.count() == rows
        assert Job.objects.get(pk=job_id).attempts == 2
        assert AuditEvent.objects.filter(verb="institution.import").count() == 1
        print(f"job {job_id} done once after a takeover: {rows} rows, 2 attempts")
    finally:
        app.conf.task_always_eager = True
        stop(first)
        if second is not None:
            stop(second)
