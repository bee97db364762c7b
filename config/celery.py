import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("shuangjian")
# Every CELERY_* setting configures the app; eager mode when no broker is configured (see settings).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
