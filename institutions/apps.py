from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InstitutionsConfig(AppConfig):
    name = "institutions"
    verbose_name = _("校外培训机构")

    def ready(self):
        from django.db.models.signals import pre_delete

        from accounts import places

        from .models import Institution
        from .selectors import institution_names

        # Memberships name an institution by id (identity knows no domain): this app answers the names, and refuses
        # to delete an institution a membership names, as the foreign key's PROTECT did.
        places.register(places.INSTITUTION, institution_names)
        pre_delete.connect(
            places.protect_memberships(places.INSTITUTION),
            sender=Institution,
            weak=False,
            dispatch_uid="institutions.institution_held",
        )

        # Celery's autodiscovery imports tasks.py only; these modules define scheduled tasks too.
        from . import bulk, import_tasks, licences, risk  # noqa: F401
