"""Jobs: long work run by a task (an import, an export) whose progress its creator can poll.

A job moves pending → running → done | failed. Only the task that claimed it (pending → running, a conditional
UPDATE) works on it, so a duplicate delivery of the same task does nothing. Progress is written to the row when
the work is not inside a transaction, and always to the cache too: work that runs inside one long transaction
(an all-or-nothing import) is invisible in the database until it commits, but its progress is not.

Errors are stored bilingual ({"line", "column", "field", "message_zh", "message_en"}) and rendered in the caller's
language when read.
"""

from __future__ import annotations

import os
import uuid

from django.core.cache import cache
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .errors import NotFound
from .models import Job
from .scoping import get_in_scope

LIVE_TTL_SECONDS = 6 * 3600
FINISHED = (Job.Status.DONE, Job.Status.FAILED)


def _live_key(job_id: int) -> str:
    return f"job-progress:{job_id}"


def job_create(*, actor, kind: str, upload=None, total: int = 0, result: dict | None = None) -> Job:
    """A pending job; `upload` (a file object) is stored under a random name in Job.input_file."""
    job = Job(kind=kind, created_by=actor, total=total, result=result or {})
    if upload is not None:
        upload.seek(0)
        ext = os.path.splitext(getattr(upload, "name", "") or "")[1].lower()[:8]
        job.input_file.save(f"{uuid.uuid4().hex}{ext}", File(upload), save=False)
    job.save()
    return job


def job_claim(job_id: int) -> bool:
    """pending → running; False when another run has it or it is finished (the task then does nothing)."""
    return bool(Job.objects.filter(pk=job_id, status=Job.Status.PENDING).update(status=Job.Status.RUNNING))


def job_release(job_id: int) -> None:
    """running → pending, for a task about to be retried (a lost connection): the retry claims it again."""
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(status=Job.Status.PENDING)
    cache.delete(_live_key(job_id))


def job_progress(job_id: int, *, processed: int, total: int | None = None, **live) -> None:
    """Rows handled so far. `live` values (e.g. phase="writing", written=500) are shown in the job's result while
    it runs; they live in the cache only."""
    values = {"processed": processed}
    if total is not None:
        values["total"] = total
    if not transaction.get_connection().in_atomic_block:
        Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(**values)
    cache.set(_live_key(job_id), {**values, **live}, LIVE_TTL_SECONDS)


def job_finish(job_id: int, *, result: dict, succeeded: int, processed: int, failed: int = 0) -> None:
    _close(job_id, Job.Status.DONE, result=result, succeeded=succeeded, processed=processed, failed=failed, errors=[])


def job_fail(
    job_id: int, *, errors: list[dict], result: dict | None = None, processed: int | None = None, failed: int = 0
) -> None:
    values = {"result": result or {}, "failed": failed, "succeeded": 0, "errors": errors}
    if processed is not None:
        values["processed"] = processed
    _close(job_id, Job.Status.FAILED, **values)


def _close(job_id: int, status: str, **values) -> None:
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    values["result"] = {**job.result, **values.get("result", {})}
    Job.objects.filter(pk=job_id).exclude(status__in=FINISHED).update(
        status=status, finished_at=timezone.now(), **values
    )
    cache.delete(_live_key(job_id))
    # The upload may hold personal data (names, phone numbers): it is not kept once the work is over.
    if job.input_file:
        job.input_file.delete(save=False)
        Job.objects.filter(pk=job_id).update(input_file="")


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


def render_error(error: dict, lang: str) -> dict:
    message = error.get("message_en") if lang == "en" else error.get("message_zh")
    return {
        "line": error.get("line"),
        "column": error.get("column", ""),
        "field": error.get("field", ""),
        "message": message or error.get("message_zh") or error.get("message_en") or "",
    }
