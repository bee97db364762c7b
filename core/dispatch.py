"""Sending Celery tasks by name, after the data is committed.

Services send tasks through here and never import a tasks module: a package's tasks call its services, so the
reverse import would make a circle. A task is named by its registered name (`@shared_task(name=...)`), which is
also what queued messages and the beat schedule carry, so moving the code never breaks either.

`apply_async` (not `send_task`) is used so that the embedded default's eager mode still runs the task in-process.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction


def enqueue(task_name: str, *, args: tuple | list = (), kwargs: dict[str, Any] | None = None) -> None:
    """Send a task now. Call it outside a transaction, or use `enqueue_on_commit`."""
    current_app.tasks[task_name].apply_async(args=tuple(args), kwargs=kwargs or {})


def enqueue_on_commit(
    task_name: str, *, args: tuple | list = (), kwargs: dict[str, Any] | None = None, robust: bool = True
) -> None:
    """Send a task once the current transaction commits (at once outside one); nothing leaves before the data."""
    transaction.on_commit(lambda: enqueue(task_name, args=args, kwargs=kwargs), robust=robust)
