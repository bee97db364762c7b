"""Sending Celery tasks by name, after the data is committed, and keeping what the broker refuses.

Services send tasks through here and never import a tasks module: a package's tasks call its services, so the
reverse import would make a circle. A task is named by its registered name (`@shared_task(name=...)`), which is
also what queued messages and the beat schedule carry, so moving the code never breaks either.

`apply_async` (not `send_task`) is used so that the embedded default's eager mode still runs the task in-process.

Redis is a broker, not the truth: a send the broker refuses (Redis down) is written to the outbox table
(`core.TaskOutbox`) instead of failing the request, and `outbox_resend` (a beat task, also run when a worker starts)
sends those rows oldest first once the broker is back, deleting each once sent. Every task of the app has
`OutboxTask` as its base (config/celery.py), so `task.delay(...)` keeps its sends too. A send is tried once (no
publish retries) and the broker's connect timeout is short (settings), so a request does not wait long for a
broker that is down. A task id is chosen before the send and kept with the row, so the answer's id stays true.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, current_app
from celery.exceptions import NotRegistered
from celery.utils import uuid
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# What a send raises when the broker cannot be reached (Celery turns the transport's connection errors into
# kombu's OperationalError; the others are what may come through raw).
BROKER_DOWN_ERRORS: tuple[type[BaseException], ...] = (
    BrokerOperationalError,
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
)
RESEND_BATCH = 500


class OutboxTask(Task):
    """The base of the app's tasks: a send refused by an unreachable broker is kept in the outbox."""

    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, **options):
        if self.app.conf.task_always_eager:  # in-process: no broker, and the task's own errors must propagate
            return super().apply_async(args, kwargs, task_id=task_id, producer=producer, **options)
        task_id = task_id or uuid()
        options.setdefault("retry", False)  # one try: a broker that is down must not hold the request
        try:
            return super().apply_async(args, kwargs, task_id=task_id, producer=producer, **options)
        except BROKER_DOWN_ERRORS as exc:
            keep_unsent(self.name, args=args or (), kwargs=kwargs or {}, task_id=task_id, error=exc)
            return self.AsyncResult(task_id)


def keep_unsent(task_name: str, *, args=(), kwargs=None, task_id: str = "", error: BaseException | None = None):
    """Write a send the broker refused to the outbox, for `outbox_resend`."""
    from .models import TaskOutbox

    logger.warning("broker unreachable, %s kept in the outbox: %s", task_name, error)
    return TaskOutbox.objects.create(
        task_name=task_name,
        args=list(args),
        kwargs=dict(kwargs or {}),
        task_id=task_id or uuid(),
        attempts=1,
        last_error=_describe(error),
    )


def _describe(error: BaseException | None) -> str:
    return f"{type(error).__name__}: {error}"[:1000] if error is not None else ""


def enqueue(task_name: str, *, args: tuple | list = (), kwargs: dict[str, Any] | None = None) -> None:
    """Send a task now (kept in the outbox if the broker is down). Call it outside a transaction, or use
    `enqueue_on_commit`."""
    task = _registered(task_name)
    if isinstance(task, OutboxTask) or current_app.conf.task_always_eager:
        task.apply_async(args=tuple(args), kwargs=kwargs or {})
        return
    task_id = uuid()
    try:
        task.apply_async(args=tuple(args), kwargs=kwargs or {}, task_id=task_id, retry=False)
    except BROKER_DOWN_ERRORS as exc:
        keep_unsent(task_name, args=args, kwargs=kwargs, task_id=task_id, error=exc)


def _registered(task_name: str) -> Task:
    """The task of that name; a web process imports the tasks modules (autodiscovery) the first time one is missing,
    as a worker does when it starts."""
    try:
        return current_app.tasks[task_name]
    except NotRegistered:
        current_app.loader.import_default_modules()
        return current_app.tasks[task_name]


def enqueue_on_commit(
    task_name: str, *, args: tuple | list = (), kwargs: dict[str, Any] | None = None, robust: bool = True
) -> None:
    """Send a task once the current transaction commits (at once outside one); nothing leaves before the data."""
    transaction.on_commit(lambda: enqueue(task_name, args=args, kwargs=kwargs), robust=robust)


def outbox_resend(limit: int = RESEND_BATCH) -> int:
    """Send what the outbox holds, oldest first, deleting each row once the broker took it. Stops at the first send
    the broker refuses (it is still down: the next run goes on). Returns how many were sent.

    Each row is locked while it is sent (skipped by a resender running at the same time), and deleted in the same
    transaction: a crash between the send and the commit sends it again later, which tasks are written to bear."""
    from django.db.models import F

    from .models import TaskOutbox

    sent = 0
    ids = list(TaskOutbox.objects.order_by("created_at", "id").values_list("id", flat=True)[:limit])
    for pk in ids:
        with transaction.atomic():
            row = TaskOutbox.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if row is None:  # sent by another resender meanwhile
                continue
            try:
                current_app.send_task(
                    row.task_name, args=row.args, kwargs=row.kwargs, task_id=row.task_id or None, retry=False
                )
            except Exception as exc:  # noqa: BLE001 - counted on the row; a broker still down ends this run
                TaskOutbox.objects.filter(pk=pk).update(attempts=F("attempts") + 1, last_error=_describe(exc))
                if isinstance(exc, BROKER_DOWN_ERRORS):
                    logger.warning("outbox: broker still unreachable (%s); %d sent this run", exc, sent)
                    break
                logger.exception("outbox: %s (row %s) could not be sent", row.task_name, pk)
                continue
            row.delete()
            sent += 1
    return sent
