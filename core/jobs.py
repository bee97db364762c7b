"""Jobs: long work run by a task (an import, an export) whose progress its creator can poll.

A job moves pending → running → done | failed. Only the run that claimed it (pending → running, a conditional
UPDATE naming it the job's owner) works on it, so a duplicate delivery of the same task does nothing.

A worker can die mid-job (killed, out of memory, the machine restarted); its message comes back only after the
broker's visibility timeout (an hour on Redis). So while a job runs, its owner beats: a thread writes
`heartbeat_at` (and the progress) to the row every JOB_HEARTBEAT_SECONDS, outside the work's transaction. A job whose
heartbeat is older than JOB_STALE_SECONDS is taken over: by a redelivered task, which claims it as if pending, or by
the periodic `job_sweep`, which puts it back to pending and sends its task again. Every claim counts an attempt;
after JOB_MAX_ATTEMPTS the job fails with a reason its creator reads at GET /jobs/{id}. Work that is all or nothing
finishes the job inside its own transaction, conditionally on still owning it (`job_finish(owner=…)` → False), so
a run that was taken over rolls back instead of writing a second time. Progress is written to the row when
the work is not inside a transaction, and always to the cache too: work that runs inside one long transaction
(an all-or-nothing import) is invisible in the database until it commits, but its progress is not.

Errors are stored bilingual ({"line", "column", "field", "message_zh", "message_en"}) and rendered in the caller's
language when read.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import File
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .errors import NotFound, is_english, render
from .models import Job
from .scoping import get_in_scope

logger = logging.getLogger(__name__)

LIVE_TTL_SECONDS = 6 * 3600
FINISHED = (Job.Status.DONE, Job.Status.FAILED)


class JobLost(Exception):
    """The job was taken over by another run (this one's heartbeat went stale): this run's work must roll back."""


def _live_key(job_id: int) -> str:
    return f"job-progress:{job_id}"


def job_create(*, actor, kind: str, task: str = "", upload=None, total: int = 0, result: dict | None = None) -> Job:
    """A pending job; `upload` (a file object) is stored under a random name in Job.input_file. `task` is the
    registered name of the task that runs it with the job's id, which the sweep sends again when needed."""
    job = Job(kind=kind, task=task, created_by=actor, total=total, result=result or {})
    if upload is not None:
        upload.seek(0)
        ext = os.path.splitext(getattr(upload, "name", "") or "")[1].lower()[:8]
        job.input_file.save(f"{uuid.uuid4().hex}{ext}", File(upload), save=False)
    job.save()
    return job


def new_owner() -> str:
    """A name for one run of a job: host, process and a random part (a process runs jobs one after another)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _stale_before(now):
    return now - timedelta(seconds=settings.JOB_STALE_SECONDS)


def _stale(now) -> Q:
    """Running, but its owner has not beaten for JOB_STALE_SECONDS (or never did and it is that old)."""
    before = _stale_before(now)
    return Q(status=Job.Status.RUNNING) & (
        Q(heartbeat_at__lt=before) | Q(heartbeat_at__isnull=True, created_at__lt=before)
    )


def job_claim(job_id: int, owner: str = "") -> bool:
    """pending → running, or a running job whose owner stopped beating taken over, by `owner`. False when another
    live run has it or it is finished (the task then does nothing); a job out of attempts is failed instead."""
    now = timezone.now()
    claimable = Q(pk=job_id) & (Q(status=Job.Status.PENDING) | _stale(now))
    taken = Job.objects.filter(claimable, attempts__lt=settings.JOB_MAX_ATTEMPTS).update(
        status=Job.Status.RUNNING, owner=owner or new_owner(), heartbeat_at=now, attempts=F("attempts") + 1
    )
    if taken:
        cache.delete(_live_key(job_id))  # the progress of an earlier run that died
        return True
    if Job.objects.filter(claimable, attempts__gte=settings.JOB_MAX_ATTEMPTS).exists():
        _give_up(job_id)
    return False


def _give_up(job_id: int) -> None:
    attempts = settings.JOB_MAX_ATTEMPTS
    job_fail(
        job_id,
        errors=[
            {
                "code": "job.abandoned",
                "line": None,
                "column": "",
                "field": "",
                **error_texts(
                    format_lazy(
                        _("任务执行中断了 {attempts} 次，已停止，未写入任何数据；请稍后重新提交"), attempts=attempts
                    )
                ),
            }
        ],
        result={"reason": "job.abandoned"},
    )


def job_release(job_id: int, owner: str = "") -> None:
    """running → pending, for a task about to be retried (a lost connection): the retry claims it again."""
    running = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING)
    if owner:
        running = running.filter(owner=owner)
    running.update(status=Job.Status.PENDING, owner="")
    cache.delete(_live_key(job_id))


class _Heartbeat(threading.Thread):
    """Writes the owner's sign of life and the progress to the job's row every `every` seconds, on a connection
    of its own (so outside the work's transaction); stops when the job is no longer this owner's."""

    def __init__(self, job_id: int, owner: str, every: float):
        super().__init__(name=f"job-heartbeat-{job_id}", daemon=True)
        self.job_id, self.owner, self.every = job_id, owner, every
        self.stopping = threading.Event()

    def run(self):
        try:
            while not self.stopping.wait(self.every):
                if not self.beat():
                    break
        finally:
            connection.close()  # this thread's own connection

    def beat(self) -> bool:
        values = {"heartbeat_at": timezone.now()}
        live = cache.get(_live_key(self.job_id)) or {}
        if "processed" in live:
            values["processed"] = live["processed"]
        try:
            return bool(
                Job.objects.filter(pk=self.job_id, owner=self.owner, status=Job.Status.RUNNING).update(**values)
            )
        except DatabaseError:
            logger.warning("Job %s: heartbeat not written", self.job_id, exc_info=True)
            connection.close()
            return True  # try again at the next beat


@contextmanager
def job_heartbeat(job_id: int, owner: str):
    """While the block runs, `owner` beats for the job (JOB_HEARTBEAT_SECONDS; 0 turns it off: the embedded
    default runs jobs eagerly inside the request)."""
    every = settings.JOB_HEARTBEAT_SECONDS
    if every <= 0:
        yield
        return
    beat = _Heartbeat(job_id, owner, every)
    beat.start()
    try:
        yield
    finally:
        beat.stopping.set()
        beat.join(timeout=every + 10)


def job_sweep() -> dict:
    """The periodic sweep (task core.job_sweep): a running job whose owner stopped beating goes back to pending and
    its task is sent again (or it fails, out of attempts); a pending job whose message was lost (a broker that
    lost its data) is sent again after JOB_REQUEUE_SECONDS. Sending twice is harmless: only one run claims."""
    from .dispatch import enqueue

    now = timezone.now()
    requeued = failed = resent = 0
    for job in Job.objects.filter(_stale(now)).only("pk", "task", "attempts"):
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            _give_up(job.pk)
            failed += 1
            continue
        if not job.task:
            continue
        # heartbeat_at on a pending job: when it was last sent.
        if Job.objects.filter(_stale(now), pk=job.pk).update(status=Job.Status.PENDING, owner="", heartbeat_at=now):
            cache.delete(_live_key(job.pk))
            logger.warning("Job %s: its owner stopped beating; sent again (attempt %s)", job.pk, job.attempts + 1)
            enqueue(job.task, args=[job.pk])
            requeued += 1
    lost_before = now - timedelta(seconds=settings.JOB_REQUEUE_SECONDS)
    waiting = Job.objects.annotate(sent_at=Coalesce("heartbeat_at", "created_at")).filter(
        status=Job.Status.PENDING, sent_at__lt=lost_before
    )
    for job in waiting.exclude(task="").only("pk", "task"):
        if Job.objects.filter(pk=job.pk, status=Job.Status.PENDING).update(heartbeat_at=now):
            enqueue(job.task, args=[job.pk])
            resent += 1
    return {"requeued": requeued, "failed": failed, "resent": resent}


def job_progress(job_id: int, *, processed: int, total: int | None = None, **live) -> None:
    """Rows handled so far. `live` values (e.g. phase="writing", written=500) are shown in the job's result while
    it runs; they live in the cache only."""
    values = {"processed": processed}
    if total is not None:
        values["total"] = total
    if not transaction.get_connection().in_atomic_block:
        Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(**values)
    cache.set(_live_key(job_id), {**values, **live}, LIVE_TTL_SECONDS)


def job_finish(job_id: int, *, result: dict, succeeded: int, processed: int, failed: int = 0, owner: str = "") -> bool:
    """Done. With `owner`, only if that run still owns the job: call it inside the work's transaction and roll
    back on False (JobLost), so work that was taken over is not written twice."""
    return _close(
        job_id, Job.Status.DONE, owner, result=result, succeeded=succeeded, processed=processed, failed=failed,
        errors=[],
    )  # fmt: skip


def job_fail(
    job_id: int,
    *,
    errors: list[dict],
    result: dict | None = None,
    processed: int | None = None,
    failed: int = 0,
    owner: str = "",
) -> bool:
    values = {"result": result or {}, "failed": failed, "succeeded": 0, "errors": errors}
    if processed is not None:
        values["processed"] = processed
    return _close(job_id, Job.Status.FAILED, owner, **values)


def _close(job_id: int, status: str, owner: str = "", **values) -> bool:
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return False
    values["result"] = {**job.result, **values.get("result", {})}
    open_ = Job.objects.filter(pk=job_id).exclude(status__in=FINISHED)
    if owner:
        open_ = open_.filter(owner=owner, status=Job.Status.RUNNING)
    if not open_.update(status=status, finished_at=timezone.now(), **values):
        return False

    def cleanup():
        cache.delete(_live_key(job_id))
        # The upload may hold personal data (names, phone numbers): it is not kept once the work is over.
        if job.input_file:
            job.input_file.delete(save=False)
            Job.objects.filter(pk=job_id).update(input_file="")

    transaction.on_commit(cleanup)
    return True


def access_job(user, job_id) -> Job:
    """A job is seen by the one who started it; anyone else gets the same 404 as for a missing job."""
    if not getattr(user, "pk", None):
        raise NotFound(_("任务不存在"))
    return get_in_scope(Job.objects.filter(created_by=user), job_id, _("任务不存在"))


def job_as_dict(job: Job, lang: str = "zh") -> dict:
    """What GET /jobs/{id} answers. While the job runs, the progress in the cache wins over the row's."""
    processed, result = job.processed, dict(job.result)
    if job.status not in FINISHED:
        live = cache.get(_live_key(job.pk)) or {}
        processed = max(processed, live.get("processed", 0))
        result.update({k: v for k, v in live.items() if k not in {"processed", "total"}})
    total = job.total
    if job.status in FINISHED:
        percent = 100
    elif total:
        # Work in two passes (check every row, then write them) says so with result["passes"] = 2 and reports
        # `written` in the second: both passes count towards the percentage, which says 100 only when finished.
        passes = max(1, int(result.get("passes", 1)))
        steps = processed + int(result.get("written", 0))
        percent = min(99, steps * 100 // (total * passes))
    else:
        percent = 0
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "percent": percent,
        "total": total,
        "processed": processed,
        "succeeded": job.succeeded,
        "failed": job.failed,
        "errors": [render_error(e, lang) for e in job.errors],
        "result": result,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def error_texts(message) -> dict:
    """A job error's message as stored: one gettext message (Chinese msgid) rendered in each language, since a job's
    record is JSON read later by whoever polls it, in their language (render_error, stored_message)."""
    return {"message_zh": render(message, "zh"), "message_en": render(message, "en")}


def _stored(zh: str, en: str) -> str:
    return (en if is_english() else zh) or zh or en


_stored_lazy = lazy(_stored, str)


def stored_message(error: dict):
    """A stored job error's message in the reader's language, chosen when it is read."""
    return _stored_lazy(error.get("message_zh") or "", error.get("message_en") or "")


def render_error(error: dict, lang: str) -> dict:
    message = error.get("message_en") if lang == "en" else error.get("message_zh")
    return {
        "line": error.get("line"),
        "column": error.get("column", ""),
        "field": error.get("field", ""),
        "message": message or error.get("message_zh") or error.get("message_en") or "",
    }
