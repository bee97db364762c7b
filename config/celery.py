import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Every task's base keeps a send the broker refuses in the outbox (core.dispatch).
app = Celery("shuangjian", task_cls="core.dispatch:OutboxTask")
# Every CELERY_* setting configures the app; eager mode when no broker is configured (see settings).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
