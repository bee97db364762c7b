"""The module Celery's autodiscovery imports: the tasks of the three packages, under their registered names."""

from afterschool.admission import tasks as admission_tasks  # noqa: F401
from afterschool.schedule import tasks as schedule_tasks  # noqa: F401
