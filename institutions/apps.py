from django.apps import AppConfig


class InstitutionsConfig(AppConfig):
    name = "institutions"
    verbose_name = "校外培训机构 Training institutions"

    def ready(self):
        # Celery's autodiscovery imports tasks.py only; these modules define scheduled tasks too.
        from . import bulk, import_tasks, licences, risk  # noqa: F401
