"""The task that runs a large registry import (institutions.imports.run_import_job). It takes the job's id only;
the upload waits in Job.input_file. A lost database connection retries with backoff: the job goes back to pending
and, nothing having been committed, the retry starts again. Any other failure is recorded on the job."""

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    name="institutions.import_rows",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def import_rows(job_id: int) -> None:
    from .imports import run_import_job

    run_import_job(job_id)
