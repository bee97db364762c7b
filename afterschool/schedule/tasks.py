"""Thin tasks: ids in, a service call, idempotent (notifications are deduplicated per object)."""

from celery import shared_task

from core.errors import DomainError

from . import attendance, enrolment


@shared_task(name="afterschool.notify_absences", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def notify_absences(attendance_ids: list[int]) -> int:
    return attendance.notify_absences(attendance_ids)


@shared_task(
    name="afterschool.notify_allocation_results", autoretry_for=(Exception,), retry_backoff=True, max_retries=5
)
def notify_allocation_results(window_id: int) -> int:
    return enrolment.notify_window_results(window_id)


@shared_task(name="afterschool.allocate_due_windows")
def allocate_due_windows() -> int:
    """Every few minutes: allocate the choice windows whose closing time has passed."""
    done = 0
    for window_id in enrolment.windows_due():
        try:
            enrolment.window_allocate(actor=None, window_id=window_id)
            done += 1
        except DomainError:
            pass  # allocated meanwhile by another run
    return done
