from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InstitutionsConfig(AppConfig):
    name = "institutions"
    verbose_name = _("校外培训机构")

    def ready(self):
        # Celery's autodiscovery imports tasks.py only; these modules define scheduled tasks too.
        from . import bulk, import_tasks, licences, risk  # noqa: F401
