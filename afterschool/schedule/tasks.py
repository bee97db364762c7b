"""Thin tasks: ids in, a service call, idempotent (notifications are deduplicated per object)."""

from celery import shared_task


@shared_task(name="afterschool.notify_absences", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def notify_absences(attendance_ids: list[int]) -> int:
    from .attendance import notify_absences as run

    return run(attendance_ids)


@shared_task(
    name="afterschool.notify_allocation_results", autoretry_for=(Exception,), retry_backoff=True, max_retries=5
)
def notify_allocation_results(window_id: int) -> int:
    from .enrolment import notify_window_results

    return notify_window_results(window_id)


@shared_task(name="afterschool.allocate_due_windows")
def allocate_due_windows() -> int:
    """Every few minutes: allocate the choice windows whose closing time has passed."""
    from core.errors import DomainError

    from .enrolment import window_allocate, windows_due

    done = 0
    for window_id in windows_due():
        try:
            window_allocate(actor=None, window_id=window_id)
            done += 1
        except DomainError:
            pass  # allocated meanwhile by another run
    return done
